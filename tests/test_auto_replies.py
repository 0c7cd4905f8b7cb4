"""Auto-responses, held automated texts and how threads show them, on a controlled clock.

Business hours in these tests: Monday to Friday, 09:00–17:00, Europe/London.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bridge.fakes.clock import ShiftedClock
from bridge.fakes.reading import shown_texts
from bridge.fakes.vonage_payloads import sms_inbound_params
from tests.conftest import INBOX, OUR_NUMBER, LiveBridge

LONDON = ZoneInfo("Europe/London")
CONTACT = "447700900123"
FIRST = "Thanks for your message; we will reply soon."
CLOSED = "We are closed now and will answer from 9am."
_ids = itertools.count(1)


def next_weekday(weekday: int, hour: int, minute: int = 0) -> datetime:
    """The coming `weekday` (0 = Monday) at that London time, at least two days ahead."""
    today = datetime.now(LONDON).date() + timedelta(days=2)
    day = today + timedelta(days=(weekday - today.weekday()) % 7)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
async def desk(start_live, clock: ShiftedClock) -> LiveBridge:
    live = await start_live(clock=clock, TIME_ZONE="Europe/London")
    answer = await live.change_settings(
        business_days=["0", "1", "2", "3", "4"],
        business_start="09:00",
        business_end="16:59",
        auto_reply_first=FIRST,
        auto_reply_after_hours=CLOSED,
    )
    assert answer["response_action"] == "update"
    return live


async def text(live: LiveBridge, words: str, sender: str = CONTACT) -> None:
    params = sms_inbound_params(
        msisdn=sender, to=OUR_NUMBER[1:], text=words, message_id=f"A{next(_ids):07d}"
    )
    assert (await live.vonage_webhook("/vonage/inbound", params)).status == 200
    await live.drained()


def sent_texts(live: LiveBridge) -> list[str]:
    return [s.text for s in live.vonage.sends]


def thread_texts(live: LiveBridge) -> list[str]:
    """The texts the latest case's header shows, then each reply's text."""
    header = live.slack.messages(INBOX)[-1]
    replies = [m["text"] for m in live.slack.thread(INBOX, header["ts"])[1:]]
    return shown_texts([header]) + replies


async def test_the_first_text_of_a_new_case_gets_the_first_reply_once(
    desk: LiveBridge, clock: ShiftedClock
) -> None:
    clock.set(next_weekday(1, 10))  # Tuesday 10:00: open
    await text(desk, "Hello?")
    await text(desk, "Anyone there?")
    assert sent_texts(desk) == [FIRST]
    assert thread_texts(desk) == [
        "Hello?",
        f":robot_face: Automated reply sent: {FIRST}",
        "Anyone there?",
    ]


async def test_outside_hours_one_reply_per_closed_period(
    desk: LiveBridge, clock: ShiftedClock
) -> None:
    clock.set(next_weekday(1, 2))  # Tuesday 02:00
    await text(desk, "Help, it's late")
    await text(desk, "Still there?")
    # The after-hours reply stands in for the first-text reply; once in the night.
    assert sent_texts(desk) == [CLOSED]

    clock.advance(timedelta(hours=8))  # Tuesday 10:00: open again
    await text(desk, "Morning")
    clock.advance(timedelta(hours=8))  # Tuesday 18:00: a new closed period
    await text(desk, "Evening")
    clock.advance(timedelta(hours=3))  # Tuesday 21:00: the same one
    await text(desk, "Late evening")
    assert sent_texts(desk) == [CLOSED, CLOSED]


async def test_the_last_minute_of_business_hours_is_open(
    desk: LiveBridge, clock: ShiftedClock
) -> None:
    clock.set(next_weekday(4, 16, 59))  # Friday 16:59: still open
    await text(desk, "Just in time")
    clock.advance(timedelta(minutes=1))  # 17:00: closed until Monday
    await text(desk, "Too late")
    clock.advance(timedelta(days=1))  # Saturday: the same closed period
    await text(desk, "Weekend")
    assert sent_texts(desk) == [FIRST, CLOSED]


async def test_keywords_get_their_own_answer_and_opted_out_contacts_none(
    desk: LiveBridge, clock: ShiftedClock
) -> None:
    clock.set(next_weekday(2, 3))  # Wednesday 03:00
    await text(desk, "STOP")
    await text(desk, "why was I texted")
    assert len(sent_texts(desk)) == 1 and "unsubscribed" in sent_texts(desk)[0]


async def test_auto_responses_wait_for_the_hold_window_and_the_quiet_period(
    desk: LiveBridge, clock: ShiftedClock
) -> None:
    await desk.change_settings(delay_days=["3"], delay_start="00:00", delay_end="05:59")
    clock.set(next_weekday(3, 2))  # Thursday 02:00, inside the hold window
    await text(desk, "Night text")
    assert sent_texts(desk) == []
    header = desk.slack.messages(INBOX)[-1]
    clock.advance(timedelta(hours=4))  # 06:00: the window is over
    await desk.vonage.wait_for_sends(1)
    assert sent_texts(desk) == [CLOSED]

    # Staff wrote a minute ago: an auto-response waits out the quiet period.
    await desk.change_settings(quiet_minutes="30", delay_days=[])
    await desk.staff_reply(header["ts"], "Morning! We open at 9.")
    await desk.drained()
    clock.advance(timedelta(hours=12))  # 18:00: a new closed period
    await desk.staff_reply(header["ts"], "// we are closing up")
    await desk.drained()  # no job in hand while the clock jumps past its lease
    clock.advance(timedelta(minutes=1))
    await text(desk, "One more question")
    assert sent_texts(desk) == [CLOSED, "Morning! We open at 9. (#1)"]
    clock.advance(timedelta(minutes=30))
    await desk.vonage.wait_for_sends(3)
    assert sent_texts(desk)[-1] == CLOSED


async def test_hidden_automated_texts_are_sent_but_not_shown(
    desk: LiveBridge, clock: ShiftedClock
) -> None:
    await desk.change_settings(automated_in_threads="hide")
    clock.set(next_weekday(1, 10))
    await text(desk, "Hello?")
    assert sent_texts(desk) == [FIRST]
    assert thread_texts(desk) == ["Hello?"]


async def test_failed_only_shows_an_automated_text_when_it_was_not_delivered(
    desk: LiveBridge, clock: ShiftedClock
) -> None:
    await desk.change_settings(automated_in_threads="failed")
    clock.set(next_weekday(1, 10))
    await text(desk, "Hello?")
    assert thread_texts(desk) == ["Hello?"]

    desk.vonage.send_receipts_to(f"{desk.url}/vonage/status", status="failed", err_code="6")
    await text(desk, "Hi again", sender="447700900456")
    await desk.slack.wait_until(lambda: len(thread_texts(desk)) == 3, what="failure shown")
    await desk.drained()
    shown = thread_texts(desk)
    assert shown[0] == "Hi again"
    assert shown[1] == f":robot_face: Automated reply sent: {FIRST}"
    assert "not delivered" in shown[2]
