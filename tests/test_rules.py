"""The rules as tables: state before, an input, the work they queue and the state after.

Each row runs a rule of bridge/routing against the in-memory unit (tests/memory_unit.py):
no database, no HTTP, no clock but `NOW`. The live suite stays the contract; these say,
row by row, what each decision is.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import pytest

from bridge import texts
from bridge.domain.records import ScheduleRecord
from bridge.domain.rules import ChatRules, Inbox, Window
from bridge.domain.values import (
    AgentReply,
    CaseStatus,
    ChannelId,
    DeliveryReceipt,
    Direction,
    InboundSms,
    MessageStatus,
    Offer,
    PhoneNumber,
    SlackTs,
    UserId,
)
from bridge.domain.work import (
    ForwardDm,
    NotifyAssigneeOfTexts,
    PostHeader,
    PostMessage,
    React,
    SendSms,
    TellUser,
    ThreadNote,
    UpdateHeader,
    Work,
)
from bridge.routing.inbound import accept_inbound
from bridge.routing.receipts import accept_receipt
from bridge.routing.replies import REOPEN_AND_SEND, accept_reply
from tests.memory_unit import Memory, MemoryUnit

NOW = datetime.fromisoformat("2026-03-04T12:00:00+00:00")  # a Wednesday
SATURDAY = datetime.fromisoformat("2026-03-07T12:00:00+00:00")
MONDAY_OPENING = "2026-03-09T09:00:00+00:00"  # when business hours open after SATURDAY
OURS = PhoneNumber("+447700900000")
BOB = PhoneNumber("+447700900123")
MANAGER_PHONE = PhoneNumber("+447700900555")
INBOX = ChannelId("C0INBOX")
STAFF = UserId("U0STAFF")
INBOX_RULES = Inbox(numbers=[OURS], default_channel=INBOX)
RULES = ChatRules()
WEEKDAYS_9_TO_5 = Window(frozenset(range(5)), time(9), time(17))


# -- building the state before ---------------------------------------------------------


def case(m: Memory, *, status: str = "open", thread: str | None = "100.000001", **fields: Any):
    """A case of Bob's with our number, its thread posted (unless `thread=None`)."""

    async def opened() -> None:
        unit = MemoryUnit(m)
        made = await unit.cases.open(
            contact_id=await unit.contacts.holder(BOB),
            contact_number=BOB,
            our_number=OURS,
            channel=INBOX,
            previous_case_id=None,
            at=NOW - timedelta(minutes=10),
        )
        if thread is not None:
            await unit.cases.set_thread(made.id, thread)
        if status == CaseStatus.CLOSED:
            await unit.cases.close(made.id, at=NOW - timedelta(minutes=5))
        m.cases[made.id] = dataclasses.replace(m.cases[made.id], **fields)

    return opened


def saturday_case(m: Memory, **fields: Any):
    """A case busy on Saturday (its thread not quiet then)."""
    return case(m, last_activity_at=SATURDAY - timedelta(minutes=5), **fields)


def reply_given(m: Memory, kind: str, window: str):
    async def made() -> None:
        await MemoryUnit(m).auto_replies.record(1, kind, window, 99)

    return made


def sent_text(m: Memory, *, posted_at: str | None = "200.000001", direction=Direction.OUTBOUND):
    """A text of ours in case 1, handed to the carrier as part `p1` (shown at `posted_at`)."""

    async def made() -> None:
        unit = MemoryUnit(m)
        message_id = unit.messages._add(
            direction=direction,
            contact_number=BOB,
            our_number=OURS,
            text="Your results are ready",
            created_at=NOW - timedelta(minutes=1),
        )
        await unit.messages.link(1, message_id, slack_ts=posted_at)
        await unit.sends.record_sent(message_id, ["p1"])

    return made


def opted_out(m: Memory, number: PhoneNumber = BOB):
    async def made() -> None:
        await MemoryUnit(m).opt_outs.opt_out(number, OURS, reason="texted STOP")

    return made


