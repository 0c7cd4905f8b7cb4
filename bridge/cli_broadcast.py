"""`smschat-bridge broadcast`: one text to the numbers of a CSV file (and/or the contacts of
a property), queued in the store for the running bridge to send."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bridge.config import Settings, load_settings
from bridge.errors import ConfigError, InvalidInput, StoreUnavailable


def add_broadcast_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "broadcast",
        help="text many numbers at once (the running bridge sends it)",
        description="Queue one text to the numbers of a CSV file (columns as for `contacts "
        "import`) and/or the contacts whose property has a value (--to tag=volunteers). "
        "Opted-out numbers are skipped and counted; each recipient's first text from the "
        "number ends with BROADCAST_OPT_OUT_LINE; texts wait for QUIET_HOURS.",
        epilog="Exit status: 0 queued (or checked, with --dry-run), 2 refused, nothing queued.",
    )
    parser.add_argument("--csv", type=Path, metavar="FILE.csv", help="the numbers to text")
    parser.add_argument("--to", metavar="KEY=VALUE", help="contacts whose property has a value")
    parser.add_argument("--from", dest="sender", metavar="NUMBER", help="which of our numbers")
    parser.add_argument("--at", metavar="TIME", help="ISO 8601 time (in TIME_ZONE if no offset)")
    parser.add_argument("--text", required=True, help="the message")
    parser.add_argument("--dry-run", action="store_true", help="check and count, queue nothing")


def broadcast(args: argparse.Namespace) -> int:
    """Check everything first; queue only a broadcast that passed."""
    from sqlalchemy.exc import SQLAlchemyError

    from bridge.routing.contacts_import import parse_contacts

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"smschat-bridge: configuration error: {exc}", file=sys.stderr)
        return 2
    numbers: list[str] = []
    if args.csv is not None:
        try:
            parsed = parse_contacts(args.csv.read_bytes(), default_region=settings.default_region)
        except OSError as exc:
            print(f"smschat-bridge: cannot read {args.csv}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        except InvalidInput as exc:
            print(f"smschat-bridge: {args.csv} {exc.reason}; nothing was queued", file=sys.stderr)
            return 2
        for refused in parsed.refused:
            print(f"row {refused.row} left out: {refused.reason}")
        numbers = [n.number for row in parsed.rows for n in row.details.numbers]
    try:
        return asyncio.run(_queue(settings, args, numbers))
    except (OSError, SQLAlchemyError, StoreUnavailable) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"smschat-bridge: database error: {detail}", file=sys.stderr)
        return 2


async def _queue(settings: Settings, args: argparse.Namespace, numbers: list[str]) -> int:
    from bridge import texts
    from bridge.domain.numbers import typed_number
    from bridge.domain.rules import Inbox
    from bridge.domain.values import ChannelId
    from bridge.routing.broadcasts import (
        BroadcastRefused,
        parse_start,
        parse_tag,
        plan_broadcast,
        queue_broadcast,
    )
    from bridge.settings_rules import broadcast_rules, chat_rules
    from bridge.store.db import Database, migrate
    from bridge.store.unit import Store

    if settings.database_url.startswith("sqlite"):
        await migrate(settings.database_url)
    db = Database(settings.database_url)
    store = Store(db)
    inbox = Inbox(settings.vonage_numbers, ChannelId(settings.slack_channel))
    try:
        async with store.unit() as unit:
            try:
                sender = (
                    typed_number(args.sender, default_region=settings.default_region).number
                    if args.sender
                    else settings.default_number
                )
                plan = await plan_broadcast(
                    unit,
                    author=None,
                    our_number=sender,
                    text=args.text,
                    tag=parse_tag(args.to) if args.to else None,
                    numbers=numbers,
                    start_at=parse_start(args.at, time_zone=settings.time_zone)
                    if args.at
                    else None,
                    inbox=inbox,
                    chat=chat_rules(settings),
                    rules=broadcast_rules(settings),
                    now=store.clock.now(),
                )
            except (BroadcastRefused, InvalidInput) as refused:
                field = getattr(refused, "field", "from")
                print(f"smschat-bridge: {field}: {refused.reason}; nothing was queued")
                return 2
            if args.dry_run:
                print(f"dry run, nothing queued: {plan.summary()}")
                return 0
            broadcast_id = await queue_broadcast(unit, plan)
        when = texts.BROADCAST_AT.format(at=f"{plan.start_at:%Y-%m-%d %H:%M} UTC")
        print(
            texts.BROADCAST_QUEUED.format(
                ref=f"#{broadcast_id}",
                summary=plan.summary(),
                when=texts.BROADCAST_NOW if args.at is None else when,
            )
        )
        return 0
    finally:
        await db.close()
