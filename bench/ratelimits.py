"""Does the bridge use Slack's and Vonage's permitted rates without being told to slow down?

    python bench/ratelimits.py [--seconds S] [--channels K] [--database-url URL
                               --redis-url URL --instances 2] [--json]

Starts the real bridge (`python -m bridge run`, a child process) with its default limits
(SLACK_POSTS_PER_SECOND=1, VONAGE_REQUESTS_PER_SECOND=30) against FakeSlack answering
chat.postMessage with HTTP 429 and Retry-After beyond one post per second per channel
(with a short burst, as https://docs.slack.dev/apis/web-api/rate-limits describes) and
FakeVonage throttling beyond 30 requests per second (SMS API status 1 "Throttled").

After opening a few cases per channel (untimed), it drives for `--seconds`:

* inbound texts into each of `K` channels (one Vonage number per channel), `--overload`
  times faster than Slack's permitted rate, so the channel always has work waiting;
* signed staff replies in those threads, `--overload` times faster than Vonage's rate.

It reports the posts per second per channel and the sends per second reached after
`--settle` seconds (so the fakes' initial bursts do not count), as a share of the permitted
rate; every 429 and every throttle met; and, once the backlog is drained, texts lost (an
inbound never posted, a reply never sent) and duplicates. The machine's ceiling, measured in
the same run before the limits are switched on: how many chat.postMessage and SMS API
requests per second the fakes answer to one bare client loop.

With `--instances 2` (PostgreSQL and Redis) two bridges share the store and the Redis
buckets; webhooks alternate between them as a load balancer would.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shlex
import ssl
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

# Measure the bridge of this checkout, not whichever one is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import (
    BOT_TOKEN,
    STAFF,
    BridgeProcess,
    bench_parser,
    bridge_process,
    bridge_values,
    cpu_seconds,
    machine,
    run_bench,
)
from relay import FORM, TOKEN, prepare_database, token

SLACK_RATE = 1.0  # posts per second per channel (Slack's documented figure)
VONAGE_RATE = 30.0  # requests per second per account (SMS API default)
CONTACTS_PER_CHANNEL = 3
CEILING_SECONDS = 3.0
PER_CHANNEL = 100_000  # text numbers: channel * PER_CHANNEL + i


@dataclass
class Run:
    """The fakes, the bridges and what the drive sent."""

    slack: Any
    vonage: Any
    bridges: list[BridgeProcess]
    database_url: str
    sms_secret: str
    slack_secret: str
    numbers: list[str]  # ours, one per channel, as Vonage writes them
    channels: list[str]
    tag: str
    backend: str
    ca_bundle: Path
    inbound: set[str] = field(default_factory=set)  # tokens of inbound texts answered 200
    replies: set[str] = field(default_factory=set)  # tokens of replies answered 200
    answers: Counter[str] = field(default_factory=Counter)
    turn: int = 0

    def next_url(self) -> str:
        """Round robin over the instances, as a load balancer would."""
        self.turn += 1
        return self.bridges[self.turn % len(self.bridges)].url


def inbound_body(run: Run, *, sender: str, to: str, text: str, message_id: str) -> bytes:
    from bridge.fakes.vonage_payloads import sms_inbound_params

    params = sms_inbound_params(
        msisdn=sender,
        to=to,
        text=text,
        message_id=message_id,
        api_key=run.vonage.api_key,
        signature_secret=run.sms_secret,
        signature_method="sha256",
    )
    return urlencode(params).encode()


async def send_inbound(
    run: Run, http: aiohttp.ClientSession, *, channel: int, sender: str, text: str
) -> None:
    body = inbound_body(
        run, sender=sender, to=run.numbers[channel], text=text, message_id=uuid.uuid4().hex
    )
    url = f"{run.next_url()}/vonage/inbound"
    async with http.post(url, data=body, headers={"Content-Type": FORM}) as response:
        await response.read()
        run.answers[f"inbound {response.status}"] += 1
        if response.status == 200:
            run.inbound.add(TOKEN.search(text).group())  # type: ignore[union-attr]


async def send_reply(
    run: Run, http: aiohttp.ClientSession, *, channel: str, thread_ts: str, text: str
) -> None:
    from bridge.fakes.slack_payloads import event_callback_body, message_event
    from bridge.fakes.slack_payloads import slack_signature_headers as signed

    posted = await run.slack.post_as_user(channel, STAFF, text, thread_ts=thread_ts)
    event = message_event(channel, STAFF, text, posted["ts"], thread_ts=thread_ts)
    body = json.dumps(event_callback_body(event)).encode()
    headers = {"Content-Type": "application/json", **signed(run.slack_secret, body)}
    async with http.post(f"{run.next_url()}/slack/events", data=body, headers=headers) as answer:
        await answer.read()
        run.answers[f"reply {answer.status}"] += 1
        if answer.status == 200:
            run.replies.add(TOKEN.search(text).group())  # type: ignore[union-attr]


async def paced(
    rate: float, seconds: float, request: Callable[[int], Awaitable[None]]
) -> list[asyncio.Task[None]]:
    """Start `request(i)` at `rate` per second for `seconds`, not waiting for answers."""
    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter()
    i = 0
    while (due := i / rate) < seconds:
        await asyncio.sleep(max(0.0, start + due - time.perf_counter()))
        tasks.append(asyncio.create_task(request(i)))
        i += 1
    return tasks


# -- the machine's ceiling: the fakes answering a bare client, no limits --------------------
async def ceiling(run: Run, ca_bundle: Path, concurrency: int = 8) -> dict[str, float]:
    """Requests per second the fakes answer to one bare client loop on this machine."""
    tls = ssl.create_default_context(cafile=str(ca_bundle))
    slack_form = {"channel": "C0CEILING", "text": "ceiling"}
    sms_form = {
        "api_key": run.vonage.api_key,
        "api_secret": run.vonage.api_secret,
        "from": run.numbers[0],
        "to": "447700900999",
        "text": f"ceiling {run.tag}",
    }

    async def loop(url: str, form: dict[str, str], headers: dict[str, str]) -> float:
        done = 0
        deadline = time.perf_counter() + CEILING_SECONDS
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as http:

            async def client() -> None:
                nonlocal done
                while time.perf_counter() < deadline:
                    async with http.post(url, data=form, headers=headers) as response:
                        await response.read()
                        done += response.status == 200

            start = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(concurrency)))
            return done / (time.perf_counter() - start)

    slack = await loop(
        f"{run.slack.base_url}chat.postMessage",
        slack_form,
        {"Authorization": f"Bearer {BOT_TOKEN}"},
    )
    vonage = await loop(f"https://{run.vonage.host}/sms/json", sms_form, {})
    return {"slack_posts_per_s": round(slack, 1), "vonage_sends_per_s": round(vonage, 1)}


# -- the run ---------------------------------------------------------------------------------
async def start(args: argparse.Namespace, workdir: Path, stack: contextlib.AsyncExitStack) -> Run:
    """The fakes (limits off for now), then the bridges on one store with default limits."""
    from bridge.fakes import FakeSlack, FakeVonage, TestTls

    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    tag = uuid.uuid4().hex[:8].upper()
    slack_secret, sms_secret, vonage_secret = (uuid.uuid4().hex for _ in range(3))
    tls = TestTls()
    ca_bundle = tls.ca_bundle_path(workdir)
    slack = await stack.enter_async_context(FakeSlack(token=BOT_TOKEN))
    slack.add_user(STAFF, "dana", display_name="Dana")
    # The Redis buckets are keyed by account and channel: fresh names keep runs apart.
    vonage = await stack.enter_async_context(
        FakeVonage(tls=tls, api_key=f"bench{tag.lower()}", api_secret=vonage_secret, balance=1e9)
    )
    numbers = [f"4477009{k:05d}" for k in range(args.channels)]
    channels = [f"C{tag}{k:02d}" for k in range(args.channels)]
    values = bridge_values(
        slack=slack,
        vonage=vonage,
        url=url,
        slack_secret=slack_secret,
        sms_secret=sms_secret,
        vonage_secret=vonage_secret,
        vonage_numbers=",".join("+" + n for n in numbers),
        number_channels=",".join(f"+{n}={c}" for n, c in zip(numbers, channels, strict=True)),
        slack_channel=channels[0],
        **({"redis_url": args.redis_url} if args.redis_url else {}),
    )
    backend = await prepare_database(url, reset=args.reset_schema)
    bridges = []
    for k in range(args.instances):
        bridge = bridge_process(values, log_path=workdir / f"bridge{k}.log", ca_bundle=ca_bundle)
        stack.push_async_callback(bridge.stop)
        await bridge.start()
        bridges.append(bridge)
    return Run(
        slack,
        vonage,
        bridges,
        url,
        sms_secret,
        slack_secret,
        numbers,
        channels,
        tag,
        backend,
        ca_bundle,
    )


async def outbox_counts(url: str) -> tuple[int, int]:
    """(jobs still waiting, dead jobs) in the store."""
    from bridge.store.db import Database
    from bridge.store.outbox import Outbox

    db = Database(url)
    try:
        outbox = Outbox(db)
        return await outbox.depth(), await outbox.dead_count()
    finally:
        await db.close()


def contact(channel: int, k: int) -> str:
    return f"4477008{channel:02d}{k:03d}"


async def open_cases(run: Run, http: aiohttp.ClientSession) -> list[tuple[str, str]]:
    """A first text from each contact (untimed); the (channel, thread_ts) of every case."""
    await asyncio.gather(
        *(
            send_inbound(
                run,
                http,
                channel=c,
                sender=contact(c, k),
                text=token(run.tag, "open", c * PER_CHANNEL + k),
            )
            for c in range(len(run.channels))
            for k in range(CONTACTS_PER_CHANNEL)
        )
    )
    await wait_posted(run, within=60.0)
    threads = {
        (call.params["channel"], call.params["thread_ts"])
        for call in run.slack.calls("chat.postMessage")
        if call.status == 200 and "thread_ts" in call.params
    }
    return sorted(threads)


def posted_tokens(run: Run) -> Counter[str]:
    """How many times each of this run's texts was posted in a thread."""
    seen: Counter[str] = Counter()
    for call in run.slack.calls("chat.postMessage"):
        found = TOKEN.search(str(call.params.get("text", "")))
        if call.status == 200 and found and run.tag in found.group():
            seen[found.group()] += 1
    return seen


