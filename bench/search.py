"""How fast `/smschat search` finds cases among a million contacts.

    python bench/search.py [--database-url URL] [--contacts N] [--queries Q] [--json]

Loads `N` contacts (1,000,000) with generated names, emails and numbers (one in ten has a
second number) and cases for a share of them (`--case-share`, 0.2) into a fresh SQLite file
(or the database given with `--database-url`; `--reset-schema` empties a PostgreSQL one
first), in bulk: asyncpg's COPY on PostgreSQL, executemany in large transactions on SQLite.
On PostgreSQL the trigram indexes of the models are dropped for the load and built after it.
`--reuse` keeps a database already loaded with the same `N` by an earlier run.

Then it times the search the bridge runs for `/smschat search` (`parse_query` and
`find_cases` over a read session, a count and the first page) for a mix of queries: name
fragments, email fragments, number fragments written in several ways, `#ref`, and the same
with filters. It reports p50/p95/p99 overall and per kind; the ceiling, in the same run and
through the same session code, is a primary-key lookup of one case.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shlex
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Measure the bridge of this checkout, not whichever one is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import bench_parser, machine, run_bench
from relay import percentile, prepare_database

FIRST = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily "
    "Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah "
    "Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Amy "
    "Jacob Kathleen Gary Angela Nicholas Dorothy Eric Shirley Jonathan Emma Stephen Brenda "
    "Larry Nicole Justin Pamela Scott Samantha Brandon Katherine Benjamin Christine Samuel "
    "Helen Gregory Debra Alexander Rachel Patrick Carolyn Frank Janet Raymond Maria Jack "
    "Olivia Dennis Heather Jerry Catherine Tyler Diane Aaron Julie Jose Victoria Adam Joyce "
    "Nathan Lauren Henry Kelly Zachary Christina Douglas Ruth Peter Joan Kyle Virginia "
    "Noah Judith Ethan Evelyn Jeremy Hannah Walter Andrea Christian Megan Keith Cheryl "
    "Roger Jacqueline Terry Madison Austin Teresa Sean Abigail Gerald Sophia Carl Martha "
    "Harold Sara Dylan Gloria Arthur Janice Lawrence Kathryn Jordan Ann Jesse Isabella "
    "Bryan Judy Billy Charlotte Bruce Julia Gabriel Grace Joe Amber Logan Alice Alan Jean "
    "Juan Denise Albert Frances Willie Danielle Elijah Marilyn Wayne Natalie Randy Beverly "
    "Vincent Diana Mason Brittany Roy Theresa Ralph Kayla Bobby Alexis Russell Doris Bradley "
    "Lori Philip Tiffany Eugene Aoife Siobhan Priya Arjun Mei Wei Yuki Hiroshi Fatima Omar "
    "Amira Youssef Chloé Élodie Søren Ingrid Björn Zoë Renée José Łukasz Małgorzata"
).split()
LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed "
    "Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray "
    "Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez "
    "Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales "
    "Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds "
    "Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar "
    "Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington "
    "Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson "
    "Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer "
    "Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt "
    "O'Brien O'Connor MacLeod Müller Schröder Dubois Moreau Lefèvre Rossi Russo Kowalski "
    "Nowak Novák Horváth Yilmaz Kaya Singh Sharma Gupta Khan Ahmed Ali Hassan Tanaka Sato "
    "Suzuki Takahashi Wang Li Zhang Liu Park Choi Nakamura Andersson Johansson Nielsen"
).split()
DOMAINS = "gmail.com outlook.com yahoo.co.uk icloud.com example.org proton.me btinternet.com"
DOMAINS_LIST = DOMAINS.split()
OUR_NUMBER = "+447700900000"
STAFF = ("U0ALICE", "U0BOB", "U0CAROL", "U0DAN")
SEED = 20261123
BATCH = 50_000


# -- the data --------------------------------------------------------------------------------
def mobile(contact_id: int) -> str:
    """A UK mobile number, unique per contact (3**18 is coprime with 10**9)."""
    return f"+447{(contact_id * 387_420_489 + 12_345) % 10**9:09d}"


def second_number(contact_id: int) -> str:
    """A North American number for one contact in ten (3**19 is coprime with 10**10)."""
    return f"+1{(contact_id * 1_162_261_467 + 2_000_000_000) % 10**10:010d}"


def contacts(count: int) -> Iterator[tuple[int, str | None, str | None]]:
    """(id, name, email): most have both, a few only a number."""
    rng = random.Random(SEED)
    for contact_id in range(1, count + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = None if rng.random() < 0.05 else f"{first} {last}"
        email = None
        if rng.random() < 0.7:
            local = f"{first}.{last}".lower().replace("'", "")
            email = f"{local}{rng.randrange(100)}@{rng.choice(DOMAINS_LIST)}"
        yield contact_id, name, email


def numbers(count: int) -> Iterator[tuple[int, int, str, str]]:
    """(id, contact_id, number, label)."""
    number_id = 0
    for contact_id in range(1, count + 1):
        number_id += 1
        yield number_id, contact_id, mobile(contact_id), "Mobile"
        if contact_id % 10 == 1:
            number_id += 1
            yield number_id, contact_id, second_number(contact_id), "Work"


@dataclass(frozen=True)
class Seed:
    """What to load: `contacts`, a case for a `share` of them, in `channels` channels, and
    `messages_per_case` texts in each case."""

    contacts: int
    share: float
    now: datetime
    channels: int = 1
    messages_per_case: int = 0

    @property
    def step(self) -> int:
        return max(1, round(1 / self.share))

    @property
    def case_count(self) -> int:
        return len(range(1, self.contacts + 1, self.step))


def channel(case_id: int, channels: int) -> str:
    return f"C0BENCH{case_id % channels:02d}"


def cases(seed: Seed) -> Iterator[dict[str, Any]]:
    """A case for every 1/share-th contact: most closed, some assigned, a year of activity."""
    rng = random.Random(SEED + 1)
    now = seed.now
    for case_id, contact_id in enumerate(range(1, seed.contacts + 1, seed.step), start=1):
        opened = now - timedelta(seconds=rng.randrange(365 * 86400))
        closed = rng.random() < 0.7
        yield {
            "id": case_id,
            "contact_id": contact_id,
            "contact_number": mobile(contact_id),
            "our_number": OUR_NUMBER,
            "status": "closed" if closed else "open",
            "channel": channel(case_id, seed.channels),
            "thread_ts": f"{int(opened.timestamp())}.{case_id % 10**6:06d}",
            "assignee": rng.choice(STAFF) if rng.random() < 0.5 else None,
            "unread": 0,
            "opened_at": opened,
            "closed_at": opened + timedelta(hours=2) if closed else None,
            "last_activity_at": opened + timedelta(minutes=rng.randrange(120)),
        }


def messages(seed: Seed) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """(message row, case_messages row): texts in and replies out, in each case's thread."""
    words = ["Hi, is my order on its way?", "Thanks, that helps.", "Can I change the time?"]
    message_id = 0
    for case in cases(seed):
        for k in range(seed.messages_per_case):
            message_id += 1
            inbound = k % 2 == 0
            at = case["opened_at"] + timedelta(minutes=k)
            message = (
                message_id,
                "inbound" if inbound else "outbound",
                case["contact_number"],
                case["our_number"],
                f"{words[message_id % len(words)]} ({message_id})",
                None if inbound else case["assignee"] or STAFF[0],
                "received" if inbound else "delivered",
                f"SEED{message_id:012d}",
                at,
                at,
            )
            slack_ts = f"{int(at.timestamp())}.{message_id % 10**6:06d}"
            yield message, (message_id, case["id"], message_id, slack_ts)


