"""The narrow protocols through which the rules reach the store and the outside world.

The store implements the units and their parts (bridge/store); the Slack adapter
implements `ChatPoster` and `ReplyRenderer`; the carrier adapter implements `SmsSender`.
Every method has one line saying what it does; records come back frozen, and every change
of state is a call.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from bridge.domain.contacts import ContactDetails
from bridge.domain.events import InboxEvent
from bridge.domain.records import (
    CaseFilter,
    CaseRecord,
    DeadJobs,
    MessageRecord,
    PartRecord,
    ScheduleRecord,
    SettingChange,
    TrafficGroup,
)
from bridge.domain.values import (
    AgentReply,
    DeliveryReceipt,
    InboundSms,
    MessageStatus,
    PhoneNumber,
    SlackTs,
)
from bridge.domain.work import Work
from bridge.routing.broadcast_ports import Broadcasts
from bridge.routing.email_ports import Emails
from bridge.routing.media_ports import FileSends, MediaFiles
from bridge.routing.ports_controls import Calls, Erasure, Mutes


class Cases(Protocol):
    async def get(self, case_id: int) -> CaseRecord | None:
        """The case with this id, if there is one."""

    async def by_thread(self, channel: str, thread_ts: str) -> CaseRecord | None:
        """The case whose thread starts at (channel, ts)."""

    async def open_for(self, contact_number: str, our_number: str) -> list[CaseRecord]:
        """The open cases of a number with one of ours, oldest first."""

    async def last_for(self, contact_number: str, our_number: str) -> CaseRecord | None:
        """The newest case of a number with one of ours, open or closed."""

    async def of_number(self, contact_number: str) -> list[CaseRecord]:
        """Every case of a contact number, oldest first."""

    async def of_message(self, message_id: int) -> list[CaseRecord]:
        """The cases a message belongs to."""

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
        """A new open case, its thread still to post."""

    async def set_thread(self, case_id: int, thread_ts: str) -> None:
        """Record the ts of the case's header: its thread."""

    async def touch(self, case_id: int, *, at: datetime, unread: int = 0) -> None:
        """Last activity now `at`, `unread` more texts nobody has read."""

    async def staff_wrote(self, case_id: int, *, at: datetime) -> None:
        """Staff wrote in the case at `at` (automated texts wait a quiet period after it)."""

    async def close(self, case_id: int, *, at: datetime) -> None:
        """Close the case."""

    async def reopen(self, case_id: int) -> None:
        """Open the case again."""

    async def assign(self, case_id: int, user: str | None) -> None:
        """Give the case to `user` (None: to nobody)."""

    async def clear_unread(self, case_id: int) -> None:
        """Nobody has texts of the case left to read."""

    async def search(
        self,
        *,
        text: str,
        digits: str | None,
        case_id: int | None,
        case_filter: CaseFilter,
        offset: int,
        limit: int,
    ) -> tuple[int, list[tuple[CaseRecord, str | None]]]:
        """(how many match, one page of them with their contacts' names), newest first."""


