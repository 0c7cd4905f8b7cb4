"""The commands that need neither Slack nor Vonage: `contacts import`, `jobs`, `export`.

Each reads only the settings it needs (`OfflineSettings`: the store, the region and the
time zone), so that it runs where the bridge's tokens are not.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pydantic import ValidationError

from bridge.cli_privacy import add_privacy_parsers, privacy
from bridge.config import OfflineSettings, describe
from bridge.errors import BridgeError, InvalidInput, StoreUnavailable

if TYPE_CHECKING:
    from bridge.routing.contacts_import import ImportReport, ParsedFile
    from bridge.routing.export import LogRange


def add_contacts_parser(commands: argparse._SubParsersAction) -> None:
    contacts_parser = commands.add_parser("contacts", help="the contacts directory")
    actions = contacts_parser.add_subparsers(dest="contacts_command", required=True)
    importing = actions.add_parser(
        "import",
        help="add or update contacts from a CSV file",
        description="Add or update contacts from a CSV file with a header row; the columns "
        "are number (or phone), label, number2, label2, ..., name, email, notes, and any "
        "other column becomes a property. Reads DATABASE_URL and DEFAULT_REGION.",
        epilog="Exit status: 0 every row stored, 1 some rows refused (the others are "
        "stored), 2 nothing done (unreadable file, no number column, bad setting, "
        "database unavailable).",
    )
    importing.add_argument("file", type=Path, metavar="FILE.csv")
    add_privacy_parsers(actions)
    importing.add_argument(
        "--default-region",
        type=_region,
        metavar="CC",
        help="ISO 3166 alpha-2 region of numbers written without a country code, such as "
        "GB (default: the DEFAULT_REGION setting)",
    )


def _region(value: str) -> str:
    from bridge.domain.numbers import known_region

    try:
        return known_region(value)
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(exc.reason) from None


def contacts(args: argparse.Namespace) -> int:
    """`contacts import FILE`: validate the whole file, then store it row by row (`erase`
    and `export` are bridge/cli_privacy.py's)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bridge.routing.contacts_import import parse_contacts

    settings = _read_settings()
    if settings is None:
        return 2
    if args.contacts_command != "import":
        return privacy(args, settings)
    try:
        parsed = parse_contacts(
            args.file.read_bytes(), default_region=args.default_region or settings.default_region
        )
    except OSError as exc:
        print(f"smschat-bridge: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except InvalidInput as exc:
        print(f"smschat-bridge: {args.file} {exc.reason}; nothing was imported", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(_store_contacts(settings.database_url, parsed))
    except (OSError, SQLAlchemyError, StoreUnavailable) as exc:
        hint = "" if settings.database_url.startswith("sqlite") else " (run `migrate` first?)"
        _database_error(exc, hint)
        return 2
    print("\n".join(report.lines()))
    return 0 if report.complete else 1


async def _store_contacts(url: str, parsed: ParsedFile) -> ImportReport:
    from bridge.routing.contacts_import import store_contacts
    from bridge.store.db import Database, migrate
    from bridge.store.unit import Store

    if url.startswith("sqlite"):
        await migrate(url)  # as `run` does: an embedded database needs no separate step
    db = Database(url)
    try:
        return await store_contacts(Store(db), parsed)
    finally:
        await db.close()


def _read_settings() -> OfflineSettings | None:
    """The settings these commands read; None, after one line naming the variable, if invalid."""
    try:
        return OfflineSettings()
    except ValidationError as exc:
        print(f"smschat-bridge: configuration error: {describe(exc)}", file=sys.stderr)
        return None


def _database_error(exc: Exception, hint: str) -> None:
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    print(f"smschat-bridge: database error{hint}: {detail}", file=sys.stderr)


def add_jobs_parser(commands: argparse._SubParsersAction) -> None:
    jobs_parser = commands.add_parser("jobs", help="the outbox: work for Slack and Vonage")
    actions = jobs_parser.add_subparsers(dest="jobs_command", required=True)
    listing = actions.add_parser(
        "list",
        help="jobs waiting, running or given up: kind, case, attempts, last error",
        description="Lists outbox jobs, oldest first (never their texts or numbers). "
        "Reads DATABASE_URL.",
    )
    listing.add_argument("--dead", action="store_true", help="only the jobs given up")
    retrying = actions.add_parser(
        "retry",
        help="put given-up jobs back, in their conversation's order",
        description="Puts jobs given up back to run now; each conversation keeps its order. "
        "Reads DATABASE_URL (and REDIS_URL, to wake the running instances).",
        epilog="Exit status: 0 done, 1 none of the named jobs was given up, 2 bad "
        "arguments or database unavailable.",
    )
    which = retrying.add_mutually_exclusive_group(required=True)
    which.add_argument("ids", nargs="*", type=int, default=[], metavar="ID", help="job ids")
    which.add_argument("--dead", action="store_true", help="every job given up")


def jobs(args: argparse.Namespace) -> int:
    """`jobs list [--dead]` and `jobs retry ID...|--dead`."""
    from sqlalchemy.exc import SQLAlchemyError

    settings = _read_settings()
    if settings is None:
        return 2
    if args.jobs_command == "retry" and not (args.ids or args.dead):
        print("smschat-bridge: name the jobs to retry, or --dead for all", file=sys.stderr)
        return 2
    try:
        if args.jobs_command == "list":
            print("\n".join(asyncio.run(_job_lines(settings.database_url, dead_only=args.dead))))
            return 0
        revived = asyncio.run(_revive(settings, None if args.dead else args.ids))
    except (OSError, SQLAlchemyError, StoreUnavailable) as exc:
        _database_error(exc, " (run `migrate` first?)")
        return 2
    print(f"smschat-bridge: {revived} job(s) put back")
    return 0 if revived else 1


async def _job_lines(url: str, *, dead_only: bool) -> list[str]:
    from bridge.logs import RedactingFilter
    from bridge.store.db import Database
    from bridge.store.outbox import Outbox

    db = Database(url)
    try:
        found = await Outbox(db).lines(dead_only=dead_only)
    finally:
        await db.close()
    if not found:
        return ["no jobs given up" if dead_only else "no jobs waiting, running or given up"]
    masked = RedactingFilter([])  # an error's words may hold a number
    lines = [
        f"{'id':>8}  {'status':8}  {'kind':22}  {'case':>6}  {'tries':>5}  since             error"
    ]
    for job in found:
        case = f"#{job.case_id}" if job.case_id else "-"
        error = masked.redact((job.last_error or "")[:100])
        lines.append(
            f"{job.id:>8}  {job.status:8}  {job.kind:22}  {case:>6}  {job.attempts:>5}  "
            f"{job.created_at:%Y-%m-%d %H:%M}  {error}"
        )
    return lines


async def _revive(settings: OfflineSettings, ids: list[int] | None) -> int:
    from redis.asyncio import Redis

    from bridge.store.coordination import WAKEUP_CHANNEL
    from bridge.store.db import Database
    from bridge.store.outbox import Outbox

    db = Database(settings.database_url)
    try:
        revived = await Outbox(db).revive(ids)
    finally:
        await db.close()
    if revived and settings.redis_url:
        redis = Redis.from_url(settings.redis_url)
        try:
            await redis.publish(WAKEUP_CHANNEL, b"1")  # the instances need not wait for it
        finally:
            await redis.aclose()
    return revived


def add_export_parser(commands: argparse._SubParsersAction) -> None:
    exporting = commands.add_parser(
        "export",
        help="write the messaging log (every text and staff note) as CSV or JSON Lines",
        description="Write every message of the days from --since to --until (included, "
        "days of TIME_ZONE), oldest first: texts in and out, automated and forwarded texts "
        "and staff notes, whatever the chat settings hide from threads. Reads DATABASE_URL "
        "and TIME_ZONE.",
        epilog="Exit status: 0 written, 1 the reader of standard output stopped early, 2 "
        "nothing written (bad option, bad setting, database unavailable). An output file "
        "appears only once complete, readable by its owner only: it holds personal data.",
    )
    exporting.add_argument(
        "--since", required=True, metavar="YYYY-MM-DD", help="the first day to export"
    )
    exporting.add_argument(
        "--until", metavar="YYYY-MM-DD", help="the last day to export (default: today)"
    )
    exporting.add_argument(
        "--format", default="csv", metavar="csv|jsonl", help="the file format (default: csv)"
    )
    exporting.add_argument(
        "--output", type=Path, metavar="FILE", help="write to FILE (default: standard output)"
    )


def export(args: argparse.Namespace) -> int:
    """`export --since DAY`: check everything asked, then stream the log out."""
    from sqlalchemy.exc import SQLAlchemyError

    from bridge.routing.export import FORMATS, log_range

    settings = _read_settings()
    if settings is None:
        return 2
    if args.format not in FORMATS:
        print(f"smschat-bridge: --format {args.format!r} is not csv or jsonl", file=sys.stderr)
        return 2
    try:
        span = log_range(
            args.since, args.until, time_zone=settings.time_zone, now=datetime.now(UTC)
        )
    except InvalidInput as exc:
        print(f"smschat-bridge: {exc.reason}", file=sys.stderr)
        return 2
    try:
        count = asyncio.run(_export(settings.database_url, span, args.format, args.output))
    except OutputUnwritable as exc:
        print(f"smschat-bridge: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader stopped early (`| head`): as Python's docs advise, quietly stop writing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (OSError, SQLAlchemyError, StoreUnavailable) as exc:
        _database_error(exc, " (run `migrate` first?)")
        return 2
    print(f"smschat-bridge: exported {count} message(s)", file=sys.stderr)
    return 0


async def _export(url: str, span: LogRange, file_format: str, output: Path | None) -> int:
    from bridge.routing.export import write_log
    from bridge.store.db import Database
    from bridge.store.unit import Store

    db = Database(url)
    try:
        with _replacing(output) if output else _standard_output() as out:
            return await write_log(Store(db), span, file_format=file_format, out=out)
    finally:
        await db.close()


class OutputUnwritable(BridgeError):
    """The export's output file cannot be created."""


@contextmanager
def _replacing(path: Path) -> Iterator[TextIO]:
    """A file that becomes `path` only once fully written; nothing is left if writing fails."""
    try:
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".part"
        )
    except OSError as exc:
        raise OutputUnwritable(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with open(handle, "w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def _standard_output() -> Iterator[TextIO]:
    """Standard output as UTF-8 whatever the locale, line endings left to the writer."""
    sys.stdout.flush()
    with open(sys.stdout.fileno(), "w", encoding="utf-8", newline="", closefd=False) as out:
        yield out
