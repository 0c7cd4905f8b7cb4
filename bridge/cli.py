"""The `smschat-bridge` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings

from bridge.config import Settings, describe, load_settings
from bridge.domain.setting_forms import known_time_zone
from bridge.errors import BridgeError, ConfigError, InvalidInput
from bridge.logs import configure_logging
from bridge.tasks import until_stopped

if TYPE_CHECKING:
    from bridge.app import Bridge
    from bridge.routing.contacts_import import ImportReport, ParsedFile
    from bridge.routing.export import LogRange

log = logging.getLogger("bridge")
START_CHECKS_SECONDS = 10.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="smschat-bridge", description="Every SMS conversation a Slack thread."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="serve the Slack and Vonage endpoints and relay messages")
    commands.add_parser("migrate", help="bring the database schema up to date")
    commands.add_parser(
        "doctor",
        help="check the set-up: Slack token, scopes and channels, Vonage account, numbers "
        "and webhooks, database and Redis",
        description="Reads the settings `run` reads and checks each thing it needs, one line "
        "per check (✓, ✗ with what to do, – where it does not apply).",
        epilog="Exit status: 0 every check passed, 1 some failed, 2 the settings are invalid.",
    )
    manifest = commands.add_parser("manifest", help="print the Slack app manifest")
    where = manifest.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="the bridge's public https URL")
    where.add_argument(
        "--socket-mode",
        action="store_true",
        help="for Socket Mode (SLACK_APP_TOKEN): no request URLs",
    )
    add_demo_parser(commands)
    add_contacts_parser(commands)
    add_export_parser(commands)
    add_jobs_parser(commands)
    args = parser.parse_args(argv)

    if args.command == "manifest":
        return print_manifest(args.url, socket_mode=args.socket_mode)
    if args.command == "demo":
        return demo(args)
    if args.command == "contacts":
        return contacts(args)
    if args.command == "export":
        return export(args)
    if args.command == "jobs":
        return jobs(args)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"smschat-bridge: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.secret_values())
    if args.command == "doctor":
        return doctor(settings)
    if args.command == "migrate":
        from bridge.store.db import migrate

        asyncio.run(migrate(settings.database_url))
        log.info("database schema is up to date")
        return 0
    return asyncio.run(serve(settings))


def add_demo_parser(commands: argparse._SubParsersAction) -> None:
    demo_parser = commands.add_parser(
        "demo",
        help="try the bridge without accounts: a phone and a Slack-like inbox in your browser",
    )
    demo_parser.add_argument("--host", default="127.0.0.1", help="address of the demo page")
    demo_parser.add_argument("--port", type=_port, default=3000, help="port of the demo page")
    demo_parser.add_argument(
        "--database", type=Path, metavar="PATH", help="keep the SQLite database in PATH"
    )
    demo_parser.add_argument(
        "--empty", action="store_true", help="start without the example conversation"
    )


def _port(value: str) -> int:
    if not value.isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (0-65535)")
    return int(value)


def demo(args: argparse.Namespace) -> int:
    """The real bridge between the Slack and Vonage stand-ins; reads no settings."""
    from bridge.sandbox.server import DemoOptions, serve_demo

    options = DemoOptions(host=args.host, port=args.port, database=args.database, empty=args.empty)
    return asyncio.run(serve_demo(options))


class ContactsSettings(BaseSettings):
    """What `contacts import` reads: the store and the default region, no Slack or Vonage.

    `Settings` demands the Slack and Vonage credentials, which a directory import does
    not need; this reads the same two variables (environment or `.env`) with the same
    checks, borrowed from `Settings` so that the two cannot drift apart.
    """

    model_config = Settings.model_config
    database_url: str = Settings.model_fields["database_url"].default
    default_region: str | None = None

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: str) -> str:
        return Settings._database_url_shape(value)

    @field_validator("default_region")
    @classmethod
    def _region_known(cls, value: str | None) -> str | None:
        return Settings._region_known(value)


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
    """`contacts import FILE`: validate the whole file, then store it row by row."""
    from sqlalchemy.exc import SQLAlchemyError

    from bridge.routing.contacts_import import parse_contacts

    settings = _read_settings(ContactsSettings)
    if settings is None:
        return 2
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
    except (OSError, SQLAlchemyError) as exc:
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


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def _read_settings(kind: type[SettingsT]) -> SettingsT | None:
    """The settings a command needs; None, after one line naming the variable, if invalid."""
    try:
        return kind()
    except ValidationError as exc:
        print(f"smschat-bridge: configuration error: {describe(exc)}", file=sys.stderr)
        return None


def _database_error(exc: Exception, hint: str) -> None:
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    print(f"smschat-bridge: database error{hint}: {detail}", file=sys.stderr)


class StoreSettings(BaseSettings):
    """What the store's own commands read: the database and Redis, no Slack or Vonage."""

    model_config = Settings.model_config
    database_url: str = Settings.model_fields["database_url"].default
    redis_url: str | None = None

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: str) -> str:
        return Settings._database_url_shape(value)

    @field_validator("redis_url")
    @classmethod
    def _redis_url_shape(cls, value: str | None) -> str | None:
        return Settings._redis_url_shape(value)


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

    settings = _read_settings(StoreSettings)
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
    except (OSError, SQLAlchemyError) as exc:
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


