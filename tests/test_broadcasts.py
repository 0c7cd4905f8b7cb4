"""Broadcasts through the wire: `/smschat broadcast`, the post's Cancel, the command line;
each recipient texted once, with the opt-out line first, within their hours."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bridge import texts
from bridge.cli import main
from bridge.domain.contacts import ContactDetails, LabelledNumber
from bridge.domain.values import PhoneNumber
from bridge.fakes.clock import ShiftedClock
from bridge.fakes.slack_payloads import (
    block_actions_payload,
    interaction_form,
    view_submission_payload,
)
from bridge.fakes.views import submitted_state
from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.slack.broadcast_blocks import CANCEL_BROADCAST
from bridge.store.models import Message
from bridge.store.models_broadcasts import Broadcast
from tests.conftest import INBOX, OUR_NUMBER, STAFF, LiveBridge, bridge_env

VOLUNTEERS = ["+447700900101", "+447700900102", "+447700900103"]
DONOR = "+447400123777"
OPT_OUT = "Reply STOP to opt out"
# Any hour of the day, and figures redrawn at once (Slack would be spared with the default).
ANY_HOUR = {"QUIET_HOURS": "", "BROADCAST_REDRAW_SECONDS": "0.1"}
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def add_contacts(live: LiveBridge, numbers: list[str], **properties: str) -> None:
    async with live.bridge.store.unit() as unit:
        for number in numbers:
            await unit.contacts.upsert(
                ContactDetails(
                    numbers=[LabelledNumber(PhoneNumber(number), "Mobile")], properties=properties
                )
            )


async def texts_in(live: LiveBridge, number: str, words: str) -> None:
    params = sms_inbound_params(
        msisdn=number.removeprefix("+"),
        to=OUR_NUMBER.removeprefix("+"),
        text=words,
        message_id=uuid.uuid4().hex[:16],
    )
    assert (await live.vonage_webhook("/vonage/inbound", params)).status == 200


def broadcast_post(live: LiveBridge) -> dict:
    return next(m for m in live.slack.messages(INBOX) if "Broadcast #" in m["text"])


async def stored_broadcasts(live: LiveBridge) -> int:
    async with live.bridge.db.reading() as session:
        return await session.scalar(select(func.count()).select_from(Broadcast))


async def test_a_broadcast_texts_each_tagged_contact_once_and_skips_the_opted_out(
    start_live,
) -> None:
    live = await start_live(**ANY_HOUR)
    await add_contacts(live, VOLUNTEERS, tag="volunteers")
    await add_contacts(live, [DONOR], tag="donors")
    await texts_in(live, VOLUNTEERS[2], "STOP")
    await live.drained()
    confirmations = len(live.vonage.sends)

    answer = await live.command(
        f"broadcast to:tag=Volunteers from:{OUR_NUMBER} Meeting at 7 tonight"
    )

    assert "2 recipients, 1 opted out and skipped, 1 segment(s) each" in answer
    await live.drained()
    sent = live.vonage.sends[confirmations:]
    assert sorted(s.to for s in sent) == sorted(n.removeprefix("+") for n in VOLUNTEERS[:2])
    assert all(s.text == f"Meeting at 7 tonight\n{OPT_OUT}" for s in sent)
    await live.slack.wait_until(
        lambda: "sent 2" in str(broadcast_post(live)["blocks"]), what="the figures redrawn"
    )
    async with live.bridge.db.reading() as session:
        logged = (
            await session.scalars(select(Message.direction).where(Message.text.like("Meeting%")))
        ).all()
    assert logged == ["broadcast", "broadcast"]
    assert "• Broadcasts: texts 2 · segments 2" in (await live.command("usage")).splitlines()


@sqlite_only
async def test_the_opt_out_line_goes_only_on_a_first_text_from_the_number(start_live) -> None:
    live = await start_live(**ANY_HOUR)
    await add_contacts(live, VOLUNTEERS[:2], tag="volunteers")
    await live.command("broadcast to:tag=volunteers First")
    await live.drained()
    await add_contacts(live, [VOLUNTEERS[2]], tag="volunteers")

    await live.command("broadcast to:tag=volunteers Second")
    await live.drained()

    second = {s.to: s.text for s in live.vonage.sends if s.text.startswith("Second")}
    assert second == {
        VOLUNTEERS[0].removeprefix("+"): "Second",
        VOLUNTEERS[1].removeprefix("+"): "Second",
        VOLUNTEERS[2].removeprefix("+"): f"Second\n{OPT_OUT}",
    }


@sqlite_only
@pytest.mark.parametrize(
    ("words", "reason"),
    [
        ("to:colour=blue Hi", texts.BROADCAST_UNKNOWN_PROPERTY.format(key="colour")),
        ("to:tag=nobody Hi", texts.BROADCAST_EMPTY_AUDIENCE.format(key="tag", value="nobody")),
        ("Hi everyone", texts.BROADCAST_NO_AUDIENCE),
        ("to:tag=volunteers " + "x" * 1200, "the most allowed is 6"),
        ("to:tag=volunteers at:2020-01-01 09:00 Hi", "is in the past"),
        ("to:tag=volunteers at:soon Hi", "is not a time such as"),
        ("to:tag=volunteers from:+447700900999 Hi", "is not one of this bridge's numbers"),
        ("to:+44770090,+447700900101 Hi", "is too short to be a phone number"),
    ],
    ids=[
        "unknown-tag",
        "empty",
        "no-audience",
        "too-long",
        "past",
        "unparseable",
        "not-ours",
        "bad-number",
    ],
)
async def test_a_broadcast_that_cannot_go_is_refused_with_its_reason_and_nothing_queued(
    start_live, words: str, reason: str
) -> None:
    live = await start_live(**ANY_HOUR)
    await add_contacts(live, VOLUNTEERS, tag="volunteers")

    answer = await live.command(f"broadcast {words}")

    assert reason in answer
    assert await stored_broadcasts(live) == 0
    await live.drained()
    assert live.vonage.sends == []


@sqlite_only
async def test_cancel_stops_what_is_not_sent_yet(start_live) -> None:
    # Two texts a second: the broadcast is still sending when Cancel is pressed.
    live = await start_live(VONAGE_REQUESTS_PER_SECOND="2", **ANY_HOUR)
    numbers = [f"+4477009003{i:02d}" for i in range(12)]
    await add_contacts(live, numbers, tag="volunteers")
    await live.command("broadcast to:tag=volunteers Hello all")
    await live.vonage.wait_for_sends(2)
    post = broadcast_post(live)

    payload = block_actions_payload(
        user=STAFF,
        channel=INBOX,
        message=post,
        action={"action_id": CANCEL_BROADCAST, "block_id": "b", "value": "1", "type": "button"},
    )
    assert (await live.signed_form(interaction_form(payload))).status == 200
    await live.drained()

    sent = len(live.vonage.sends)
    assert 2 <= sent < len(numbers)
    async with live.bridge.db.reading() as session:
        statuses = dict(
            (
                await session.execute(
                    select(Message.status, func.count())
                    .where(Message.direction == "broadcast")
                    .group_by(Message.status)
                )
            ).all()
        )
    assert statuses.get("queued", 0) == 0
    assert sum(statuses.values()) - statuses.get("not_sent", 0) == sent
    await live.slack.wait_until(
        lambda: "Cancelled" in str(broadcast_post(live)["blocks"]), what="the post cancelled"
    )
    assert CANCEL_BROADCAST not in str(broadcast_post(live)["blocks"])


@sqlite_only
async def test_a_broadcast_cut_off_by_a_restart_texts_each_recipient_exactly_once(
    start_live,
) -> None:
    first = await start_live(VONAGE_REQUESTS_PER_SECOND="4", **ANY_HOUR)
    numbers = [f"+4477009004{i:02d}" for i in range(10)]
    await add_contacts(first, numbers, tag="volunteers")
    await first.command("broadcast to:tag=volunteers Once only")
    await first.vonage.wait_for_sends(2)
    await first.bridge.close()

    second = await start_live(VONAGE_REQUESTS_PER_SECOND="30", **ANY_HOUR)
    await second.vonage.wait_for_sends(len(numbers), timeout=15)
    await second.drained()

    sent = [s.to for s in second.vonage.sends if s.text.startswith("Once only")]
    assert sorted(sent) == sorted(n.removeprefix("+") for n in numbers)


@sqlite_only
async def test_a_reply_opens_a_case_whose_thread_shows_the_broadcast(start_live) -> None:
    live = await start_live(**ANY_HOUR)
    await add_contacts(live, VOLUNTEERS[:1], tag="volunteers")
    await live.command("broadcast to:tag=volunteers Can you help on Saturday?")
    await live.drained()

    await texts_in(live, VOLUNTEERS[0], "Yes I can")
    await live.drained()

    header = next(m for m in live.slack.messages(INBOX) if "Case #1" in m["text"])
    thread = [m["text"] for m in live.slack.thread(INBOX, header["ts"])]
    assert any("Can you help on Saturday?" in t for t in thread)
    assert any("broadcast #1" in t for t in thread)
    assert any("Yes I can" in t for t in thread)
    await live.slack.wait_until(
        lambda: "replied 1" in str(broadcast_post(live)["blocks"]), what="the reply counted"
    )


@sqlite_only
async def test_texts_due_outside_the_recipients_hours_wait_for_them(start_live) -> None:
    clock = ShiftedClock()
    # 12:00 UTC: 12:00 in London, 07:00 in New York.
    clock.set(
        datetime.combine(clock.now().date() + timedelta(days=1), datetime.min.time(), UTC)
        + timedelta(hours=12)
    )
    live = await start_live(clock=clock)
    london, new_york = "+447700900501", "+12125550123"
    await add_contacts(live, [london, new_york], tag="volunteers")

    await live.command("broadcast to:tag=volunteers Good morning")
    await live.drained()
    assert [s.to for s in live.vonage.sends] == [london.removeprefix("+")]

    clock.advance(timedelta(hours=1, minutes=1))  # 08:01 in New York
    await live.vonage.wait_for_sends(2)
    assert live.vonage.sends[1].to == new_york.removeprefix("+")


@sqlite_only
async def test_the_command_line_checks_counts_and_queues(
    start_live,
    make_settings,
    database_url,
    fake_slack,
    fake_vonage,
    tmp_path,
    monkeypatch,
    capsys,
) -> None:
    live = await start_live(**ANY_HOUR)
    people = tmp_path / "people.csv"
    people.write_text("name,number\nAnn,+447400123601\nBen,07400 123602\nAnn again,+447400123601\n")
    env = bridge_env(
        database_url=database_url,
        slack=fake_slack,
        vonage=fake_vonage,
        DEFAULT_REGION="GB",
        **ANY_HOUR,
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    def run(*args: str) -> int:
        return main(["broadcast", "--csv", str(people), *args])

    assert await asyncio.to_thread(run, "--dry-run", "--text", "Hi") == 0
    assert "nothing queued: 2 recipients, 0 opted out" in capsys.readouterr().out
    assert await stored_broadcasts(live) == 0

    assert await asyncio.to_thread(run, "--text", "Hi", "--from", "+44 7700 900999") == 2
    assert "from:" in capsys.readouterr().out

    assert await asyncio.to_thread(run, "--text", "Hi") == 0
    assert "Broadcast #1 queued: 2 recipients" in capsys.readouterr().out
    live.bridge.dispatcher.notify(8)
    await live.vonage.wait_for_sends(2, timeout=10)
    assert sorted(s.to for s in live.vonage.sends) == ["447400123601", "447400123602"]
    await live.drained()

    today = datetime.now(UTC).date().isoformat()
    log = tmp_path / "log.jsonl"
    exporting = ["export", "--since", today, "--format", "jsonl", "--output", str(log)]
    assert await asyncio.to_thread(main, exporting) == 0
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert {(r["direction"], r["broadcast_id"], r["text"]) for r in rows} == {
        ("broadcast", 1, f"Hi\n{OPT_OUT}")
    }


def opened_view(call) -> dict:
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else view


@sqlite_only
async def test_the_broadcast_form_counts_refuses_on_its_field_and_confirms_a_summary(
    start_live,
) -> None:
    live = await start_live(**ANY_HOUR)
    await add_contacts(live, VOLUNTEERS, tag="volunteers")
    assert await live.command("broadcast") == ""
    await live.slack.wait_for("views.open")
    form = next(iter(live.slack.views.values()))
    typed = block_actions_payload(
        user=STAFF,
        channel=INBOX,
        message={"ts": "0"},
        action={
            "action_id": "broadcast_message_typed",
            "block_id": "message",
            "type": "plain_text_input",
            "value": "Rally on Sunday",
        },
    ) | {"container": {"type": "view", "view_id": form["id"]}, "view": form}
    assert (await live.signed_form(interaction_form(typed))).status == 200
    updated = opened_view((await live.slack.wait_for("views.update"))[0])
    hint = next(b for b in updated["blocks"] if b["block_id"] == "message")["hint"]["text"]
    assert "1 SMS segment(s) · GSM-7" in hint and OPT_OUT in hint

    async def submit(view: dict, **changes: str) -> dict:
        values = submitted_state(view, **changes)
        payload = view_submission_payload(user=STAFF, view=view, values=values)
        response = await live.signed_form(interaction_form(payload))
        assert response.status == 200
        return await response.json()

    refused = await submit(form, audience="colour=blue", message="Rally on Sunday")
    assert refused == {
        "response_action": "errors",
        "errors": {"audience": texts.BROADCAST_UNKNOWN_PROPERTY.format(key="colour")},
    }
    later = await submit(form, audience="tag=volunteers", message="Rally", when="later", at="")
    assert later["response_action"] == "errors" and "at" in later["errors"]

    summary = await submit(
        form, audience="tag=volunteers", numbers=f"{DONOR}\n+44 7400 123 777", message="Rally"
    )
    assert summary["response_action"] == "update"
    confirm = summary["view"]
    assert "4 recipients, 0 opted out and skipped, 1 segment(s) each, about 4 segments" in str(
        confirm["blocks"]
    )
    assert await stored_broadcasts(live) == 0

    done = await submit(confirm)
    assert "Broadcast #1 queued" in str(done["view"]["blocks"])
    await live.vonage.wait_for_sends(4)
    assert sorted(s.to for s in live.vonage.sends) == sorted(
        n.removeprefix("+") for n in [*VOLUNTEERS, DONOR]
    )
