"""What the bridge does when Slack or Vonage fail, and when a webhook is bad."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, make_url, select

from bridge.domain.work import PostHeader, SendSms
from bridge.fakes.slack_payloads import event_callback_body, message_event, slack_signature_headers
from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.store.dispatcher import RetryPolicy
from bridge.store.models import Message, OutboxJob
from tests.conftest import INBOX, OUR_NUMBER, SIGNING_SECRET, STAFF, LiveBridge

CONTACT = "+447700900123"
# Retries in tens of milliseconds, so a test can watch several of them.
FAST_RETRIES = RetryPolicy(max_attempts=5, base_delay=0.05, max_delay=0.2)


@pytest.fixture
async def fast_live(start_live) -> LiveBridge:
    """As `live`, but the outbox backs off in milliseconds instead of seconds."""
    return await start_live(retry_policy=FAST_RETRIES)


def inbound(text: str, *, message_id: str, to: str = OUR_NUMBER) -> dict[str, str]:
    return sms_inbound_params(
        msisdn=CONTACT.removeprefix("+"), to=to.removeprefix("+"), text=text, message_id=message_id
    )


async def open_case(live: LiveBridge, text: str = "Hello", *, message_id: str = "0A01") -> str:
    """A contact texts in; returns the case thread's ts once header and text are posted."""
    response = await live.vonage_webhook("/vonage/inbound", inbound(text, message_id=message_id))
    assert response.status == 200
    await live.drained()
    return live.slack.messages(INBOX)[0]["ts"]


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 (the store is what we wait on)
            await asyncio.sleep(0.02)


async def count_messages(live: LiveBridge) -> int:
    async with live.bridge.db.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def jobs(live: LiveBridge, kind: str) -> list[OutboxJob]:
    async with live.bridge.db.reading() as session:
        found = await session.scalars(select(OutboxJob).where(OutboxJob.kind == kind))
        return list(found)


# -- Vonage refuses or throttles a send ------------------------------------------------------


@pytest.mark.parametrize(
    ("sms_status", "plain_words"),
    [("6", "unknown number prefix"), ("29", "not whitelisted")],
    ids=["invalid-message", "non-whitelisted-destination"],
)
async def test_a_send_vonage_refuses_for_good_is_not_retried_and_staff_are_told(
    live: LiveBridge, sms_status: str, plain_words: str
) -> None:
    thread = await open_case(live)
    live.vonage.fail_next(sms_status=sms_status)  # once: a retry would go through

    reply = await live.staff_reply(thread, "Your appointment is at 3pm")
    assert reply.status == 200
    staff_ts = next(m["ts"] for m in live.slack.thread(INBOX, thread) if m["user"] == STAFF)

    reactions = await live.slack.wait_for("reactions.add")
    assert [(r.params["timestamp"], r.params["name"]) for r in reactions] == [(staff_ts, "x")]

    def notes() -> list[str]:
        later = [m for m in live.slack.thread(INBOX, thread) if float(m["ts"]) > float(staff_ts)]
        return [m["text"] for m in later if m["user"] == live.slack.bot_user_id]

    await live.slack.wait_until(lambda: bool(notes()))
    [note] = notes()
    assert "not delivered" in note and plain_words in note
    assert "+44 7700 900123" in note
    await live.drained()
    assert live.vonage.sends == []
    [send_job] = await jobs(live, SendSms.kind)
    assert (send_job.status, send_job.attempts) == ("dead", 1)
    async with live.bridge.db.reading() as session:
        sent = await session.scalar(select(Message).where(Message.direction == "outbound"))
    assert sent is not None and sent.status == "failed"


@pytest.mark.parametrize(
    "failure",
    [{"sms_status": "1"}, {"http_status": 429}, {"http_status": 500}],
    ids=["sms-api-throttled", "http-429", "http-500"],
)
async def test_a_throttled_send_is_retried_and_sent_once(
    fast_live: LiveBridge, failure: dict
) -> None:
    live = fast_live
    thread = await open_case(live)
    live.vonage.fail_next(times=2, **failure)

    await live.staff_reply(thread, "We are open until 6")

    sends = await live.vonage.wait_for_sends(1)
    await live.drained()
    assert len(sends) == 1 and sends[0].text.startswith("We are open until 6")
    assert live.vonage.sends == sends
    [send_job] = await jobs(live, SendSms.kind)
    assert (send_job.status, send_job.attempts) == ("done", 3)
    assert live.slack.calls("reactions.add") == []


# -- Slack rate-limits or refuses a post ------------------------------------------------------


async def test_a_rate_limited_post_waits_for_retry_after_and_posts_once(
    fast_live: LiveBridge,
) -> None:
    live = fast_live
    live.slack.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=1)

    await live.vonage_webhook("/vonage/inbound", inbound("Busy day?", message_id="0B01"))

    posts = await live.slack.wait_for("chat.postMessage", count=2)
    limited, header = posts[0], posts[1]
    assert (limited.status, limited.error) == (429, "ratelimited")
    assert header.status == 200 and "blocks" in header.params
    assert 0.9 <= header.at - limited.at < 5.0  # waited Retry-After, then went at once
    await live.drained()
    assert len(live.slack.calls("chat.postMessage")) == 2
    assert len(live.slack.messages(INBOX)) == 1
    assert live.shown_texts() == ["Busy day?"]


