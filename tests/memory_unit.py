"""A unit of work held in dicts: the ports of bridge/routing/ports.py without a database.

For the rule tables (tests/test_rules.py): the rules run against it in microseconds, and
what they leave is read back as plain records and the work they queued. It keeps only
what the rules read; the SQL store (bridge/store) stays the contract, tested live.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.domain.records import CaseRecord, MessageRecord, PartRecord, ScheduleRecord
from bridge.domain.values import (
    AgentReply,
    CaseStatus,
    DeliveryReceipt,
    Direction,
    InboundSms,
    MessageStatus,
    PhoneNumber,
    SlackTs,
)
from bridge.domain.work import Work

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_FAILURES = (MessageStatus.FAILED, MessageStatus.REJECTED, MessageStatus.EXPIRED)


@dataclass
class Queued:
    """A job as the memory keeps it."""

    work: Work
    run_after: datetime | None


@dataclass
class Memory:
    """Everything the in-memory store holds."""

    cases: dict[int, CaseRecord] = field(default_factory=dict)
    messages: dict[int, MessageRecord] = field(default_factory=dict)
    links: dict[tuple[int, int], str | None] = field(default_factory=dict)  # (case, msg) → ts
    parts_by_carrier_id: dict[str, int] = field(default_factory=dict)  # sent part → message
    part_states: dict[str, MessageStatus] = field(default_factory=dict)
    early: list[DeliveryReceipt] = field(default_factory=list)
    waiting_parts: dict[int, PartRecord] = field(default_factory=dict)
    part_refs: dict[int, str] = field(default_factory=dict)  # which long text a part is of
    opted_out: dict[tuple[str, str], str] = field(default_factory=dict)
    contacts: dict[str, int] = field(default_factory=dict)  # number → contact id
    names: dict[int, str] = field(default_factory=dict)
    schedules: list[ScheduleRecord] = field(default_factory=list)
    auto_replies: set[tuple[int, str, str]] = field(default_factory=set)
    muted: set[int] = field(default_factory=set)
    jobs: list[Queued] = field(default_factory=list)
    reads: dict[tuple[int, str], datetime] = field(default_factory=dict)
    counters: dict[str, itertools.count[int]] = field(default_factory=dict)

    def next_id(self, table: str) -> int:
        """Ids count from 1 per table, as a database's do."""
        return next(self.counters.setdefault(table, itertools.count(1)))

    def work(self) -> list[Work]:
        """What the rules queued, in order."""
        return [queued.work for queued in self.jobs]


class _Part:
    def __init__(self, memory: Memory) -> None:
        self.m = memory


