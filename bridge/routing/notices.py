"""Who hears of what outside a thread: a case's assignee of its new texts, and admins of
work for the outside that stopped (a job waiting for a person to fix something, an
invitation or a token, and jobs given up). Never silently, never twice.

Admins are the people the chat settings name, and the workspace's admins and owners.
"""

from __future__ import annotations

from datetime import datetime

from bridge import texts
from bridge.domain.rules import ChatRules
from bridge.domain.work import DEAD, WAITING, AdminNotice, NotifyAssigneeOfTexts
from bridge.errors import SendError
from bridge.routing.ports import SeenOnce, Unit, Units

# A refusal waiting for a fix is told once per kind of refusal in this long.
WAITING_NOTICE_SECONDS = 3600
# Words for each refusal a person can fix: what to do about it.
FIXES = {
    "not_in_channel": texts.FIX_INVITE,
    "channel_not_found": texts.FIX_CHANNEL,
    "missing_scope": texts.FIX_SCOPES,
}


async def notify_assignee(
    unit: Unit, case_id: int, message_id: int, *, rules: ChatRules, now: datetime
) -> None:
    """Tell a case's assignee of its new texts by direct message: at once, then at most
    once per `assignee_notice_every`, counting the texts from `message_id` on."""
    # A notice still to go counts this text too.
    notice = NotifyAssigneeOfTexts(case_id=case_id, first_message_id=message_id)
    await unit.jobs.add_spaced(notice, every=rules.assignee_notice_every, now=now)


async def job_settled(
    units: Units, seen: SeenOnce, kind: str, outcome: str, error: SendError | None
) -> None:
    """Tell admins of a job of `kind` that waits for them, or was given up (not of their own
    notices: those would only tell of themselves)."""
    if kind == AdminNotice.kind or error is None or outcome not in (DEAD, WAITING):
        return
    if outcome == WAITING:
        code = error.code or "refused"
        if not await seen.first_time(f"notice:{code}", ttl=WAITING_NOTICE_SECONDS):
            return
        fix = FIXES.get(code, texts.FIX_TOKEN)
        notice = AdminNotice(text=texts.WAITING_FOR_FIX.format(reason=error.reason, fix=fix))
    else:
        notice = AdminNotice(dead=True)
    async with units.unit() as unit:
        if notice.dead and await unit.jobs.pending(notice.kind, queue=notice.queue):
            return  # a notice of the given-up jobs is still to go: it tells of this one too
        await unit.jobs.add(notice)
