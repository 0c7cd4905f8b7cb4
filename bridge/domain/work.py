"""The work a decision leaves for the outbox: one frozen dataclass per kind of job.

Each names its `kind` (the string stored with the job), the fields its handler needs (the
payload, stored as JSON), and its `queue`: jobs of one queue run one at a time, in order.
A queue that the payload does not determine (a reaction belongs to its case's thread) is
given when the work is made and not stored. Kind strings and payload keys are what the
store holds: a job written by an earlier version still runs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from bridge.domain.values import Offer

_STORED = "stored"

# What became of a job that ran: done, to be tried again, waiting for a person to fix a
# refusal, or given up.
DONE, RETRY, WAITING, DEAD = "done", "retry", "waiting", "dead"


def _lane() -> Any:
    """A queue given at creation and not kept in the payload."""
    return field(default="", metadata={_STORED: False}, compare=False)


def slack_queue(case_id: int) -> str:
    """Everything shown in one case's thread runs in order."""
    return f"slack:case:{case_id}"


def header_queue(case_id: int) -> str:
    """A case's spaced-out header redraws run beside its thread's posts: one waiting to
    spare Slack's budget for edits holds no text back."""
    return f"slack:header:{case_id}"


def sms_queue(our_number: str, contact_number: str) -> str:
    """Everything sent to one phone from one of our numbers runs in order."""
    return f"sms:{our_number}:{contact_number}"


def user_queue(user: str) -> str:
    """What one person is told outside a case thread: one refused never holds a thread back."""
    return f"slack:user:{user}"


class Work:
    """A job's kind, payload and queue."""

    __slots__ = ()
    kind: ClassVar[str]

    @property
    def queue(self) -> str:
        return getattr(self, "lane")  # noqa: B009 (the kinds whose queue is given)

    def payload(self) -> dict[str, Any]:
        stored = {f.name for f in dataclasses.fields(self) if f.metadata.get(_STORED, True)}  # type: ignore[arg-type]
        return {k: v for k, v in dataclasses.asdict(self).items() if k in stored}  # type: ignore[call-overload]

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Self:
        known = {f.name for f in dataclasses.fields(cls) if f.metadata.get(_STORED, True)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in payload.items() if k in known})


@dataclass(frozen=True, slots=True)
class PostHeader(Work):
    """Post a case's header: the top of its thread."""

    kind: ClassVar[str] = "slack.post_header"
    case_id: int

    @property
    def queue(self) -> str:
        return slack_queue(self.case_id)


@dataclass(frozen=True, slots=True)
class UpdateHeader(Work):
    """Redraw a case's header as the case is when the job runs.

    A redraw for texts and replies (`spaced`), made once the thread is up, runs in a queue
    of its own; any other runs in the thread's, after the header it may be waiting for.
    """

    kind: ClassVar[str] = "slack.update_header"
    case_id: int
    spaced: bool = False

    @property
    def queue(self) -> str:
        return header_queue(self.case_id) if self.spaced else slack_queue(self.case_id)


@dataclass(frozen=True, slots=True)
class PostMessage(Work):
    """Show a text in a case's thread; `broadcast` shows it in the channel too."""

    kind: ClassVar[str] = "slack.post_message"
    case_id: int
    message_id: int
    broadcast: bool = False

    @property
    def queue(self) -> str:
        return slack_queue(self.case_id)


@dataclass(frozen=True, slots=True)
class PostMedia(Work):
    """Show a contact's text that carries a file: the file, fetched first, with the text."""

    kind: ClassVar[str] = "slack.post_media"
    case_id: int
    message_id: int
    broadcast: bool = False

    @property
    def queue(self) -> str:
        return slack_queue(self.case_id)


@dataclass(frozen=True, slots=True)
class ThreadNote(Work):
    """A note of the bridge's own in a case's thread."""

    kind: ClassVar[str] = "slack.thread_note"
    case_id: int
    text: str

    @property
    def queue(self) -> str:
        return slack_queue(self.case_id)


@dataclass(frozen=True, slots=True)
class React(Work):
    """A reaction on a message (a delivery state, a note's lock)."""

    kind: ClassVar[str] = "slack.react"
    channel: str
    ts: str
    name: str
    lane: str = _lane()


@dataclass(frozen=True, slots=True)
class TellUser(Work):
    """An ephemeral word to one person; `offer` adds a button for what they may do."""

    kind: ClassVar[str] = "slack.tell_user"
    channel: str
    user: str
    text: str
    thread_ts: str | None = None
    offer: Offer | None = None
    lane: str = _lane()

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Self:
        offer = payload.get("offer")
        return cls(
            channel=payload["channel"],
            user=payload["user"],
            text=payload["text"],
            thread_ts=payload.get("thread_ts"),
            offer=Offer(offer["action"], offer["message_id"]) if offer else None,
        )


@dataclass(frozen=True, slots=True)
class NotifyAssignee(Work):
    """A direct message to a case's new assignee."""

    kind: ClassVar[str] = "slack.notify_assignee"
    user: str
    case_id: int
    by: str

    @property
    def queue(self) -> str:
        return slack_queue(self.case_id)