MESSAGE_COLUMNS = (
    "id direction contact_number our_number text author status provider_message_id "
    "created_at updated_at"
).split()
CASE_MESSAGE_COLUMNS = ["id", "case_id", "message_id", "slack_ts"]


# -- loading ---------------------------------------------------------------------------------
def _sqlite_time(moment: datetime | None) -> str | None:
    # How SQLAlchemy's DateTime stores a UTC datetime in SQLite.
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _batches(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


CONTACT_COLUMNS = ["id", "name", "email", "properties", "created_at"]
NUMBER_COLUMNS = ["id", "contact_id", "number", "label"]
CASE_COLUMNS = (
    "id contact_id contact_number our_number status channel thread_ts assignee unread "
    "opened_at closed_at last_activity_at"
).split()


def tables(seed: Seed) -> list[tuple[str, list[str], Iterator[tuple[Any, ...]]]]:
    """(table, columns, rows) to load, in an order the foreign keys accept."""
    loaded = [
        (
            "contacts",
            CONTACT_COLUMNS,
            ((i, n, e, "{}", seed.now) for i, n, e in contacts(seed.contacts)),
        ),
        ("contact_numbers", NUMBER_COLUMNS, numbers(seed.contacts)),
        ("cases", CASE_COLUMNS, (tuple(case[c] for c in CASE_COLUMNS) for case in cases(seed))),
    ]
    if seed.messages_per_case:
        loaded += [
            ("messages", MESSAGE_COLUMNS, (message for message, _link in messages(seed))),
            ("case_messages", CASE_MESSAGE_COLUMNS, (link for _message, link in messages(seed))),
        ]
    return loaded


def load_sqlite(path: str, seed: Seed) -> None:
    """executemany in one large transaction, straight through the sqlite3 module."""
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA synchronous=OFF")  # a bench load; the bridge uses NORMAL
        for table, columns, rows in tables(seed):
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})",
                (
                    tuple(_sqlite_time(v) if isinstance(v, datetime) else v for v in row)
                    for row in rows
                ),
            )
        connection.execute("ANALYZE")