def sent_tokens(run: Run) -> Counter[str]:
    seen: Counter[str] = Counter()
    for send in run.vonage.sends:
        found = TOKEN.search(send.text)
        if found and run.tag in found.group():
            seen[found.group()] += 1
    return seen


async def wait_posted(run: Run, *, within: float) -> bool:
    """Wait until every accepted inbound text is posted and every reply sent."""
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        if run.inbound <= set(posted_tokens(run)) and run.replies <= set(sent_tokens(run)):
            return True
        await asyncio.sleep(0.25)
    return False


async def drive(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        threads = await open_cases(run, http)
        # Both fakes start limiting now, with full buckets: the settle window absorbs them.
        run.slack.rate_limit_per_channel(per_second=SLACK_RATE, burst=args.slack_burst)
        run.vonage.rate_limit(per_second=VONAGE_RATE, burst=args.vonage_burst)
        slack_calls_before = len(run.slack.calls("chat.postMessage"))
        vonage_sends_before = len(run.vonage.sends)
        inbound_rate = SLACK_RATE * args.overload
        reply_rate = VONAGE_RATE * args.overload
        began = time.time()
        cpu_before = sum(cpu_seconds(b.pid) for b in run.bridges)

        def inbound(c: int) -> Callable[[int], Awaitable[None]]:
            return lambda i: send_inbound(
                run,
                http,
                channel=c,
                sender=contact(c, i % CONTACTS_PER_CHANNEL),
                text=token(run.tag, "inbound", c * PER_CHANNEL + i),
            )

        def reply(i: int) -> Awaitable[None]:
            channel, thread_ts = threads[i % len(threads)]
            return send_reply(
                run, http, channel=channel, thread_ts=thread_ts, text=token(run.tag, "reply", i)
            )

        drives = [paced(inbound_rate, args.seconds, inbound(c)) for c in range(args.channels)]
        drives.append(paced(reply_rate, args.seconds, reply))
        started = await asyncio.gather(*drives)
        await asyncio.gather(*(t for tasks in started for t in tasks))
        ended = time.time()
        bridge_cores = (sum(cpu_seconds(b.pid) for b in run.bridges) - cpu_before) / (ended - began)
        backlog = args.seconds * (args.overload - 1) + 60
        drained = await wait_posted(run, within=backlog)
        drained_at = time.time()
        cpu_total = sum(cpu_seconds(b.pid) for b in run.bridges) - cpu_before

    waiting, dead = await outbox_counts(run.database_url)
    window = (began + args.settle, ended)
    seconds = window[1] - window[0]
    calls = run.slack.calls("chat.postMessage")[slack_calls_before:]
    per_channel = Counter(
        c.params["channel"] for c in calls if c.status == 200 and window[0] <= c.at < window[1]
    )
    sends = [s for s in run.vonage.sends[vonage_sends_before:] if window[0] <= s.at < window[1]]
    posted, sent = posted_tokens(run), sent_tokens(run)
    refused_429 = sum(1 for c in calls if c.status == 429)
    throttled = run.vonage.rate_limited_count
    vonage_requests = len(run.vonage.sends) - vonage_sends_before + throttled
    return {
        "window_s": round(seconds, 1),
        "drive_rates": {"inbound_per_channel": inbound_rate, "replies": reply_rate},
        "slack": {
            "permitted_per_channel": SLACK_RATE,
            "fake_burst": args.slack_burst,
            "posts_per_s": {ch: round(per_channel[ch] / seconds, 3) for ch in run.channels},
            "share": round(min(per_channel[ch] for ch in run.channels) / seconds / SLACK_RATE, 4),
            "calls": len(calls),
            "answered_429": refused_429,
            "share_429": round(refused_429 / max(1, len(calls)), 4),
        },
        "vonage": {
            "permitted": VONAGE_RATE,
            "fake_burst": args.vonage_burst,
            "sends_per_s": round(len(sends) / seconds, 2),
            "share": round(len(sends) / seconds / VONAGE_RATE, 4),
            "requests": vonage_requests,
            "throttled": throttled,
            "share_throttled": round(throttled / max(1, vonage_requests), 4),
        },
        "texts": {
            "inbound_accepted": len(run.inbound),
            "inbound_missing": len(run.inbound - set(posted)),
            "inbound_duplicated": sum(1 for t in run.inbound if posted[t] > 1),
            "replies_accepted": len(run.replies),
            "replies_missing": len(run.replies - set(sent)),
            "replies_duplicated": sum(1 for t in run.replies if sent[t] > 1),
            "webhook_answers": dict(run.answers),
            "drained": drained,
            "drain_s": round(drained_at - ended, 1),
        },
        "outbox_waiting": waiting,
        "outbox_dead": dead,
        "bridge_cpu_cores": round(bridge_cores, 2),
        "bridge_cpu_ms_per_text": round(
            cpu_total * 1000 / max(1, len(run.inbound) + len(run.replies)), 1
        ),
    }


async def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    began = time.perf_counter()
    report: dict[str, Any] = {
        "command": shlex.join(sys.orig_argv),
        "machine": machine(),
    }
    async with contextlib.AsyncExitStack() as stack:
        run = await start(args, workdir, stack)
        report["database"] = run.backend + (
            f" ({make_url(args.database_url).render_as_string(hide_password=True)})"
            if args.database_url
            else " (a new file in a temporary directory)"
        )
        report["instances"] = args.instances
        report["redis"] = bool(args.redis_url)
        report["bridge_limits"] = {
            name: run.bridges[0].env.get(name, "default")
            for name in ("SLACK_POSTS_PER_SECOND", "VONAGE_REQUESTS_PER_SECOND")
        }
        report["ceiling"] = await ceiling(run, run.ca_bundle)
        report |= await drive(run, args)
    report["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    report["elapsed_s"] = round(time.perf_counter() - began, 1)
    return report


def render(report: dict[str, Any]) -> str:
    machine, slack, vonage, texts = (report[k] for k in ("machine", "slack", "vonage", "texts"))
    ceiling = report["ceiling"]
    per_channel = ", ".join(f"{v:.3f}" for v in slack["posts_per_s"].values())
    limits = ", ".join(f"{k}={v}" for k, v in report["bridge_limits"].items())
    missing = texts["inbound_missing"] + texts["replies_missing"]
    # A text not out yet is lost only if no job is left to send it.
    lost = max(0, missing - report["outbox_waiting"])
    return "\n".join(
        [
            f"command    {report['command']}",
            f"machine    {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
            f"load average {machine['load_before'][0]} at start, {machine['load_after'][0]} at end",
            f"database   {report['database']}; {report['instances']} instance(s)"
            + (", Redis buckets" if report["redis"] else ", in-memory buckets"),
            f"bridge     {limits}",
            f"ceiling    the fakes answer a bare client {ceiling['slack_posts_per_s']} "
            f"chat.postMessage/s and {ceiling['vonage_sends_per_s']} SMS API sends/s "
            "(no limits, same run)",
            f"drive      {report['drive_rates']['inbound_per_channel']:g} texts/s into each of "
            f"{len(slack['posts_per_s'])} channels, "
            f"{report['drive_rates']['replies']:g} replies/s; "
            f"measured over {report['window_s']} s after the settle time",
            "",
            f"slack      permitted {slack['permitted_per_channel']:g} post/s per channel "
            f"(fake burst {slack['fake_burst']})",
            f"  reached  {per_channel} posts/s per channel: lowest "
            f"{slack['share']:.1%} of permitted",
            f"  429s     {slack['answered_429']} of {slack['calls']} chat.postMessage calls "
            f"({slack['share_429']:.2%})",
            f"vonage     permitted {vonage['permitted']:g} requests/s (fake burst "
            f"{vonage['fake_burst']})",
            f"  reached  {vonage['sends_per_s']:.2f} sends/s: {vonage['share']:.1%} of permitted",
            f"  throttled {vonage['throttled']} of {vonage['requests']} requests "
            f"({vonage['share_throttled']:.2%})",
            "",
            f"texts      {texts['inbound_accepted']} inbound accepted, {texts['inbound_missing']} "
            f"not posted, {texts['inbound_duplicated']} posted twice; "
            f"{texts['replies_accepted']} replies accepted, {texts['replies_missing']} not sent, "
            f"{texts['replies_duplicated']} sent twice",
            f"  drained  {'yes' if texts['drained'] else 'NO'} in {texts['drain_s']} s after the "
            f"drive; answers {texts['webhook_answers']}; {report['outbox_dead']} dead jobs, "
            f"{report['outbox_waiting']} still waiting",
            f"cpu        the bridge process(es) used {report['bridge_cpu_cores']} cores while "
            f"driven, {report['bridge_cpu_ms_per_text']} ms of CPU per text in or out",
            f"verdict    lost {lost}; run took {report['elapsed_s']} s",
        ]
    )


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--redis-url", help="share buckets through Redis (redis://host/db)")
    parser.add_argument("--instances", type=int, default=1, help="bridges on one store (1)")
    parser.add_argument("--seconds", type=float, default=40.0, help="drive duration (40)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds not measured (5)")
    parser.add_argument("--channels", type=int, default=3, help="Slack channels (3)")
    parser.add_argument(
        "--overload", type=float, default=1.25, help="drive rate / permitted rate (1.25)"
    )
    parser.add_argument("--slack-burst", type=int, default=3, help="FakeSlack's burst (3)")
    parser.add_argument("--vonage-burst", type=int, default=30, help="FakeVonage's burst (30)")
    args = parser.parse_args()
    if args.instances > 1 and not (args.redis_url and args.database_url):
        parser.error("--instances above 1 needs --database-url (PostgreSQL) and --redis-url")
    if args.seconds <= args.settle or args.overload <= 1 or args.channels < 1:
        parser.error("need --seconds > --settle, --overload > 1 and --channels >= 1")
    return run_bench(args, measure, render, log_level=logging.ERROR)


if __name__ == "__main__":
    sys.exit(main())
