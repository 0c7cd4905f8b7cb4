"""A storm of texts from new phones against Slack's real posting budget: how many Slack
calls does each text cost, and does every text arrive once, in order?

    python bench/storm.py [--database-url URL] [--phones N] [--texts-per-phone K]
                          [--kill-after M] [--json]

Starts the bridge as its own process (as bench/relay.py does) against a FakeSlack that answers
chat.postMessage with HTTP 429 beyond one post per second per channel with a burst of 3
(https://docs.slack.dev/apis/web-api/rate-limits), the bridge keeping its default budget of
the same. `N` new phones (150) each send `K` texts (2) at once, 32 at a time, to one
number and channel. Once every text is shown in Slack (or after `--patience` seconds) it
reports the Slack calls that change something (chat.postMessage and chat.update) per text,
how long the last text took to show, every text shown exactly once in its phone's order,
and the bridge process's CPU time per text.

With `--kill-after M` the bridge is killed (SIGKILL) once M webhooks were answered, and
started again at once; phones whose webhook found it down send again, as Vonage retries.
Its CPU time then includes the second start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import INBOX, bench_parser, cpu_seconds, machine, run_bench
from relay import FORM, start_rig

TARGET_CALLS_PER_TEXT = 0.6  # issue target: posts and updates together


async def storm(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    import aiohttp

    from bridge.fakes.reading import shown_texts

    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'storm.db'}"
    async with contextlib.AsyncExitStack() as stack:
        rig = await start_rig(url, workdir, stack, reset=args.reset_schema, limits={})
        rig.slack.rate_limit_per_channel(1.0, 3)
        phones = [f"4474009{n:05d}" for n in range(args.phones)]
        sent = {
            phone: [f"{phone} text {k}" for k in range(args.texts_per_phone)] for phone in phones
        }
        gate = asyncio.Semaphore(32)
        statuses: list[int] = []
        refused = 0  # webhooks that found the bridge down, sent again
        halfway = asyncio.Event()
        http = await stack.enter_async_context(aiohttp.ClientSession())

        async def deliver(phone: str, text: str) -> None:
            """One webhook, sent again until answered 200, as Vonage retries."""
            nonlocal refused
            body = rig.inbound_body(phone, text, uuid.uuid4().hex[:16].upper())
            while True:
                try:
                    async with (
                        gate,
                        http.post(
                            f"{rig.bridge_url}/vonage/inbound",
                            data=body,
                            headers={"Content-Type": FORM},
                        ) as response,
                    ):
                        statuses.append(response.status)
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    refused += 1
                await asyncio.sleep(0.2)
            if args.kill_after and len(statuses) >= args.kill_after:
                halfway.set()

        async def phone_writes(phone: str) -> None:
            for text in sent[phone]:  # one phone's texts in order, as a phone sends them
                await deliver(phone, text)

        cpu_before_kill = 0.0

        async def kill_and_start_again() -> None:
            nonlocal cpu_before_kill
            await halfway.wait()
            cpu_before_kill = cpu_seconds(rig.bridge.pid) - cpu0
            await rig.bridge.kill()
            await rig.bridge.start()

        def shown() -> list[str]:
            return [
                text
                for header in rig.slack.messages(INBOX)
                for text in shown_texts(rig.slack.thread(INBOX, header["ts"]))
            ]

        measured_on = machine()  # the load before the storm, not after it
        cpu0, start = cpu_seconds(rig.bridge.pid), time.perf_counter()
        killing = [kill_and_start_again()] if args.kill_after else []
        await asyncio.gather(*(phone_writes(phone) for phone in phones), *killing)
        taken = time.perf_counter() - start
        total = args.phones * args.texts_per_phone
        deadline = start + args.patience
        while len(shown()) < total and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)  # FakeSlack's store is what is waited on
        last_shown = time.perf_counter() - start
        await asyncio.sleep(2)  # a late duplicate or header update would show now
        cpu = cpu_seconds(rig.bridge.pid)  # since the last start, when it was killed
        cpu += cpu_before_kill if args.kill_after else -cpu0
        texts = shown()
        calls = rig.slack.calls()
        posts = sum(1 for c in calls if c.method == "chat.postMessage" and c.status == 200)
        limited = sum(1 for c in calls if c.method == "chat.postMessage" and c.status == 429)
        updates = sum(1 for c in calls if c.method == "chat.update")
        in_order = all([t for t in texts if t.startswith(phone)] == sent[phone] for phone in phones)
        return {
            "machine": measured_on,
            "backend": rig.backend,
            "texts": total,
            "phones": args.phones,
            "answered_200": statuses.count(200),
            "killed_after": args.kill_after or None,
            "sent_again": refused,
            "webhooks_seconds": round(taken, 2),
            "shown": len(texts),
            "shown_once_in_order": in_order and len(texts) == len(set(texts)) == total,
            "last_shown_after_s": round(last_shown, 1),
            "posts": posts,
            "updates": updates,
            "rate_limited_posts": limited,
            "slack_calls_per_text": round((posts + updates) / total, 3),
            "target_calls_per_text": TARGET_CALLS_PER_TEXT,
            "cpu_ms_per_text": round(cpu * 1000 / total, 2),
        }


def render(report: dict[str, Any]) -> str:
    r = report
    return "\n".join(
        [
            f"{r['backend']}, {r['machine']['cpu']}, load before {r['machine']['load_before']}",
            f"{r['texts']} texts from {r['phones']} new phones: {r['answered_200']} answered 200"
            f" in {r['webhooks_seconds']} s"
            + (
                f"; killed (SIGKILL) after {r['killed_after']} and started again,"
                f" {r['sent_again']} webhooks sent again"
                if r["killed_after"]
                else ""
            ),
            f"shown {r['shown']}, once each and in order: {r['shown_once_in_order']};"
            f" the last after {r['last_shown_after_s']} s",
            f"Slack calls per text: {r['slack_calls_per_text']}"
            f" (target ≤ {r['target_calls_per_text']}) = {r['posts']} posts"
            f" + {r['updates']} updates; {r['rate_limited_posts']} posts refused 429",
            "CPU per text (the bridge process"
            + (", with its second start-up" if r["killed_after"] else "")
            + f"): {r['cpu_ms_per_text']} ms",
        ]
    )


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--phones", type=int, default=150)
    parser.add_argument("--texts-per-phone", type=int, default=2)
    parser.add_argument("--patience", type=float, default=600.0)
    parser.add_argument(
        "--kill-after",
        type=int,
        default=0,
        help="kill the bridge (SIGKILL) once this many webhooks were answered, and start it again",
    )
    args = parser.parse_args()
    if not 0 <= args.kill_after < args.phones * args.texts_per_phone:
        parser.error("--kill-after must be below the number of texts")
    return run_bench(args, storm, render)


if __name__ == "__main__":
    raise SystemExit(main())
