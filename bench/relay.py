"""How fast the bridge takes texts in and relays them, against fakes that answer at once.

    python bench/relay.py [--database-url URL] [--texts N] [--concurrency C] [--json]

Starts the real bridge as its own process (`python -m bridge run`) on loopback, against
FakeSlack and FakeVonage in this process, on a fresh SQLite file in a temporary directory
(or the database given with `--database-url`; `--reset-schema` empties a PostgreSQL one
first), and measures, in this order:

* relay: texts sent one at a time from new phones (the first of each opens a case), from
  sending the webhook to FakeSlack receiving the chat.postMessage with that text in the
  case thread;
* reply: signed staff replies in those threads posted to /slack/events one at a time, until
  FakeVonage accepts the SMS;
* ingest: signed SMS API inbound webhooks (form POST, distinct messageIds, spread over 50
  phones, or with `--new-phones` each from a phone of its own, opening a case) answered 200
  per second by `C` concurrent clients; each 200 means the text is stored. In the same
  run the same client loop drives a bare aiohttp handler that only answers 200: the
  ceiling of this machine. The load comes from a separate process, so the client shares
  neither the server's event loop nor its core. Afterwards the Slack posts are counted for
  `--relay-window` seconds more; what is still queued then is left behind.

Each phase also reports the bridge process's CPU time (user + system) per text or reply:
the target is 3 ms, in and out.

Each phase stops sending after `--phase-seconds` (15) and reports how many it measured, so
the defaults finish in about a minute however slow the store is. The fakes never throttle,
so the bridge's own rate limits are raised to the most it accepts (see `--help`); with
Slack's real one post per second per channel, relaying is capped by that instead.

Latencies use wall-clock time (time.time) because that is the clock both fakes record
(SlackCall.at, VonageSend.at); throughput uses time.perf_counter.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import re
import shlex
import sqlite3
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

# Measure the bridge of this checkout, not whichever one is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import (
    BOT_TOKEN,
    INBOX,
    OUR_NUMBER,
    STAFF,
    bench_parser,
    bridge_process,
    bridge_values,
    cpu_seconds,
    machine,
    run_bench,
)

FORM = "application/x-www-form-urlencoded"
SENDERS = 50  # ingest spreads its texts over this many phones
NEW_CASES = 20  # the relay phase opens this many cases; replies go to their threads
WARMUP = 50  # untimed requests before each ingest measurement
INGEST = "ingest"  # the kind of text (and of message id) the ingest phase sends
WAIT = 30.0  # seconds any single text may take to cross the bridge before we give up
# Every text carries one token; the bridge may add to a text (a reply gets its case's #ref),
# so the fakes' records are matched by the token found in them.
TOKEN = re.compile(r"bench [0-9A-F]{8} [a-z-]+ [0-9]{7}")


def token(tag: str, kind: str, number: int) -> str:
    return f"bench {tag} {kind} {number:07d}"


# -- the load generator (runs in a child process) -----------------------------------------
def drive(
    url: str, warmup: list[bytes], bodies: list[bytes], concurrency: int, budget: float
) -> dict[str, Any]:
    """POST the bodies to `url` from `concurrency` clients, after an untimed warm-up.

    Clients stop taking new bodies once `budget` seconds have passed.
    """
    return asyncio.run(_drive(url, warmup, bodies, concurrency, budget))


async def _drive(
    url: str, warmup: list[bytes], bodies: list[bytes], concurrency: int, budget: float
) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    headers = {"Content-Type": FORM}
    async with aiohttp.ClientSession(connector=connector) as http:

        async def batch(
            items: list[bytes], budget: float
        ) -> tuple[float, list[float], Counter[str]]:
            pending = iter(range(len(items)))  # shared: each client takes the next one
            acks: list[float] = []
            statuses: Counter[str] = Counter()
            deadline = time.perf_counter() + budget

            async def client() -> None:
                for i in pending:
                    start = time.perf_counter()
                    if start > deadline:
                        return
                    try:
                        async with http.post(url, data=items[i], headers=headers) as response:
                            await response.read()
                            statuses[str(response.status)] += 1
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        statuses[type(exc).__name__] += 1
                    acks.append(time.perf_counter() - start)

            start = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(concurrency)))
            return time.perf_counter() - start, acks, statuses

        warmup_started_at = time.time()
        await batch(warmup, math.inf)
        seconds, acks, statuses = await batch(bodies, budget)
    return {
        "sent": len(acks),
        "seconds": seconds,
        "acks": acks,
        "statuses": dict(statuses),
        "warmup_started_at": warmup_started_at,
    }


# -- figures --------------------------------------------------------------------------------
def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def spread(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p99 and max in milliseconds."""
    return {
        "p50_ms": round(percentile(seconds, 0.50) * 1000, 2),
        "p99_ms": round(percentile(seconds, 0.99) * 1000, 2),
        "max_ms": round(max(seconds) * 1000, 2),
    }


