"""The rules of texts applied to emails, over the wire: forwarding schedules, auto-responses,
mute, the messaging log's channel, usage figures and search.

Business hours in these tests: Monday to Friday, 09:00–17:00, Europe/London.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from bridge.domain.segments import measure
from bridge.fakes.clock import ShiftedClock
from bridge.fakes.smtp import FakeSmtp
from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.routing.forwarding import FORWARD_MAX_SEGMENTS
from tests.conftest import INBOX, OUR_NUMBER, STAFF, LiveBridge
from tests.test_auto_replies import CLOSED, FIRST, next_weekday
from tests.test_email import FAST, OURS, email_settings, mail, post_raw, thread_texts
from tests.test_export import export, today
from tests.test_forwarding import MANAGER, MANAGER_PHONE, add_schedule, direct_messages
from tests.test_usage import section

ALICE = "alice@example.com"
BOB = "447400765432"


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()  # the real time until a test sets it


@pytest.fixture
async def desk(start_live, smtp: FakeSmtp, clock: ShiftedClock) -> LiveBridge:
    live = await start_live(
        retry_policy=FAST, clock=clock, TIME_ZONE="Europe/London", **email_settings(smtp)
    )
    answer = await live.change_settings(
        business_days=["0", "1", "2", "3", "4"],
        business_start="09:00",
        business_end="16:59",
        auto_reply_first=FIRST,
        auto_reply_after_hours=CLOSED,
    )
    assert answer["response_action"] == "update"
    return live


async def email_in(live: LiveBridge, **fields: str) -> None:
    assert (await post_raw(live, mail(**fields))).status == 200
    await live.drained()


def bodies(smtp: FakeSmtp) -> list[str]:
    return [sent.get_body(("plain",)).get_content().strip() for sent in smtp.received]


async def test_an_email_in_a_forwarding_window_reaches_a_person_and_a_phone(
    desk: LiveBridge,
) -> None:
    desk.slack.add_user(MANAGER, "maria")
    await add_schedule(desk, users=[MANAGER], numbers=MANAGER_PHONE)
    words = "The boiler stopped overnight.\n\nIt makes a noise. " + "More detail. " * 60
    await email_in(desk, body=words)
    [dm] = direct_messages(desk, MANAGER)
    assert dm["text"].startswith(f":incoming_envelope: Email from *Alice Doe – {ALICE}* · <")
    assert "The boiler stopped overnight." in dm["text"]
    forwarded = [s for s in desk.vonage.sends if s.to == MANAGER_PHONE.removeprefix("+")]
    [copy] = forwarded
    assert copy.from_ == OUR_NUMBER.removeprefix("+")
    assert copy.text.startswith(
        f"Email from {ALICE}: Boiler - The boiler stopped overnight. It makes a noise."
    )
    assert copy.text.endswith("...")
    assert measure(copy.text).segments == FORWARD_MAX_SEGMENTS


async def test_the_first_email_of_a_case_is_answered_by_email_once_in_its_thread(
    desk: LiveBridge, smtp: FakeSmtp, clock: ShiftedClock
) -> None:
    clock.set(next_weekday(1, 10))  # Tuesday 10:00: open
    await email_in(desk, message_id="q1@example.com")
    [sent] = await smtp.wait_for(1)
    assert sent["To"] == ALICE and sent["Subject"] == "Re: Boiler"
    assert sent["In-Reply-To"] == "<q1@example.com>"
    assert sent["References"] == "<q1@example.com>"
    assert sent["Reply-To"].startswith("reply+")
    assert sent["Auto-Submitted"] == "auto-replied"  # RFC 3834: no responder answers it
    await email_in(desk, subject="Re: Boiler", body="And the radiators.")
    assert bodies(smtp) == [FIRST]
    assert desk.vonage.sends == []  # the answer went by email, not by SMS
    texts = await thread_texts(desk)
    assert texts[1] == f":robot_face: Automated reply sent: {FIRST}"
    assert texts[2].endswith("And the radiators.")


# (label, what makes the email automated): each from another sender, each a new case.
AUTOMATED = [
    ("auto-reply", {"extra": "Auto-Submitted: auto-replied\r\n"}),
    ("bulk", {"extra": "Precedence: bulk\r\n"}),
    ("our own address", {"sender": OURS}),
]


async def test_an_automated_email_is_never_answered(desk: LiveBridge, smtp: FakeSmtp) -> None:
    for n, (label, fields) in enumerate(AUTOMATED):
        fields = {"sender": f"robot{n}@example.net", **fields}
        await email_in(desk, **fields)
        assert smtp.received == [], label
    assert len(desk.slack.messages(INBOX)) == len(AUTOMATED)  # each shown in a case of its own


async def test_after_hours_emails_are_answered_once_per_closed_period(
    desk: LiveBridge, smtp: FakeSmtp, clock: ShiftedClock
) -> None:
    clock.set(next_weekday(1, 2))  # Tuesday 02:00
    await email_in(desk, body="Help, it is late")
    await email_in(desk, subject="Re: Boiler", body="Still there?")
    assert bodies(smtp) == [CLOSED]  # standing in for the first-email answer
    clock.advance(timedelta(hours=8))  # Tuesday 10:00: open, the case is not new
    await email_in(desk, subject="Re: Boiler", body="Morning")
    clock.advance(timedelta(hours=8))  # Tuesday 18:00: a new closed period
    await email_in(desk, subject="Re: Boiler", body="Evening")
    await smtp.wait_for(2)
    clock.advance(timedelta(hours=3))  # Tuesday 21:00: the same one
    await email_in(desk, subject="Re: Boiler", body="Late evening")
    assert bodies(smtp) == [CLOSED, CLOSED]
    assert len(desk.slack.messages(INBOX)) == 1


async def test_a_muted_case_gets_its_emails_and_nobody_hears_of_them(
    desk: LiveBridge, smtp: FakeSmtp, clock: ShiftedClock
) -> None:
    clock.set(next_weekday(1, 10))  # Tuesday 10:00: open
    await email_in(desk)
    await smtp.wait_for(1)  # the first-email answer
    assert await desk.command("mute #1") == "Muted case #1."
    desk.slack.add_user(MANAGER, "maria")
    await add_schedule(desk, users=[MANAGER], numbers=MANAGER_PHONE)
    clock.advance(timedelta(hours=10))  # 20:00: an after-hours answer would be due
    await email_in(desk, subject="Re: Boiler", body="Are you there?")
    assert len(smtp.received) == 1
    assert direct_messages(desk, MANAGER) == [] and desk.vonage.sends == []
    assert (await thread_texts(desk))[-1].endswith("Are you there?")


async def test_the_log_names_each_message_channel_and_an_email_address(
    desk: LiveBridge, smtp: FakeSmtp, database_url: str, tmp_path: Path
) -> None:
    await email_in(desk)
    await smtp.wait_for(1)  # the first-email answer
    [header] = desk.slack.messages(INBOX)
    await desk.staff_reply(header["ts"], "We will call today.")
    await smtp.wait_for(2)
    text = sms_inbound_params(msisdn=BOB, to=OUR_NUMBER.removeprefix("+"), text="Hi there")
    assert (await desk.vonage_webhook("/vonage/inbound", text)).status == 200
    await desk.drained()

    status, stdout, stderr = await export(database_url, "--since", today(), cwd=tmp_path)
    assert status == 0, stderr
    rows = list(csv.DictReader(io.StringIO(stdout.decode(), newline="")))
    columns = ("direction", "channel", "contact_number", "our_number", "contact_email")
    shown = [tuple(row[c] for c in columns) for row in rows if row["direction"] != "note"]
    assert sorted(shown) == sorted(
        [
            ("inbound", "email", "", "", ALICE),
            ("automated", "email", "", "", ALICE),
            ("outbound", "email", "", "", ALICE),
            ("inbound", "sms", "+" + BOB, OUR_NUMBER, ""),
            ("automated", "sms", "+" + BOB, OUR_NUMBER, ""),
        ]
    )
    email = next(row for row in rows if row["channel"] == "email")
    assert email["contact_name"] == "Alice Doe"  # found by the address, as it has no number
    assert all(row["segments"] in ("", "0") for row in rows if row["channel"] == "email")


async def test_usage_counts_emails_apart_and_never_as_segments(
    desk: LiveBridge, smtp: FakeSmtp
) -> None:
    await email_in(desk)  # answered by the first-email reply
    await smtp.wait_for(1)
    [header] = desk.slack.messages(INBOX)
    await desk.staff_reply(header["ts"], "We will call today.")
    await smtp.wait_for(2)
    smtp.refuse(1, "550 5.1.1 No such user")  # not worth a retry: the reply is not sent
    await desk.staff_reply(header["ts"], "Did you get this?")
    await email_in(desk, sender="Bob <bob@example.net>", extra="Precedence: bulk\r\n")
    text = sms_inbound_params(msisdn=BOB, to=OUR_NUMBER.removeprefix("+"), text="HELP")
    assert (await desk.vonage_webhook("/vonage/inbound", text)).status == 200
    await desk.drained()

    answer = await desk.command("usage")
    assert section(answer, "*All our numbers*") == [
        "• Inbound: texts 1 · segments 1",
        "• Sent by staff: texts 0 · segments 0",
        "• Forwarded: texts 0 · segments 0",
        "• Automated: texts 1 · segments 1",
        "• Broadcasts: texts 0 · segments 0",
    ]
    assert section(answer, "*Email* (apart from the texts: an email costs no segments)") == [
        "• Inbound: emails 2",
        "• Sent by staff: emails 1 · not sent 1",
        "• Automated: emails 1",
    ]
    assert section(answer, "*Sent by each staff member*") == [
        f"• <@{STAFF}>: texts 0 · segments 0 · emails 1"
    ]
    assert "*From and to email*" not in answer  # no number section for email-only cases


async def test_search_by_email_address_finds_an_email_only_contact(desk: LiveBridge) -> None:
    await email_in(desk)
    for query in (ALICE, "ALICE@EXAMPLE", "Alice Doe"):
        answer = await desk.command(f"search {query}")
        assert "*1 case(s)*" in answer and "|#1>" in answer, query
    assert "No case matches." in await desk.command("search carol@example.com")