class Messages(FileSends, Protocol):
    async def get(self, message_id: int) -> MessageRecord | None:
        """The message with this id."""

    async def from_slack(self, channel: str, ts: str) -> MessageRecord | None:
        """The staff message typed at (channel, ts)."""

    async def add_inbound(self, sms: InboundSms, *, segments: int, encoding: str) -> int | None:
        """Store a contact's text once; None when its carrier id was stored before."""

    async def add_reply(self, reply: AgentReply, case: CaseRecord, *, at: datetime) -> int | None:
        """Store a staff reply once, queued; None when this Slack message was taken before."""

    async def add_started(self, case: CaseRecord, *, text: str, author: str, at: datetime) -> int:
        """Store, queued, a text staff start from the app rather than in a thread."""

    async def add_automated(
        self, contact_number: str, our_number: str, text: str, *, at: datetime
    ) -> int:
        """Store, queued, a text the bridge sends itself."""

    async def add_forwarded(
        self, *, recipient: str, our_number: str, text: str, forwarded_from_id: int, at: datetime
    ) -> int:
        """Store, queued, a copy of a contact's text for a manager's phone."""

    async def add_note(self, case: CaseRecord, text: str, *, author: str, at: datetime) -> int:
        """Store a staff note made through the app, in the case."""

    async def make_note(self, message_id: int) -> None:
        """The message is a staff note: kept, never sent."""

    async def refuse(self, message_id: int, reason: str, *, status: MessageStatus = ...) -> None:
        """The message is not sent, for `reason` (HELD: until its author says so)."""

    async def queue_again(self, message_id: int) -> None:
        """A held message goes after all."""

    async def set_status(
        self, message_id: int, status: MessageStatus, *, error: str | None = None
    ) -> None:
        """The carrier's (or the bridge's) word on where the message is."""

    async def start_send(
        self, message_id: int, *, text: str, segments: int, encoding: str, ref: str, at: datetime
    ) -> None:
        """A send of the text as measured begins under client-ref `ref` (committed first)."""

    async def measure(self, message_id: int, *, text: str, segments: int, encoding: str) -> None:
        """The text as it would go, and what it costs."""

    async def cancel_send(self, message_id: int) -> None:
        """Nothing went out under the started send's ref."""

    async def link(self, case_id: int, message_id: int, *, slack_ts: str | None = None) -> None:
        """The message belongs to the case (shown at `slack_ts`, when it already is)."""

    async def set_posted(self, case_id: int, message_id: int, slack_ts: str) -> None:
        """The message is shown in the case's thread at `slack_ts`."""

    async def postings(self, message_id: int) -> list[tuple[CaseRecord, SlackTs]]:
        """Each case thread where the message shows, with its ts there."""

    async def posting_at(self, channel: str, ts: str) -> tuple[CaseRecord, MessageRecord] | None:
        """The case and (first) message shown at (channel, ts)."""

    async def unposted_inbound(
        self, case_id: int, most: int, *, starting_with: int | None = None
    ) -> list[MessageRecord]:
        """Up to `most` contacts' texts of the case not yet shown in its thread, in order
        (from message `starting_with` on, when it is given); texts with a file are shown
        by their upload, not here."""

    async def shown_at(self, case_id: int, ts: str) -> list[MessageRecord]:
        """The case's messages one post at `ts` shows, in order."""

    async def replies_since(self, author: str, since: datetime) -> int:
        """How many texts `author` sent to contacts since `since` (the message counter)."""

    async def inbound_from(self, case_id: int, first_message_id: int) -> int:
        """How many contacts' texts reached the case, from `first_message_id` on."""


class Reads(Protocol):
    async def mark_read(self, case_id: int, user: str, *, at: datetime) -> None:
        """`user` has read every text of the case so far."""

    async def unread_for(self, user: str, case_ids: Sequence[int]) -> dict[int, int]:
        """Contacts' texts `user` has not read, per case (those with none left out)."""


class Sends(Protocol):
    async def record_sent(self, message_id: int, provider_ids: Sequence[str]) -> None:
        """The carrier took the text, under these message ids (one per part)."""

    async def apply_receipt(self, receipt: DeliveryReceipt) -> MessageRecord | None:
        """Set the receipt's part's state; the message it is about, None if not known yet."""

    async def overall_status(self, message_id: int) -> MessageStatus:
        """A text is as far along as its least advanced part; a failed part fails it."""

    async def keep_early(self, receipt: DeliveryReceipt) -> None:
        """Keep a receipt that came before its send was recorded."""

    async def take_early(self, provider_ids: Sequence[str]) -> list[DeliveryReceipt]:
        """Take the receipts kept early for these carrier ids, oldest first."""

    async def early_ids(self, client_ref: str) -> list[str]:
        """Carrier ids named by early receipts of the send with this client-ref."""

    async def lock_send(self, client_ref: str) -> None:
        """Serialise the receipts of one send with its recording (until commit)."""


class Parts(Protocol):
    async def add(self, sms: InboundSms) -> bool:
        """Store one part of a long text; False when this part was stored before."""

    async def waiting(self, sender: str, recipient: str, ref: str) -> list[PartRecord]:
        """The parts of one long text not assembled yet."""

    async def assembled(self, part_ids: Sequence[int]) -> None:
        """These parts are joined into their text."""


class OptOuts(Protocol):
    async def opt_out(self, contact_number: str, our_number: str, *, reason: str) -> bool:
        """Record an opt-out; False when the number had opted out already."""

    async def opt_in(self, contact_number: str, our_number: str) -> bool:
        """Lift an opt-out; False when there was none."""

    async def is_opted_out(self, contact_number: str, our_number: str) -> bool:
        """Whether the number asked our number to stop texting it."""


class Contacts(Protocol):
    async def holder(self, number: PhoneNumber) -> int:
        """The id of the contact holding this number; an unknown number gets a contact."""

    async def title(self, number: str, title_property: str) -> tuple[str | None, str]:
        """(what a header calls the contact: its name or a property, the number's label)."""

    async def name(self, number: str, *, name: str, label: str) -> None:
        """Name the contact holding `number`, and say what kind of number it is."""

    async def named(self, name: str) -> list[str]:
        """The numbers of the contacts called exactly `name` (any case)."""

    async def known(self, candidates: Sequence[str]) -> str | None:
        """The first of `candidates` a contact holds."""

    async def upsert(self, details: ContactDetails) -> tuple[int, bool]:
        """(id, whether new) of the contact holding any of the numbers, updated, or a new one;
        `NumberTaken` when the numbers belong to several contacts."""