@dataclass(frozen=True, slots=True)
class NotifyAssigneeOfTexts(Work):
    """A direct message to a case's assignee: its texts from `first_message_id` on."""

    kind: ClassVar[str] = "slack.notify_assignee_texts"
    case_id: int
    first_message_id: int

    @property
    def queue(self) -> str:
        return f"slack:notice:{self.case_id}"


@dataclass(frozen=True, slots=True)
class ForwardDm(Work):
    """A direct message to one person of a forwarding schedule: a contact's text."""

    kind: ClassVar[str] = "slack.forward_dm"
    user: str
    message_id: int
    case_ids: list[int]

    @property
    def queue(self) -> str:
        return user_queue(self.user)


@dataclass(frozen=True, slots=True)
class PublishHome(Work):
    """One person's App Home, as the store has it when the job runs."""

    kind: ClassVar[str] = "slack.publish_home"
    user: str
    refusal: str | None = None  # shown instead, to someone who may not see cases
    admin: bool = False  # with the jobs given up and a button to retry them

    @property
    def queue(self) -> str:
        return f"slack:home:{self.user}"


@dataclass(frozen=True, slots=True)
class AdminNotice(Work):
    """A direct message to every admin: `text`, or (`dead`) the jobs given up."""

    kind: ClassVar[str] = "slack.admin_notice"
    text: str | None = None
    dead: bool = False

    @property
    def queue(self) -> str:
        return "slack:admins"


@dataclass(frozen=True, slots=True)
class SendSms(Work):
    """Send a text (a staff reply, or one of the bridge's own) once."""

    kind: ClassVar[str] = "sms.send"
    message_id: int
    case_id: int | None = None  # a staff reply's case: its #ref tag and where to tell
    lane: str = _lane()


@dataclass(frozen=True, slots=True)
class SendEmail(Work):
    """Send a staff reply by email once, under a Message-ID chosen before the first try."""

    kind: ClassVar[str] = "email.send"
    message_id: int
    case_id: int

    @property
    def queue(self) -> str:
        return f"email:case:{self.case_id}"


@dataclass(frozen=True, slots=True)
class FlushParts(Work):
    """The rest of a long text never came: take what did."""

    kind: ClassVar[str] = "sms.flush_parts"
    sender: str
    recipient: str
    ref: str

    @property
    def queue(self) -> str:
        return f"parts:{self.recipient}:{self.sender}:{self.ref}"


@dataclass(frozen=True, slots=True)
class PaceBroadcast(Work):
    """Hand the outbox a broadcast's next texts, as its budget and hours allow."""

    kind: ClassVar[str] = "broadcast.pace"
    broadcast_id: int

    @property
    def queue(self) -> str:
        return f"broadcast:{self.broadcast_id}"


@dataclass(frozen=True, slots=True)
class DrawBroadcast(Work):
    """Post a broadcast's figures in the inbox channel, or redraw them."""

    kind: ClassVar[str] = "slack.draw_broadcast"
    broadcast_id: int

    @property
    def queue(self) -> str:
        return f"slack:broadcast:{self.broadcast_id}"


@dataclass(frozen=True, slots=True)
class DeleteCasePosts(Work):
    """Delete the bot's posts in an erased case's thread and leave its header a tombstone.

    The case is gone from the store: the payload carries where its thread was.
    """

    kind: ClassVar[str] = "slack.delete_case_posts"
    case_id: int
    channel: str
    thread_ts: str
    tombstone: str

    @property
    def queue(self) -> str:
        return slack_queue(self.case_id)


@dataclass(frozen=True, slots=True)
class RetentionSweep(Work):
    """Erase a batch of closed cases past the retention period; then the next batch, or the
    next day's sweep."""

    kind: ClassVar[str] = "store.retention_sweep"

    @property
    def queue(self) -> str:
        return "store:retention"


@dataclass(frozen=True, slots=True)
class PlaceCall(Work):
    """Ring a staff member's phone and connect them to a case's contact: at most once."""

    kind: ClassVar[str] = "voice.place_call"
    call_id: int

    @property
    def queue(self) -> str:
        return f"voice:{self.call_id}"


KINDS: dict[str, type[Work]] = {
    work.kind: work
    for work in (
        PostHeader,
        UpdateHeader,
        PostMessage,
        PostMedia,
        ThreadNote,
        React,
        TellUser,
        NotifyAssignee,
        NotifyAssigneeOfTexts,
        ForwardDm,
        PublishHome,
        AdminNotice,
        SendSms,
        SendEmail,
        FlushParts,
        PaceBroadcast,
        DrawBroadcast,
        DeleteCasePosts,
        RetentionSweep,
        PlaceCall,
    )
}


def sms_send(
    message_id: int, *, our_number: str, contact_number: str, case_id: int | None = None
) -> SendSms:
    """The send of a text, in the queue of the phone it goes to from the number it leaves."""
    return SendSms(message_id, case_id, lane=sms_queue(our_number, contact_number))