class MemoryCases(_Part):
    async def get(self, case_id: int) -> CaseRecord | None:
        return self.m.cases.get(case_id)

    async def by_thread(self, channel: str, thread_ts: str) -> CaseRecord | None:
        return next(
            (c for c in self.m.cases.values() if (c.channel, c.thread_ts) == (channel, thread_ts)),
            None,
        )

    async def open_for(self, contact_number: str, our_number: str) -> list[CaseRecord]:
        return [
            c
            for c in sorted(self.m.cases.values(), key=lambda c: c.id)
            if (c.contact_number, c.our_number) == (contact_number, our_number)
            and c.status == CaseStatus.OPEN
        ]

    async def last_for(self, contact_number: str, our_number: str) -> CaseRecord | None:
        mine = [
            c
            for c in self.m.cases.values()
            if (c.contact_number, c.our_number) == (contact_number, our_number)
        ]
        return max(mine, key=lambda c: c.id, default=None)

    async def of_number(self, contact_number: str) -> list[CaseRecord]:
        return sorted(
            (c for c in self.m.cases.values() if c.contact_number == contact_number),
            key=lambda c: c.id,
        )

    async def of_message(self, message_id: int) -> list[CaseRecord]:
        return [self.m.cases[case_id] for case_id, mid in self.m.links if mid == message_id]

    async def open(
        self,
        *,
        contact_id: int,
        contact_number: str,
        our_number: str,
        channel: str,
        previous_case_id: int | None,
        at: datetime,
    ) -> CaseRecord:
        case = CaseRecord(
            id=self.m.next_id("cases"),
            contact_id=contact_id,
            contact_number=PhoneNumber(contact_number),
            our_number=PhoneNumber(our_number),
            status=CaseStatus.OPEN,
            channel=channel,  # type: ignore[arg-type]
            thread_ts=None,
            previous_case_id=previous_case_id,
            assignee=None,
            unread=0,
            opened_at=at,
            closed_at=None,
            last_activity_at=at,
            last_staff_activity_at=None,
        )
        self.m.cases[case.id] = case
        return case

    def _set(self, case_id: int, **values: Any) -> None:
        self.m.cases[case_id] = dataclasses.replace(self.m.cases[case_id], **values)

    async def set_thread(self, case_id: int, thread_ts: str) -> None:
        self._set(case_id, thread_ts=thread_ts)

    async def touch(self, case_id: int, *, at: datetime, unread: int = 0) -> None:
        self._set(case_id, last_activity_at=at, unread=self.m.cases[case_id].unread + unread)

    async def staff_wrote(self, case_id: int, *, at: datetime) -> None:
        self._set(case_id, last_staff_activity_at=at)

    async def close(self, case_id: int, *, at: datetime) -> None:
        self._set(case_id, status=CaseStatus.CLOSED, closed_at=at)

    async def reopen(self, case_id: int) -> None:
        self._set(case_id, status=CaseStatus.OPEN, closed_at=None)

    async def assign(self, case_id: int, user: str | None) -> None:
        self._set(case_id, assignee=user)

    async def clear_unread(self, case_id: int) -> None:
        self._set(case_id, unread=0)


class MemoryMessages(_Part):
    def _add(self, **values: Any) -> int:
        defaults: dict[str, Any] = dict.fromkeys(
            ("source_text", "author", "error", "segments", "encoding", "provider_message_id"),
        )
        defaults |= dict.fromkeys(("origin_channel", "origin_ts", "forwarded_from_id"))
        defaults |= {"send_ref": None, "send_started_at": None, "status": MessageStatus.QUEUED}
        message = MessageRecord(id=self.m.next_id("messages"), **(defaults | values))
        self.m.messages[message.id] = message
        return message.id

    def _set(self, message_id: int, **values: Any) -> None:
        self.m.messages[message_id] = dataclasses.replace(self.m.messages[message_id], **values)

    async def get(self, message_id: int) -> MessageRecord | None:
        return self.m.messages.get(message_id)

    async def from_slack(self, channel: str, ts: str) -> MessageRecord | None:
        return next(
            (
                m
                for m in self.m.messages.values()
                if (m.origin_channel, m.origin_ts) == (channel, ts)
            ),
            None,
        )

    async def add_inbound(self, sms: InboundSms, *, segments: int, encoding: str) -> int | None:
        if any(m.provider_message_id == sms.provider_message_id for m in self.m.messages.values()):
            return None
        return self._add(
            direction=Direction.INBOUND,
            contact_number=sms.sender,
            our_number=sms.recipient,
            text=sms.text,
            status=MessageStatus.RECEIVED,
            segments=segments,
            encoding=encoding,
            provider_message_id=sms.provider_message_id,
            created_at=sms.received_at,
        )

    async def add_reply(self, reply: AgentReply, case: CaseRecord, *, at: datetime) -> int | None:
        if await self.from_slack(reply.channel, reply.ts) is not None:
            return None
        return self._add(
            direction=Direction.OUTBOUND,
            contact_number=case.contact_number,
            our_number=case.our_number,
            text=reply.text,
            source_text=reply.text,
            author=reply.user,
            origin_channel=reply.channel,
            origin_ts=reply.ts,
            created_at=at,
        )

    async def add_automated(
        self, contact_number: str, our_number: str, text: str, *, at: datetime
    ) -> int:
        return self._add(
            direction=Direction.AUTOMATED,
            contact_number=contact_number,
            our_number=our_number,
            text=text,
            created_at=at,
        )

    async def add_forwarded(
        self, *, recipient: str, our_number: str, text: str, forwarded_from_id: int, at: datetime
    ) -> int:
        return self._add(
            direction=Direction.FORWARDED,
            contact_number=recipient,
            our_number=our_number,
            text=text,
            forwarded_from_id=forwarded_from_id,
            created_at=at,
        )

    async def make_note(self, message_id: int) -> None:
        self._set(message_id, direction=Direction.NOTE, status=MessageStatus.INTERNAL)

    async def refuse(
        self, message_id: int, reason: str, *, status: MessageStatus = MessageStatus.NOT_SENT
    ) -> None:
        self._set(message_id, status=status, error=reason)

    async def queue_again(self, message_id: int) -> None:
        self._set(message_id, status=MessageStatus.QUEUED, error=None)

    async def set_status(
        self, message_id: int, status: MessageStatus, *, error: str | None = None
    ) -> None:
        self._set(message_id, status=status, error=error)

    async def link(self, case_id: int, message_id: int, *, slack_ts: str | None = None) -> None:
        self.m.links[(case_id, message_id)] = slack_ts

    async def postings(self, message_id: int) -> list[tuple[CaseRecord, SlackTs]]:
        return [
            (self.m.cases[case_id], SlackTs(ts))
            for (case_id, mid), ts in self.m.links.items()
            if mid == message_id and ts is not None
        ]

    async def replies_since(self, author: str, since: datetime) -> int:
        return sum(
            1
            for m in self.m.messages.values()
            if m.author == author and m.direction == Direction.OUTBOUND and m.created_at >= since
        )