# -- watching the fakes ---------------------------------------------------------------------
class SlackWatch:
    """The contacts' texts the bot's posts show, by text: when (time.time), in which thread.

    Stamped in the fake's `on_message` listener, which the fake awaits right after recording
    the call (its `SlackCall.at` is time.time() as well).
    """

    def __init__(self, slack: Any, *, counted: tuple[str, ...], expected: int) -> None:
        self.bot = slack.bot_user_id
        self.posted: dict[str, tuple[float, str]] = {}
        self.counted_prefixes, self.expected, self.counted = counted, expected, 0
        self.all_counted = asyncio.Event()
        self.last_counted_at = 0.0
        self._waiting: dict[str, asyncio.Future[None]] = {}
        from bridge.fakes.reading import shown_texts

        self._shown = shown_texts
        slack.on_message(self._seen)

    async def _seen(self, kind: str, message: dict[str, Any]) -> None:
        if kind != "posted" or message.get("user") != self.bot:
            return  # staff messages typed into the fake, reactions
        # A new case's header shows its first texts; texts that waited share a post.
        thread = message.get("thread_ts") or message["ts"]
        now = time.time()
        for shown in self._shown([message]):
            found = TOKEN.search(shown)
            if found is not None:
                self._record(found.group(), now, thread)

    def _record(self, text: str, now: float, thread: str) -> None:
        self.posted[text] = (now, thread)
        if text.startswith(self.counted_prefixes):
            self.last_counted_at = now
            self.counted += 1
            if self.counted >= self.expected:
                self.all_counted.set()
        waiter = self._waiting.pop(text, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def expect(self, count: int) -> None:
        """Change how many counted posts complete `all_counted`."""
        self.expected = count
        if self.counted >= count:
            self.all_counted.set()

    async def wait(self, text: str) -> tuple[float, str]:
        """(time posted, thread_ts) of the thread post carrying `text`."""
        if text not in self.posted:
            waiter = asyncio.get_running_loop().create_future()
            self._waiting[text] = waiter
            await asyncio.wait_for(waiter, WAIT)
        return self.posted[text]


async def vonage_send_at(vonage: Any, text: str) -> float:
    """When FakeVonage accepted the SMS carrying `text` (its VonageSend.at, time.time)."""
    seen = 0
    while True:
        for send in vonage.sends[seen:]:
            if text in send.text:
                return float(send.at)
        seen = len(vonage.sends)
        await vonage.wait_for_sends(seen + 1, timeout=WAIT)


# -- the bridge and its surroundings --------------------------------------------------------
VONAGE_KEY = "benchkey"


@dataclass
class Rig:
    """A bridge process on loopback, its fakes, and a bare server for the ceiling."""

    bridge: Any  # the bridge's process
    db: Any  # a connection of this bench's own to the bridge's store
    slack: Any
    vonage: Any
    bridge_url: str
    ceiling_url: str
    sms_secret: str
    slack_secret: str
    backend: str
    limits: dict[str, float]

    def inbound_body(self, sender: str, text: str, message_id: str) -> bytes:
        """A signed SMS API inbound webhook, form-encoded."""
        from bridge.fakes.vonage_payloads import sms_inbound_params

        params = sms_inbound_params(
            msisdn=sender,
            to=OUR_NUMBER,
            text=text,
            message_id=message_id,
            api_key=VONAGE_KEY,
            signature_secret=self.sms_secret,
            signature_method="sha256",
        )
        return urlencode(params).encode()

    def reply_event(self, *, text: str, ts: str, thread_ts: str) -> tuple[bytes, dict[str, str]]:
        """A signed Events API `message` callback for a staff reply in a thread."""
        from bridge.fakes.slack_payloads import event_callback_body, message_event
        from bridge.fakes.slack_payloads import slack_signature_headers as signed

        event = message_event(INBOX, STAFF, text, ts, thread_ts=thread_ts)
        body = json.dumps(event_callback_body(event)).encode()
        return body, {"Content-Type": "application/json", **signed(self.slack_secret, body)}


async def serve(app: web.Application, stack: contextlib.AsyncExitStack) -> str:
    runner = web.AppRunner(app, access_log=None)  # as `smschat-bridge run` serves
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return f"http://{host}:{port}"


async def prepare_database(url: str, *, reset: bool) -> str:
    """Reset PostgreSQL's public schema if asked, migrate, and name the backend."""
    from sqlalchemy import text

    from bridge.store.db import Database, migrate

    db = Database(url)
    try:
        if db.dialect == "postgresql":
            async with db.engine.begin() as connection:
                if reset:
                    await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                    await connection.execute(text("CREATE SCHEMA public"))
                version = await connection.scalar(text("SHOW server_version"))
            backend = f"PostgreSQL {version}"
        else:
            backend = f"SQLite {sqlite3.sqlite_version}"
    finally:
        await db.close()
    await migrate(url)
    return backend


async def start_rig(
    url: str,
    workdir: Path,
    stack: contextlib.AsyncExitStack,
    *,
    reset: bool,
    limits: dict[str, float],
) -> Rig:
    from bridge.config import Settings
    from bridge.fakes import FakeSlack, FakeVonage, TestTls
    from bridge.store.db import Database

    backend = await prepare_database(url, reset=reset)
    slack_secret, sms_secret, vonage_secret = (uuid.uuid4().hex for _ in range(3))
    tls = TestTls()
    slack = await stack.enter_async_context(FakeSlack(token=BOT_TOKEN))
    slack.add_user(STAFF, "dana", display_name="Dana")
    vonage = await stack.enter_async_context(
        FakeVonage(tls=tls, api_key=VONAGE_KEY, api_secret=vonage_secret)
    )
    # Rate limits the bridge keeps on its own side (in builds that have them).
    limits = {name: value for name, value in limits.items() if name in Settings.model_fields}
    values = bridge_values(
        slack=slack,
        vonage=vonage,
        url=url,
        slack_secret=slack_secret,
        sms_secret=sms_secret,
        vonage_secret=vonage_secret,
        **limits,
    )
    # The bridge runs as in production, in a process of its own: its CPU time is its own,
    # and the fakes and this bench's bookkeeping do not share its event loop.
    bridge = bridge_process(
        values, log_path=workdir / "bridge.log", ca_bundle=tls.ca_bundle_path(workdir)
    )
    stack.push_async_callback(bridge.stop)
    await bridge.start()
    db = Database(url)  # this bench's own connection, for counting what the bridge stored
    stack.push_async_callback(db.close)

    async def answer_ok(_request: web.Request) -> web.Response:
        return web.Response(status=200)

    bare = web.Application()
    bare.router.add_post("/vonage/inbound", answer_ok)
    ceiling_url = await serve(bare, stack)
    return Rig(
        bridge,
        db,
        slack,
        vonage,
        bridge.url,
        ceiling_url,
        sms_secret,
        slack_secret,
        backend,
        limits,
    )


# -- the three measurements -----------------------------------------------------------------
async def measure_ingest(
    rig: Rig,
    watch: SlackWatch,
    stack: contextlib.AsyncExitStack,
    *,
    tag: str,
    texts: int,
    concurrency: int,
    window: float,
    budget: float,
    new_phones: bool,
) -> dict[str, Any]:
    """The bare ceiling, then the bridge, with one client loop; then how fast it relays."""
    from sqlalchemy import func, select

    from bridge.store.models import Message
    from bridge.store.outbox import Outbox

    def bodies(kind: str, count: int) -> list[bytes]:
        # New phones: the warm-up's and the measured texts' apart from each other's.
        new_prefix = "44772" if kind.startswith("warm") else "44771"

        def sender(i: int) -> str:
            return f"{new_prefix}{i:07d}" if new_phones else f"4477009{i % SENDERS:05d}"

        return [
            rig.inbound_body(sender(i), token(tag, kind, i), f"{tag}-{kind}-{i:07d}")
            for i in range(count)
        ]

    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    stack.callback(pool.shutdown)
    loop = asyncio.get_running_loop()
    outbox = Outbox(rig.db)
    ceiling = await loop.run_in_executor(
        pool,
        drive,
        f"{rig.ceiling_url}/vonage/inbound",
        bodies("warm-bare", WARMUP),
        bodies("bare", texts),
        concurrency,
        budget,
    )
    cpu_before = cpu_seconds(rig.bridge.pid)
    bridge = await loop.run_in_executor(
        pool,
        drive,
        f"{rig.bridge_url}/vonage/inbound",
        bodies(f"warm-{INGEST}", WARMUP),
        bodies(INGEST, texts),
        concurrency,
        budget,
    )
    ingest_end, relayed_during = time.time(), watch.counted
    watch.expect(bridge["sent"] + WARMUP)

    # How fast the outbox turns the stored texts into Slack posts, for `window` seconds more.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(watch.all_counted.wait(), window)
    relay_end = watch.last_counted_at if watch.all_counted.is_set() else time.time()
    relayed = watch.counted
    cpu = cpu_seconds(rig.bridge.pid) - cpu_before
    async with rig.db.reading() as session:
        stored = await session.scalar(
            select(func.count()).where(Message.provider_message_id.like(f"{tag}-{INGEST}-%"))
        )
    after = relay_end - ingest_end
    bridge_rate, ceiling_rate = (r["sent"] / r["seconds"] for r in (bridge, ceiling))
    return {
        "texts": texts,
        "senders": "new" if new_phones else SENDERS,
        "concurrency": concurrency,
        "bridge_sent": bridge["sent"],
        "bridge_per_s": round(bridge_rate, 1),
        "bridge_ack": spread(bridge["acks"]),
        "bridge_answers": bridge["statuses"],
        "ceiling_sent": ceiling["sent"],
        "ceiling_per_s": round(ceiling_rate, 1),
        "ceiling_ack": spread(ceiling["acks"]),
        "ceiling_answers": ceiling["statuses"],
        "ratio": round(bridge_rate / ceiling_rate, 4),
        "stored": int(stored or 0),
        "relayed": relayed,
        "relay_seconds": round(relay_end - bridge["warmup_started_at"], 2),
        "relayed_per_s": round(relayed / (relay_end - bridge["warmup_started_at"]), 1),
        "relayed_per_s_while_ingesting": round(
            relayed_during / (ingest_end - bridge["warmup_started_at"]), 1
        ),
        "relayed_per_s_after": round((relayed - relayed_during) / after, 1) if after > 0 else None,
        "outbox_left": await outbox.depth(),
        # Taking in, routing and posting each text; exact once every text is posted.
        "cpu_ms_per_text": round(cpu * 1000 / relayed, 2) if relayed else None,
        "all_relayed": watch.all_counted.is_set(),
    }


async def measure_relay(
    rig: Rig,
    watch: SlackWatch,
    http: aiohttp.ClientSession,
    *,
    tag: str,
    texts: int,
    budget: float,
) -> tuple[dict[str, Any], list[str]]:
    """Texts one at a time from `NEW_CASES` new phones: webhook → thread post in Slack."""

    async def relay(sender: str, text: str, message_id: str) -> tuple[float, str]:
        body = rig.inbound_body(sender, text, message_id)
        sent = time.time()
        async with http.post(
            f"{rig.bridge_url}/vonage/inbound", data=body, headers={"Content-Type": FORM}
        ) as response:
            if response.status != 200:
                raise RuntimeError(f"relay: webhook answered HTTP {response.status}")
        posted, thread_ts = await watch.wait(text)
        return posted - sent, thread_ts

    # The first text of a process pays for lazy set-up (SQL compilation, Bolt, clients).
    await relay("447700799999", token(tag, "warm-relay", 0), f"{tag}-warm-relay")
    senders = [f"4477008{k:05d}" for k in range(min(NEW_CASES, texts))]
    threads: list[str] = []
    new_case, in_thread = [], []
    deadline = time.perf_counter() + budget
    cpu_before = cpu_seconds(rig.bridge.pid)
    for i in range(texts):
        if i >= len(senders) and time.perf_counter() > deadline:
            break
        latency, thread_ts = await relay(
            senders[i % len(senders)], token(tag, "relay", i), f"{tag}-relay-{i:07d}"
        )
        if i < len(senders):
            new_case.append(latency)
            threads.append(thread_ts)
        else:
            in_thread.append(latency)
    done = len(new_case) + len(in_thread)
    cpu = cpu_seconds(rig.bridge.pid) - cpu_before
    figures = {"texts": done, "asked": texts, "new_cases": len(senders)}
    figures["cpu_ms_per_text"] = round(cpu * 1000 / done, 2)
    figures |= spread(new_case + in_thread)
    figures["new_case"] = spread(new_case)
    figures["in_thread"] = spread(in_thread) if in_thread else None
    return figures, threads


async def measure_replies(
    rig: Rig,
    http: aiohttp.ClientSession,
    threads: list[str],
    *,
    tag: str,
    replies: int,
    budget: float,
) -> dict[str, Any]:
    """Staff replies one at a time in the relay phase's threads: event → SMS at Vonage."""

    async def reply(text: str, thread_ts: str) -> float:
        posted = await rig.slack.post_as_user(INBOX, STAFF, text, thread_ts=thread_ts)
        body, headers = rig.reply_event(text=text, ts=posted["ts"], thread_ts=thread_ts)
        sent = time.time()
        async with http.post(
            f"{rig.bridge_url}/slack/events", data=body, headers=headers
        ) as response:
            if response.status != 200:
                raise RuntimeError(f"reply: /slack/events answered HTTP {response.status}")
        return await vonage_send_at(rig.vonage, text) - sent

    # Bolt checks its token with auth.test on the first event: keep that out of the figures.
    await reply(token(tag, "warm-reply", 0), threads[0])
    latencies: list[float] = []
    deadline = time.perf_counter() + budget
    cpu_before = cpu_seconds(rig.bridge.pid)
    for i in range(replies):
        if latencies and time.perf_counter() > deadline:
            break
        latencies.append(await reply(token(tag, "reply", i), threads[i % len(threads)]))
    cpu = cpu_seconds(rig.bridge.pid) - cpu_before
    return {
        "replies": len(latencies),
        "cpu_ms_per_reply": round(cpu * 1000 / len(latencies), 2),
        "asked": replies,
        "threads": len(threads),
        **spread(latencies),
    }


# -- the run and its report -----------------------------------------------------------------
async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Latencies first, on a quiet bridge; then ingest, whose backlog is left behind."""
    from sqlalchemy.engine import make_url

    from bridge.store.outbox import Outbox

    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    tag = uuid.uuid4().hex[:8].upper()  # keeps this run's ids and texts apart from others
    began = time.perf_counter()
    report: dict[str, Any] = {
        "command": shlex.join(sys.orig_argv),
        "machine": machine(),
    }
    async with contextlib.AsyncExitStack() as stack:
        limits = {
            "slack_posts_per_second": args.slack_posts_per_second,
            "vonage_requests_per_second": args.vonage_requests_per_second,
        }
        rig = await start_rig(url, workdir, stack, reset=args.reset_schema, limits=limits)
        shown = make_url(url).render_as_string(hide_password=True)
        report["database"] = {
            "backend": rig.backend,
            "url": shown if args.database_url else "a new file in a temporary directory",
        }
        report["bridge_limits"] = rig.limits
        watch = SlackWatch(
            rig.slack,
            counted=(f"bench {tag} {INGEST} ", f"bench {tag} warm-{INGEST} "),
            expected=args.texts + WARMUP,
        )
        http = await stack.enter_async_context(aiohttp.ClientSession())
        budget = args.phase_seconds
        relay, threads = await measure_relay(
            rig, watch, http, tag=tag, texts=args.latency, budget=budget
        )
        reply = await measure_replies(
            rig, http, threads, tag=tag, replies=args.latency, budget=budget
        )
        report["ingest"] = await measure_ingest(
            rig,
            watch,
            stack,
            tag=tag,
            texts=args.texts,
            concurrency=args.concurrency,
            window=args.relay_window,
            budget=budget,
            new_phones=args.new_phones,
        )
        report["relay"], report["reply"] = relay, reply
        report["outbox_dead"] = await Outbox(rig.db).dead_count()
    report["elapsed_s"] = round(time.perf_counter() - began, 1)
    return report


def _ms(figures: dict[str, float]) -> str:
    return "p50 {p50_ms:8.2f} ms   p99 {p99_ms:8.2f} ms   max {max_ms:8.2f} ms".format(**figures)


def _cpu(ms: float | None) -> str:
    """The bridge process's CPU time per item, against the 3 ms target."""
    return "n/a" if ms is None else f"{ms:6.2f} ms of bridge CPU (target 3 ms)"


def _of(done: int, asked: int) -> str:
    """'200' or, when the time budget cut a phase short, '131 of 200 (time budget)'."""
    return str(done) if done == asked else f"{done} of {asked} (time budget)"


def render(report: dict[str, Any]) -> str:
    machine, db = report["machine"], report["database"]
    ingest, relay, reply = report["ingest"], report["relay"], report["reply"]
    lines = [
        f"command    {report['command']}",
        f"machine    {machine['cpu']}, {machine['cores']} cores, {machine['system']}, "
        f"Python {machine['python']}, load average {machine['load_before'][0]} at start",
        f"database   {db['backend']} ({db['url']})",
        "limits     "
        + (", ".join(f"{k}={v:g}" for k, v in report["bridge_limits"].items()) or "none"),
        "",
        "ingest     signed inbound SMS webhooks (form POST) "
        + (
            "each from a new phone"
            if ingest["senders"] == "new"
            else f"from {ingest['senders']} phones"
        )
        + f", {ingest['concurrency']} concurrent clients, one client loop for both",
        f"  bridge   {ingest['bridge_per_s']:9.1f} texts/s  ack {_ms(ingest['bridge_ack'])}"
        f"   n={_of(ingest['bridge_sent'], ingest['texts'])}",
        f"  ceiling  {ingest['ceiling_per_s']:9.1f} req/s    ack {_ms(ingest['ceiling_ack'])}"
        f"   n={_of(ingest['ceiling_sent'], ingest['texts'])}",
        f"  ratio    the bridge takes {ingest['ratio']:.2%} of the bare aiohttp ceiling "
        f"({1 / ingest['ratio']:.0f}x fewer per second)",
        f"  answers  bridge {ingest['bridge_answers']}, ceiling {ingest['ceiling_answers']}; "
        f"{ingest['stored']} of {ingest['bridge_sent']} stored",
        f"  to Slack {ingest['relayed_per_s']:9.1f} posts/s  ({ingest['relayed']} of "
        f"{ingest['bridge_sent'] + WARMUP} incl. warm-up in {ingest['relay_seconds']} s: "
        f"{ingest['relayed_per_s_while_ingesting']}/s during ingest, "
        f"{ingest['relayed_per_s_after']}/s after; {ingest['outbox_left']} jobs left)",
        f"  CPU      {_cpu(ingest['cpu_ms_per_text'])} per text, in and on to Slack"
        + ("" if ingest["all_relayed"] else " (not every text was posted: an estimate)"),
        "",
        f"relay      {_of(relay['texts'], relay['asked'])} texts one at a time, "
        f"{relay['new_cases']} opening a case: webhook sent -> chat.postMessage in the thread",
        f"  all      {_ms(relay)}",
        f"  new case {_ms(relay['new_case'])}  (header and text, one post)",
    ]
    if relay["in_thread"]:
        lines.append(f"  in case  {_ms(relay['in_thread'])}")
    lines += [
        f"  CPU      {_cpu(relay['cpu_ms_per_text'])} per text",
        f"reply      {_of(reply['replies'], reply['asked'])} thread replies one at a time in "
        f"{reply['threads']} threads: event sent -> SMS accepted by Vonage",
        f"  all      {_ms(reply)}",
        f"  CPU      {_cpu(reply['cpu_ms_per_reply'])} per reply",
        "",
        f"outbox     {report['outbox_dead']} dead jobs; the run took {report['elapsed_s']} s",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = bench_parser(__doc__)
    # 10,000: on a fast day 2,000 took the bare handler 0.15 s, too short a run to time.
    parser.add_argument("--texts", type=int, default=10_000, help="ingest texts (10000)")
    parser.add_argument("--concurrency", type=int, default=32, help="ingest clients (32)")
    parser.add_argument(
        "--new-phones",
        action="store_true",
        help="each ingest text from a phone of its own, opening a case (default: 50 phones)",
    )
    parser.add_argument(
        "--latency", type=int, default=200, help="texts, and replies, timed one by one (200)"
    )
    parser.add_argument(
        "--relay-window",
        type=float,
        default=5.0,
        help="seconds to keep counting Slack posts after ingest (5)",
    )
    parser.add_argument(
        "--slack-posts-per-second",
        type=float,
        default=50.0,
        help="the bridge's own per-channel posting limit (50, the most it allows; "
        "Slack's real limit, and the bridge's default, is 1)",
    )
    parser.add_argument(
        "--vonage-requests-per-second",
        type=float,
        default=1000.0,
        help="the bridge's own Vonage request limit (1000, the most it allows)",
    )
    parser.add_argument(
        "--phase-seconds",
        type=float,
        default=15.0,
        help="each phase stops sending after this long, keeping what it measured (15)",
    )
    args = parser.parse_args()
    if min(args.texts, args.concurrency, args.latency) < 1:
        parser.error("--texts, --concurrency and --latency must be at least 1")
    if args.relay_window < 0 or args.phase_seconds <= 0:
        parser.error("--relay-window must be >= 0 and --phase-seconds > 0")
    return run_bench(args, run, render)


if __name__ == "__main__":
    sys.exit(main())
