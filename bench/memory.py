"""How much memory one bridge instance holds after 100,000 cases.

    python bench/memory.py [--database-url URL] [--cases N] [--texts T] [--json]

Starts `python -m bridge run` (this checkout) against FakeSlack and FakeVonage on a fresh
SQLite file (or the database given with `--database-url`; `--reset-schema` empties a
PostgreSQL one first) and reads its resident memory (VmRSS in /proc/PID/status):

* idle, a few seconds after it answers /healthz on an empty store;
* after `N` cases (100,000) with their contacts, numbers and `--messages-per-case` texts
  are loaded into the store in bulk beside it (bench/search.py's loader);
* after `T` inbound texts (2,000) into open cases of those contacts and `--replies` staff
  replies in their threads went through it, once every one is posted or sent.

The bridge's own limits are raised (50 posts/s per channel, 1000 Vonage requests/s) and the
cases are spread over `--channels` channels so the traffic takes seconds, not minutes. The
baseline, in the same run: a bare `python -c` that imports the libraries the bridge runs
on (the bridge's modules, aiohttp, Bolt, the Vonage SDK, SQLAlchemy and the drivers) and
does nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shlex
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

# Measure the bridge of this checkout, not whichever one is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import (
    BOT_TOKEN,
    ROOT,
    STAFF,
    BridgeProcess,
    bench_parser,
    bridge_process,
    bridge_values,
    machine,
    memory_kib,
    run_bench,
)
from relay import FORM, TOKEN, prepare_database, token
from search import OUR_NUMBER, Seed, cases, load_postgres, load_sqlite

TARGET_MIB = 200
SETTLE = 3.0  # seconds of quiet before each reading
BASELINE_IMPORTS = (
    "import bridge.app, bridge.cli, aiosqlite, asyncpg, redis.asyncio, time; "
    "print('ready', flush=True); time.sleep(60)"
)


async def baseline_kib() -> int:
    """RSS of a bare interpreter that imports what the bridge imports, then sleeps."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        BASELINE_IMPORTS,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        await asyncio.wait_for(process.stdout.readline(), 60)
        await asyncio.sleep(1.0)
        return memory_kib(process.pid)
    finally:
        process.kill()
        await process.wait()


async def settled_rss(bridge: BridgeProcess) -> int:
    await asyncio.sleep(SETTLE)
    return memory_kib(bridge.pid)


