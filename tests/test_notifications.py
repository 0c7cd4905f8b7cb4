"""Nobody misses a text: the assignee hears of it, a quiet thread shows it in the channel,
the header says when a contact has opted out, and a reply to a closed case is held."""

from __future__ import annotations

from datetime import timedelta

from bridge.fakes.clock import ShiftedClock
from bridge.fakes.slack_payloads import block_actions_payload, interaction_form
from bridge.fakes.vonage_payloads import sms_inbound_params
from tests.bridge_process import until
from tests.conftest import ADMIN, INBOX, OUR_NUMBER, STAFF, LiveBridge

CONTACT = "447400123456"
US = OUR_NUMBER.removeprefix("+")


async def text_in(live: LiveBridge, text: str, message_id: str) -> None:
    params = sms_inbound_params(msisdn=CONTACT, to=US, text=text, message_id=message_id)
    assert (await live.vonage_webhook("/vonage/inbound", params)).status == 200


def dms(live: LiveBridge, user: str) -> list[str]:
    channel = "D" + user.lstrip("UW")
    return (
        [m["text"] for m in live.slack.messages(channel)] if channel in live.slack.channels else []
    )


async def test_the_assignee_hears_of_texts_at_once_then_at_most_every_few_minutes(
    start_live,
) -> None:
    clock = ShiftedClock()
    live = await start_live(clock=clock)
    await text_in(live, "First", "A1")
    await live.drained()
    assert (
        await live.command(f"assign #1 <@{ADMIN}|ada>") == f"Case #1 is now assigned to <@{ADMIN}>."
    )
    await live.drained()
    before = len(dms(live, ADMIN))  # told of the assignment
    await text_in(live, "Second", "A2")
    await until(lambda: len(dms(live, ADMIN)) == before + 1)
    assert "1 new text(s) from +44 7400 123456 in case #1" in dms(live, ADMIN)[-1]

    await text_in(live, "Third", "A3")
    await text_in(live, "Fourth", "A4")
    await live.drained()
    assert len(dms(live, ADMIN)) == before + 1  # not again within five minutes
    clock.advance(timedelta(minutes=6))
    await until(lambda: len(dms(live, ADMIN)) == before + 2)
    assert "2 new text(s)" in dms(live, ADMIN)[-1]


async def test_a_text_to_a_quiet_thread_is_shown_in_the_channel_too(start_live) -> None:
    clock = ShiftedClock()
    live = await start_live(clock=clock)
    await text_in(live, "First", "Q1")
    await text_in(live, "Soon after", "Q2")
    await live.drained()
    clock.advance(timedelta(minutes=31))
    await text_in(live, "After a long silence", "Q3")
    await live.drained()
    posts = {c.params["text"]: c.params for c in live.slack.calls("chat.postMessage")}
    assert posts["Soon after"].get("reply_broadcast") is None
    assert posts["After a long silence"].get("reply_broadcast") in (True, "true", "1")


async def test_the_header_shows_a_contact_who_opted_out(live: LiveBridge) -> None:
    await text_in(live, "Hello", "O1")
    await text_in(live, "STOP", "O2")
    await live.drained()
    header = live.slack.messages(INBOX)[0]
    assert ":no_bell: open, opted out of texts" in str(header["blocks"])
    await text_in(live, "START", "O3")
    await live.drained()
    header = live.slack.messages(INBOX)[0]
    assert ":large_green_circle: open" in str(header["blocks"])
    assert "opted out" not in str(header["blocks"])


async def test_a_reply_in_a_closed_case_is_held_until_its_author_reopens_it(
    live: LiveBridge,
) -> None:
    await text_in(live, "Hello", "C1")
    await live.drained()
    assert await live.command("close #1") == "Closed case #1."
    thread = live.slack.messages(INBOX)[0]["ts"]
    await live.staff_reply(thread, "One more thing")
    told = await live.slack.wait_for("chat.postEphemeral")
    offer = told[-1].params
    assert "Not sent: this case is closed" in offer["text"]
    assert "Reopen and send" in str(offer["blocks"])
    await live.drained()
    assert live.vonage.sends == []

    button = next(e for b in offer["blocks"] if b["type"] == "actions" for e in b["elements"])
    payload = block_actions_payload(
        user=STAFF,
        channel=INBOX,
        message={"ts": "1712345678.000300"},
        action={"action_id": button["action_id"], "value": button["value"], "type": "button"},
    )
    assert (await live.signed_form(interaction_form(payload))).status == 200
    [sent] = await live.vonage.wait_for_sends(1)
    assert sent.text == "One more thing (#1)"
    await live.drained()
    assert "Reopened case #1" in live.slack.calls("chat.postEphemeral")[-1].params["text"]
    assert ":large_green_circle: open" in str(live.slack.messages(INBOX)[0]["blocks"])
    payload["actions"][0]["action_ts"] = "1712345679.000001"  # pressed again, later
    again = await live.signed_form(interaction_form(payload))  # sent once all the same
    assert again.status == 200
    await live.drained()
    assert len(live.vonage.sends) == 1