def schedule(m: Memory, *, users=(), phones=(), days=range(7), start="00:00", end="23:59"):
    async def made() -> None:
        m.schedules.append(
            ScheduleRecord(
                id=len(m.schedules) + 1,
                name=f"rota {len(m.schedules) + 1}",
                user_ids=list(users),
                phone_numbers=list(phones),
                days=list(days),
                start_time=start,
                end_time=end,
                time_zone="Europe/London",
                created_by=STAFF,
            )
        )

    return made


def stored_text(m: Memory, provider_id: str):
    async def made() -> None:
        await MemoryUnit(m).messages.add_inbound(
            text_in("Hi", provider_id), segments=1, encoding="GSM-7"
        )

    return made


# -- inputs ------------------------------------------------------------------------------


def text_in(words: str, provider_id: str = "m1", *, at: datetime = NOW) -> InboundSms:
    return InboundSms(provider_id, BOB, OURS, words, at)


def inbound(words: str, *, rules: ChatRules = RULES, now: datetime = NOW, **kwargs: Any):
    async def act(unit: MemoryUnit) -> Any:
        return await accept_inbound(
            unit, text_in(words, at=now, **kwargs), inbox=INBOX_RULES, rules=rules, now=now
        )

    return act


def receipt(status: MessageStatus, *, rules: ChatRules = RULES, **fields: Any):
    async def act(unit: MemoryUnit) -> Any:
        await accept_receipt(unit, DeliveryReceipt("p1", status, **fields), rules=rules)

    return act


def reply(words: str, *, ts: str = "300.000001"):
    async def act(unit: MemoryUnit) -> Any:
        staff = AgentReply(INBOX, SlackTs("100.000001"), SlackTs(ts), STAFF, words)
        return await accept_reply(unit, staff, rules=RULES, now=NOW)

    return act


# -- the state after, as the rows name it ------------------------------------------------


def snapshot(m: Memory) -> dict[str, Any]:
    return {
        "cases": {c.id: (c.status, c.unread, c.previous_case_id) for c in m.cases.values()},
        "messages": {i: (msg.direction, msg.status) for i, msg in m.messages.items()},
        "opted_out": set(m.opted_out),
        "auto_replies": {kind for _case, kind, _window in m.auto_replies},
        "early_receipts": len(m.early),
    }


@dataclass(frozen=True)
class Row:
    label: str
    before: list[Callable[[Memory], Callable[[], Awaitable[None]]]]
    act: Callable[[MemoryUnit], Awaitable[Any]]
    jobs: list[Work | tuple[Work, datetime | None]]  # a job, or a job with when it is due
    after: dict[str, Any] = field(default_factory=dict)  # a part of the snapshot


def header_text(case_id: int) -> list[Work]:
    return [PostMessage(case_id, 1), UpdateHeader(case_id, spaced=True)]


def automated(message_id: int) -> SendSms:
    return SendSms(message_id)


OPT_OUT_NOTE = texts.OPT_OUT_NOTE.format(word="STOP", number="+44 7700 900000")
OPT_IN_NOTE = texts.OPT_IN_NOTE.format(word="START", number="+44 7700 900000")
FIRST = dataclasses.replace(RULES, auto_reply_first="Thanks, we will answer soon.")
AFTER_HOURS = dataclasses.replace(
    RULES, business_hours=WEEKDAYS_9_TO_5, auto_reply_after_hours="We are closed."
)
HELD_NOONS = dataclasses.replace(
    AFTER_HOURS, automated_hold=Window(frozenset(range(7)), time(11), time(13))
)
QUIET_TEN = dataclasses.replace(AFTER_HOURS, quiet_period=timedelta(minutes=10))
FAILED_ONLY = dataclasses.replace(RULES, automated_in_threads="failed")


def given(m: Memory, *steps: Callable[[Memory], Callable[[], Awaitable[None]]]) -> None:
    async def build() -> None:
        for step in steps:
            await step(m)()

    asyncio.run(build())