class Schedules(Protocol):
    async def all(self) -> list[ScheduleRecord]:
        """Every forwarding schedule, by name."""

    async def get(self, schedule_id: int) -> ScheduleRecord | None:
        """The schedule with this id."""

    async def count(self) -> int:
        """How many schedules there are."""

    async def add(self, *, created_by: str, **fields: Any) -> ScheduleRecord:
        """A new schedule."""

    async def change(self, schedule_id: int, **fields: Any) -> ScheduleRecord | None:
        """Set a schedule's fields; None when it is gone."""

    async def delete(self, schedule_id: int) -> bool:
        """Delete a schedule; False when it was gone."""


class AutoReplies(Protocol):
    async def given(self, case_id: int, kind: str, window: str) -> bool:
        """Whether the case got this auto-response in this window."""

    async def record(self, case_id: int, kind: str, window: str, message_id: int) -> None:
        """The case got this auto-response in this window."""


class Jobs(Protocol):
    async def add(self, work: Work, *, run_after: datetime | None = None) -> None:
        """Queue work for the outbox (due now, or at `run_after`)."""

    async def pending(self, kind: str, *, queue: str) -> bool:
        """Whether work of `kind` waits in `queue`."""

    async def live(self, kind: str, *, queue: str) -> bool:
        """Whether work of `kind` waits or runs in `queue`."""

    async def add_spaced(self, work: Work, *, every: timedelta, now: datetime) -> None:
        """Queue `work` at most once per `every`: not at all while work like it waits (that
        one covers what came), else due `every` after the last one ended (or now)."""

    async def hasten(self, work: Work) -> bool:
        """Make work like `work` waiting its first turn in its queue due now; whether any
        waits so."""

    async def dead(self) -> DeadJobs | None:
        """The work given up, if any."""


class ChatSettingsStore(Protocol):
    async def stored(self) -> dict[str, Any]:
        """The chat settings admins saved, by key."""

    async def save(self, key: str, *, old: Any, new: Any, by: str, at: datetime) -> None:
        """Store one setting's new value, and the change in the audit log."""

    async def changes(self, limit: int) -> list[SettingChange]:
        """The latest changes, newest first."""


class Reports(Protocol):
    async def traffic(self, *, since: datetime, until: datetime) -> list[TrafficGroup]:
        """Texts (not notes) made in [since, until), counted per kind, number, author, state."""

    async def message_log(
        self, *, since: datetime, until: datetime
    ) -> AsyncIterable[Mapping[str, Any]]:
        """Every message made in [since, until), oldest first, a row at a time."""


class Arrivals(Protocol):
    async def claim(self, most: int) -> list[tuple[int, InboxEvent]]:
        """Up to `most` events to route, oldest first, each conversation's in order."""

    async def routed(self, event_ids: Sequence[int]) -> None:
        """These events are decided: the inbox lets them go."""

    async def failed(self, event_id: int, error: str) -> None:
        """This event cannot be routed: it is set aside with why."""

    async def waiting_in(self, conversation: str) -> bool:
        """Whether events of this conversation are kept and not yet routed."""


class EventIntake(Protocol):
    async def keep(self, event: InboxEvent) -> None:
        """Return once the event is durable (a repeat of one kept before is kept once)."""


class Unit(Protocol):
    """One transaction's view of the store, by concern."""

    cases: Cases
    messages: Messages
    reads: Reads
    sends: Sends
    parts: Parts
    opt_outs: OptOuts
    contacts: Contacts
    schedules: Schedules
    auto_replies: AutoReplies
    jobs: Jobs
    chat_settings: ChatSettingsStore
    reports: Reports
    arrivals: Arrivals
    media: MediaFiles
    broadcasts: Broadcasts
    emails: Emails
    mutes: Mutes
    erasure: Erasure
    calls: Calls

    async def lock_conversation(self, contact_number: str, our_number: str) -> None:
        """Serialise decisions about one conversation, across instances, until commit."""

    async def lock(self, key: str) -> None:
        """A lock on `key`, shared by every instance, held until commit."""


class SeenOnce(Protocol):
    """Remembers tokens (a request's signature, a JWT id) so that each is accepted once."""

    async def first_time(self, token: str, *, ttl: float) -> bool:
        """True the first time `token` is shown within `ttl` seconds, False on a replay."""

    async def forget(self, token: str) -> None:
        """Let `token` in again: what it brought could not be taken after all."""


class Units(Protocol):
    def unit(self) -> AbstractAsyncContextManager[Unit]:
        """A unit of work: one transaction, committed when the block ends."""

    def reading(self) -> AbstractAsyncContextManager[Unit]:
        """A unit for reading only."""
