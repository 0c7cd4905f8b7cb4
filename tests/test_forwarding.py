"""Forwarding schedules: managed in a modal through Slack's wire format, applied to live texts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bridge import texts
from bridge.domain.records import ScheduleRecord
from bridge.domain.segments import measure
from bridge.fakes.clock import ShiftedClock
from bridge.fakes.slack_payloads import (
    interaction_form,
    view_block_actions_payload,
    view_submission_payload,
)
from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.routing import forwarding
from bridge.routing.forwarding import Schedule, ScheduleInput
from bridge.slack.forwarding import ADD, DELETE, EDIT, FORM_VIEW, LIST_VIEW
from bridge.store.models import Message
from tests.conftest import INBOX, OUR_NUMBER, STAFF, LiveBridge

CONTACT = "447700900123"
US = OUR_NUMBER.removeprefix("+")
MANAGER, OTHER = "U0MANAGER", "U0OTHER"
MANAGER_PHONE, OTHER_PHONE = "+447400123456", "+447400123789"
SECOND_NUMBER = "+447400000999"  # one of ours (VONAGE_NUMBERS) that phonenumbers holds valid
LONDON = ZoneInfo("Europe/London")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


# -- helpers: Slack's side -----------------------------------------------------------------


def form_values(
    *,
    name: str = "Nights",
    users: list[str] | None = None,
    numbers: str | None = None,
    days: list[int] | None = None,
    start: str | None = "00:00",
    end: str | None = "05:59",
    time_zone: str | None = "Europe/London",
) -> dict[str, Any]:
    """`view.state.values` of the form as Slack reports it (block id → action id → state)."""
    options = [
        {"text": {"type": "plain_text", "text": DAYS[d]}, "value": str(d)}
        for d in ([1] if days is None else days)
    ]
    return {
        "name": {"name": {"type": "plain_text_input", "value": name or None}},
        "users": {
            "users": {"type": "multi_users_select", "selected_users": users or []},
        },
        "numbers": {"numbers": {"type": "plain_text_input", "value": numbers}},
        "days": {"days": {"type": "checkboxes", "selected_options": options}},
        "start": {"start": {"type": "timepicker", "selected_time": start}},
        "end": {"end": {"type": "timepicker", "selected_time": end}},
        "time_zone": {"time_zone": {"type": "plain_text_input", "value": time_zone}},
    }


def sent_view(call: Any) -> dict[str, Any]:
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else view


async def open_list(live: LiveBridge) -> dict[str, Any]:
    """Run `/smschat forward`; the list modal as Slack holds it (with its id and hash)."""
    assert await live.command("forward") == ""
    await live.slack.wait_for("views.open")
    return next(v for v in live.slack.views.values() if v["callback_id"] == LIST_VIEW)


async def press(live: LiveBridge, view: dict[str, Any], action_id: str, value: str) -> None:
    payload = view_block_actions_payload(
        user=STAFF,
        view=view,
        action={"action_id": action_id, "type": "button", "value": value},
    )
    assert (await live.signed_form(interaction_form(payload))).status == 200


async def submit(live: LiveBridge, form: dict[str, Any], values: dict[str, Any]) -> dict | None:
    """Press Save on the form; Slack's answer (None for an empty 200, which closes it)."""
    payload = view_submission_payload(user=STAFF, view=form, values=values)
    response = await live.signed_form(interaction_form(payload))
    assert response.status == 200
    body = await response.text()
    return json.loads(body) if body else None


async def pushed_form(live: LiveBridge, count: int) -> dict[str, Any]:
    form = sent_view((await live.slack.wait_for("views.push", count=count))[count - 1])
    assert form["callback_id"] == FORM_VIEW
    return form


def element(form: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in form["blocks"] if b.get("block_id") == block_id)["element"]


async def stored(live: LiveBridge) -> list[ScheduleRecord]:
    async with live.bridge.store.reading() as unit:
        return await unit.schedules.all()


