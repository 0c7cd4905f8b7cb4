"""Pictures and files that come with a text: what arrived, what the bridge keeps of it.

Kinds are the Messages API's `message_type` values that carry a file
(https://developer.vonage.com/en/api/messages, inbound message: `image`, `audio`, `video`,
`file`, `vcard`, each an object with `url` and an optional `caption`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

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
    """The file a contact's message carries, where the carrier keeps it for a while."""

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


def stored_name(kind: str, media_id: int, content_type: str) -> str:
    """The name a kept file goes by (`image-12.jpg`), made here from what the bytes are."""
    return f"{kind}-{media_id}.{EXTENSIONS.get(content_type, 'bin')}"


@dataclass(frozen=True, slots=True)
class FetchedMedia:
    """A file's bytes and what they were found to be."""

    content_type: str
    data: bytes
