"""What a case's thread shows: its header, kept current, the bridge's notes, private words."""

from __future__ import annotations

from datetime import datetime, timedelta

from bridge import texts
from bridge.domain.email import Channel, email_only_contact, goes_both_ways, reply_channel
from bridge.domain.numbers import format_number
from bridge.domain.records import CaseRecord
from bridge.domain.rules import Inbox
from bridge.domain.values import Offer
from bridge.domain.views import CaseView, ReplyRoute
from bridge.domain.work import TellUser, ThreadNote, UpdateHeader, slack_queue, user_queue
from bridge.routing.ports import Unit


async def case_view(
    unit: Unit, case: CaseRecord, *, inbox: Inbox, previous_case_link: str | None = None
) -> CaseView:
    """The case as its header shows it now."""
    name, label = await unit.contacts.title(case.contact_number, inbox.title_property)
    address = await contact_address(unit, case.contact_number)
    email_only = email_only_contact(case.contact_number) is not None
    if email_only:
        label = address  # a contact known by an address has no number's label
    return CaseView(
        case_id=case.id,
        status=case.status,
        contact_label=f"{name} – {label}" if name else address,
        contact_number=case.contact_number,
        contact_address=address,
        our_number=case.our_number,
        our_number_configured=email_only or inbox.owns(case.our_number),
        assignee=case.assignee,
        unread=case.unread,
        previous_case_id=case.previous_case_id,
        previous_case_link=previous_case_link,
        last_activity=case.last_activity_at,
        contact_named=bool(name),
        opted_out=await unit.opt_outs.is_opted_out(case.contact_number, case.our_number),
        muted=await unit.mutes.is_muted(case.id),
        reply_route=await _reply_route(unit, case),
    )


async def contact_address(unit: Unit, contact_number: str) -> str:
    """A contact's address as staff read it: the number, formatted, or for a contact who
    writes only by email, the email address (never the key standing in for a number)."""
    contact_id = email_only_contact(contact_number)
    if contact_id is None:
        return format_number(contact_number)
    return await unit.emails.address_of(contact_id) or texts.EMAIL_CONTACT_UNKNOWN


async def _reply_route(unit: Unit, case: CaseRecord) -> ReplyRoute | None:
    thread = await unit.emails.thread(case.id)
    if not goes_both_ways(thread, case.contact_number):
        return None
    if reply_channel(thread, case.contact_number) == Channel.EMAIL:
        return ReplyRoute(Channel.EMAIL, str(thread.address))
    return ReplyRoute(Channel.SMS, format_number(case.contact_number))


# A case's header is redrawn at most this often for its texts and replies: Slack allows
# some 50 edits a minute in all, and a busy case's unread count can wait a few seconds.
HEADER_REDRAW_EVERY = timedelta(seconds=5)


async def refresh_header(unit: Unit, case_id: int) -> None:
    """Redraw the header at once, for a change someone made and looks for (an assignee, a
    status). Updates draw the case as it is when they run: one still waiting covers this,
    and one spaced out for texts is made to run now."""
    if await unit.jobs.hasten(UpdateHeader(case_id, spaced=True)):
        return
    update = UpdateHeader(case_id)
    if not await unit.jobs.pending(update.kind, queue=update.queue):
        await unit.jobs.add(update)


async def refresh_header_soon(unit: Unit, case_id: int, *, now: datetime) -> None:
    """Redraw the header of a case whose thread is up for its new text or reply: a burst
    of them, one redraw."""
    update = UpdateHeader(case_id, spaced=True)
    await unit.jobs.add_spaced(update, every=HEADER_REDRAW_EVERY, now=now)


async def refresh_header_for_text(
    unit: Unit, case_id: int, *, rerouted: bool, now: datetime
) -> None:
    """A contact wrote: where staff replies go shows at once when that changed, else the
    counts can wait for the next redraw."""
    if rerouted:
        await refresh_header(unit, case_id)
    else:
        await refresh_header_soon(unit, case_id, now=now)


async def refresh_number_headers(unit: Unit, contact_number: str, our_number: str) -> None:
    """Whether a number may be texted changed: every case of it shows that."""
    for case in await unit.cases.of_number(contact_number):
        if case.our_number == our_number:
            await refresh_header(unit, case.id)


async def refresh_contact_headers(unit: Unit, contact_number: str) -> None:
    """A contact's name changed: every case of the number shows it."""
    for case in await unit.cases.of_number(contact_number):
        await refresh_header(unit, case.id)


async def note(unit: Unit, case_id: int, text: str) -> None:
    """A note of the bridge's own in the case's thread."""
    await unit.jobs.add(ThreadNote(case_id, text))


async def tell(
    unit: Unit, case: CaseRecord, user: str, text: str, *, offer: Offer | None = None
) -> None:
    """An ephemeral word to one person in a case's thread; `offer` adds a button for an
    action they may take."""
    await unit.jobs.add(
        TellUser(
            channel=case.channel,
            user=user,
            text=text,
            thread_ts=case.thread_ts,
            offer=offer,
            lane=slack_queue(case.id),
        )
    )


async def tell_outside_case(
    unit: Unit, *, channel: str, user: str, text: str, thread_ts: str | None = None
) -> None:
    """An ephemeral word about no case (or none found), queued per person: one that Slack
    refuses holds back only that person's words."""
    await unit.jobs.add(
        TellUser(channel=channel, user=user, text=text, thread_ts=thread_ts, lane=user_queue(user))
    )
