"""An SMS conversation through a Slack thread, end to end through the wire formats."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select

from bridge.fakes.vonage_payloads import messages_inbound_json, sms_inbound_params
from bridge.store.models import Message
from tests.conftest import INBOX, OUR_NUMBER, STAFF, LiveBridge

CONTACT = "+447700900123"


def inbound(text: str, *, message_id: str, msisdn: str = CONTACT, to: str = OUR_NUMBER) -> dict:
    return sms_inbound_params(
        msisdn=msisdn.removeprefix("+"), to=to.removeprefix("+"), text=text, message_id=message_id
    )


async def header_post(live: LiveBridge) -> dict:
    """A new case's one post: its header, showing its first text."""
    await live.drained()
    [header] = live.slack.calls("chat.postMessage")
    return header.params


async def test_inbound_text_opens_a_case_thread_and_a_reply_reaches_the_phone(
    live: LiveBridge,
) -> None:
    response = await live.vonage_webhook(
        "/vonage/inbound", inbound("Hi, is the clinic open?", message_id="0A0000001")
    )
    assert response.status == 200

    header = await header_post(live)
    assert header["channel"] == INBOX and "thread_ts" not in header
    assert "+44 7700 900123" in header["text"]
    blocks = json.dumps(header["blocks"])
    assert "#1" in blocks and "+44 7700 900000" in blocks and "open" in blocks
    posted_header = live.slack.messages(INBOX)[0]
    assert live.shown_texts() == ["Hi, is the clinic open?"]

    reply = await live.staff_reply(
        posted_header["ts"], "Yes, *until 6pm* &amp; on Saturdays <@U0STAFF>"
    )
    assert reply.status == 200
    sends = await live.vonage.wait_for_sends(1)
    assert sends[0].to == CONTACT.removeprefix("+")
    assert sends[0].from_ == OUR_NUMBER.removeprefix("+")
    assert sends[0].text == "Yes, until 6pm & on Saturdays @Dana (#1)"

    # A second text from the same phone joins the open case's thread.
    await live.vonage_webhook("/vonage/inbound", inbound("Thanks!", message_id="0A0000002"))
    posts = await live.slack.wait_for("chat.postMessage", count=2)
    assert posts[1].params["thread_ts"] == posted_header["ts"]
    assert posts[1].params["text"] == "Thanks!"
    assert len([c for c in live.slack.calls("chat.postMessage") if "blocks" in c.params]) == 1


@pytest.mark.parametrize(
    "as_, build",
    [
        ("get", lambda: inbound("via GET", message_id="0B01")),
        ("form", lambda: inbound("via form", message_id="0B02")),
        ("json", lambda: inbound("via JSON", message_id="0B03")),
        (
            "json",
            lambda: messages_inbound_json(
                from_=CONTACT.removeprefix("+"),
                to=OUR_NUMBER.removeprefix("+"),
                text="via Messages API",
                message_uuid="aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
            ),
        ),
    ],
    ids=["sms-api-get", "sms-api-form", "sms-api-json", "messages-api-json"],
)
async def test_every_inbound_shape_is_relayed(live: LiveBridge, as_: str, build) -> None:
    params = build()
    response = await live.vonage_webhook("/vonage/inbound", params, as_=as_)
    assert response.status == 200
    await header_post(live)
    assert live.shown_texts() == [params["text"]]


async def test_texters_cannot_ping_channels_or_forge_links(live: LiveBridge) -> None:
    text = "<!channel> @here see <http://evil.example|your bank> & <@U0STAFF>"
    await live.vonage_webhook("/vonage/inbound", inbound(text, message_id="0C01"))
    header = await header_post(live)
    # The notification text carries the words escaped; the blocks as plain text, which
    # Slack never parses for mentions or links.
    notified = header["text"].split("\n", 1)[1]
    assert "<" not in notified and ">" not in notified
    assert "&lt;!channel&gt;" in notified and "&amp;" in notified
    assert "@here" not in notified  # defused with a word joiner
    [section] = [b for b in header["blocks"] if b["type"] == "section" and "text" in b]
    assert section["text"] == {"type": "plain_text", "text": text, "emoji": True}

    # A later text, posted alone, is shown as written and never parsed as mrkdwn.
    await live.vonage_webhook("/vonage/inbound", inbound(text, message_id="0C02"))
    await live.drained()
    alone = live.slack.calls("chat.postMessage")[-1].params
    assert alone["text"] == notified
    assert alone.get("mrkdwn") in (False, "false", "0")


async def test_same_vonage_message_twice_is_posted_once(live: LiveBridge) -> None:
    params = inbound("Only once please", message_id="0D01")
    first, second = await asyncio.gather(
        live.vonage_webhook("/vonage/inbound", params),
        live.vonage_webhook("/vonage/inbound", params),
    )
    assert (first.status, second.status) == (200, 200)
    await live.drained()
    await live.drained()
    assert len(live.slack.calls("chat.postMessage")) == 1
    assert live.shown_texts() == ["Only once please"]


async def test_slack_event_retried_sends_one_sms(live: LiveBridge) -> None:
    await live.vonage_webhook("/vonage/inbound", inbound("Hello", message_id="0E01"))
    await header_post(live)
    thread = live.slack.messages(INBOX)[0]["ts"]
    event = {
        "type": "message",
        "channel": INBOX,
        "user": STAFF,
        "text": "Reply once",
        "ts": "1700000100.000100",
        "thread_ts": thread,
        "channel_type": "channel",
    }
    for retry in (None, 1, 2):
        response = await live.slack_event(event, event_id="Ev0RETRY01", retry=retry)
        assert response.status == 200
    await live.vonage.wait_for_sends(1)
    await live.drained()
    assert [s.text for s in live.vonage.sends] == ["Reply once (#1)"]


async def test_bots_and_top_level_messages_are_not_relayed(live: LiveBridge) -> None:
    await live.vonage_webhook("/vonage/inbound", inbound("Hello", message_id="0F01"))
    await header_post(live)
    thread = live.slack.messages(INBOX)[0]["ts"]
    ignored = [
        {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B0OTHER",
            "text": "bot says",
            "ts": "1700000200.000100",
            "thread_ts": thread,
            "channel": INBOX,
        },
        {
            "type": "message",
            "user": "U0BOT",
            "bot_id": "B0BOT",
            "text": "our own post",
            "ts": "1700000200.000200",
            "thread_ts": thread,
            "channel": INBOX,
        },
        {
            "type": "message",
            "user": STAFF,
            "text": "top-level chat",
            "ts": "1700000200.000300",
            "channel": INBOX,
        },
        {
            "type": "message",
            "user": STAFF,
            "text": "not a case thread",
            "ts": "1700000200.000400",
            "thread_ts": "1600000000.000001",
            "channel": INBOX,
        },
    ]
    for event in ignored:
        response = await live.slack_event(event)
        assert response.status == 200
    await live.drained()
    assert live.vonage.sends == []
    async with live.bridge.db.sessions() as session:
        outbound = await session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "outbound")
        )
    assert outbound == 0
