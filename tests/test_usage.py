"""`/smschat usage`: traffic made through a live bridge, then counted by signed commands."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bridge import texts
from bridge.fakes.clock import ShiftedClock
from bridge.fakes.slack_payloads import message_event
from bridge.fakes.vonage_payloads import sms_inbound_params
from tests.conftest import INBOX, OUR_NUMBER, STAFF, LiveBridge

SECOND_NUMBER = "+447700900001"
BOB, ALICE, CAROL = "447400123456", "447400765432", "447400555000"
OTHER_STAFF = "U0OTHER"


async def inbound(
    live: LiveBridge, sender: str, to: str, words: str, *, at: datetime | None = None
):
    params = sms_inbound_params(
        msisdn=sender, to=to.removeprefix("+"), text=words, message_id=None, timestamp=at
    )
    assert (await live.vonage_webhook("/vonage/inbound", params)).status == 200


def thread_of(live: LiveBridge, case_id: int) -> str:
    header = next(
        m for m in live.slack.messages(INBOX) if m.get("blocks") and f"#{case_id}" in m["text"]
    )
    return header["ts"]


async def reply_as(live: LiveBridge, user: str, case_id: int, words: str) -> None:
    thread = thread_of(live, case_id)
    posted = await live.slack.post_as_user(INBOX, user, words, thread_ts=thread)
    event = message_event(INBOX, user, words, posted["ts"], thread_ts=thread)
    assert (await live.slack_event(event)).status == 200


def section(answer: str, heading: str) -> list[str]:
    """The bullet lines under a bold heading line of the answer."""
    lines = answer.splitlines()
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("• ")), len(lines))
    return lines[start:end]


async def test_usage_counts_each_kind_of_text_per_number_and_staff_member(start_live) -> None:
    live: LiveBridge = await start_live(VONAGE_NUMBERS=f"{OUR_NUMBER},{SECOND_NUMBER}")
    live.slack.add_user(OTHER_STAFF, "omar", display_name="Omar")
    await inbound(live, BOB, OUR_NUMBER, "Hi, is the clinic open?")  # case 1
    await live.drained()
    await inbound(live, ALICE, SECOND_NUMBER, "Hello there")  # case 2
    await live.drained()
    await inbound(live, CAROL, OUR_NUMBER, "HELP")  # case 3, answered by an automated text
    await live.drained()

    await reply_as(live, STAFF, 1, "See you at 10")  # 1 segment
    await reply_as(live, STAFF, 1, "Long answer " + "x" * 190)  # 2 segments
    await live.vonage.wait_for_sends(3)
    # The carrier takes the next reply, then reports it failed on the way to the phone.
    live.vonage.send_receipts_to(f"{live.url}/vonage/status", status="failed", err_code="1")
    await reply_as(live, OTHER_STAFF, 2, "Noted")
    await live.slack.wait_for("reactions.add")
    await reply_as(live, STAFF, 2, "// call her back tomorrow")  # a note: never counted
    await reply_as(live, STAFF, 3, "y" * 1000)  # 7 segments: refused, not sent
    await live.drained()

    answer = await live.command("usage")
    assert answer == await live.command("usage today")
    today = datetime.now(UTC).date()
    assert answer.splitlines()[0] == f"*SMS usage: today, {today:%a %d %b %Y}* (UTC)"
    assert section(answer, "*All our numbers*") == [
        "• Inbound: texts 3 · segments 3",
        "• Sent by staff: texts 3 · segments 4 · undelivered 1 · not sent 1",
        "• Forwarded: texts 0 · segments 0",
        "• Automated: texts 1 · segments 1",
        "• Broadcasts: texts 0 · segments 0",
    ]
    assert section(answer, "*From and to +44 7700 900000*") == [
        "• Inbound: texts 2 · segments 2",
        "• Sent by staff: texts 2 · segments 3 · not sent 1",
        "• Forwarded: texts 0 · segments 0",
        "• Automated: texts 1 · segments 1",
        "• Broadcasts: texts 0 · segments 0",
    ]
    assert section(answer, "*From and to +44 7700 900001*") == [
        "• Inbound: texts 1 · segments 1",
        "• Sent by staff: texts 1 · segments 1 · undelivered 1",
        "• Forwarded: texts 0 · segments 0",
        "• Automated: texts 0 · segments 0",
        "• Broadcasts: texts 0 · segments 0",
    ]
    assert section(answer, "*Sent by each staff member*") == [
        f"• <@{STAFF}>: texts 2 · segments 3 · not sent 1",
        f"• <@{OTHER_STAFF}>: texts 1 · segments 1 · undelivered 1",
    ]
    # All of it happened this week and this month, however they are named.
    figures = answer.splitlines()[1:]
    for period in ("week", "month", f"{today:%Y-%m}"):
        assert (await live.command(f"usage {period}")).splitlines()[1:] == figures, period


async def test_periods_are_days_weeks_and_months_of_the_desk_time_zone(start_live) -> None:
    """Texts just inside and just outside each boundary, in a zone 5½ hours from UTC."""
    zone = ZoneInfo("Asia/Kolkata")
    clock = ShiftedClock()
    live: LiveBridge = await start_live(clock=clock, TIME_ZONE="Asia/Kolkata")
    # Wednesday noon, between the 15th and the 21st of next month: its week is in its month.
    now = datetime.now(zone)
    first_of_next = date(now.year + now.month // 12, now.month % 12 + 1, 1)
    wednesday = first_of_next + timedelta(
        days=14 + (2 - first_of_next.replace(day=15).weekday()) % 7
    )
    clock.set(datetime.combine(wednesday, datetime.min.time(), zone) + timedelta(hours=12))

    def local(day: date, minutes: int) -> datetime:
        return datetime.combine(day, datetime.min.time(), zone) + timedelta(minutes=minutes)

    monday = wednesday - timedelta(days=2)
    moments = {
        "today": local(wednesday, 1),
        "yesterday, late": local(wednesday, -1),
        "monday at midnight": local(monday, 0),
        "sunday, late": local(monday, -1),
        "first of the month": local(first_of_next, 1),
        "last month, late": local(first_of_next, -1),
    }
    for words, moment in moments.items():
        await inbound(live, BOB, OUR_NUMBER, words, at=moment.astimezone(UTC))
    await live.drained()

    def inbound_figure(answer: str) -> str:
        return section(answer, "*All our numbers*")[0]

    expected = {
        "today": 1,
        "week": 3,
        "month": 5,
        f"{wednesday:%Y-%m}": 5,
        f"{first_of_next - timedelta(days=1):%Y-%m}": 1,
    }
    for period, count in expected.items():
        answer = await live.command(f"usage {period}")
        assert inbound_figure(answer) == f"• Inbound: texts {count} · segments {count}", period
        assert answer.splitlines()[0].endswith("(Asia/Kolkata)")
    week = await live.command("usage week")
    assert f"this week, {monday:%a %d %b} – {monday + timedelta(days=6):%a %d %b %Y}" in week
    assert f"*SMS usage: {wednesday:%B %Y}*" in await live.command("usage month")


async def test_a_period_that_is_not_one_gets_the_usage_line(live: LiveBridge) -> None:
    for words in ("yesterday", "2026-13", "2026-3", "0000-01", "week please", "26-03-2026"):
        assert await live.command(f"usage {words}") == texts.USAGE_USAGE, words
    assert "/smschat usage" in await live.command("help")