class MemoryReads(_Part):
    async def mark_read(self, case_id: int, user: str, *, at: datetime) -> None:
        self.m.reads[(case_id, user)] = at


class MemorySends(_Part):
    async def record_sent(self, message_id: int, provider_ids: Sequence[str]) -> None:
        for provider_id in provider_ids:
            self.m.parts_by_carrier_id[provider_id] = message_id
            self.m.part_states[provider_id] = MessageStatus.SUBMITTED
        first = provider_ids[0] if provider_ids else None
        self.m.messages[message_id] = dataclasses.replace(
            self.m.messages[message_id], status=MessageStatus.SUBMITTED, provider_message_id=first
        )

    async def apply_receipt(self, receipt: DeliveryReceipt) -> MessageRecord | None:
        message_id = self.m.parts_by_carrier_id.get(receipt.provider_message_id)
        if message_id is None:
            return None
        self.m.part_states[receipt.provider_message_id] = receipt.status
        return self.m.messages[message_id]

    async def overall_status(self, message_id: int) -> MessageStatus:
        states = {
            self.m.part_states[pid]
            for pid, mid in self.m.parts_by_carrier_id.items()
            if mid == message_id
        }
        for bad in _FAILURES:
            if bad in states:
                return bad
        if states == {MessageStatus.DELIVERED}:
            return MessageStatus.DELIVERED
        return MessageStatus.SUBMITTED

    async def keep_early(self, receipt: DeliveryReceipt) -> None:
        self.m.early.append(receipt)


class MemoryParts(_Part):
    async def add(self, sms: InboundSms) -> bool:
        assert sms.part is not None
        if any(
            p.provider_message_id == sms.provider_message_id for p in self.m.waiting_parts.values()
        ):
            return False
        part = PartRecord(
            id=self.m.next_id("parts"),
            contact_number=sms.sender,
            our_number=sms.recipient,
            part=sms.part.number,
            total=sms.part.total,
            text=sms.text,
            head_unit=None,
            tail_unit=None,
            provider_message_id=sms.provider_message_id,
            received_at=sms.received_at,
        )
        self.m.waiting_parts[part.id] = part
        self.m.part_refs[part.id] = sms.part.ref
        return True

    async def waiting(self, sender: str, recipient: str, ref: str) -> list[PartRecord]:
        return [
            p
            for p in self.m.waiting_parts.values()
            if (p.contact_number, p.our_number, self.m.part_refs[p.id]) == (sender, recipient, ref)
        ]

    async def assembled(self, part_ids: Sequence[int]) -> None:
        for part_id in part_ids:
            del self.m.waiting_parts[part_id], self.m.part_refs[part_id]


