"""Mute and Unmute: a muted case's texts reach its thread alone (no assignee notice, no
channel broadcast, no forwarding, no auto-response); the header says so."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from bridge.fakes.clock import ShiftedClock
from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.routing import forwarding
from bridge.routing.forwarding import ScheduleInput
from bridge.slack import blocks
from tests.conftest import ADMIN, INBOX, OUR_NUMBER, STAFF, LiveBridge
from tests.test_auto_replies import CLOSED, next_weekday

CONTACT = "447700900123"
_ids = itertools.count(1)


async def text(live: LiveBridge, words: str) -> None:
    params = sms_inbound_params(
        msisdn=CONTACT, to=OUR_NUMBER[1:], text=words, message_id=f"M{next(_ids):07d}"
    )
    assert (await live.vonage_webhook("/vonage/inbound", params)).status == 200
    await live.drained()


def direct_messages(live: LiveBridge, user: str) -> list[str]:
    channel = "D" + user.lstrip("UW")
    if channel not in live.slack.channels:
        return []
    return [m["text"] for m in live.slack.messages(channel)]


def header(live: LiveBridge) -> dict:
    return live.slack.messages(INBOX)[0]


def posted(live: LiveBridge, words: str) -> dict:
    return next(c.params for c in live.slack.calls("chat.postMessage") if c.params["text"] == words)


def buttons(message: dict) -> list[str]:
    actions = next(b for b in message["blocks"] if b["type"] == "actions")
    return [e["action_id"] for e in actions["elements"]]


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


async def test_a_muted_case_gets_its_texts_and_nobody_hears_of_them(
    start_live, clock: ShiftedClock
) -> None:
    clock.set(next_weekday(2, 11))  # a Wednesday, within business hours
    live = await start_live(clock=clock, TIME_ZONE="Europe/London")
    answer = await live.change_settings(
        business_days=["0", "1", "2", "3", "4"],
        business_start="09:00",
        business_end="16:59",
        auto_reply_after_hours=CLOSED,
    )
    assert answer["response_action"] == "update"
    await text(live, "Hello")
    # Forwarding from now on (the case's thread is up: no copy waits for it).
    async with live.bridge.store.unit() as unit:
        schedule = ScheduleInput(
            name="Always",
            user_ids=[STAFF],
            numbers=None,
            days=[str(d) for d in range(7)],
            start_time="00:00",
            end_time="23:59",
            time_zone="Europe/London",
        )
        await forwarding.save_schedule(
            unit, None, schedule, by=STAFF, default_region="GB", our_numbers=[OUR_NUMBER]
        )
    assert (
        await live.command(f"assign #1 <@{ADMIN}|ada>") == f"Case #1 is now assigned to <@{ADMIN}>."
    )
    await live.drained()
    assert buttons(header(live))[-3:] == [blocks.CALL, blocks.MUTE, blocks.DELETE]

    assert (await live.press(blocks.MUTE, 1)).status == 200
    await live.drained()
    assert ":no_bell: muted" in str(header(live)["blocks"])
    assert blocks.UNMUTE in buttons(header(live))
    told_admin, told_staff = len(direct_messages(live, ADMIN)), len(direct_messages(live, STAFF))
    sent = len(live.vonage.sends)

    clock.advance(timedelta(days=3, hours=1))  # Saturday noon: after hours, a quiet thread
    await text(live, "Are you there?")
    thread = [m["text"] for m in live.slack.thread(INBOX, header(live)["ts"])]
    assert "Are you there?" in thread
    assert posted(live, "Are you there?").get("reply_broadcast") is None
    assert len(direct_messages(live, ADMIN)) == told_admin  # no assignee notice
    assert len(direct_messages(live, STAFF)) == told_staff  # not forwarded
    assert len(live.vonage.sends) == sent  # no after-hours reply

    assert await live.command("unmute #1") == "Unmuted case #1."
    await live.drained()
    assert "muted" not in str(header(live)["blocks"])
    clock.advance(timedelta(minutes=31))
    await text(live, "Hello again")
    assert posted(live, "Hello again").get("reply_broadcast") in (True, "true", "1")
    assert len(direct_messages(live, ADMIN)) > told_admin
    assert len(direct_messages(live, STAFF)) > told_staff
    assert [s.text for s in live.vonage.sends][sent:] == [CLOSED]


async def test_muting_twice_or_an_unknown_case_is_refused(live: LiveBridge) -> None:
    await text(live, "Hello")
    assert await live.command("mute #1") == "Muted case #1."
    assert await live.command("mute #1") == "Case #1 is already muted."
    assert await live.command("unmute #9") == "There is no case #9."
