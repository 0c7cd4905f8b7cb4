"""What admins are told when work for the outside stops: a job waiting for a person to
fix something (an invitation, a token), and jobs given up. Never silently, never twice.

Admins are the people the chat settings name, and the workspace's admins and owners.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bridge import texts
from bridge.domain.values import UserId
from bridge.errors import SendError

if TYPE_CHECKING:
    from bridge.routing.jobs import JobContext
    from bridge.store.coordination import SeenOnce
    from bridge.store.outbox import ClaimedJob
    from bridge.store.repo import Store

log = logging.getLogger(__name__)

ADMIN_NOTICE = "slack.admin_notice"
ADMINS_QUEUE = "slack:admins"
# A refusal waiting for a fix is told once per kind of refusal in this long.
WAITING_NOTICE_SECONDS = 3600
# Words for each refusal a person can fix: what to do about it.
FIXES = {
    "not_in_channel": texts.FIX_INVITE,
    "channel_not_found": texts.FIX_CHANNEL,
    "missing_scope": texts.FIX_SCOPES,
}


async def job_settled(
    store: Store, seen: SeenOnce, job: ClaimedJob, outcome: str, error: SendError | None
) -> None:
    """Tell admins of a job that waits for them, or was given up (not of their own notices:
    those would only tell of themselves)."""
    from bridge.store.outbox import DEAD, WAITING

    if job.kind == ADMIN_NOTICE or error is None or outcome not in (DEAD, WAITING):
        return
    if outcome == WAITING:
        code = error.code or "refused"
        if not await seen.first_time(f"notice:{code}", ttl=WAITING_NOTICE_SECONDS):
            return
        text = texts.WAITING_FOR_FIX.format(
            reason=error.reason, fix=FIXES.get(code, texts.FIX_TOKEN)
        )
        notice: dict[str, Any] = {"text": text}
    else:
        notice = {"dead": True}
    async with store.unit() as repo:
        if notice.get("dead") and await repo.has_pending_job(ADMIN_NOTICE, queue=ADMINS_QUEUE):
            return  # a notice of the given-up jobs is still to go: it tells of this one too
        await repo.enqueue(ADMIN_NOTICE, queue=ADMINS_QUEUE, **notice)


class NotifyAdmins:
    """A direct message to every admin: the text it carries, or the given-up jobs as the
    store has them when it runs."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx

    async def run(self, payload: dict[str, Any]) -> None:
        text = payload.get("text")
        if payload.get("dead"):
            async with self.ctx.store.reading() as repo:
                dead = await repo.dead_jobs_summary()
            if dead is None:
                return  # retried meanwhile
            count, kind, case_id, reason = dead
            where = texts.DEAD_IN_CASE.format(ref=case_id) if case_id else ""
            text = texts.JOBS_GAVE_UP.format(count=count, kind=kind, where=where, reason=reason)
        named = self.ctx.book.current.settings.settings_admins
        admins = dict.fromkeys([*named, *await self.ctx.poster.workspace_admins()])
        for admin in admins:
            await self.ctx.poster.direct_message(UserId(admin), str(text))

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        log.error("could not tell the admins: %s", error.reason)