INBOUND_ROWS = [
    Row(
        "a first text opens a case, whose header comes first",
        [],
        inbound("Hello"),
        [PostHeader(1), PostMessage(1, 1)],
        {"cases": {1: (CaseStatus.OPEN, 1, None)}},
    ),
    Row("a text joins the open case", [case], inbound("Hello"), header_text(1)),
    Row(
        "a text naming an open case (#2) goes to that case alone",
        [case, case],
        inbound("About #2, please"),
        [PostMessage(2, 1), UpdateHeader(2, spaced=True)],
        {"cases": {1: (CaseStatus.OPEN, 0, None), 2: (CaseStatus.OPEN, 1, None)}},
    ),
    Row(
        "a text naming no open case goes to every open case",
        [case, case],
        inbound("About #9"),
        [
            PostMessage(1, 1),
            UpdateHeader(1, spaced=True),
            PostMessage(2, 1),
            UpdateHeader(2, spaced=True),
        ],
    ),
    Row(
        "a word such as 'item#2' names no case",
        [case, case],
        inbound("item#2"),
        [
            PostMessage(1, 1),
            UpdateHeader(1, spaced=True),
            PostMessage(2, 1),
            UpdateHeader(2, spaced=True),
        ],
    ),
    Row(
        "after a closed case, a text opens a new one linked to it",
        [lambda m: case(m, status=CaseStatus.CLOSED)],
        inbound("Me again"),
        [PostHeader(2), PostMessage(2, 1)],
        {"cases": {1: (CaseStatus.CLOSED, 0, None), 2: (CaseStatus.OPEN, 1, 1)}},
    ),
    Row(
        "a text to a thread quiet for long is shown in the channel too",
        [lambda m: case(m, last_activity_at=NOW - timedelta(hours=2))],
        inbound("Still there?"),
        [PostMessage(1, 1, broadcast=True), UpdateHeader(1, spaced=True)],
    ),
    Row(
        "the assignee hears of a text by direct message at once",
        [lambda m: case(m, assignee=STAFF)],
        inbound("Hello"),
        [*header_text(1), (NotifyAssigneeOfTexts(1, 1), NOW)],
    ),
    Row(
        "a text stored before is not taken twice",
        [case, lambda m: stored_text(m, "m1")],
        inbound("Hi"),
        [],
    ),
    Row(
        "a case without a thread yet gets the text, its header to come",
        [lambda m: case(m, thread=None)],
        inbound("Hello"),
        [PostMessage(1, 1)],
    ),
]

KEYWORD_ROWS = [
    Row(
        "STOP opts the number out, answers once, and notes it in the thread",
        [case],
        inbound(" stop "),
        [*header_text(1), automated(2), ThreadNote(1, OPT_OUT_NOTE)],
        {"opted_out": {(BOB, OURS)}},
    ),
    Row(
        "STOP from a number opted out already is not answered again",
        [case, opted_out],
        inbound("STOP"),
        header_text(1),
        {"opted_out": {(BOB, OURS)}},
    ),
    Row(
        "START opts the number back in",
        [case, opted_out],
        inbound("Start"),
        [*header_text(1), automated(2), ThreadNote(1, OPT_IN_NOTE)],
        {"opted_out": set()},
    ),
    Row(
        "START from a number never opted out changes nothing",
        [case],
        inbound("START"),
        header_text(1),
    ),
    Row(
        "HELP is answered with the help text",
        [case],
        inbound("help"),
        [*header_text(1), automated(2)],
        {
            "messages": {
                1: (Direction.INBOUND, MessageStatus.RECEIVED),
                2: (Direction.AUTOMATED, MessageStatus.QUEUED),
            }
        },
    ),
]

