"""Finding cases: `/smschat search <text>` and `/smschat list`, with filters and pages.

A query matches a contact's name or email (any part, any case), any part of one of their
numbers however it is written (`7700 900`, `(0)7700-900123`), or a case reference (`#12`).
Filters: `status:open|closed|all` (default open for lists, all for searches), `mine`,
`unassigned`, `unread` (by the reading setting: texts nobody read, or you did not), and
`page:N`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bridge import texts
from bridge.domain import limits
from bridge.domain.records import CaseFilter, CaseRecord
from bridge.domain.values import UserId
from bridge.routing.cases import CaseActionRefused
from bridge.routing.ports import Cases

PAGE_SIZE = 10
MAX_PAGE = limits.RECORD_ID // PAGE_SIZE  # past it, the offset is no number a store holds
_STATUSES = {"open", "closed", "all"}


@dataclass(frozen=True, slots=True)
class Found:
    cases: list[tuple[CaseRecord, str | None]]  # each case with its contact's name
    total: int
    page: int
    pages: int


def parse_query(
    words: str, *, user: UserId, default_status: str, per_user_reading: bool = False
) -> tuple[str, CaseFilter, int]:
    """(free text, filter, page) from what follows `search` or `list`."""
    status, assignee, unassigned, page, free = default_status, None, False, 1, []
    unread = False
    for word in words.split():
        key, _, value = word.partition(":")
        if key.lower() == "status" and value.lower() in _STATUSES:
            status = value.lower()
        elif key.lower() == "page" and value.isdigit() and 0 < int(value) <= MAX_PAGE:
            page = int(value)
        elif word.lower() == "mine":
            assignee = user
        elif word.lower() == "unassigned":
            unassigned = True
        elif word.lower() == "unread":
            unread = True
        elif key.lower() in ("status", "page"):
            raise CaseActionRefused(texts.BAD_FILTER.format(word=word))
        else:
            free.append(word)
    case_filter = CaseFilter(
        status,
        assignee,
        unassigned,
        unread=unread and not per_user_reading,
        unread_by=user if unread and per_user_reading else None,
    )
    return " ".join(free), case_filter, page


async def find_cases(cases: Cases, query: str, case_filter: CaseFilter, page: int) -> Found:
    # Stored numbers are E.164: a national trunk 0 or an international 00 never appears.
    digits = re.sub(r"\D", "", query).lstrip("0")
    ref = re.fullmatch(r"#?(\d{1,9})", query.strip())
    total, rows = await cases.search(
        text=query.strip(),
        digits=digits if len(digits) >= 3 else None,
        case_id=int(ref.group(1)) if ref else None,
        case_filter=case_filter,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    pages = max(1, -(-total // PAGE_SIZE))
    return Found(cases=rows, total=total, page=min(page, pages), pages=pages)