async def traffic(
    bridge: BridgeProcess,
    slack: Any,
    vonage: Any,
    secrets: dict[str, str],
    open_cases: list[dict[str, Any]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Texts into open cases and replies in their threads, `--concurrency` at a time."""
    from bridge.fakes.slack_payloads import event_callback_body, message_event
    from bridge.fakes.slack_payloads import slack_signature_headers as signed
    from bridge.fakes.vonage_payloads import sms_inbound_params

    tag = uuid.uuid4().hex[:8].upper()
    rng = random.Random(7)
    answers: dict[str, int] = {}

    def inbound(i: int) -> tuple[str, bytes, dict[str, str]]:
        case = rng.choice(open_cases)
        params = sms_inbound_params(
            msisdn=case["contact_number"].removeprefix("+"),
            to=OUR_NUMBER.removeprefix("+"),
            text=token(tag, "memory", i),
            message_id=f"{tag}-{i:07d}",
            api_key=vonage.api_key,
            signature_secret=secrets["sms"],
            signature_method="sha256",
        )
        return "/vonage/inbound", urlencode(params).encode(), {"Content-Type": FORM}

    def reply(i: int) -> tuple[str, bytes, dict[str, str]]:
        case = rng.choice(open_cases)
        ts = f"{int(time.time())}.{i:06d}"
        event = message_event(
            case["channel"], STAFF, token(tag, "reply", i), ts, thread_ts=case["thread_ts"]
        )
        body = json.dumps(event_callback_body(event)).encode()
        return (
            "/slack/events",
            body,
            {"Content-Type": "application/json", **signed(secrets["slack"], body)},
        )

    requests = [inbound(i) for i in range(args.texts)] + [reply(i) for i in range(args.replies)]
    rng.shuffle(requests)
    pending = iter(requests)
    began = time.perf_counter()
    async with aiohttp.ClientSession() as http:

        async def client() -> None:
            for path, body, headers in pending:
                async with http.post(bridge.url + path, data=body, headers=headers) as answer:
                    await answer.read()
                    answers[str(answer.status)] = answers.get(str(answer.status), 0) + 1

        await asyncio.gather(*(client() for _ in range(args.concurrency)))
    sent_s = time.perf_counter() - began

    def done() -> tuple[int, int]:
        posted = {
            found.group()
            for call in slack.calls("chat.postMessage")
            if (found := TOKEN.search(str(call.params.get("text", "")))) and tag in found.group()
        }
        replied = {
            found.group()
            for s in vonage.sends
            if (found := TOKEN.search(s.text)) and tag in found.group()
        }
        return len(posted), len(replied)

    deadline = time.perf_counter() + args.wait
    while time.perf_counter() < deadline:
        if done() == (args.texts, args.replies):
            break
        await asyncio.sleep(0.5)  # polled: the posts and the sends land in two fakes
    posted, replied = done()
    return {
        "texts": args.texts,
        "replies": args.replies,
        "answers": answers,
        "sent_s": round(sent_s, 1),
        "through_s": round(time.perf_counter() - began, 1),
        "posted": posted,
        "replied": replied,
    }


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    from bridge.fakes import FakeSlack, FakeVonage, TestTls

    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'memory.db'}"
    began = time.perf_counter()
    report: dict[str, Any] = {
        "command": shlex.join(sys.orig_argv),
        "machine": machine(),
    }
    seed = Seed(
        contacts=args.cases,
        share=1.0,
        now=datetime.now(UTC),
        channels=args.channels,
        messages_per_case=args.messages_per_case,
    )
    secrets = {name: uuid.uuid4().hex for name in ("slack", "sms", "vonage")}
    tls = TestTls()
    ca_bundle = tls.ca_bundle_path(workdir)
    async with contextlib.AsyncExitStack() as stack:
        slack = await stack.enter_async_context(FakeSlack(token=BOT_TOKEN))
        slack.add_user(STAFF, "dana", display_name="Dana")
        vonage = await stack.enter_async_context(
            FakeVonage(tls=tls, api_secret=secrets["vonage"], balance=1e9)
        )
        backend = await prepare_database(url, reset=args.reset_schema)
        shown = make_url(url).render_as_string(hide_password=True)
        report["database"] = backend + (f" ({shown})" if args.database_url else " (a new file)")
        values = bridge_values(
            slack=slack,
            vonage=vonage,
            url=url,
            slack_secret=secrets["slack"],
            sms_secret=secrets["sms"],
            vonage_secret=secrets["vonage"],
            vonage_numbers=OUR_NUMBER,
            slack_posts_per_second=50,
            vonage_requests_per_second=1000,
        )
        bridge = bridge_process(values, log_path=workdir / "bridge.log", ca_bundle=ca_bundle)
        stack.push_async_callback(bridge.stop)
        await bridge.start()
        rss = {"idle": await settled_rss(bridge)}

        load_began = time.perf_counter()
        if url.startswith("postgresql"):
            await load_postgres(url, seed)
        else:
            path = make_url(url).database
            assert path
            await asyncio.to_thread(load_sqlite, path, seed)
        report["seed_s"] = round(time.perf_counter() - load_began, 1)
        rss["seeded"] = await settled_rss(bridge)

        open_cases = [case for case in cases(seed) if case["status"] == "open"]
        report["traffic"] = await traffic(bridge, slack, vonage, secrets, open_cases, args)
        rss["after_traffic"] = await settled_rss(bridge)
        rss["peak"] = memory_kib(bridge.pid, "VmHWM")
        rss["baseline_imports"] = await baseline_kib()
    report["rss_mib"] = {name: round(kib / 1024, 1) for name, kib in rss.items()}
    report["seed"] = {
        "cases": seed.case_count,
        "contacts": seed.contacts,
        "messages": seed.case_count * seed.messages_per_case,
        "open_cases": len(open_cases),
    }
    report["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    report["elapsed_s"] = round(time.perf_counter() - began, 1)
    return report


def render(report: dict[str, Any]) -> str:
    machine, rss, seed, traffic = (report[k] for k in ("machine", "rss_mib", "seed", "traffic"))
    worst = max(rss["after_traffic"], rss["peak"])
    return "\n".join(
        [
            f"command    {report['command']}",
            f"machine    {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
            f"load average {machine['load_before'][0]} at start, {machine['load_after'][0]} at end",
            f"database   {report['database']}",
            "",
            f"RSS idle   {rss['idle']:7.1f} MiB  (python -m bridge run, empty store)",
            f"  seeded   {rss['seeded']:7.1f} MiB  ({seed['cases']:,} cases, {seed['contacts']:,} "
            f"contacts, {seed['messages']:,} texts loaded beside it in {report['seed_s']} s)",
            f"  traffic  {rss['after_traffic']:7.1f} MiB  ({traffic['texts']} texts into "
            f"{seed['open_cases']:,} open cases and {traffic['replies']} replies; "
            f"{traffic['posted']} posted, {traffic['replied']} sent, "
            f"in {traffic['through_s']} s; answers {traffic['answers']})",
            f"  peak     {rss['peak']:7.1f} MiB  (VmHWM)",
            f"baseline   {rss['baseline_imports']:7.1f} MiB  "
            "(python -c importing the same libraries)",
            f"target     under {TARGET_MIB} MiB after traffic: "
            f"{'met' if worst < TARGET_MIB else 'MISSED'}; run took {report['elapsed_s']} s",
        ]
    )


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--cases", type=int, default=100_000, help="cases seeded (100,000)")
    parser.add_argument(
        "--messages-per-case", type=int, default=4, help="texts seeded per case (4)"
    )
    parser.add_argument("--texts", type=int, default=2000, help="inbound texts (2000)")
    parser.add_argument("--replies", type=int, default=500, help="staff replies (500)")
    parser.add_argument("--channels", type=int, default=20, help="channels of the cases (20)")
    parser.add_argument("--concurrency", type=int, default=8, help="clients (8)")
    parser.add_argument(
        "--wait", type=float, default=90.0, help="seconds to wait for posts and sends (90)"
    )
    args = parser.parse_args()
    if min(args.cases, args.channels, args.concurrency) < 1:
        parser.error("--cases, --channels and --concurrency must be at least 1")
    return run_bench(args, run, render)


if __name__ == "__main__":
    sys.exit(main())
