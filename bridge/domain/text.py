"""Text as it crosses into the store: whatever arrived, something both backends can hold.

Python strings can hold what neither SQLite (UTF-8) nor PostgreSQL can: a NUL, or one half
of a UTF-16 surrogate pair on its own. Both reach us from outside: a GSM-7 '@' can arrive
as NUL, a JSON `\\ud83d` escape or a CESU-8 form escape as a lone surrogate (a long SMS
split between the halves of an emoji sends each half in its own part).
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_HIGH = range(0xD800, 0xDC00)
_LOW = range(0xDC00, 0xE000)


def storable(text: str) -> str:
    """`text` with each NUL and each lone surrogate replaced by U+FFFD.

    A surrogate pair the text still holds as two code points is joined into its character.
    """
    if not _UNSTORABLE.search(text):
        return text
    joined = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _UNSTORABLE.sub(REPLACEMENT, joined)


def split_edges(text: str) -> tuple[int | None, str, int | None]:
    """(leading low surrogate, the rest made storable, trailing high surrogate).

    The halves of a surrogate pair that a part boundary cut apart, kept as code units so
    that joining the parts can put the character together again.
    """
    head = ord(text[0]) if text and ord(text[0]) in _LOW else None
    tail = ord(text[-1]) if text and ord(text[-1]) in _HIGH else None
    middle = text[1 if head is not None else 0 : len(text) - (1 if tail is not None else 0)]
    return head, storable(middle), tail


def with_edges(head: int | None, middle: str, tail: int | None) -> str:
    """What `split_edges` took apart, whole again: the halves stay halves."""
    return "".join(
        [chr(head) if head is not None else "", middle, chr(tail) if tail is not None else ""]
    )


def join_parts(parts: list[tuple[int | None, str, int | None]]) -> str:
    """The text of parts in order, each cut surrogate pair made whole again."""
    return storable("".join(with_edges(*part) for part in parts))