AUTO_REPLY_ROWS = [
    Row(
        "a new case's first text gets the first-text reply",
        [],
        inbound("Hello", rules=FIRST),
        [PostHeader(1), PostMessage(1, 1), (automated(2), NOW)],
        {"auto_replies": {"first_text"}},
    ),
    Row(
        "a later text of the case gets no first-text reply",
        [case],
        inbound("Hello again", rules=FIRST),
        header_text(1),
        {"auto_replies": set()},
    ),
    Row(
        "outside business hours the after-hours reply stands in",
        [],
        inbound(
            "Hello",
            rules=dataclasses.replace(AFTER_HOURS, auto_reply_first="Thanks."),
            now=SATURDAY,
        ),
        [PostHeader(1), PostMessage(1, 1), (automated(2), SATURDAY)],
        {"auto_replies": {"after_hours"}},
    ),
    Row(
        "within business hours there is no after-hours reply",
        [case],
        inbound("Hello", rules=AFTER_HOURS),
        header_text(1),
    ),
    Row(
        "outside business hours an open case gets the after-hours reply",
        [saturday_case],
        inbound("Hello", rules=AFTER_HOURS, now=SATURDAY),
        [*header_text(1), (automated(2), SATURDAY)],
        {"auto_replies": {"after_hours"}},
    ),
    Row(
        "the after-hours reply is given once per closed period",
        [saturday_case, lambda m: reply_given(m, "after_hours", MONDAY_OPENING)],
        inbound("Hello", rules=AFTER_HOURS, now=SATURDAY),
        header_text(1),
    ),
    Row(
        "an automated text waits out the hold window",
        [saturday_case],
        inbound("Hello", rules=HELD_NOONS, now=SATURDAY),
        [*header_text(1), (automated(2), SATURDAY.replace(hour=13, minute=1))],
    ),
    Row(
        "an automated text waits a quiet period after staff wrote",
        [lambda m: saturday_case(m, last_staff_activity_at=SATURDAY - timedelta(minutes=2))],
        inbound("Hello", rules=QUIET_TEN, now=SATURDAY),
        [*header_text(1), (automated(2), SATURDAY + timedelta(minutes=8))],
    ),
    Row(
        "a number opted out gets no auto-response",
        [saturday_case, opted_out],
        inbound("Hello", rules=AFTER_HOURS, now=SATURDAY),
        header_text(1),
        {"auto_replies": set()},
    ),
]

FORWARDING_ROWS = [
    Row(
        "an active schedule tells each person and texts each phone, never the sender's own",
        [case, lambda m: schedule(m, users=["U1", "U2"], phones=[MANAGER_PHONE, BOB])],
        inbound("Help"),
        [
            *header_text(1),
            ForwardDm("U1", 1, [1]),
            ForwardDm("U2", 1, [1]),
            SendSms(2),
            automated(3),
        ],
        {
            "messages": {
                1: (Direction.INBOUND, MessageStatus.RECEIVED),
                2: (Direction.FORWARDED, MessageStatus.QUEUED),
                3: (Direction.AUTOMATED, MessageStatus.QUEUED),
            }
        },
    ),
    Row(
        "someone in two active schedules is told once",
        [case, lambda m: schedule(m, users=["U1"]), lambda m: schedule(m, users=["U1", "U2"])],
        inbound("Hello"),
        [*header_text(1), ForwardDm("U1", 1, [1]), ForwardDm("U2", 1, [1])],
    ),
    Row(
        "a schedule not active now forwards nothing",
        [case, lambda m: schedule(m, users=["U1"], days=[5, 6])],
        inbound("Hello"),
        header_text(1),
    ),
    Row(
        "a forwarded copy goes to the schedule's phone",
        [case, lambda m: schedule(m, phones=[MANAGER_PHONE])],
        inbound("Hello"),
        [*header_text(1), SendSms(2)],
    ),
    Row(
        "a phone that opted out of our number gets no copy",
        [
            case,
            lambda m: schedule(m, phones=[MANAGER_PHONE]),
            lambda m: opted_out(m, MANAGER_PHONE),
        ],
        inbound("Hello"),
        header_text(1),
    ),
]

