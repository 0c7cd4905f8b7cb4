"""Texts scheduled for later: `/smschat new ... at:`, sent once at their time (or when the
bridge runs again after it), cancelled from their author's button."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bridge import texts
from bridge.fakes.clock import ShiftedClock
from bridge.fakes.slack_payloads import (
    block_actions_payload,
    interaction_form,
    view_submission_payload,
)
from bridge.fakes.views import submitted_state
from bridge.routing.scheduled import CANCEL_SCHEDULED
from tests.conftest import INBOX, STAFF, LiveBridge

CONTACT = "+447400123555"
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def at_nine_tomorrow(clock: ShiftedClock) -> datetime:
    """Set the clock to 09:00 UTC tomorrow (an hour of the day in London); that moment."""
    day = clock.now().date() + timedelta(days=1)
    moment = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    clock.set(moment)
    return moment


def thread_texts(live: LiveBridge) -> list[str]:
    header = next(m for m in live.slack.messages(INBOX) if "Case #1" in m["text"])
    return [m["text"] for m in live.slack.thread(INBOX, header["ts"])]


async def test_a_scheduled_text_waits_and_goes_once_even_across_a_restart(start_live) -> None:
    clock = ShiftedClock()
    nine = at_nine_tomorrow(clock)
    first = await start_live(clock=clock)

    at = f"{nine + timedelta(hours=1):%Y-%m-%d %H:%M}"  # in TIME_ZONE, UTC here
    answer = await first.command(f"new {CONTACT} See you at noon at:{at}")

    assert "Scheduled in case #1 for" in answer
    await first.drained()
    assert first.vonage.sends == []
    assert any("scheduled this text for" in t for t in thread_texts(first))
    await first.bridge.close()

    clock.advance(timedelta(hours=2))  # its time passed while no bridge ran
    second = await start_live(clock=clock)
    await second.vonage.wait_for_sends(1)
    await second.drained()
    assert [(s.to, s.text) for s in second.vonage.sends] == [
        (CONTACT.removeprefix("+"), "See you at noon (#1)")
    ]


@sqlite_only
async def test_cancel_keeps_a_scheduled_text_from_going(start_live) -> None:
    clock = ShiftedClock()
    nine = at_nine_tomorrow(clock)
    live = await start_live(clock=clock)
    await live.command(f"new {CONTACT} Reminder at:{(nine + timedelta(hours=1)).isoformat()}")
    await live.drained()
    told = next(
        c.params
        for c in live.slack.calls("chat.postEphemeral")
        if CANCEL_SCHEDULED in str(c.params.get("blocks"))
    )
    blocks = json.loads(told["blocks"]) if isinstance(told["blocks"], str) else told["blocks"]
    button = next(e for b in blocks if b["type"] == "actions" for e in b["elements"])

    payload = block_actions_payload(
        user=STAFF,
        channel=INBOX,
        message={"ts": told.get("thread_ts") or "0"},
        action={**button, "block_id": "b"},
    )
    assert (await live.signed_form(interaction_form(payload))).status == 200
    await live.drained()
    clock.advance(timedelta(hours=2))
    await live.drained()

    assert live.vonage.sends == []
    assert any("cancelled the scheduled text" in t for t in thread_texts(live))


@sqlite_only
@pytest.mark.parametrize(
    ("when", "reason"),
    [("2020-01-01 09:00", "is in the past"), ("tomorrow", "is not a time such as")],
    ids=["past", "unparseable"],
)
async def test_a_time_that_cannot_be_is_refused(live: LiveBridge, when: str, reason: str) -> None:
    answer = await live.command(f"new {CONTACT} Hello at:{when}")
    assert reason in answer
    await live.drained()
    assert live.vonage.sends == [] and live.slack.messages(INBOX) == []
    assert texts.STARTED_DONE.format(ref=1) not in answer


@sqlite_only
async def test_the_new_text_form_sends_later_or_refuses_the_time_on_its_field(
    start_live,
) -> None:
    clock = ShiftedClock()
    nine = at_nine_tomorrow(clock)
    live = await start_live(clock=clock)
    assert await live.command("new") == ""
    await live.slack.wait_for("views.open")
    form = next(iter(live.slack.views.values()))

    async def submit(at: str) -> dict:
        values = submitted_state(form, to=CONTACT, message="Your results are in", at=at)
        payload = view_submission_payload(user=STAFF, view=form, values=values)
        response = await live.signed_form(interaction_form(payload))
        assert response.status == 200
        body = await response.text()
        return json.loads(body) if body else {}

    refused = await submit("next week")
    assert (
        refused["response_action"] == "errors"
        and "is not a time such as" in refused["errors"]["at"]
    )
    assert await submit(f"{nine + timedelta(hours=3):%Y-%m-%d %H:%M}") == {}
    await live.drained()
    assert live.vonage.sends == []
    assert any("scheduled this text for" in t for t in thread_texts(live))

    clock.advance(timedelta(hours=3))
    await live.vonage.wait_for_sends(1)
    assert live.vonage.sends[0].text == "Your results are in (#1)"
