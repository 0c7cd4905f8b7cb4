"""Real-world edges: long texts, opt-out, notes, edits, length caps, receipts, signatures."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from bridge.domain.events import inbound_event
from bridge.fakes.clock import ShiftedClock
from bridge.fakes.vonage_payloads import (
    messages_inbound_json,
    messages_webhook_authorization,
    sms_inbound_params,
    sms_receipt_params,
)
from bridge.sms.webhooks import parse_inbound
from bridge.store.db import Database
from bridge.store.inbox import InboxWriter
from bridge.store.models import InboxEventRow, Message, OptOut
from tests.conftest import INBOX, OUR_NUMBER, STAFF, LiveBridge

CONTACT = "447700900123"
US = OUR_NUMBER.removeprefix("+")


def part(text: str, number: int, *, total: int = 3, ref: str = "A1", mid: str = "") -> dict:
    return sms_inbound_params(
        msisdn=CONTACT,
        to=US,
        text=text,
        message_id=mid or f"P{ref}{number}",
        concat=(ref, total, number),
    )


def text_in(text: str, mid: str) -> dict:
    return sms_inbound_params(msisdn=CONTACT, to=US, text=text, message_id=mid)


async def open_case(live: LiveBridge, text: str = "Hello", mid: str = "M0") -> str:
    """A first text opens a case; its thread ts."""
    await live.vonage_webhook("/vonage/inbound", text_in(text, mid))
    await live.drained()
    return live.slack.messages(INBOX)[0]["ts"]


def thread_texts(live: LiveBridge, thread_ts: str) -> list[str]:
    return [m["text"] for m in live.slack.thread(INBOX, thread_ts) if m["ts"] != thread_ts]


@pytest.mark.parametrize(
    "order",
    [[1, 2, 3], [3, 1, 2], [2, 2, 3, 1, 3]],
    ids=["in-order", "out-of-order", "with-repeats"],
)
async def test_long_text_parts_are_posted_once_as_one_text(live: LiveBridge, order) -> None:
    words = {1: "This is a long ", 2: "message split in ", 3: "three parts."}
    for number in order:
        response = await live.vonage_webhook("/vonage/inbound", part(words[number], number))
        assert response.status == 200
    await live.drained()
    await live.drained()
    assert live.shown_texts() == ["This is a long message split in three parts."]


async def test_a_part_that_never_comes_is_posted_marked_after_the_timeout(start_live) -> None:
    clock = ShiftedClock()  # the timeout runs on the bridge's clock, however slow the machine
    live = await start_live(clock=clock, CONCAT_TIMEOUT_SECONDS="60")
    await live.vonage_webhook("/vonage/inbound", part("Start of it ", 1, ref="B7"))
    await live.vonage_webhook("/vonage/inbound", part(" end.", 3, ref="B7"))
    await live.drained()
    assert live.shown_texts() == []
    clock.advance(timedelta(seconds=61))
    await live.slack.wait_for("chat.postMessage", timeout=8)
    await live.drained()
    assert live.shown_texts() == ["Start of it  end. [incomplete: part 2 of 3 never arrived]"]
    # A part arriving after that is not glued onto what was posted: it waits on its own.
    await live.vonage_webhook("/vonage/inbound", part("middle ", 2, ref="B7"))
    clock.advance(timedelta(seconds=61))
    await live.slack.wait_for("chat.postMessage", count=2, timeout=8)
    await live.drained()
    assert live.shown_texts()[1:] == ["middle  [incomplete: part 1, 3 of 3 never arrived]"]


async def test_a_part_kept_but_not_yet_routed_when_the_timeout_comes_is_waited_for(
    start_live, db: Database
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("holding one inbox row back from the router needs PostgreSQL's row locks")
    clock = ShiftedClock()
    first = await start_live(clock=clock, CONCAT_TIMEOUT_SECONDS="60")
    await first.vonage_webhook("/vonage/inbound", part("Start of it ", 1, ref="C3"))
    await first.bridge.close()
    # The last part is in the inbox, answered 200, but the router has not reached it yet.
    writer = InboxWriter(db)
    for number, text in ((2, "middle "), (3, " end.")):
        await writer.keep(
            inbound_event(parse_inbound(part(text, number, ref="C3")), at=clock.now())
        )
    clock.advance(timedelta(seconds=61))
    async with db.transaction() as holding:
        await holding.execute(select(InboxEventRow).with_for_update())
        second = await start_live(clock=clock, CONCAT_TIMEOUT_SECONDS="60")
        await asyncio.sleep(2.5)  # the flush is due, and comes back while the parts wait
        assert second.slack.calls("chat.postMessage") == []
    await second.slack.wait_for("chat.postMessage", timeout=8)
    await second.drained()
    assert second.shown_texts() == ["Start of it middle  end."]


@pytest.mark.parametrize("word", ["STOP", " stop ", "Unsubscribe", "QUIT"], ids=str.strip)
async def test_stop_opts_out_confirms_once_and_blocks_replies(live: LiveBridge, word) -> None:
    thread = await open_case(live)
    await live.vonage_webhook("/vonage/inbound", text_in(word, "M1"))
    await live.vonage_webhook("/vonage/inbound", text_in("STOP", "M2"))  # again: no 2nd reply
    sends = await live.vonage.wait_for_sends(1)
    await live.drained()
    assert len(live.vonage.sends) == 1 and "unsubscribed" in sends[0].text
    assert any("opted out" in t for t in thread_texts(live, thread))

    await live.staff_reply(thread, "Are you still there?")
    ephemeral = await live.slack.wait_for("chat.postEphemeral")
    assert ephemeral[0].params["user"] == STAFF and "opted out" in ephemeral[0].params["text"]
    await live.drained()
    assert len(live.vonage.sends) == 1

    await live.vonage_webhook("/vonage/inbound", text_in("start", "M3"))
    await live.vonage.wait_for_sends(2)
    await live.staff_reply(thread, "Welcome back")
    sends = await live.vonage.wait_for_sends(3)
    assert sends[2].text.startswith("Welcome back")


async def test_help_answers_with_the_help_text(start_live) -> None:
    live = await start_live(SMS_HELP_TEXT="Call 0800 000 000 for the clinic.")
    await live.vonage_webhook("/vonage/inbound", text_in("help", "H1"))
    sends = await live.vonage.wait_for_sends(1)
    assert sends[0].text == "Call 0800 000 000 for the clinic."


async def test_staff_notes_stay_in_slack(live: LiveBridge) -> None:
    thread = await open_case(live)
    await live.staff_reply(thread, "// she called the front desk too")
    reactions = await live.slack.wait_for("reactions.add")
    assert reactions[0].params["name"] == "lock"
    await live.drained()
    assert live.vonage.sends == []
    async with live.bridge.db.reading() as session:
        note = await session.scalar(select(Message).where(Message.direction == "note"))
    assert note is not None and note.status == "internal"


@pytest.mark.parametrize("subtype", ["message_changed", "message_deleted"])
async def test_editing_a_sent_reply_sends_nothing_and_tells_the_author(
    live: LiveBridge, subtype: str
) -> None:
    thread = await open_case(live)
    await live.staff_reply(thread, "See you at 3")
    await live.vonage.wait_for_sends(1)
    original = next(m for m in live.slack.thread(INBOX, thread) if m.get("user") == STAFF)
    before = {
        "type": "message",
        "user": STAFF,
        "text": "See you at 3",
        "ts": original["ts"],
        "thread_ts": thread,
    }
    event = {
        "type": "message",
        "subtype": subtype,
        "channel": INBOX,
        "hidden": True,
        "ts": "1799999999.000100",
        "event_ts": "1799999999.000100",
        "previous_message": before,
        "channel_type": "channel",
    }
    if subtype == "message_changed":
        event["message"] = {**before, "text": "See you at 4", "edited": {"user": STAFF}}
    else:
        event["deleted_ts"] = original["ts"]
    response = await live.slack_event(event)
    assert response.status == 200
    told = await live.slack.wait_for("chat.postEphemeral")
    assert "cannot be recalled" in told[0].params["text"]
    await live.drained()
    assert len(live.vonage.sends) == 1


async def test_a_file_slack_no_longer_has_without_text_is_not_sent(live: LiveBridge) -> None:
    thread = await open_case(live)
    files = [{"id": "F0001", "name": "scan.pdf", "mimetype": "application/pdf"}]
    await live.staff_reply(thread, "", subtype="file_share", files=files)
    told = await live.slack.wait_for("chat.postEphemeral")
    assert "The file was not sent to the contact: Slack no longer has it" in told[0].params["text"]
    await live.drained()
    assert live.vonage.sends == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("x" * 961, "7 SMS segments (GSM-7)"),
        ("Grüße 😀 " * 60, "UCS-2 encoding: 😀"),
    ],
    ids=["gsm7-over-cap", "emoji-forces-ucs2"],
)
async def test_a_reply_over_the_segment_cap_is_not_sent(live, text, expected) -> None:
    thread = await open_case(live)
    await live.staff_reply(thread, text)
    told = await live.slack.wait_for("chat.postEphemeral")
    assert expected in told[0].params["text"]
    await live.drained()
    assert live.vonage.sends == []


async def test_typographic_punctuation_is_sent_as_gsm7(live: LiveBridge) -> None:
    thread = await open_case(live)
    await live.staff_reply(thread, "It’s “fine” – really…")
    sends = await live.vonage.wait_for_sends(1)
    assert sends[0].text == 'It\'s "fine" - really... (#1)'
    async with live.bridge.db.reading() as session:
        sent = await session.scalar(select(Message).where(Message.direction == "outbound"))
    assert sent is not None and sent.encoding == "GSM-7" and sent.segments == 1


@pytest.mark.parametrize(
    "status, err_code, reaction, note",
    [
        ("delivered", "0", "white_check_mark", None),
        ("failed", "4", "x", "blocks our texts"),
        ("expired", "1", "hourglass", "not delivered"),
        ("rejected", "6", "no_entry_sign", "not delivered"),
    ],
    ids=["delivered", "barred-by-user", "expired", "rejected"],
)
async def test_delivery_receipts_show_on_the_reply(live, status, err_code, reaction, note) -> None:
    thread = await open_case(live)
    await live.staff_reply(thread, "Your results are ready")
    send = (await live.vonage.wait_for_sends(1))[0]
    receipt = sms_receipt_params(
        message_id=send.message_ids[0], msisdn=CONTACT, to=US, status=status, err_code=err_code
    )
    assert (await live.vonage_webhook("/vonage/status", receipt)).status == 200
    reactions = await live.slack.wait_for("reactions.add")
    assert reactions[-1].params["name"] == reaction
    await live.drained()
    if note:
        assert any(note in t for t in thread_texts(live, thread))
    async with live.bridge.db.reading() as session:
        opted_out = await session.get(OptOut, ("+" + CONTACT, OUR_NUMBER))
    assert (opted_out is not None) == (err_code == "4")


async def test_empty_and_binary_texts_are_shown_with_a_marker(live: LiveBridge) -> None:
    await live.vonage_webhook("/vonage/inbound", text_in("", "E1"))
    binary = text_in("", "E2") | {"type": "binary", "data": "0605040B8423F0", "udh": "0605"}
    await live.vonage_webhook("/vonage/inbound", binary)
    await live.drained()
    texts = live.shown_texts()
    assert texts == ["[empty message]", "[binary message not shown]"]


async def test_unicode_and_very_long_texts_arrive_whole(live: LiveBridge) -> None:
    long_text = "Ωμέγα 😀 " * 200
    await live.vonage_webhook("/vonage/inbound", text_in(long_text, "U1"), as_="json")
    await live.drained()
    assert live.shown_texts() == [long_text]


SECRET = "signature-secret-0123456789"


async def test_with_a_signature_secret_unsigned_webhooks_are_refused(start_live) -> None:
    live = await start_live(VONAGE_SIGNATURE_SECRET=SECRET, VONAGE_SIGNATURE_METHOD="sha256")
    unsigned = await live.vonage_webhook("/vonage/inbound", text_in("unsigned", "S1"))
    forged = sms_inbound_params(
        msisdn=CONTACT,
        to=US,
        text="forged",
        message_id="S2",
        signature_secret="wrong-secret",
        signature_method="sha256",
    )
    wrong = await live.vonage_webhook("/vonage/inbound", forged)
    signed = sms_inbound_params(
        msisdn=CONTACT,
        to=US,
        text="signed",
        message_id="S3",
        signature_secret=SECRET,
        signature_method="sha256",
    )
    good = await live.vonage_webhook("/vonage/inbound", signed)
    assert (unsigned.status, wrong.status, good.status) == (401, 401, 200)

    payload = messages_inbound_json(from_=CONTACT, to=US, text="via JWT")
    body = json.dumps(payload).encode()
    jwt_ok = await live.http.post(
        f"{live.url}/vonage/inbound",
        data=body,
        headers={
            "Content-Type": "application/json",
            "Authorization": messages_webhook_authorization(body, signature_secret=SECRET),
        },
    )
    tampered = await live.http.post(
        f"{live.url}/vonage/inbound",
        data=body.replace(b"via JWT", b"via JVT"),
        headers={
            "Content-Type": "application/json",
            "Authorization": messages_webhook_authorization(body, signature_secret=SECRET),
        },
    )
    assert (jwt_ok.status, tampered.status) == (200, 401)
    await live.drained()
    async with live.bridge.db.reading() as session:
        stored = list(await session.scalars(select(Message.text).order_by(Message.id)))
    assert stored == ["signed", "via JWT"]


async def test_parts_arriving_at_two_instances_are_assembled_once(start_live) -> None:
    first, second = await start_live(), await start_live()
    await first.vonage_webhook("/vonage/inbound", part("one ", 1, total=2, ref="C3"))
    await second.vonage_webhook("/vonage/inbound", part("two", 2, total=2, ref="C3"))
    await first.vonage_webhook("/vonage/inbound", part("two", 2, total=2, ref="C3"))
    await first.slack.wait_for("chat.postMessage")
    await first.drained()
    await second.drained()
    assert first.shown_texts() == ["one two"]


async def test_a_reply_also_sent_to_the_channel_is_texted_once(live: LiveBridge) -> None:
    thread = await open_case(live)
    await live.staff_reply(thread, "Broadcast and reply", subtype="thread_broadcast")
    await live.vonage.wait_for_sends(1)
    await live.drained()
    assert [s.text for s in live.vonage.sends] == ["Broadcast and reply (#1)"]