def shown(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


# -- helpers: texts and time ----------------------------------------------------------------


async def text(live: LiveBridge, words: str, mid: str, *, sender: str = CONTACT) -> None:
    params = sms_inbound_params(msisdn=sender, to=US, text=words, message_id=mid)
    assert (await live.vonage_webhook("/vonage/inbound", params)).status == 200


async def add_schedule(live: LiveBridge, **fields: Any) -> None:
    given = ScheduleInput(
        name=fields.get("name", "Nights"),
        user_ids=fields.get("users", []),
        numbers=fields.get("numbers"),
        days=[str(d) for d in fields.get("days", range(7))],
        start_time=fields.get("start", "00:00"),
        end_time=fields.get("end", "23:59"),
        time_zone=fields.get("time_zone", "Europe/London"),
    )
    async with live.bridge.store.unit() as unit:
        await forwarding.save_schedule(
            unit, None, given, by=STAFF, default_region="GB", our_numbers=[OUR_NUMBER]
        )


def direct_messages(live: LiveBridge, user: str) -> list[dict[str, Any]]:
    ims = [c["id"] for c in live.slack.channels.values() if c.get("is_im") and c["user"] == user]
    return [m for channel in ims for m in live.slack.messages(channel)]


def thread_texts(live: LiveBridge) -> list[str]:
    header = live.slack.messages(INBOX)[0]
    return [m["text"] for m in live.slack.thread(INBOX, header["ts"])]


def next_local(weekday: int, at: time, zone: ZoneInfo) -> datetime:
    """The first such weekday and wall-clock time in `zone` from two days ahead (aware)."""
    day = datetime.now(zone).date() + timedelta(days=2)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    return datetime.combine(day, at, tzinfo=zone)


def next_offset_change(zone: ZoneInfo) -> date:
    """The next day (from two days ahead) on which `zone` changes its UTC offset."""
    day = datetime.now(zone).date() + timedelta(days=2)
    while True:
        today = datetime.combine(day, time(12), tzinfo=zone).utcoffset()
        tomorrow = datetime.combine(day + timedelta(days=1), time(12), tzinfo=zone).utcoffset()
        if today != tomorrow:
            return day + timedelta(days=1)
        day += timedelta(days=1)


# -- the rules of time ----------------------------------------------------------------------

NIGHTS = Schedule("Nights", [MANAGER], [], [1], "00:00", "05:59", "Europe/London")
EARLY_SUNDAY = Schedule("Early", [MANAGER], [], [6], "01:00", "01:59", "Europe/London")
NEW_YORK = Schedule("NY", [MANAGER], [], [1], "00:00", "05:59", "America/New_York")


@pytest.mark.parametrize(
    "schedule, at, active",
    [
        (NIGHTS, "2027-01-05T02:00:00+00:00", True),
        (NIGHTS, "2027-01-05T05:59:59+00:00", True),
        (NIGHTS, "2027-01-05T06:00:00+00:00", False),
        (NIGHTS, "2027-01-04T23:59:00+00:00", False),
        (NIGHTS, "2027-07-06T01:30:00+00:00", True),
        (NIGHTS, "2027-07-06T05:30:00+00:00", False),
        (NIGHTS, "2027-07-05T23:30:00+00:00", True),
        (NEW_YORK, "2027-01-05T03:00:00+00:00", False),
        (NEW_YORK, "2027-01-05T08:00:00+00:00", True),
        (EARLY_SUNDAY, "2027-10-31T00:30:00+00:00", True),
        (EARLY_SUNDAY, "2027-10-31T01:30:00+00:00", True),
        (EARLY_SUNDAY, "2027-03-28T00:30:00+00:00", False),
        (EARLY_SUNDAY, "2027-03-28T01:00:00+00:00", False),
    ],
    ids=[
        "winter-2am-tuesday",
        "end-minute-included",
        "after-the-end",
        "monday-night-is-not-tuesday",
        "summer-0230-bst",
        "summer-0630-bst-though-0530-utc",
        "summer-tuesday-starts-at-2300-utc",
        "new-york-still-monday",
        "new-york-tuesday-3am",
        "autumn-0130-first-time",
        "autumn-0130-second-time",
        "spring-0030-before-the-gap",
        "spring-0100-utc-is-0200-bst",
    ],
)
def test_a_schedule_is_active_on_the_wall_clock_of_its_zone(schedule, at, active) -> None:
    assert forwarding.is_active(schedule, datetime.fromisoformat(at)) is active


def test_a_long_text_is_cut_to_fit_three_segments() -> None:
    cut = forwarding.fit_segments("Fwd from +44 7700 900123: " + "word " * 200)
    assert measure(cut).segments == 3 and cut.endswith("...")
    assert forwarding.fit_segments("Short") == "Short"


# -- managing schedules ---------------------------------------------------------------------


async def test_schedules_are_added_edited_and_deleted_in_the_modal(start_live) -> None:
    live = await start_live(DEFAULT_REGION="GB", TIME_ZONE="Europe/London")
    listing = await open_list(live)
    assert texts.FORWARD_LIST_EMPTY in shown(listing)

    await press(live, listing, ADD, "add")
    form = await pushed_form(live, 1)
    assert element(form, "time_zone")["initial_value"] == "Europe/London"
    values = form_values(users=[MANAGER], numbers="07400 123456", days=[1])
    assert await submit(live, form, values) is None
    [schedule] = await stored(live)
    assert (schedule.name, schedule.user_ids, schedule.phone_numbers, schedule.days) == (
        "Nights",
        [MANAGER],
        [MANAGER_PHONE],
        [1],
    )
    assert (schedule.start_time, schedule.end_time, schedule.time_zone) == (
        "00:00",
        "05:59",
        "Europe/London",
    )
    assert schedule.created_by == STAFF
    await live.slack.wait_for("views.update")
    listing = live.slack.views[listing["id"]]
    for seen in ("*Nights*", f"<@{MANAGER}>", "+44 7400 123456", "Tue · 00:00–05:59"):
        assert seen in shown(listing)

    await press(live, listing, EDIT, str(schedule.id))
    form = await pushed_form(live, 2)
    assert element(form, "name")["initial_value"] == "Nights"
    assert element(form, "users")["initial_users"] == [MANAGER]
    assert element(form, "numbers")["initial_value"] == "+44 7400 123456"
    assert [o["value"] for o in element(form, "days")["initial_options"]] == ["1"]
    assert (element(form, "start")["initial_time"], element(form, "end")["initial_time"]) == (
        "00:00",
        "05:59",
    )
    # A bad edit changes nothing.
    refused = await submit(
        live, form, form_values(name="Weekends", users=[MANAGER], start="22:00", end="06:00")
    )
    assert refused is not None and set(refused["errors"]) == {"end"}
    assert [s.name for s in await stored(live)] == ["Nights"]
    edited = form_values(
        name="Nights and weekends",
        numbers="+44 7400 123456, +44 7400 123789",
        days=[1, 5, 6],
        start="18:00",
        end="23:59",
        time_zone="america/new_york",
    )
    assert await submit(live, form, edited) is None
    [schedule] = await stored(live)
    assert (schedule.name, schedule.user_ids, schedule.days, schedule.time_zone) == (
        "Nights and weekends",
        [],
        [1, 5, 6],
        "America/New_York",
    )
    assert schedule.phone_numbers == [MANAGER_PHONE, OTHER_PHONE]
    await live.slack.wait_for("views.update", count=2)
    listing = live.slack.views[listing["id"]]
    assert "Tue, Sat, Sun · 18:00–23:59 (America/New_York)" in shown(listing)

    actions = next(b for b in listing["blocks"] if b.get("block_id") == f"schedule:{schedule.id}")
    delete = next(e for e in actions["elements"] if e["action_id"] == DELETE)
    assert delete["confirm"]["confirm"]["text"] == "Delete"  # Slack asks before sending it
    await press(live, listing, DELETE, str(schedule.id))
    await live.slack.wait_for("views.update", count=3)
    assert await stored(live) == []
    assert texts.FORWARD_LIST_EMPTY in shown(live.slack.views[listing["id"]])


@sqlite_only
@pytest.mark.parametrize(
    "changes, field, says",
    [
        ({"name": "  "}, "name", "Give the schedule a name"),
        ({"name": "x" * 81}, "name", "within 80 characters"),
        ({"users": [], "numbers": None}, "users", "at least one person"),
        ({"numbers": "+44 7400 123456, 0800 FLOWERS"}, "numbers", "contains letters"),
        ({"numbers": "+44 7400 000999"}, "numbers", "this bridge's own numbers"),
        ({"numbers": "07400 123456"}, "numbers", "no country code"),
        ({"users": ["not a user"]}, "users", "Choose people from the list"),
        ({"days": []}, "days", "at least one day"),
        ({"start": "22:00", "end": "06:00"}, "end", "A window past midnight is two schedules"),
        ({"start": "09:00", "end": "09:00"}, "end", "must be after the start"),
        ({"start": None}, "start", "Pick a time"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not a time zone"),
        ({"time_zone": None}, "time_zone", "not a time zone"),
    ],
    ids=[
        "no-name",
        "long-name",
        "no-recipients",
        "bad-number",
        "our-own-number",
        "national-number-without-region",
        "malformed-user",
        "no-days",
        "end-before-start",
        "empty-window",
        "no-start",
        "unknown-zone",
        "no-zone",
    ],
)
async def test_a_malformed_schedule_is_refused_on_its_field(
    start_live, changes, field, says
) -> None:
    live = await start_live(VONAGE_NUMBERS=f"{OUR_NUMBER},{SECOND_NUMBER}")
    listing = await open_list(live)
    await press(live, listing, ADD, "add")
    form = await pushed_form(live, 1)
    values = form_values(**{"users": [MANAGER], **changes})
    answer = await submit(live, form, values)
    assert answer is not None and answer["response_action"] == "errors"
    assert set(answer["errors"]) == {field} and says in answer["errors"][field]
    assert await stored(live) == []
    assert live.slack.calls("views.update") == []


@sqlite_only
async def test_every_wrong_field_is_shown_at_once(live) -> None:
    listing = await open_list(live)
    await press(live, listing, ADD, "add")
    form = await pushed_form(live, 1)
    answer = await submit(live, form, form_values(name="", days=[], time_zone="Nowhere"))
    assert answer is not None
    assert set(answer["errors"]) == {"name", "users", "days", "time_zone"}
    assert await stored(live) == []


# -- forwarding texts -----------------------------------------------------------------------


async def test_a_text_at_2am_reaches_the_managers_only_while_a_schedule_is_active(
    start_live,
) -> None:
    clock = ShiftedClock()
    live = await start_live(clock=clock)
    live.slack.add_user(MANAGER, "maria")
    await add_schedule(live, users=[MANAGER], numbers=MANAGER_PHONE, days=[1], end="05:59")
    async with live.bridge.store.unit() as unit:
        await unit.contacts.name("+" + CONTACT, name="Bob Smith", label="Mobile")
    tuesday_2am = next_local(1, time(2, 0), LONDON)
    clock.set(tuesday_2am)

    await text(live, "The boiler is leaking & <!here> help", "F1")
    [forwarded] = await live.vonage.wait_for_sends(1)
    assert (forwarded.to, forwarded.from_) == (MANAGER_PHONE.removeprefix("+"), US)
    assert (
        forwarded.text
        == "Fwd from Bob Smith (+44 7700 900123): The boiler is leaking & <!here> help"
    )
    await live.slack.wait_until(lambda: len(direct_messages(live, MANAGER)) == 1, what="the DM")
    dm = direct_messages(live, MANAGER)[0]["text"]
    header = live.slack.messages(INBOX)[0]
    permalink = (
        f"https://fake-workspace.slack.com/archives/{INBOX}/p{header['ts'].replace('.', '')}"
    )
    assert "*Bob Smith – Mobile (+44 7700 900123)*" in dm and "to +44 7700 900000" in dm
    assert f"<{permalink}|case #1>" in dm
    assert dm.endswith("The boiler is leaking &amp; &lt;!here&gt; help")  # inert in Slack
    async with live.bridge.db.reading() as session:
        rows = (await session.execute(select(Message).order_by(Message.id))).scalars().all()
    inbound = next(m for m in rows if m.direction == "inbound")
    copy = next(m for m in rows if m.direction == "forwarded")
    assert (copy.forwarded_from_id, copy.contact_number, copy.our_number) == (
        inbound.id,
        MANAGER_PHONE,
        OUR_NUMBER,
    )
    await live.drained()
    # Forwarded copies count in usage, under the number they were sent from.
    usage = await live.command("usage today")
    assert "• Forwarded: texts 1 · segments 1" in usage

    await live.drained()  # no job in hand while the clock jumps past its lease
    clock.set(tuesday_2am + timedelta(hours=4))  # 06:00: the window ended at 05:59
    await text(live, "Still leaking", "F2")
    await live.drained()
    assert "Still leaking" in thread_texts(live)
    assert not any("Still leaking" in s.text for s in live.vonage.sends)
    assert not any("Still leaking" in m["text"] for m in direct_messages(live, MANAGER))


async def test_someone_in_two_active_schedules_is_told_once(start_live) -> None:
    live = await start_live()
    live.slack.add_user(MANAGER, "maria")
    live.slack.add_user(OTHER, "omar")
    await add_schedule(live, name="Always", users=[MANAGER], numbers=MANAGER_PHONE)
    await add_schedule(
        live,
        name="Always too",
        users=[MANAGER, OTHER],
        numbers=f"{MANAGER_PHONE}, {OTHER_PHONE}",
        time_zone="UTC",
    )

    # A manager's own phone texts: a keyword is forwarded like any other text, and the
    # phone it came from never gets a copy.
    await text(live, "STOP", "K1", sender=MANAGER_PHONE.removeprefix("+"))
    await live.vonage.wait_for_sends(2)
    await live.drained()
    await live.slack.wait_until(
        lambda: direct_messages(live, OTHER) and direct_messages(live, MANAGER), what="the DMs"
    )
    await live.drained()
    assert len(direct_messages(live, MANAGER)) == len(direct_messages(live, OTHER)) == 1
    sends = sorted((s.to, s.text) for s in live.vonage.sends)
    assert sends == [
        (MANAGER_PHONE.removeprefix("+"), texts.OPT_OUT_CONFIRMATION),
        (OTHER_PHONE.removeprefix("+"), "Fwd from +44 7400 123456: STOP"),
    ]

    # That phone opted out of our number: it gets no more copies either.
    await text(live, "Hello", "K2")
    await live.vonage.wait_for_sends(3)
    await live.drained()
    assert [(s.to, s.text) for s in live.vonage.sends[2:]] == [
        (OTHER_PHONE.removeprefix("+"), "Fwd from +44 7700 900123: Hello")
    ]


@sqlite_only
async def test_a_schedule_keeps_its_hours_across_a_daylight_saving_change(start_live) -> None:
    clock = ShiftedClock()
    live = await start_live(clock=clock)
    await add_schedule(live, numbers=MANAGER_PHONE, start="09:00", end="09:59")
    change = next_offset_change(LONDON)
    before = datetime.combine(change - timedelta(days=2), time(9, 30), tzinfo=LONDON)
    after = datetime.combine(change + timedelta(days=2), time(9, 30), tzinfo=LONDON)
    # The UTC time of day that was 09:30 before the change is 08:30 or 10:30 after it.
    same_utc_clock = before.astimezone(UTC) + (after.date() - before.date())
    moments = sorted([(before, True), (after, True), (same_utc_clock, False)])
    for number, (moment, forwarded) in enumerate(moments):
        clock.set(moment)
        await text(live, f"Text {number}", f"D{number}")
        await live.drained()
        copies = [s.text for s in live.vonage.sends]
        copy = f"Fwd from +44 7700 900123: Text {number}"
        assert (copy in copies) is forwarded, f"at {moment}: {copies}"
