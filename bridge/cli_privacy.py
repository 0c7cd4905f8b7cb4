"""`contacts erase NUMBER [--dry-run]` and `contacts export NUMBER`: a person's right to be
forgotten and to see what is kept. They read only the store's settings (and DEFAULT_REGION)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING

from bridge.config import OfflineSettings
from bridge.errors import InvalidInput, StoreUnavailable

if TYPE_CHECKING:
    from bridge.domain.privacy import Erased
    from bridge.routing.ports import Unit

ERASED_BY = "command line"


def add_privacy_parsers(actions: argparse._SubParsersAction) -> None:
    erase = actions.add_parser(
        "erase",
        help="erase everything stored about a person",
        description="Erase the contact holding NUMBER: every case of theirs (the bot's posts "
        "in the case threads are deleted from Slack by the running bridge), their numbers, "
        "texts, parts and receipts. Opt-outs are kept as keyed hashes only, so STOP is still "
        "honoured. Prints what was (or, with --dry-run, would be) removed.",
        epilog="Exit status: 0 erased (or shown), 1 no contact holds the number, 2 bad input "
        "or database unavailable.",
    )
    erase.add_argument("number", metavar="NUMBER")
    erase.add_argument("--dry-run", action="store_true", help="show what would go; change nothing")
    export = actions.add_parser(
        "export",
        help="print everything stored about a person as JSON (an access request)",
        epilog="Exit status: 0 printed, 1 no contact holds the number, 2 bad input or "
        "database unavailable.",
    )
    export.add_argument("number", metavar="NUMBER")


def privacy(args: argparse.Namespace, settings: OfflineSettings) -> int:
    """Run `contacts erase` or `contacts export`."""
    from sqlalchemy.exc import SQLAlchemyError

    from bridge.domain.numbers import typed_number

    try:
        number = typed_number(args.number, default_region=settings.default_region).number
    except InvalidInput as exc:
        print(f"smschat-bridge: {exc.reason}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, settings, number))
    except (OSError, SQLAlchemyError, StoreUnavailable) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"smschat-bridge: database error: {detail}", file=sys.stderr)
        return 2


async def _run(args: argparse.Namespace, settings: OfflineSettings, number: str) -> int:
    from bridge.routing.erasure import dry_run, erase_person, export_person
    from bridge.store.db import Database
    from bridge.store.unit import Store

    db = Database(settings.database_url)
    try:
        store = Store(db, erasure_key=settings.erasure_key_bytes())
        if args.contacts_command == "export":
            about = await export_person(store, number)
            if about is None:
                print(f"smschat-bridge: no contact holds {number}", file=sys.stderr)
                return 1
            print(json.dumps(about, ensure_ascii=False, indent=2))
            return 0

        async def erase(unit: Unit) -> Erased | None:
            return await erase_person(unit, number, by=ERASED_BY, now=store.clock.now())

        if args.dry_run:
            erased = await dry_run(store, erase)
        else:
            async with store.unit() as unit:
                erased = await erase(unit)
    finally:
        await db.close()
    if erased is None:
        print(f"smschat-bridge: no contact holds {number}", file=sys.stderr)
        return 1
    verb = "would remove" if args.dry_run else "removed"
    print(f"{number}: {verb} {erased.line()}")
    return 0
