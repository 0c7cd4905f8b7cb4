"""Pictures and files that come with a text: what arrived, what the bridge keeps of it.

Kinds are the Messages API's `message_type` values that carry a file
(https://developer.vonage.com/en/api/messages, inbound message: `image`, `audio`, `video`,
`file`, `vcard`, each an object with `url` and an optional `caption`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import phonenumbers

MEDIA_KINDS = frozenset({"image", "audio", "video", "file", "vcard"})

# The content types each kind may turn out to be, by the type's first half ("image/...")
# or whole ("text/vcard"). A `file` may be any document.
_FAMILIES = {
    "image": ("image/",),
    "audio": ("audio/",),
    "video": ("video/",),
    "vcard": ("text/vcard", "text/x-vcard", "text/directory"),
    "file": ("application/", "text/", "image/", "audio/", "video/"),
}
# The file name extension a stored file is given, by content type; names never come from
# outside.
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/amr": "amr",
    "audio/mp4": "m4a",
    "video/mp4": "mp4",
    "video/3gpp": "3gp",
    "video/quicktime": "mov",
    "application/pdf": "pdf",
    "text/vcard": "vcf",
}


class MediaState(enum.StrEnum):
    PENDING = "pending"  # announced by the carrier, not fetched yet
    STORED = "stored"  # fetched and kept
    REFUSED = "refused"  # too large, unreadable or not what it said: a note says so


@dataclass(frozen=True, slots=True)
class InboundMedia:
    """The file a message carries and where it is fetched from: the carrier's URL (kept
    there for a while) or, for a staff member's file, `slack:<file id>`."""

    kind: str
    url: str


@dataclass(frozen=True, slots=True)
class MediaRecord:
    """What the store keeps of a message's file (its bytes are read apart)."""

    id: int
    message_id: int
    kind: str
    state: MediaState
    source_url: str | None
    content_type: str | None
    size: int | None
    name: str | None
    refusal: str | None


def fits_kind(kind: str, content_type: str) -> bool:
    """Whether a content type is one the announced kind may be."""
    return content_type.startswith(_FAMILIES.get(kind, ()))


def kind_of(content_type: str) -> str:
    """The kind a file of this type is shown as."""
    family = content_type.split("/")[0]
    if content_type == "text/vcard":
        return "vcard"
    return family if family in ("image", "audio", "video") else "file"


def stored_name(kind: str, media_id: int, content_type: str) -> str:
    """The name a kept file goes by (`image-12.jpg`), made here from what the bytes are."""
    return f"{kind}-{media_id}.{EXTENSIONS.get(content_type, 'bin')}"


@dataclass(frozen=True, slots=True)
class FetchedMedia:
    """A file's bytes and what they were found to be."""

    content_type: str
    data: bytes


# What an MMS carries (Vonage's Messages API, channel `mms`, `message_type` `image`:
# https://developer.vonage.com/en/messages/concepts/mms), and where: MMS is sent from and to
# US and Canadian numbers only. Others get a link to the file in an SMS.
MMS_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
MMS_REGIONS = frozenset({"US", "CA"})
# A staff member's file is kept with its source as "slack:<file id>".
SLACK_SOURCE = "slack:"


def reaches_by_mms(number: str) -> bool:
    """Whether a number is one MMS reaches (a US or Canadian one)."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.region_code_for_number(parsed) in MMS_REGIONS


def slack_file_of(media: MediaRecord) -> str | None:
    """The Slack file id a staff member's file is fetched by, None for a contact's file."""
    source = media.source_url or ""
    return source.removeprefix(SLACK_SOURCE) if source.startswith(SLACK_SOURCE) else None
