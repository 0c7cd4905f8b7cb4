"""Direct messages and App Homes: what the outbox tells people outside a case's thread."""

from __future__ import annotations

import logging

from bridge import texts
from bridge.domain.records import CaseRecord
from bridge.domain.views import CaseList, ForwardedText, HomeView
from bridge.domain.work import (
    AdminNotice,
    ForwardDm,
    NotifyAssignee,
    NotifyAssigneeOfTexts,
    PostHeader,
    PublishHome,
)
from bridge.errors import SendError
from bridge.jobs.base import JobHandler
from bridge.jobs.context import JobContext
from bridge.routing.home import home_view
from bridge.routing.threads import case_view

log = logging.getLogger(__name__)

# Slack refuses messages over 40,000 characters; a direct message need not be half that.
DM_TEXT_MAX = 3000
NO_THREAD_YET = "(thread not posted yet)"


async def thread_link(ctx: JobContext, case: CaseRecord | None) -> str:
    if case is None or case.thread_ts is None:
        return NO_THREAD_YET
    return await ctx.poster.permalink(case.channel, case.thread_ts) or NO_THREAD_YET


class TellNewAssignee(JobHandler[NotifyAssignee]):
    """A direct message to the new assignee with a link to the thread."""

    async def run(self, work: NotifyAssignee) -> None:
        async with self.ctx.units.reading() as unit:
            case = await unit.cases.get(work.case_id)
        link = await thread_link(self.ctx, case)
        text = texts.ASSIGNED_DM.format(user=work.by, ref=work.case_id, link=link)
        await self.ctx.poster.direct_message(work.user, text)


class TellAssigneeOfTexts(JobHandler[NotifyAssigneeOfTexts]):
    """A direct message to a case's assignee: how many texts came, from whom, a link."""

    async def run(self, work: NotifyAssigneeOfTexts) -> None:
        async with self.ctx.units.reading() as unit:
            case = await unit.cases.get(work.case_id)
            if case is None or case.assignee is None:
                return
            count = await unit.messages.inbound_from(case.id, work.first_message_id)
            view = await case_view(unit, case, inbox=self.ctx.inbox)
        text = texts.TEXTS_FOR_ASSIGNEE.format(
            count=max(count, 1),
            contact=view.contact_label,
            ref=case.id,
            link=await thread_link(self.ctx, case),
        )
        await self.ctx.poster.direct_message(case.assignee, text)


class ForwardByDirectMessage(JobHandler[ForwardDm]):
    """Tells one person about an inbound text or email: who sent it, to which number (or
    address), a link, the words."""

    async def run(self, work: ForwardDm) -> None:
        ctx = self.ctx
        async with ctx.units.reading() as unit:
            message = await unit.messages.get(work.message_id)
            cases = [c for c in [await unit.cases.get(i) for i in work.case_ids] if c is not None]
            if message is None or not cases:
                return
            header = PostHeader(cases[0].id)
            header_coming = await unit.jobs.live(header.kind, queue=header.queue)
            if cases[0].thread_ts is None and header_coming:
                # The link is half the point: wait for the thread (its own queue posts it).
                raise SendError(f"case #{cases[0].id} has no thread yet", retryable=True)
            view = await case_view(unit, cases[0], inbox=ctx.inbox)
            email = await unit.emails.message_address(message.id)
        links = []
        for case in cases:
            link = None
            if case.thread_ts is not None:
                link = await ctx.poster.permalink(case.channel, case.thread_ts)
            links.append((case.id, link))
        words = message.text or texts.EMPTY_INBOUND
        if len(words) > DM_TEXT_MAX:
            words = words[:DM_TEXT_MAX] + "…"
        forwarded = ForwardedText(view=view, case_links=links, text=words, email=email)
        await ctx.poster.forward_text(work.user, forwarded)


class PublishAppHome(JobHandler[PublishHome]):
    """Draws one person's App Home as the store has it now."""

    async def run(self, work: PublishHome) -> None:
        if work.refusal:
            empty = CaseList(cases=[], total=0)
            home = HomeView(work.user, empty, empty, empty, refusal=work.refusal)
        else:
            async with self.ctx.units.reading() as unit:
                home = await home_view(
                    unit, work.user, rules=self.ctx.rules, inbox=self.ctx.inbox, admin=work.admin
                )
        await self.ctx.poster.publish_home(home)


class TellAdmins(JobHandler[AdminNotice]):
    """A direct message to every admin: the text it carries, or the given-up jobs as the
    store has them when it runs."""

    async def run(self, work: AdminNotice) -> None:
        text = work.text
        if work.dead:
            async with self.ctx.units.reading() as unit:
                dead = await unit.jobs.dead()
            if dead is None:
                return  # retried meanwhile
            where = texts.DEAD_IN_CASE.format(ref=dead.case_id) if dead.case_id else ""
            text = texts.JOBS_GAVE_UP.format(
                count=dead.count, kind=dead.kind, where=where, reason=dead.reason
            )
        named = self.ctx.book.current.settings.settings_admins
        admins = dict.fromkeys([*named, *await self.ctx.poster.workspace_admins()])
        for admin in admins:
            await self.ctx.poster.direct_message(admin, str(text))
