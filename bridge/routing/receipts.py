"""The carrier's word on a text that went out: its state, a reaction in the thread, failures."""

from __future__ import annotations

from bridge import texts
from bridge.domain.records import MessageRecord
from bridge.domain.rules import ChatRules
from bridge.domain.values import DeliveryReceipt, Direction, MessageStatus
from bridge.domain.work import PostMessage, React, slack_queue
from bridge.routing.ports import Unit
from bridge.routing.threads import contact_address, note, refresh_number_headers

# A reaction on the relayed reply for each carrier state worth showing.
STATUS_REACTIONS = {
    MessageStatus.DELIVERED: "white_check_mark",
    MessageStatus.FAILED: "x",
    MessageStatus.REJECTED: "no_entry_sign",
    MessageStatus.EXPIRED: "hourglass",
}
FINAL_FAILURES = frozenset({MessageStatus.FAILED, MessageStatus.REJECTED, MessageStatus.EXPIRED})


async def accept_receipt(unit: Unit, receipt: DeliveryReceipt, *, rules: ChatRules) -> None:
    """Record the carrier's word on a sent text and show a change of state in its thread."""
    message = await unit.sends.apply_receipt(receipt)
    if message is None:
        # Receipts can outrun the recording of the send they are about; keep it for then.
        await unit.sends.keep_early(receipt)
        return
    new = await unit.sends.overall_status(message.id)
    if new == message.status:
        return
    error = message.error
    if new in FINAL_FAILURES:
        error = receipt.error_text or receipt.error_code or new
    await unit.messages.set_status(message.id, new, error=error)
    blocked = receipt.recipient_blocked and await unit.opt_outs.opt_out(
        message.contact_number, message.our_number, reason=f"carrier: {error}"
    )
    if blocked:
        await refresh_number_headers(unit, message.contact_number, message.our_number)
    postings = await unit.messages.postings(message.id)
    for case, ts in postings:
        if new in STATUS_REACTIONS:
            name = STATUS_REACTIONS[new]
            await unit.jobs.add(React(case.channel, ts, name, lane=slack_queue(case.id)))
        if new in FINAL_FAILURES:
            await note_failure(unit, case.id, message, texts.SEND_FAILED, reason=error)
        if blocked:
            await note(unit, case.id, texts.BLOCKED_NOTE.format(reason=error))
    if new in FINAL_FAILURES and not postings:
        await show_failed_automated(
            unit, message, rules=rules, note=texts.SEND_FAILED, reason=error
        )


async def gave_up(
    unit: Unit, message_id: int, *, reason: str, retryable: bool, rules: ChatRules
) -> None:
    """The outbox gave up sending a message: it failed, with ❌ and a note where it shows."""
    message = await unit.messages.get(message_id)
    if message is None:
        return
    await unit.messages.set_status(message.id, MessageStatus.FAILED, error=reason)
    failure = texts.SEND_GAVE_UP if retryable else texts.SEND_FAILED
    postings = await unit.messages.postings(message.id)
    for case, ts in postings:
        await unit.jobs.add(React(case.channel, ts, "x", lane=slack_queue(case.id)))
        await note_failure(unit, case.id, message, failure, reason=reason)
    if not postings:
        await show_failed_automated(unit, message, rules=rules, note=failure, reason=reason)


async def note_failure(
    unit: Unit, case_id: int, message: MessageRecord, failure: str, *, reason: str | None
) -> None:
    """A note in the thread: the text to this contact did not arrive, and why."""
    contact = await contact_address(unit, message.contact_number)
    await note(unit, case_id, failure.format(contact=contact, reason=reason))


async def show_sent_automated(unit: Unit, message: MessageRecord, *, rules: ChatRules) -> None:
    """An automated message that went appears in its threads, when the settings show them all."""
    if message.direction != Direction.AUTOMATED or rules.automated_in_threads != "all":
        return
    for case in await unit.cases.of_message(message.id):
        await unit.jobs.add(PostMessage(case.id, message.id))


async def show_failed_automated(
    unit: Unit, message: MessageRecord, *, rules: ChatRules, note: str, reason: str | None
) -> None:
    """With automated texts shown only when they fail, a failed one appears with its note."""
    if message.direction != Direction.AUTOMATED or rules.automated_in_threads != "failed":
        return
    for case in await unit.cases.of_message(message.id):
        await unit.jobs.add(PostMessage(case.id, message.id))
        await note_failure(unit, case.id, message, note, reason=reason)