async def _revive(settings: StoreSettings, ids: list[int] | None) -> int:
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


class ExportSettings(BaseSettings):
    """What `export` reads: the store and the time zone its days are in, no Slack or Vonage.

    The same variables and checks as `Settings`, borrowed so that the two cannot drift apart.
    """

    model_config = Settings.model_config
    database_url: str = Settings.model_fields["database_url"].default
    time_zone: str = Settings.model_fields["time_zone"].default

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: str) -> str:
        return Settings._database_url_shape(value)

    @field_validator("time_zone")
    @classmethod
    def _zone_known(cls, value: str) -> str:
        return known_time_zone(value)


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

    settings = _read_settings(ExportSettings)
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
    except (OSError, SQLAlchemyError) as exc:
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


def doctor(settings: Settings) -> int:
    from bridge.doctor import all_checks

    checks = asyncio.run(all_checks(settings))
    for check in checks:
        print(check.line())
    return 1 if any(check.passed is False for check in checks) else 0


def print_manifest(url: str | None, *, socket_mode: bool) -> int:
    from bridge.slack.manifest import manifest_for_socket_mode, manifest_for_url

    if socket_mode:
        print(manifest_for_socket_mode(), end="")
        return 0
    if url is None or not url.startswith("https://"):
        print(
            "smschat-bridge: --url must be the public https:// URL of the bridge "
            "(or use --socket-mode)",
            file=sys.stderr,
        )
        return 2
    print(manifest_for_url(url), end="")
    return 0


async def warn_of_setup_problems(bridge: Bridge) -> None:
    """What `doctor` would find wrong with the token and the channels, one warning each;
    the bridge runs on (Slack may only be out for a moment)."""
    from bridge.doctor import start_checks

    try:
        problems = await asyncio.wait_for(start_checks(bridge), START_CHECKS_SECONDS)
    except TimeoutError:
        log.warning("Slack did not answer the start-up checks; run `smschat-bridge doctor`")
        return
    for problem in problems:
        log.warning("%s", problem.line())


async def serve(settings: Settings) -> int:
    from aiohttp import web

    from bridge.app import build_bridge, build_web_app

    try:
        bridge = await build_bridge(settings)
    except ConfigError as exc:
        print(f"smschat-bridge: {exc}", file=sys.stderr)
        return 2
    if settings.vonage_signature_secret is None:
        log.warning(
            "VONAGE_SIGNATURE_SECRET is not set: Vonage webhooks are accepted without a signature"
        )
    runner = web.AppRunner(build_web_app(bridge), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", settings.host, settings.port, exc.strerror)
        await runner.cleanup()
        await bridge.close()
        return 1
    await bridge.start_background()
    await warn_of_setup_problems(bridge)
    socket_mode = None
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

        assert settings.slack_app_token is not None
        socket_mode = AsyncSocketModeHandler(
            bridge.bolt, settings.slack_app_token.get_secret_value()
        )
        await socket_mode.connect_async()
    log.info(
        "smschat-bridge listening on %s (Slack over %s)",
        ", ".join(str(a) for a in runner.addresses),
        "Socket Mode" if socket_mode else "HTTP",
    )
    await until_stopped()
    log.info("stopping")
    if socket_mode is not None:
        await socket_mode.close_async()
    await runner.cleanup()
    await bridge.close()
    return 0