async def load_postgres(url: str, seed: Seed) -> None:
    """COPY in batches with the trigram indexes dropped, then build them and analyse."""
    import asyncpg
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from bridge.store.db import Database
    from bridge.store.models import Base

    trigram = [
        index
        for table in Base.metadata.sorted_tables
        for index in table.indexes
        if index.name and index.name.endswith("_trgm")
    ]
    db = Database(url)
    async with db.engine.begin() as connection:
        for index in trigram:
            await connection.run_sync(lambda sync, index=index: index.drop(sync, checkfirst=True))
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    raw = await asyncpg.connect(plain)
    try:
        for table, columns, rows in tables(seed):
            for batch in _batches(rows):
                await raw.copy_records_to_table(table, records=batch, columns=columns)
            # Rows came with their ids: move the sequence past them.
            await raw.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    finally:
        await raw.close()
    async with db.engine.begin() as connection:
        for index in trigram:
            await connection.run_sync(index.create)
    async with db.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("ANALYZE"))
    await db.close()


async def loaded_contacts(url: str) -> int:
    from sqlalchemy import func, select

    from bridge.store.db import Database
    from bridge.store.models import Contact

    db = Database(url)
    try:
        async with db.reading() as session:
            return int(await session.scalar(select(func.count()).select_from(Contact)) or 0)
    finally:
        await db.close()