async def test_a_rate_limited_header_redraw_holds_no_text_back(fast_live: LiveBridge) -> None:
    # Slack limits chat.update apart from chat.postMessage: its 429 pauses redraws only.
    live = fast_live
    await open_case(live, "First")
    live.slack.fail_next("chat.update", error="ratelimited", status=429, retry_after=3)
    await live.vonage_webhook("/vonage/inbound", inbound("Second", message_id="0A02"))
    [refused] = await live.slack.wait_for("chat.update", count=1)
    assert refused.status == 429

    await live.vonage_webhook("/vonage/inbound", inbound("Third", message_id="0A03"))
    await live.slack.wait_until(lambda: "Third" in live.shown_texts(), what="Third shown")
    [third] = [c for c in live.slack.calls("chat.postMessage") if "Third" in str(c.params)]
    assert third.at - refused.at < 2.0, "the text waited out the redraw's Retry-After"
    redraws = await live.slack.wait_for("chat.update", count=2, timeout=8)
    assert redraws[1].status == 200 and redraws[1].at - refused.at >= 2.9  # waited it out
    assert live.shown_texts() == ["First", "Second", "Third"]


async def test_a_header_slack_refuses_for_good_is_a_dead_job(live: LiveBridge) -> None:
    # A refusal nobody can lift by inviting the bot or replacing a token (those wait:
    # tests/test_recovery.py).
    live.slack.fail_next("chat.postMessage", error="invalid_blocks")

    await live.vonage_webhook("/vonage/inbound", inbound("Anyone there?", message_id="0C01"))

    async def header_dead() -> bool:
        return [j.status for j in await jobs(live, PostHeader.kind)] == ["dead"]

    await eventually(header_dead)
    metrics = await live.scrape()
    assert metrics[("smschat_outbox_dead", ())] >= 1
    dead = ("smschat_outbox_jobs_total", (("kind", PostHeader.kind), ("outcome", "dead")))
    assert metrics[dead] == 1
    [header_job] = await jobs(live, PostHeader.kind)
    assert header_job.attempts == 1 and "invalid_blocks" in (header_job.last_error or "")
    assert [c.error for c in live.slack.calls("chat.postMessage")][:1] == ["invalid_blocks"]


async def test_a_text_waiting_behind_a_header_that_gave_up_posts_it_and_shows_once(
    fast_live: LiveBridge,
) -> None:
    live = fast_live
    live.slack.fail_next("chat.postMessage", error="internal_error", times=5)  # every try
    await live.vonage_webhook("/vonage/inbound", inbound("Anyone there?", message_id="0C11"))
    await live.vonage_webhook("/vonage/inbound", inbound("Still there?", message_id="0C12"))
    await live.drained()
    # The texts' posts found no thread and no header on its way: the first posted the
    # header, which shows both texts, and neither text was posted a second time.
    assert [j.status for j in await jobs(live, PostHeader.kind)] == ["dead"]
    assert live.shown_texts() == ["Anyone there?", "Still there?"]
    assert len(live.slack.messages(INBOX)) == 1


# -- Bad requests from Slack ------------------------------------------------------------------


def _signed_wrongly(body: bytes) -> dict[str, str]:
    return slack_signature_headers("0" * 32, body)


def _unsigned(_body: bytes) -> dict[str, str]:
    return {}


def _stale(body: bytes) -> dict[str, str]:
    return slack_signature_headers(SIGNING_SECRET, body, timestamp=int(time.time()) - 6 * 60)


def _signature_of_other_body(body: bytes) -> dict[str, str]:
    return slack_signature_headers(SIGNING_SECRET, body + b" ")


@pytest.mark.parametrize(
    "headers_for",
    [_signed_wrongly, _unsigned, _stale, _signature_of_other_body],
    ids=["wrong-secret", "no-signature", "stale-timestamp", "body-tampered"],
)
async def test_a_slack_request_failing_verification_is_refused_and_not_stored(
    live: LiveBridge, headers_for
) -> None:
    thread = await open_case(live)
    stored_before = await count_messages(live)
    posted = await live.slack.post_as_user(INBOX, STAFF, "Forged reply", thread_ts=thread)
    event = message_event(INBOX, STAFF, "Forged reply", posted["ts"], thread_ts=thread)
    body = json.dumps(event_callback_body(event, event_id="Ev0FORGED1")).encode()

    response = await live.http.post(
        f"{live.url}/slack/events",
        data=body,
        headers={"Content-Type": "application/json", **headers_for(body)},
    )

    assert response.status == 401
    await live.drained()
    assert await count_messages(live) == stored_before
    assert live.vonage.sends == []


# -- Bad webhooks from Vonage -----------------------------------------------------------------


