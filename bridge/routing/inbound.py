"""A contact's text comes in: which case it joins, who hears of it, and what answers it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bridge import texts
from bridge.domain.email import Channel
from bridge.domain.media import InboundMedia
from bridge.domain.numbers import format_number, mask
from bridge.domain.records import CaseRecord
from bridge.domain.rules import ChatRules, Inbox, Keyword, keyword, refs_in
from bridge.domain.segments import measure
from bridge.domain.values import InboundSms
from bridge.domain.work import PostMedia, PostMessage, sms_send
from bridge.routing import forwarding
from bridge.routing.auto_replies import SendBy, auto_reply_for, auto_respond, queue_automated
from bridge.routing.broadcasts import link_reply_to_broadcast
from bridge.routing.cases import open_case
from bridge.routing.controls import unmuted
from bridge.routing.long_texts import add_part
from bridge.routing.notices import notify_assignee
from bridge.routing.ports import Unit
from bridge.routing.threads import note, refresh_header_for_text, refresh_number_headers

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InboundResult:
    duplicate: bool
    case_ids: tuple[int, ...] = ()


async def accept_inbound(
    unit: Unit,
    sms: InboundSms,
    *,
    inbox: Inbox,
    rules: ChatRules,
    now: datetime,
    media: InboundMedia | None = None,
) -> InboundResult:
    """Record an inbound text in every open case of its number, opening one if there is none.

    A part of a long text waits in the store until the whole text is here. `now` is when
    the bridge takes the text: the moment rules about hours and days are applied to.
    """
    await unit.lock_conversation(sms.sender, sms.recipient)
    if sms.part is not None:
        whole = await add_part(unit, sms, give_up_after=rules.concat_timeout, now=now)
        if whole is None:
            return InboundResult(duplicate=False)
        sms = whole
    return await record_inbound(unit, sms, inbox=inbox, rules=rules, now=now, media=media)


async def record_inbound(
    unit: Unit,
    sms: InboundSms,
    *,
    inbox: Inbox,
    rules: ChatRules,
    now: datetime,
    media: InboundMedia | None = None,
) -> InboundResult:
    """Record a whole inbound text (the conversation's lock is held); one with `media` is
    shown with its file, fetched by the post's job."""
    size = measure(sms.text)  # what the contact paid for, for the usage figures
    message_id = await unit.messages.add_inbound(
        sms, segments=size.segments, encoding=size.encoding
    )
    if message_id is None:
        log.info("inbound %s already stored; ignoring the repeat", sms.provider_message_id)
        return InboundResult(duplicate=True)
    if media is not None:
        await unit.media.announce(message_id, media)
    if not inbox.owns(sms.recipient):
        log.warning("inbound text to %s, which is not in VONAGE_NUMBERS", mask(sms.recipient))
    cases = await unit.cases.open_for(sms.sender, sms.recipient)
    opened = not cases
    if opened:
        cases = [await open_case(unit, sms.sender, sms.recipient, inbox=inbox, now=now)]
        await link_reply_to_broadcast(unit, cases[0], now=now)
    # A text naming one of the number's open cases (#12) goes to that case alone.
    named = [case for case in cases if case.id in refs_in(sms.text)]
    if named:
        cases = named
    # A muted case's texts reach its thread alone: no notice, broadcast, copy or auto-response.
    heard = await unmuted(unit, cases)
    for case in cases:
        # After a long silence a thread's new text is shown in the channel too: thread
        # replies notify only those who follow the thread.
        quiet = case.thread_ts is not None and now - case.last_activity_at >= rules.quiet_thread
        await unit.messages.link(case.id, message_id)
        rerouted = await unit.emails.wrote_by(case.id, Channel.SMS)  # replies go by SMS again
        await unit.cases.touch(case.id, at=sms.received_at, unread=1)
        post = PostMessage if media is None else PostMedia
        await unit.jobs.add(post(case.id, message_id, broadcast=quiet and case in heard))
        if case.thread_ts is not None:
            await refresh_header_for_text(unit, case.id, rerouted=rerouted, now=now)
        if case.assignee is not None and case in heard:
            await notify_assignee(unit, case.id, message_id, rules=rules, now=now)
    if heard:
        await forwarding.forward_inbound(unit, message_id=message_id, sms=sms, cases=heard, now=now)
    await _answer_keyword(unit, sms, cases, rules=rules, now=now)
    await _auto_respond(unit, sms, heard, opened=opened, rules=rules, now=now)
    return InboundResult(duplicate=False, case_ids=tuple(case.id for case in cases))


async def _answer_keyword(
    unit: Unit, sms: InboundSms, cases: list[CaseRecord], *, rules: ChatRules, now: datetime
) -> None:
    """STOP opts out, START opts back in, HELP gets the help text: each answered once."""
    word = keyword(sms.text)
    if word is None:
        return
    shown = sms.text.strip().upper()
    reply: str | None = None
    thread_note: str | None = None
    if word is Keyword.OPT_OUT:
        if await unit.opt_outs.opt_out(sms.sender, sms.recipient, reason=f"texted {shown}"):
            reply, thread_note = texts.OPT_OUT_CONFIRMATION, texts.OPT_OUT_NOTE
            await refresh_number_headers(unit, sms.sender, sms.recipient)
    elif word is Keyword.OPT_IN:
        if await unit.opt_outs.opt_in(sms.sender, sms.recipient):
            reply, thread_note = texts.OPT_IN_CONFIRMATION, texts.OPT_IN_NOTE
            await refresh_number_headers(unit, sms.sender, sms.recipient)
    else:
        reply = rules.help_text
    if reply is None:
        return
    await queue_automated(
        unit,
        reply,
        cases,
        contact_number=sms.sender,
        our_number=sms.recipient,
        send=_by_sms(sms),
        now=now,
    )
    if thread_note:
        shown_note = thread_note.format(word=shown, number=format_number(sms.recipient))
        for case in cases:
            await note(unit, case.id, shown_note)


async def _auto_respond(
    unit: Unit,
    sms: InboundSms,
    cases: list[CaseRecord],
    *,
    opened: bool,
    rules: ChatRules,
    now: datetime,
) -> None:
    if keyword(sms.text) is not None:
        return  # STOP, START and HELP have answers of their own
    reply = auto_reply_for(opened=opened, rules=rules, now=now)
    if reply is None or await unit.opt_outs.is_opted_out(sms.sender, sms.recipient):
        return
    await auto_respond(
        unit,
        reply,
        cases,
        contact_number=sms.sender,
        our_number=sms.recipient,
        send=_by_sms(sms),
        rules=rules,
        now=now,
    )


def _by_sms(answering: InboundSms) -> SendBy:
    """An answer goes back from the number the text came to."""
    return lambda message_id: sms_send(
        message_id, our_number=answering.recipient, contact_number=answering.sender
    )