RECEIPT_ROWS = [
    Row(
        "delivered: the text's state and a tick on its post",
        [case, sent_text],
        receipt(MessageStatus.DELIVERED),
        [React(INBOX, "200.000001", "white_check_mark")],
        {"messages": {1: (Direction.OUTBOUND, MessageStatus.DELIVERED)}},
    ),
    Row(
        "failed: a cross and a note saying why",
        [case, sent_text],
        receipt(MessageStatus.FAILED, error_text="Absent subscriber"),
        [
            React(INBOX, "200.000001", "x"),
            ThreadNote(
                1, texts.SEND_FAILED.format(contact="+44 7700 900123", reason="Absent subscriber")
            ),
        ],
        {"messages": {1: (Direction.OUTBOUND, MessageStatus.FAILED)}},
    ),
    Row(
        "a carrier saying the phone blocks us opts it out and says so",
        [case, sent_text],
        receipt(MessageStatus.FAILED, error_text="Blocked", recipient_blocked=True),
        [
            UpdateHeader(1),
            React(INBOX, "200.000001", "x"),
            ThreadNote(1, texts.SEND_FAILED.format(contact="+44 7700 900123", reason="Blocked")),
            ThreadNote(1, texts.BLOCKED_NOTE.format(reason="Blocked")),
        ],
        {"opted_out": {(BOB, OURS)}},
    ),
    Row(
        "a receipt before its send is recorded is kept for then",
        [case],
        receipt(MessageStatus.DELIVERED),
        [],
        {"early_receipts": 1},
    ),
    Row(
        "a receipt that changes nothing shows nothing",
        [case, sent_text],
        receipt(MessageStatus.SUBMITTED),
        [],
        {"messages": {1: (Direction.OUTBOUND, MessageStatus.SUBMITTED)}},
    ),
    Row(
        "with automated texts shown only when they fail, a failed one appears with its note",
        [case, lambda m: sent_text(m, posted_at=None, direction=Direction.AUTOMATED)],
        receipt(MessageStatus.FAILED, rules=FAILED_ONLY, error_text="Absent"),
        [
            PostMessage(1, 1),
            ThreadNote(1, texts.SEND_FAILED.format(contact="+44 7700 900123", reason="Absent")),
        ],
    ),
]

REPLY_ROWS = [
    Row(
        "a staff reply in the thread is queued as SMS, naming its case",
        [case],
        reply("On my way"),
        [UpdateHeader(1, spaced=True), SendSms(1, 1)],
        {"messages": {1: (Direction.OUTBOUND, MessageStatus.QUEUED)}},
    ),
    Row(
        "a note stays in Slack, locked",
        [case],
        reply("// call back tomorrow"),
        [React(INBOX, "300.000001", "lock")],
        {"messages": {1: (Direction.NOTE, MessageStatus.INTERNAL)}},
    ),
    Row(
        "a reply in a closed case is held, with a button to reopen and send",
        [lambda m: case(m, status=CaseStatus.CLOSED)],
        reply("Hello?"),
        [TellUser(INBOX, STAFF, texts.CLOSED_NOT_SENT, "100.000001", Offer(REOPEN_AND_SEND, 1))],
        {"messages": {1: (Direction.OUTBOUND, MessageStatus.HELD)}},
    ),
    Row(
        "replying reads the case: its unread count clears",
        [lambda m: case(m, unread=3)],
        reply("Seen"),
        [UpdateHeader(1), SendSms(1, 1)],
        {"cases": {1: (CaseStatus.OPEN, 0, None)}},
    ),
    Row("a message outside any case thread is no reply", [], reply("Hi all"), []),
]

ALL_ROWS = [
    *[("inbound", r) for r in INBOUND_ROWS],
    *[("keywords", r) for r in KEYWORD_ROWS],
    *[("auto-replies", r) for r in AUTO_REPLY_ROWS],
    *[("forwarding", r) for r in FORWARDING_ROWS],
    *[("receipts", r) for r in RECEIPT_ROWS],
    *[("replies", r) for r in REPLY_ROWS],
]


@pytest.mark.parametrize(
    "row", [row for _table, row in ALL_ROWS], ids=[f"{t}: {r.label}" for t, r in ALL_ROWS]
)
def test_rule(row: Row) -> None:
    memory = Memory()
    given(memory, *row.before)
    before_jobs = len(memory.jobs)
    asyncio.run(row.act(MemoryUnit(memory)))
    queued = memory.jobs[before_jobs:]
    expected = [job if isinstance(job, tuple) else (job, None) for job in row.jobs]
    assert [q.work for q in queued] == [work for work, _due in expected]
    for q, (_work, due) in zip(queued, expected, strict=True):
        if due is not None:
            assert q.run_after == due, f"{q.work} due {q.run_after}, expected {due}"
    state = snapshot(memory)
    assert {key: state[key] for key in row.after} == row.after


def test_the_tables_cover_every_decision_they_name() -> None:
    tables = {table for table, _row in ALL_ROWS}
    assert tables == {"inbound", "keywords", "auto-replies", "forwarding", "receipts", "replies"}
    labels = [row.label for _table, row in ALL_ROWS]
    assert len(labels) == len(set(labels)), "each row says something of its own"
