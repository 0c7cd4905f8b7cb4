"""Reading a case thread as a person sees it: which contacts' texts it shows, in order.

A new case's first texts are in its header's post (after the divider); texts that waited
for the channel's budget together share one post (a plain-text section each); a text
posted alone is the post's text. The bridge marks each of those posts with metadata.
"""

from __future__ import annotations

import html
from typing import Any

Params = dict[str, Any]

HEADER_MARK = "smschat_case"
POSTING_MARK = "smschat_posting"


def shown_texts(thread: list[Params]) -> list[str]:
    """The texts the bridge's marked posts in `thread` (a parent and its replies) show."""
    shown: list[str] = []
    for message in thread:
        mark = (message.get("metadata") or {}).get("event_type")
        blocks = message.get("blocks") or []
        if mark == HEADER_MARK:
            shown += _sections(blocks[_divider(blocks) + 1 :]) if _divider(blocks) >= 0 else []
        elif mark == POSTING_MARK:
            shown += _sections(blocks) if blocks else [html.unescape(message.get("text", ""))]
    return shown


def _divider(blocks: list[Params]) -> int:
    return next((i for i, b in enumerate(blocks) if b.get("type") == "divider"), -1)


def _sections(blocks: list[Params]) -> list[str]:
    return [
        b["text"]["text"]
        for b in blocks
        if b.get("type") == "section" and (b.get("text") or {}).get("type") == "plain_text"
    ]


def thread_lines(thread: list[Params]) -> list[str]:
    """What a thread shows below its header's fields, post by post: the contacts' texts of
    the bridge's marked posts, and every other post's text (notes, staff replies)."""
    lines: list[str] = []
    for message in thread:
        marked = (message.get("metadata") or {}).get("event_type") in (HEADER_MARK, POSTING_MARK)
        lines += shown_texts([message]) if marked else [message.get("text", "")]
    return lines


def header_field(header: Params, title: str) -> str:
    """One of a case header's fields as it reads, `*Title*` and its value: `*Unread*\n2`."""
    fields = next(b["fields"] for b in header["blocks"] if b.get("fields"))
    return next(f["text"] for f in fields if f["text"].startswith(f"*{title}*"))
