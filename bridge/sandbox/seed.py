"""The example the demo opens with: a few contacts on the phone and one short conversation.

The conversation is not written into the store: it is texted and replied to through the
bridge like anything typed on the page, so what the page shows at start is the bridge's own
work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bridge.domain.contacts import ContactDetails, LabelledNumber
from bridge.domain.values import PhoneNumber
from bridge.sandbox.world import INBOX_CHANNEL, Sandbox

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Contact:
    """A name in the phone's address book, and the contact's mailbox."""

    name: str
    number: str
    email: str


# Valid UK mobile numbers, as the bridge's phone-number checks expect; nothing leaves the
# machine, so no real phone is ever texted.
CONTACTS = (
    Contact("Alice Moreau", "+447400900123", "alice.moreau@example.com"),
    Contact("Bruno Costa", "+447400900456", "bruno.costa@example.com"),
    Contact("Chen Wei", "+447400900789", "chen.wei@example.com"),
)

ADD_CONTACT_LABEL = "Add contact"  # the case header's button that names a contact

CONVERSATION = (
    ("phone", "Hi, is the clinic open on Saturday morning?"),
    ("staff", "Yes, from 9am to 1pm. Would you like an appointment?"),
    ("phone", "Yes please, 10am if you have one. Thanks!"),
)


async def seed(sandbox: Sandbox, *, timeout: float = 15.0) -> None:  # noqa: ASYNC109
    """Alice texts, Sam answers in her case thread, Alice texts again, Sam names her: each
    step waits for the bridge to have carried the previous one, so it always reads in order."""
    alice = CONTACTS[0]
    thread_ts: str | None = None
    received = 0
    for who, text in CONVERSATION:
        if who == "phone":
            sent = await sandbox.phone_send(alice.number, text)
            if sent.state != "sent":
                raise RuntimeError(f"the bridge refused the example text: {sent.detail}")
            thread_ts = await sandbox.wait_for_thread(text, timeout=timeout)
        else:
            assert thread_ts is not None
            await sandbox.staff_post(text, thread_ts=thread_ts)
            received += 1
            await sandbox.wait_for_phone(
                lambda phone, n=received: _delivered(phone) >= n, timeout=timeout
            )
    assert thread_ts is not None
    await name_contact(sandbox, thread_ts, alice.name, timeout=timeout)
    await list_patients(sandbox)
    log.info("demo: example conversation with %s is in place", alice.name)


# The property the phone's contacts share in the directory: `/smschat broadcast to:group=patients`.
PATIENTS = ("group", "patients")


async def list_patients(sandbox: Sandbox) -> None:
    """The phone's contacts in the bridge's directory with `group=patients`, as an admin's
    `contacts import` of the clinic's list would leave them."""
    assert sandbox.bridge is not None
    async with sandbox.bridge.store.unit() as unit:
        for contact in CONTACTS:
            await unit.contacts.upsert(
                # Names stay the phone's: staff name a contact from its case, as Alice was.
                ContactDetails(
                    numbers=[LabelledNumber(PhoneNumber(contact.number), "Mobile")],
                    email=contact.email,
                    properties=dict([PATIENTS]),
                )
            )


async def name_contact(
    sandbox: Sandbox,
    header_ts: str,
    name: str,
    *,
    timeout: float = 15.0,  # noqa: ASYNC109
) -> None:
    """Give a case's contact a name as staff would: the header's "Add contact" dialog."""
    header = sandbox.slack.message(INBOX_CHANNEL, header_ts) or {}
    button = _button_labelled(header.get("blocks") or [], ADD_CONTACT_LABEL)
    if button is None:
        log.info("demo: the case header offers no %r button; contacts stay numbers", "Add contact")
        return
    action_id, block_id = button
    await sandbox.click(header_ts, action_id, block_id=block_id)
    view = sandbox.modal
    name_field = _first_text_input(view or {})
    if view is None or name_field is None:
        log.warning("demo: %r opened no dialog with a text field", ADD_CONTACT_LABEL)
        return
    answer = await sandbox.submit_view(view["id"], {name_field[0]: {name_field[1]: name}})
    if answer["errors"]:
        log.warning("demo: the bridge refused the contact's name: %s", answer["errors"])
        return

    def named() -> bool:
        shown = sandbox.slack.message(INBOX_CHANNEL, header_ts) or {}
        return name in str(shown.get("blocks"))

    await sandbox.slack.wait_until(named, timeout=timeout, what=f"header naming {name}")


def _button_labelled(blocks: list[dict[str, Any]], label: str) -> tuple[str, str | None] | None:
    for block in blocks:
        for element in block.get("elements") or []:
            if element.get("type") == "button" and element["text"].get("text") == label:
                return element["action_id"], block.get("block_id")
    return None


def _first_text_input(view: dict[str, Any]) -> tuple[str, str] | None:
    """(block_id, action_id) of a dialog's first free-text field (the name)."""
    for block in view.get("blocks") or []:
        element = block.get("element") or {}
        if block.get("type") == "input" and element.get("type") == "plain_text_input":
            return block["block_id"], element["action_id"]
    return None


def _delivered(phone: list) -> int:
    return sum(1 for m in phone if m.direction == "received" and m.state == "delivered")
