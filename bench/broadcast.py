"""How fast does a large broadcast queue, how much of the Vonage budget does it use, and do
staff replies still leave at once?

    python bench/broadcast.py [--recipients N] [--seconds S] [--database-url URL] [--json]

Starts the real bridge (`python -m bridge run`, a child process) with its default Vonage
budget (VONAGE_REQUESTS_PER_SECOND=30) against FakeVonage throttling beyond 30 requests a
second (SMS API status 1 "Throttled"), with `N` contacts (default 10,000) holding
`tag=bench`. It opens one case (untimed), then:

* runs `/smschat broadcast to:tag=bench ...` as a signed slash command and times its
  answer: the whole audience checked and stored, the texts queued;
* counts the broadcast's texts the carrier took in a window of `S` seconds after a settle
  of two seconds, as a share of the budget, and the throttles met;
* meanwhile types a staff reply in the case's thread every second, and times each from
  the Slack event's answer to the carrier taking the reply.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import (
    BOT_TOKEN,
    INBOX,
    OUR_NUMBER,
    STAFF,
    bench_parser,
    bridge_process,
    bridge_values,
    machine,
    run_bench,
)
from relay import prepare_database

RATE = 30.0
CONTACT = "447400100000"  # the contact whose case staff reply in


async def add_audience(url: str, count: int) -> None:
    """`count` contacts with `tag=bench`, written in bulk (untimed set-up)."""
    from sqlalchemy import insert

    from bridge.store.db import Database
    from bridge.store.models import Contact, ContactNumber

    db = Database(url)
    try:
        async with db.transaction() as session:
            for start in range(0, count, 1000):
                chunk = range(start, min(count, start + 1000))
                ids = (
                    await session.scalars(
                        insert(Contact).returning(Contact.id),
                        [{"name": f"Bench {i}", "properties": {"tag": "bench"}} for i in chunk],
                    )
                ).all()
                await session.execute(
                    insert(ContactNumber),
                    [
                        {"contact_id": cid, "number": f"+4474005{i:05d}", "label": "Mobile"}
                        for cid, i in zip(ids, chunk, strict=True)
                    ],
                )
    finally:
        await db.close()


async def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from bridge.fakes import FakeSlack, FakeVonage, TestTls
    from bridge.fakes.slack_payloads import (
        event_callback_body,
        message_event,
        slash_command_form,
    )
    from bridge.fakes.slack_payloads import slack_signature_headers as signed
    from bridge.fakes.vonage_payloads import sms_inbound_params

    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    slack_secret, sms_secret, vonage_secret = (uuid.uuid4().hex for _ in range(3))
    report: dict[str, Any] = {"machine": machine(), "recipients": args.recipients}
    async with contextlib.AsyncExitStack() as stack:
        tls = TestTls()
        ca_bundle = tls.ca_bundle_path(workdir)
        slack = await stack.enter_async_context(FakeSlack(token=BOT_TOKEN))
        slack.add_user(STAFF, "dana", display_name="Dana")
        slack.add_channel(INBOX, "sms-inbox", members=[slack.bot_user_id, STAFF])
        vonage = await stack.enter_async_context(
            FakeVonage(tls=tls, api_key="benchbroadcast", api_secret=vonage_secret, balance=1e9)
        )
        report["backend"] = await prepare_database(url, reset=args.reset_schema)
        await add_audience(url, args.recipients)
        values = bridge_values(
            slack=slack,
            vonage=vonage,
            url=url,
            slack_secret=slack_secret,
            sms_secret=sms_secret,
            vonage_secret=vonage_secret,
            quiet_hours="",
            slack_posts_per_second=50,
        )
        bridge = bridge_process(values, log_path=workdir / "bridge.log", ca_bundle=ca_bundle)
        stack.push_async_callback(bridge.stop)
        await bridge.start()
        base = bridge.url
        http = await stack.enter_async_context(aiohttp.ClientSession())

        async def slack_post(body: bytes, content_type: str) -> Any:
            headers = {"Content-Type": content_type, **signed(slack_secret, body)}
            async with http.post(f"{base}/slack/events", data=body, headers=headers) as answer:
                return answer.status, await answer.text()

        # The staff's case: one inbound text, its header posted.
        params = sms_inbound_params(
            msisdn=CONTACT,
            to=OUR_NUMBER,
            text="Hello",
            message_id=uuid.uuid4().hex,
            api_key=vonage.api_key,
            signature_secret=sms_secret,
            signature_method="sha256",
        )
        async with http.post(
            f"{base}/vonage/inbound",
            data=urlencode(params),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ) as answer:
            assert answer.status == 200, await answer.text()
        await slack.wait_until(lambda: bool(slack.messages(INBOX)), timeout=30, what="a case")
        thread_ts = slack.messages(INBOX)[0]["ts"]
        vonage.rate_limit(per_second=RATE, burst=int(RATE))

        form = slash_command_form("/smschat", "broadcast to:tag=bench Bench news", STAFF, INBOX)
        started = time.perf_counter()
        status, answer_text = await slack_post(
            urlencode(form).encode(), "application/x-www-form-urlencoded"
        )
        report["queue_seconds"] = round(time.perf_counter() - started, 3)
        assert status == 200, answer_text
        answer = json.loads(answer_text) if answer_text.startswith("{") else {"text": answer_text}
        report["queue_answer"] = answer.get("text", "")[:200]

        broadcast_sends = lambda: sum(s.text.startswith("Bench news") for s in vonage.sends)  # noqa: E731
        await asyncio.sleep(2.0)  # the fake's first burst does not count
        throttled_before, sent_before = vonage.rate_limited_count, broadcast_sends()
        window_start = time.perf_counter()
        latencies: list[float] = []
        for k in range(int(args.seconds)):
            text = f"Staff reply {k}"
            posted = await slack.post_as_user(INBOX, STAFF, text, thread_ts=thread_ts)
            event = message_event(INBOX, STAFF, text, posted["ts"], thread_ts=thread_ts)
            asked = time.time()
            await slack_post(json.dumps(event_callback_body(event)).encode(), "application/json")
            tick = window_start + k + 1
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline:
                went = [s for s in vonage.sends if s.text.startswith(text)]
                if went:
                    latencies.append(went[0].at - asked)
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(max(0.0, tick - time.perf_counter()))
        elapsed = time.perf_counter() - window_start
        sent = broadcast_sends() - sent_before
        replies = len(latencies)
        report["window_seconds"] = round(elapsed, 2)
        report["broadcast_per_second"] = round(sent / elapsed, 2)
        # The staff replies spend the same budget: together they are what Vonage allowed.
        report["budget_share"] = round((sent + replies) / elapsed / RATE, 3)
        report["broadcast_share"] = round(sent / elapsed / RATE, 3)
        report["throttled"] = vonage.rate_limited_count - throttled_before
        report["replies"] = replies
        report["reply_seconds_median"] = round(statistics.median(latencies), 3)
        report["reply_seconds_max"] = round(max(latencies), 3)
    return report


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    return "\n".join(
        [
            f"broadcast to {report['recipients']} recipients · {report['backend']} · "
            f"{m['cpu']} ({m['cores']} cores), load {m['load_before']}",
            f"queued in {report['queue_seconds']} s: {report['queue_answer']}",
            f"sending: {report['broadcast_per_second']}/s of the broadcast over "
            f"{report['window_seconds']} s = {report['broadcast_share']:.1%} of the "
            f"{RATE:.0f}/s budget ({report['budget_share']:.1%} with the staff replies); "
            f"throttled {report['throttled']} time(s)",
            f"staff replies: {report['replies']}, from the Slack event to the carrier: median "
            f"{report['reply_seconds_median']} s, slowest {report['reply_seconds_max']} s",
        ]
    )


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    return run_bench(parser.parse_args(), measure, render)


if __name__ == "__main__":
    sys.exit(main())