def _without(field: str) -> tuple[str, bytes]:
    params = inbound("Hello", message_id="0D01")
    del params[field]
    return "application/x-www-form-urlencoded", urlencode(params).encode()


BAD_WEBHOOKS = [
    (*_without("msisdn"), 400, "msisdn"),
    (*_without("to"), 400, "to"),
    (*_without("messageId"), 400, "messageId"),
    ("application/json", b'{"msisdn": "447700900123", "to": ', 400, "JSON"),
    ("application/json", b'["msisdn", "to"]', 400, "object"),
    ("text/plain", b"msisdn=447700900123&to=447700900000", 415, "content type"),
    ("application/x-www-form-urlencoded", b"text=" + b"a" * (300 * 1024), 413, None),
]


@pytest.mark.parametrize(
    ("content_type", "body", "status", "reason"),
    BAD_WEBHOOKS,
    ids=[
        "no-msisdn",
        "no-to",
        "no-message-id",
        "malformed-json",
        "json-not-an-object",
        "unsupported-content-type",
        "body-over-256-kib",
    ],
)
async def test_a_bad_vonage_webhook_is_refused_with_a_reason_and_not_stored(
    live: LiveBridge, content_type: str, body: bytes, status: int, reason: str | None
) -> None:
    response = await live.http.post(
        f"{live.url}/vonage/inbound", data=body, headers={"Content-Type": content_type}
    )

    assert response.status == status
    if reason is not None:
        answer = await response.json()
        assert reason in answer["error"]
    assert await count_messages(live) == 0
    await live.drained()
    assert live.slack.calls("chat.postMessage") == []


@pytest.mark.parametrize(
    ("to", "warned"),
    [(OUR_NUMBER, False), ("+447700900999", True)],
    ids=["configured-number", "number-not-configured"],
)
async def test_a_text_to_a_number_we_do_not_list_is_posted_with_a_warning(
    live: LiveBridge, to: str, warned: bool
) -> None:
    response = await live.vonage_webhook(
        "/vonage/inbound", inbound("Wrong door?", message_id="0E01", to=to)
    )

    assert response.status == 200
    [header] = [c.params for c in await live.slack.wait_for("chat.postMessage")]
    await live.drained()
    assert live.shown_texts() == ["Wrong door?"]
    blocks = json.dumps(header["blocks"])
    assert ("not one of this bridge's numbers" in blocks) is warned
    assert ("+44 7700 900999" in blocks) is warned


async def test_a_text_with_a_nul_character_is_taken_and_posted(live: LiveBridge) -> None:
    """U+0000 is valid JSON and valid UCS-2; PostgreSQL text columns refuse it."""
    params = inbound("Tab\tand nul\x00end", message_id="0G01")

    response = await live.vonage_webhook("/vonage/inbound", params, as_="json")

    assert response.status == 200
    await live.drained()
    [shown] = live.shown_texts()
    assert shown.startswith("Tab\tand nul")
    assert await count_messages(live) == 1


# -- Health and metrics -----------------------------------------------------------------------


async def test_healthz_answers_ok_with_the_store_up(live: LiveBridge) -> None:
    response = await live.http.get(f"{live.url}/healthz")

    assert response.status == 200
    assert await response.json() == {"ok": True, "store": "ok"}


async def test_metrics_count_inbound_texts_in_prometheus_text(live: LiveBridge) -> None:
    for text, message_id in [("one", "0F01"), ("two", "0F02"), ("one", "0F01")]:
        response = await live.vonage_webhook(
            "/vonage/inbound", inbound(text, message_id=message_id)
        )
        assert response.status == 200

    response = await live.http.get(f"{live.url}/metrics")

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(await response.text())}
    assert families["smschat_messages_in"].type == "counter"
    assert (await live.scrape())[("smschat_messages_in_total", ())] == 2


async def test_webhooks_are_kept_after_the_server_dropped_the_stores_connections(
    live: LiveBridge, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a SQLite file has no server to drop connections")

    async def drop_the_bridges() -> None:
        """What a restarted server does to every connection in the bridge's pool."""
        admin = await asyncpg.connect(
            make_url(database_url).set(drivername="postgresql").render_as_string(False)
        )
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()

    for number, word in enumerate(["first", "second", "third"]):
        if word == "third":
            await drop_the_bridges()
            await asyncio.sleep(1.1)  # idle long enough to be pinged before use
        response = await live.vonage_webhook(
            "/vonage/inbound", inbound(word, message_id=f"0D0{number}")
        )
        assert response.status == 200, word
        if word == "first":
            # Once the bridge is idle, at once after its connections were used: the pool
            # takes them as alive, and the webhook's is the first to fail.
            await live.drained()
            await drop_the_bridges()
    await live.drained()
    thread = live.slack.thread(INBOX, live.slack.messages(INBOX)[0]["ts"])
    shown = "\n".join(m["text"] for m in thread)  # texts waiting together share a post
    assert re.search(r"first.*second.*third", shown, re.DOTALL), shown
    assert await count_messages(live) == 3
