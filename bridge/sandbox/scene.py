"""The demo's scene: its workspace, staff member and number, how the bridge is set up for
it, and what the page shows (a phone's bubbles, notices only the staff member sees)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from bridge.config import Settings

# Valid UK mobile numbers (Ofcom's range for drama, 07700 900xxx, is one the phone-number
# library calls invalid, which the bridge rightly questions); the sandbox never texts out.
OUR_NUMBER = "+447400900000"
INBOX_CHANNEL = "C0INBOX"
INBOX_NAME = "sms-inbox"
WORKSPACE_NAME = "Demo Clinic"
STAFF_ID, STAFF_NAME, STAFF_DISPLAY = "U0SAM", "sam", "Sam Rivera"


@dataclass(frozen=True, slots=True)
class Person:
    """Someone the page can be signed in as; `role` says what Slack knows of them."""

    id: str
    handle: str
    name: str
    role: str  # "admin" (a workspace admin), "staff" (a member) or "guest"


PEOPLE = (
    Person(STAFF_ID, STAFF_NAME, STAFF_DISPLAY, "admin"),
    Person("U0DANA", "dana", "Dana Okafor", "staff"),
    Person("U0GUS", "gus", "Gus Guest", "guest"),
)
# The clinic's mail desk: where contacts write, and whom the bridge's replies come from.
OUR_EMAIL = "help@clinic.example.org"
OUR_EMAIL_FROM = f"Demo Clinic <{OUR_EMAIL}>"
COMMAND = "/smschat"
VONAGE_API_KEY = "demo0key"
SIGNATURE_METHOD = "md5hash"  # of the inbound webhooks, when a signature secret is set


class SandboxSettings(Settings):
    """The bridge's own Settings, validated as in production, but taken only from what the
    sandbox passes: neither the environment nor a `.env` file (which may hold real
    tokens) can leak into the demo."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


@dataclass(slots=True)
class PhoneMessage:
    """One bubble on the phone: a text it sent to our number, or one it received."""

    id: str
    contact: str  # the phone's own number, E.164
    direction: str  # "sent" (phone → bridge) or "received" (bridge → phone)
    text: str
    at: float
    state: str  # sent: sending, sent, refused; received: submitted, delivered, failed, ...
    detail: str = ""
    parts: list[str] = field(default_factory=list)  # carrier message ids of what it received
    part_states: dict[str, str] = field(default_factory=dict)
    # The picture or file it carries, kept by the phone: its type, size, and the address it
    # was fetched from (an MMS's picture, or a link in the text; empty for one it sent).
    file_type: str = ""
    file_size: int = 0
    file_link: str = ""


@dataclass(slots=True)
class MailMessage:
    """One email in a contact's mailbox: one it sent to our address, or a reply it got."""

    id: str
    address: str  # the contact's own address
    direction: str  # "sent" (mailbox → bridge) or "received" (bridge → mailbox)
    sender: str  # From, as shown
    to: str
    subject: str
    text: str
    at: float
    state: str  # sent: sending, sent, refused; received: received
    detail: str = ""
    message_id: str = ""  # with its <>
    references: str = ""  # the thread before it (its References), for a reply to name
    reply_to: str = ""  # where a reply to it goes (its Reply-To, else its From)


@dataclass(slots=True)
class Notice:
    """Something only the demo's staff member sees: an ephemeral, a command's answer."""

    id: str
    at: float
    kind: str  # "ephemeral", "command", "response" or "error"
    text: str
    blocks: list[Any] = field(default_factory=list)
    thread_ts: str | None = None
    command: str | None = None
    to: str = STAFF_ID  # the person it was shown to


Listener = Callable[[str, dict[str, Any]], None]
