"""Unread cases (shared or per person), Mark read, the App Home, and the message counter."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

from bridge.fakes.clock import ShiftedClock
from bridge.fakes.reading import header_field
from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.routing.threads import HEADER_REDRAW_EVERY
from bridge.slack import blocks
from bridge.slack.home_blocks import HOME_FORWARDING, HOME_NEW_TEXT, HOME_OPEN_CASE
from tests.conftest import INBOX, OUR_NUMBER, STAFF, LiveBridge

OTHER = "U0OTHER"
GUEST = "U0GUEST"
BOB, ANN = "447700900123", "447700900456"
_ids = itertools.count(1)


async def text(live: LiveBridge, words: str, sender: str = BOB) -> None:
    params = sms_inbound_params(
        msisdn=sender, to=OUR_NUMBER[1:], text=words, message_id=f"H{next(_ids):07d}"
    )
    assert (await live.vonage_webhook("/vonage/inbound", params)).status == 200
    await live.drained()


async def team(live: LiveBridge) -> LiveBridge:
    live.slack.add_user(OTHER, "olly")
    live.slack.add_user(GUEST, "gus", is_restricted=True)
    live.slack.add_channel(INBOX, "sms-inbox", members=[live.slack.bot_user_id, STAFF, OTHER])
    return live


def section(home: dict, title: str) -> str:
    """The text of one list of the Home tab, from its title to the next divider."""
    shown, taking = [], False
    for block in home["blocks"]:
        if block["type"] == "divider":
            taking = False
        text = (block.get("text") or {}).get("text", "")
        if text.startswith(f"*{title}:"):
            taking = True
        if taking:
            shown.append(text)
    return "\n".join(shown)


def header_unread(live: LiveBridge, case_id: int) -> str:
    header = next(m for m in live.slack.messages(INBOX) if f"#{case_id}" in m["text"])
    return header_field(header, "Unread")


async def test_the_home_tab_lists_unread_assigned_and_open_cases(live: LiveBridge) -> None:
    await team(live)
    await text(live, "Hello", BOB)
    await text(live, "Hi there", ANN)
    await text(live, "Still waiting", ANN)
    await live.command("assign #1 me")
    await live.drained()

    home = await live.open_home(STAFF)
    assert home["type"] == "home"
    assert "*Unread: 2*" in section(home, "Unread")
    assert "*#2* +44 7700 900456 · open · unassigned · *2 unread*" in section(home, "Unread")
    assigned = section(home, "Assigned to you")
    assert "*Assigned to you: 1*" in assigned and "#1*" in assigned and "#2*" not in assigned
    assert "*Open cases: 2*" in section(home, "Open cases")
    # Each case links to its thread.
    thread = live.slack.messages(INBOX)[0]["ts"].replace(".", "")
    assert f"https://slack.com/archives/{INBOX}/p{thread}" in json.dumps(home)


async def test_guests_and_non_members_see_no_contact_data_at_home(live: LiveBridge) -> None:
    await team(live)
    live.slack.add_user("U0STRANGER", "sam")
    await text(live, "Hello", BOB)
    for user in (GUEST, "U0STRANGER"):
        home = json.dumps(await live.open_home(user))
        assert "guests" in home or "Only members" in home
        assert "7700" not in home and "#1" not in home


async def test_shared_reading_one_mark_read_clears_the_case_for_everyone(start_live) -> None:
    clock = ShiftedClock()
    live = await team(await start_live(clock=clock))
    await text(live, "Hello")
    await text(live, "Are you there?")
    assert header_unread(live, 1) == "*Unread*\n2"

    assert (await live.press(blocks.MARK_READ, 1)).status == 200
    await live.drained()
    assert header_unread(live, 1) == "*Unread*\n0"
    assert "*Unread: 0*" in section(await live.open_home(OTHER), "Unread")
    assert "No case matches" in await live.command("list unread", user=OTHER)

    await text(live, "Hello again")
    assert "#1" in await live.command("list unread", user=OTHER)
    # The header was redrawn for a text a moment ago: this text's count follows shortly.
    assert header_unread(live, 1) == "*Unread*\n0"
    clock.advance(HEADER_REDRAW_EVERY)
    await live.drained()
    assert header_unread(live, 1) == "*Unread*\n1"
    assert "*Unread: 1*" in section(await live.open_home(OTHER), "Unread")


async def test_per_person_reading_opening_from_home_reads_it_for_that_person_only(
    live: LiveBridge,
) -> None:
    await team(live)
    assert (await live.change_settings(read_mode="per_user"))["response_action"] == "update"
    await text(live, "Hello")
    await text(live, "Are you there?")

    home = await live.open_home(STAFF)
    assert "*1 unread*" not in section(home, "Unread") and "*2 unread*" in section(home, "Unread")
    assert (await live.press_in_view(home, HOME_OPEN_CASE, "1", user=STAFF)).status == 200
    await live.drained()
    mine = live._homes(STAFF)[-1]  # the Home tab the press refreshed
    assert "*Unread: 0*" in section(mine, "Unread")
    assert "*Unread: 1*" in section(await live.open_home(OTHER), "Unread")
    # The header counts texts nobody has read yet: reading by anyone clears it.
    assert header_unread(live, 1) == "*Unread*\n0"

    # `/smschat list unread` follows the same setting.
    assert "No case matches" in await live.command("list unread", user=STAFF)
    assert "#1" in await live.command("list unread", user=OTHER)

    await text(live, "One more thing")
    theirs = section(await live.open_home(OTHER), "Unread")
    assert "*3 unread*" in theirs
    assert "*1 unread*" in section(await live.open_home(STAFF), "Unread")

    # Replying in the thread reads the case for the one who replied.
    await live.staff_reply(live.slack.messages(INBOX)[0]["ts"], "On it", user=OTHER)
    await live.drained()
    assert "*Unread: 0*" in section(await live.open_home(OTHER), "Unread")


async def test_quick_actions_open_the_new_text_and_forwarding_forms(live: LiveBridge) -> None:
    await team(live)
    home = await live.open_home(STAFF)
    assert (await live.press_in_view(home, HOME_NEW_TEXT, "new")).status == 200
    assert (await live.press_in_view(home, HOME_FORWARDING, "forwarding")).status == 200
    opened = await live.slack.wait_for("views.open", count=2)
    views = [c.params["view"] for c in opened]
    shown = [v if isinstance(v, str) else json.dumps(v) for v in views]
    assert "new_conversation" in shown[0]
    assert "Add schedule" in shown[1]


async def test_the_message_counter_warns_at_the_daily_threshold(start_live) -> None:
    clock = ShiftedClock()
    live = await start_live(clock=clock, TIME_ZONE="Pacific/Auckland")
    answer = await live.change_settings(counter_enabled=["on"], counter_threshold="2")
    assert answer["response_action"] == "update"
    await text(live, "Hello")
    thread = live.slack.messages(INBOX)[0]["ts"]

    def warnings() -> list[str]:
        said = [c.params.get("text", "") for c in live.slack.calls("chat.postEphemeral")]
        return [t for t in said if "texts today" in t]

    await live.staff_reply(thread, "One")
    await live.staff_reply(thread, "// a note is not a text")
    await live.drained()
    assert warnings() == []
    await live.staff_reply(thread, "Two")
    await live.staff_reply(thread, "Three")
    await live.drained()
    assert warnings() == [
        ":warning: You have sent 2 texts today; the team's daily limit is 2.",
        ":warning: You have sent 3 texts today; the team's daily limit is 2.",
    ]
    clock.advance(timedelta(days=1))  # a new day in Auckland
    await live.staff_reply(thread, "Four")
    await live.drained()
    assert len(warnings()) == 2
