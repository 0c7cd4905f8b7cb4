"""The messaging log as a file: every text and email in and out and every staff note,
whatever the chat settings hide from threads, as CSV or JSON Lines.

An email's row says so (`channel` email) and names the address at the other end
(`contact_email`). A contact who only writes by email has no phone number: its rows leave
`contact_number` and `our_number` empty rather than show the keys the store files such
cases under (`email:12`, `email`), so that a number column holds phone numbers only and a
reader filtering or matching on it never meets a value no phone can have. The new columns
come last: a script reading the columns by position keeps working.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bridge.domain.email import EMAIL_LINE, is_email_only
from bridge.errors import InvalidInput
from bridge.routing.ports import Units

FORMATS = ("csv", "jsonl")
COLUMNS = (
    "id",
    "created_at",
    "direction",
    "status",
    "our_number",
    "contact_number",
    "contact_name",
    "cases",
    "author",
    "text",
    "source_text",
    "segments",
    "encoding",
    "error",
    "provider_message_id",
    "forwarded_from_id",
    "media_file",  # the name the bridge stored a picture or file by (image-12.jpg)
    "media_type",  # what it is (image/jpeg), or the kind announced when it was not kept
    "broadcast_id",
    "channel",  # sms or email; empty for a staff note
    "contact_email",  # an email's address at the other end
)
# Columns anyone can put words in; phone numbers and ids are left as they are.
FREE_TEXT = ("text", "source_text", "contact_name", "error", "contact_email")
# A spreadsheet treats a cell starting with one of these as a formula (OWASP, "CSV Injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class LogRange:
    start: datetime  # inclusive, aware
    end: datetime  # exclusive, aware


def log_range(since: str, until: str | None, *, time_zone: str, now: datetime) -> LogRange:
    """From the start of day `since` to the end of day `until` (default today) in the zone."""
    zone = ZoneInfo(time_zone)
    first = parse_day(since, "--since")
    last = parse_day(until, "--until") if until else now.astimezone(zone).date()
    if last < first:
        raise InvalidInput(f"--until {last} is before --since {first}")
    return LogRange(_midnight(first, zone), _midnight(last + timedelta(days=1), zone))


def parse_day(value: str, option: str) -> date:
    try:
        if _DAY.fullmatch(value.strip()):
            return date.fromisoformat(value.strip())
    except ValueError:
        pass
    raise InvalidInput(f"{option} {value!r} is not a date such as 2026-03-31 (YYYY-MM-DD)")


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


async def write_log(units: Units, span: LogRange, *, file_format: str, out: TextIO) -> int:
    """Write the log of `span` to `out`, oldest first; the number of messages written.

    Nothing is written, not even a header, unless the store answered the query.
    """
    count = 0
    async with units.reading() as unit:
        rows = await unit.reports.message_log(since=span.start, until=span.end)
        write = _CsvWriter(out) if file_format == "csv" else _JsonLinesWriter(out)
        async for row in rows:
            write(row)
            count += 1
    return count


class _CsvWriter:
    """RFC 4180 (the csv module's defaults: CRLF, quotes doubled), with a header row."""

    def __init__(self, out: TextIO) -> None:
        self.writer = csv.writer(out)
        self.writer.writerow(COLUMNS)

    def __call__(self, row: Mapping[str, Any]) -> None:
        record = _record(row)
        record["cases"] = ";".join(map(str, record["cases"]))
        for column in FREE_TEXT:
            record[column] = _defused(record[column])
        self.writer.writerow(["" if record[c] is None else record[c] for c in COLUMNS])


class _JsonLinesWriter:
    """One JSON object a line, UTF-8 as it is (no \\u escapes)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, row: Mapping[str, Any]) -> None:
        self.out.write(json.dumps(_record(row), ensure_ascii=False) + "\n")


def _record(row: Mapping[str, Any]) -> dict[str, Any]:
    record = {column: row[column] for column in COLUMNS}
    created: datetime = row["created_at"]
    # Always with microseconds, so that the texts sort as the moments do.
    stamp = created.astimezone(UTC).isoformat(timespec="microseconds")
    record["created_at"] = stamp.replace("+00:00", "Z")
    record["cases"] = sorted(int(ref) for ref in (row["cases"] or "").split(";") if ref)
    if is_email_only(record["contact_number"]):
        record["contact_number"] = None
    if record["our_number"] == EMAIL_LINE:
        record["our_number"] = None
    return record


def _defused(value: str | None) -> str | None:
    """A leading quote keeps a spreadsheet from running the cell as a formula."""
    return "'" + value if value and value.startswith(_FORMULA_STARTS) else value