class MemoryOptOuts(_Part):
    async def opt_out(self, contact_number: str, our_number: str, *, reason: str) -> bool:
        if (contact_number, our_number) in self.m.opted_out:
            return False
        self.m.opted_out[(contact_number, our_number)] = reason
        return True

    async def opt_in(self, contact_number: str, our_number: str) -> bool:
        return self.m.opted_out.pop((contact_number, our_number), None) is not None

    async def is_opted_out(self, contact_number: str, our_number: str) -> bool:
        return (contact_number, our_number) in self.m.opted_out


class MemoryContacts(_Part):
    async def holder(self, number: PhoneNumber) -> int:
        if number not in self.m.contacts:
            self.m.contacts[number] = self.m.next_id("contacts")
        return self.m.contacts[number]

    async def title(self, number: str, title_property: str) -> tuple[str | None, str]:
        contact = self.m.contacts.get(number)
        return (self.m.names.get(contact) if contact else None), "Mobile"


class MemorySchedules(_Part):
    async def all(self) -> list[ScheduleRecord]:
        return sorted(self.m.schedules, key=lambda s: s.name)


class MemoryAutoReplies(_Part):
    async def given(self, case_id: int, kind: str, window: str) -> bool:
        return (case_id, kind, window) in self.m.auto_replies

    async def record(self, case_id: int, kind: str, window: str, message_id: int) -> None:
        self.m.auto_replies.add((case_id, kind, window))


class MemoryMutes(_Part):
    async def is_muted(self, case_id: int) -> bool:
        return case_id in self.m.muted


class MemoryJobs(_Part):
    async def add(self, work: Work, *, run_after: datetime | None = None) -> None:
        self.m.jobs.append(Queued(work, run_after))

    async def pending(self, kind: str, *, queue: str) -> bool:
        return any(q.work.kind == kind and q.work.queue == queue for q in self.m.jobs)

    async def live(self, kind: str, *, queue: str) -> bool:
        return await self.pending(kind, queue=queue)

    async def add_spaced(self, work: Work, *, every: timedelta, now: datetime) -> None:
        if not await self.pending(work.kind, queue=work.queue):
            await self.add(work, run_after=now)  # the memory runs no job: none ended

    async def hasten(self, work: Work) -> bool:
        waiting = [
            q for q in self.m.jobs if q.work.kind == work.kind and q.work.queue == work.queue
        ]
        for queued in waiting:
            queued.run_after = None
        return bool(waiting)


class MemoryBroadcasts(_Part):
    """The rule tables hold no broadcasts: no contact was texted by one."""

    async def last_to(self, contact_number: str, our_number: str) -> None:
        return None


class MemoryEmails(_Part):
    """No case of these rules has an email side: replies go by SMS, as before email."""

    async def thread(self, case_id: int) -> None:
        return None

    async def wrote_by(self, case_id: int, channel: str, **_: object) -> bool:
        return False


class MemoryUnit:
    """One unit of work over `memory`; locks are free, as one test runs one rule at a time."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self.cases = MemoryCases(memory)
        self.messages = MemoryMessages(memory)
        self.reads = MemoryReads(memory)
        self.sends = MemorySends(memory)
        self.parts = MemoryParts(memory)
        self.opt_outs = MemoryOptOuts(memory)
        self.contacts = MemoryContacts(memory)
        self.schedules = MemorySchedules(memory)
        self.auto_replies = MemoryAutoReplies(memory)
        self.jobs = MemoryJobs(memory)
        self.broadcasts = MemoryBroadcasts(memory)
        self.emails = MemoryEmails(memory)
        self.mutes = MemoryMutes(memory)

    async def lock_conversation(self, contact_number: str, our_number: str) -> None:
        return None

    async def lock(self, key: str) -> None:
        return None
