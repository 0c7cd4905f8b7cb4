"""From a job's kind to its handler, which receives the work typed (read back from the
stored payload). Every kind of work in bridge/domain/work.py has exactly one handler."""

from __future__ import annotations

from typing import Any

from bridge.domain import work as w
from bridge.errors import SendError
from bridge.jobs import (
    broadcasts,
    calls,
    emails,
    erasure,
    media,
    notices,
    parts,
    slack_posts,
    sms_sends,
)
from bridge.jobs.base import JobHandler
from bridge.jobs.context import JobContext

HANDLERS: dict[type[w.Work], type[JobHandler[Any]]] = {
    w.PostHeader: slack_posts.PostCaseHeader,
    w.UpdateHeader: slack_posts.UpdateCaseHeader,
    w.PostMessage: slack_posts.PostThreadMessage,
    w.PostMedia: media.PostThreadMedia,
    w.ThreadNote: slack_posts.PostThreadNote,
    w.React: slack_posts.AddReaction,
    w.TellUser: slack_posts.TellOnePerson,
    w.NotifyAssignee: notices.TellNewAssignee,
    w.NotifyAssigneeOfTexts: notices.TellAssigneeOfTexts,
    w.ForwardDm: notices.ForwardByDirectMessage,
    w.PublishHome: notices.PublishAppHome,
    w.AdminNotice: notices.TellAdmins,
    w.SendSms: sms_sends.SendText,
    w.SendEmail: emails.SendReplyByEmail,
    w.FlushParts: parts.FlushWaitingParts,
    w.PaceBroadcast: broadcasts.PaceBroadcastTexts,
    w.DrawBroadcast: broadcasts.DrawBroadcastPost,
    w.DeleteCasePosts: erasure.DeleteThreadPosts,
    w.RetentionSweep: erasure.SweepExpiredCases,
    w.PlaceCall: calls.PlaceStaffCall,
}


class _Typed:
    """What the outbox calls with a stored payload, handing the handler its typed work."""

    def __init__(self, work: type[w.Work], handler: JobHandler[Any]) -> None:
        self.work = work
        self.handler = handler

    async def run(self, payload: dict[str, Any]) -> None:
        await self.handler.run(self.work.from_payload(payload))

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        await self.handler.give_up(self.work.from_payload(payload), error)


class _TypedRerun(_Typed):
    """... for a handler that looks for an earlier attempt's effect before acting again."""

    async def run_again(self, payload: dict[str, Any]) -> None:
        await self.handler.run_again(self.work.from_payload(payload))  # type: ignore[attr-defined]


def job_handlers(ctx: JobContext) -> dict[str, _Typed]:
    """A handler for each kind of job, as the outbox's dispatcher takes them."""
    assert set(HANDLERS) == set(w.KINDS.values()), "every kind of work needs one handler"
    return {
        work.kind: (_TypedRerun if hasattr(handler, "run_again") else _Typed)(work, handler(ctx))
        for work, handler in HANDLERS.items()
    }