# -- the queries -----------------------------------------------------------------------------
def query_mix(seed: Seed, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, what staff type after `/smschat search`), shuffled."""
    names = list(contacts(min(seed.contacts, 20_000)))  # the same generator as the load
    mix: list[tuple[str, str]] = []
    # Staff look for people who wrote to them: contacts that have a case.
    holders = [c for c in names if c[0] % seed.step == 1 % seed.step and c[1] and c[2]]
    for _ in range(40):
        contact_id, name, email = rng.choice(holders)
        first, last = name.split(" ", 1)  # type: ignore[union-attr]
        local = email.split("@")[0]  # type: ignore[union-attr]
        mix += [
            ("name", last[: rng.randint(3, len(last))].lower() if len(last) > 3 else last),
            ("name", f"{first} {last}"),
            ("name", first.upper()),
            ("email", local[: rng.randint(4, len(local))]),
            ("email", email),  # type: ignore[list-item]
        ]
        number = mobile(contact_id)
        national = "0" + number[3:]
        mix += [
            ("number", f"{national[:5]} {national[5:]}"),
            ("number", f"+44 {number[3:7]} {number[7:10]} {number[10:]}"),
            ("number", f"(0){number[3:7]}-{number[7:]}"),
            ("number", number[-6:]),
            ("number", second_number(rng.choice([c[0] for c in holders if c[0] % 10 == 1]))[2:8]),
        ]
        mix += [
            ("ref", f"#{rng.randrange(1, seed.case_count + 1)}"),
            ("filtered", f"{last} status:open"),
            ("filtered", f"{first} mine"),
            ("filtered", f"{number[-5:]} unassigned"),
            ("filtered", f"{local[:5]} status:closed page:2"),
        ]
    rng.shuffle(mix)
    return mix


async def time_queries(url: str, args: argparse.Namespace) -> dict[str, Any]:
    from bridge.domain.values import UserId
    from bridge.routing.search import find_cases, parse_query
    from bridge.store.db import Database
    from bridge.store.unit import Store

    rng = random.Random(SEED + 2)
    seed = Seed(args.contacts, args.case_share, datetime.now(UTC))
    mix = query_mix(seed, rng)
    store = Store(Database(url))

    async def search(words: str) -> tuple[float, int]:
        start = time.perf_counter()
        async with store.reading() as unit:
            text, case_filter, page = parse_query(
                words, user=UserId(STAFF[0]), default_status="all"
            )
            found = await find_cases(unit.cases, text, case_filter, page)
        return time.perf_counter() - start, found.total

    async def lookup(case_id: int) -> float:
        start = time.perf_counter()
        async with store.reading() as unit:
            case = await unit.cases.get(case_id)
        assert case is not None
        return time.perf_counter() - start

    try:
        for _kind, words in mix[:20]:  # warm: first connections, statement caches
            await search(words)
        timings: dict[str, list[float]] = {}
        matches: dict[str, list[int]] = {}
        deadline = time.perf_counter() + args.budget
        for kind, words in mix[: args.queries]:
            if time.perf_counter() > deadline:
                break
            seconds, total = await search(words)
            timings.setdefault(kind, []).append(seconds)
            matches.setdefault(kind, []).append(total)
        ceiling = [await lookup(rng.randrange(1, seed.case_count + 1)) for _ in range(200)]
    finally:
        await store.db.close()
    every = [t for ts in timings.values() for t in ts]
    return {
        "queries": len(every),
        "asked": min(args.queries, len(mix)),
        "all": spread_ms(every),
        "by_kind": {
            kind: spread_ms(ts) | {"median_matches": sorted(matches[kind])[len(ts) // 2]}
            for kind, ts in sorted(timings.items())
        },
        "ceiling_pk_lookup": spread_ms(ceiling),
        "examples": [words for _kind, words in mix[:8]],
    }


def spread_ms(seconds: list[float]) -> dict[str, float]:
    return {
        "n": len(seconds),
        "p50_ms": round(percentile(seconds, 0.50) * 1000, 2),
        "p95_ms": round(percentile(seconds, 0.95) * 1000, 2),
        "p99_ms": round(percentile(seconds, 0.99) * 1000, 2),
    }


# -- the run and its report ------------------------------------------------------------------
async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'search.db'}"
    report: dict[str, Any] = {
        "command": shlex.join(sys.orig_argv),
        "machine": machine(),
        "contacts": args.contacts,
        "case_share": args.case_share,
    }
    began = time.perf_counter()
    if args.reuse and await loaded_contacts(url) == args.contacts:
        backend = await prepare_database(url, reset=False)
        report["load_s"] = None
    else:
        backend = await prepare_database(url, reset=args.reset_schema)
        if await loaded_contacts(url):
            raise SystemExit("the database already holds contacts: use --reset-schema or --reuse")
        seed = Seed(args.contacts, args.case_share, datetime.now(UTC))
        if url.startswith("postgresql"):
            await load_postgres(url, seed)
        else:
            path = make_url(url).database
            assert path
            await asyncio.to_thread(load_sqlite, path, seed)
        report["load_s"] = round(time.perf_counter() - began, 1)
    shown = make_url(url).render_as_string(hide_password=True)
    report["database"] = backend + (f" ({shown})" if args.database_url else " (a new file)")
    report |= await time_queries(url, args)
    report["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    report["elapsed_s"] = round(time.perf_counter() - began, 1)
    return report


def _ms(figures: dict[str, float]) -> str:
    return "p50 {p50_ms:8.2f} ms   p95 {p95_ms:8.2f} ms   p99 {p99_ms:8.2f} ms   n={n}".format(
        **figures
    )


def render(report: dict[str, Any]) -> str:
    machine = report["machine"]
    load = "reused" if report["load_s"] is None else f"loaded in {report['load_s']} s"
    lines = [
        f"command    {report['command']}",
        f"machine    {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
        f"load average {machine['load_before'][0]} at start, {machine['load_after'][0]} at end",
        f"database   {report['database']}",
        f"data       {report['contacts']:,} contacts, cases for {report['case_share']:.0%} "
        f"of them ({load})",
        "",
        f"search     {report['queries']} queries (of {report['asked']}): /smschat search, "
        "count and first page",
        f"  all      {_ms(report['all'])}",
    ]
    for kind, figures in report["by_kind"].items():
        lines.append(f"  {kind:<8} {_ms(figures)}   median matches {figures['median_matches']}")
    lines += [
        f"ceiling    {_ms(report['ceiling_pk_lookup'])}  (one case by primary key)",
        f"examples   {' | '.join(report['examples'])}",
        f"target     p95 under 50 ms: {'met' if report['all']['p95_ms'] < 50 else 'MISSED'}; "
        f"run took {report['elapsed_s']} s",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000, help="(1,000,000)")
    parser.add_argument("--case-share", type=float, default=0.2, help="contacts with a case (0.2)")
    parser.add_argument("--queries", type=int, default=600, help="timed searches at most (600)")
    parser.add_argument(
        "--budget", type=float, default=45.0, help="seconds of timed searches at most (45)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep a database an earlier run loaded"
    )
    args = parser.parse_args()
    if args.contacts < 1000 or not 0 < args.case_share <= 1:
        parser.error("--contacts must be at least 1000 and --case-share in (0, 1]")
    return run_bench(args, run, render)


if __name__ == "__main__":
    sys.exit(main())
