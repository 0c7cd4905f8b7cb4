"""A job cut off mid-call runs again without doing its work twice.

A bridge is stopped (its worker cancelled, as a dead process's would be) while the fake
Slack or Vonage has done what it was asked but its answer is held back; a second bridge on
the same store runs the job again. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from bridge.app import build_bridge, build_web_app
from bridge.errors import SendError
from bridge.fakes import FakeSlack, FakeVonage, TestTls
from bridge.fakes.clock import ShiftedClock
from bridge.fakes.vonage_api import (
    messages_status_json,
    sms_inbound_params,
    sms_receipt_params,
)
from bridge.routing.jobs import RECEIPT_WAIT
from bridge.routing.model import MessageStatus
from bridge.slack.poster import HEADER_EVENT_TYPE, POSTING_EVENT_TYPE
from bridge.sms.webhooks import parse_receipt
from bridge.store.db import Database
from bridge.store.models import Case, CaseMessage, EarlyReceipt, Message, OutboxJob
from bridge.store.outbox import ClaimedJob, Dispatcher, Outbox
from tests.bridge_process import AnswerHolder
from tests.conftest import BOT_TOKEN, INBOX, OUR_NUMBER, LiveBridge

CONTACT = "447700900555"


@pytest.fixture
async def crashing_bridges(
    make_settings, fake_slack: FakeSlack, fake_vonage: FakeVonage, free_port: int
) -> AsyncIterator[Callable[..., Awaitable[tuple[LiveBridge, Callable]]]]:
    """Start bridges one after another on one store and one port; each can be 'crashed'."""
    running: list[Callable[[], Awaitable[None]]] = []

    async def start(clock: ShiftedClock, **extra: str) -> tuple[LiveBridge, Callable]:
        bridge = await build_bridge(make_settings(**extra), clock=clock)
        runner = web.AppRunner(build_web_app(bridge))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", free_port).start()
        await bridge.start_background()
        http = aiohttp.ClientSession()
        url = f"http://127.0.0.1:{free_port}"
        live = LiveBridge(bridge, url, http, fake_slack, fake_vonage)

        async def crash() -> None:
            """Stop at once: the job in hand is cut off where it is and stays 'running'."""
            running.remove(crash)
            await bridge.close(grace=0)
            await runner.cleanup()
            await http.close()

        running.append(crash)
        return live, crash

    yield start
    for crash in list(running):
        await crash()


async def until(check: Callable[[], Awaitable[bool] | bool], *, within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while True:
            result = check()
            if await result if isinstance(result, Awaitable) else result:
                return
            await asyncio.sleep(0.02)


async def text_in(live: LiveBridge, text: str, message_id: str) -> None:
    params = sms_inbound_params(
        msisdn=CONTACT, to=OUR_NUMBER.removeprefix("+"), text=text, message_id=message_id
    )
    response = await live.vonage_webhook("/vonage/inbound", params)
    assert response.status == 200


def carries(event_type: str) -> Callable[[str, bytes], bool]:
    return lambda path, body: path.endswith("/chat.postMessage") and event_type.encode() in body


def bot_replies(slack: FakeSlack, thread_ts: str) -> list[dict[str, Any]]:
    return [m for m in slack.thread(INBOX, thread_ts)[1:] if m.get("user") == slack.bot_user_id]


async def test_a_post_cut_off_mid_call_is_found_not_posted_again(
    crashing_bridges, fake_slack: FakeSlack, db: Database
) -> None:
    clock = ShiftedClock()
    origin = fake_slack.base_url.removesuffix("/api/")
    async with AnswerHolder(origin, holds=carries(POSTING_EVENT_TYPE)) as holder:
        holder.armed = True
        first, crash = await crashing_bridges(clock, SLACK_API_URL=f"http://{holder.host}/api/")
        await text_in(first, "Are you open today?", "0E000001")
        await until(lambda: bool(holder.held))
        await until(lambda: len(fake_slack.calls("chat.postMessage")) == 2)
        await crash()

    second, _ = await crashing_bridges(clock)
    await second.drained()

    [header] = fake_slack.messages(INBOX)
    [posted] = bot_replies(fake_slack, header["ts"])
    assert posted["text"] == "Are you open today?"
    assert len(fake_slack.calls("chat.postMessage")) == 2
    [lookup] = fake_slack.calls("conversations.replies")
    assert lookup.params["include_all_metadata"] in ("1", "true")
    async with db.reading() as session:
        shown_at = await session.scalar(select(CaseMessage.slack_ts))
        attempts = await session.scalar(
            select(OutboxJob.attempts).where(OutboxJob.kind == "slack.post_message")
        )
    assert shown_at == posted["ts"]
    assert attempts == 2


async def test_a_header_cut_off_mid_call_is_found_and_its_thread_used(
    crashing_bridges, fake_slack: FakeSlack, db: Database
) -> None:
    clock = ShiftedClock()
    origin = fake_slack.base_url.removesuffix("/api/")
    async with AnswerHolder(origin, holds=carries(HEADER_EVENT_TYPE)) as holder:
        holder.armed = True
        first, crash = await crashing_bridges(clock, SLACK_API_URL=f"http://{holder.host}/api/")
        await text_in(first, "Hello?", "0E000002")
        await until(lambda: bool(holder.held))
        await until(lambda: len(fake_slack.messages(INBOX)) == 1)
        await crash()

    second, _ = await crashing_bridges(clock)
    await second.drained()

    [header] = fake_slack.messages(INBOX)
    assert [m["text"] for m in bot_replies(fake_slack, header["ts"])] == ["Hello?"]
    assert len(fake_slack.calls("conversations.history")) == 1
    async with db.reading() as session:
        assert await session.scalar(select(Case.thread_ts)) == header["ts"]


@pytest.fixture
async def held_vonage(fake_vonage: FakeVonage, tls: TestTls) -> AsyncIterator[AnswerHolder]:
    async with AnswerHolder(
        f"https://{fake_vonage.host}",
        holds=lambda path, _body: path == "/sms/json",
        server_ssl=tls.server_ssl_context(),
        client_ssl=tls.client_ssl_context(),
    ) as holder:
        yield holder


async def start_conversation(
    crashing_bridges, clock: ShiftedClock, vonage_host: str
) -> tuple[LiveBridge, Callable]:
    """A bridge sending through `vonage_host`, with a case thread open for CONTACT."""
    live, crash = await crashing_bridges(
        clock, VONAGE_REST_HOST=vonage_host, VONAGE_API_HOST=vonage_host
    )
    await text_in(live, "Can I book for Friday?", "0E000010")
    await live.drained()
    return live, crash


async def test_a_send_cut_off_mid_call_is_recorded_from_its_receipt_not_sent_again(
    crashing_bridges,
    fake_slack: FakeSlack,
    fake_vonage: FakeVonage,
    held_vonage: AnswerHolder,
    db: Database,
) -> None:
    clock = ShiftedClock()
    first, crash = await start_conversation(crashing_bridges, clock, held_vonage.host)
    fake_vonage.send_receipts_to(f"{first.url}/vonage/status")
    held_vonage.armed = True
    [header] = fake_slack.messages(INBOX)
    assert (await first.staff_reply(header["ts"], "Yes, Friday is fine")).status == 200
    await fake_vonage.wait_for_sends(1)

    async def receipt_kept() -> bool:
        async with db.reading() as session:
            return await session.scalar(select(EarlyReceipt.client_ref)) is not None

    await until(lambda: bool(held_vonage.held))
    await until(receipt_kept)  # the receipt came while the send's answer never did
    await crash()

    second, _ = await crashing_bridges(clock)
    await second.drained()

    [send] = fake_vonage.sends
    assert send.client_ref is not None and send.client_ref.startswith("smschat-")
    async with db.reading() as session:
        reply = await session.scalar(select(Message).where(Message.author.is_not(None)))
    assert reply is not None
    assert (reply.status, reply.provider_message_id) == (
        MessageStatus.DELIVERED,
        send.message_ids[0],
    )
    reply_post = fake_slack.thread(INBOX, header["ts"])[-1]
    assert [r["name"] for r in reply_post.get("reactions", [])] == ["white_check_mark"]


async def test_a_send_that_never_left_is_sent_once_after_the_receipt_wait(
    crashing_bridges, fake_slack: FakeSlack, fake_vonage: FakeVonage, tls: TestTls, db: Database
) -> None:
    clock = ShiftedClock()
    async with AnswerHolder(
        f"https://{fake_vonage.host}",
        holds=lambda path, _body: path == "/sms/json",
        server_ssl=tls.server_ssl_context(),
        client_ssl=tls.client_ssl_context(),
        reach_target=False,
    ) as swallowing:
        first, crash = await start_conversation(crashing_bridges, clock, swallowing.host)
        swallowing.armed = True
        [header] = fake_slack.messages(INBOX)
        assert (await first.staff_reply(header["ts"], "See you then")).status == 200
        await until(lambda: bool(swallowing.held))
        await crash()
    async with db.reading() as session:
        started_ref = await session.scalar(
            select(Message.send_ref).where(Message.author.is_not(None))
        )
    assert started_ref is not None and fake_vonage.sends == []

    clock.advance(RECEIPT_WAIT)  # no receipt came in all that time: it never went out
    second, _ = await crashing_bridges(clock)
    await second.drained()

    [send] = fake_vonage.sends
    assert send.text.startswith("See you then")
    assert send.client_ref not in (None, started_ref)
    async with db.reading() as session:
        status = await session.scalar(select(Message.status).where(Message.author.is_not(None)))
    assert status == MessageStatus.SUBMITTED


class Recording:
    """A job handler that notes how each job was run."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, int]] = []

    async def run(self, payload: dict[str, Any]) -> None:
        self.runs.append(("run", payload["n"]))

    async def run_again(self, payload: dict[str, Any]) -> None:
        self.runs.append(("run_again", payload["n"]))

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        raise AssertionError("no job here fails")


async def enqueue(db: Database, n: int) -> None:
    async with db.transaction() as session:
        session.add(OutboxJob(kind="note", queue=f"q{n}", payload={"n": n}))


async def test_a_job_claimed_again_after_its_lease_ran_out_runs_as_a_rerun(db: Database) -> None:
    clock = ShiftedClock()
    outbox = Outbox(db, lease=timedelta(seconds=30), clock=clock)
    handler = Recording()
    dispatcher = Dispatcher(outbox, {"note": handler})
    await enqueue(db, 1)
    first = await outbox.claim()
    assert first is not None
    await dispatcher.run_job(first)
    await enqueue(db, 2)
    lost = await outbox.claim()
    assert lost is not None and await outbox.claim() is None

    clock.advance(timedelta(seconds=31))  # its instance died: nobody renewed the lease
    again = await outbox.claim()
    assert again is not None and (again.id, again.attempts) == (lost.id, 2)
    assert not await outbox.renew(lost), "the dead claim no longer holds the job"
    assert await outbox.renew(again)
    await dispatcher.run_job(again)
    assert handler.runs == [("run", 1), ("run_again", 2)]


async def test_a_lease_is_renewed_while_its_job_runs(db: Database) -> None:
    """A handler that outlasts the lease keeps its job: no other instance takes it."""
    outbox = Outbox(db, lease=timedelta(seconds=2))
    rival = Outbox(db, lease=timedelta(seconds=2))
    release = asyncio.Event()
    taken_meanwhile: list[ClaimedJob | None] = []

    class Slow(Recording):
        async def run(self, payload: dict[str, Any]) -> None:
            await release.wait()

    dispatcher = Dispatcher(outbox, {"note": Slow()})
    await enqueue(db, 1)
    job = await outbox.claim()
    assert job is not None
    running = asyncio.create_task(dispatcher.run_job(job))
    for _ in range(4):  # 2.4 s in all: past the 2 s lease
        await asyncio.sleep(0.6)
        taken_meanwhile.append(await rival.claim())
    release.set()
    await running
    assert taken_meanwhile == [None] * 4
    async with db.reading() as session:
        assert await session.scalar(select(OutboxJob.status)) == "done"


@pytest.mark.parametrize(
    ("params", "client_ref"),
    [
        (
            sms_receipt_params(
                message_id="0C1", msisdn="447700900555", to="447700900000", status="delivered"
            )
            | {"client-ref": "smschat-7-ab12"},
            "smschat-7-ab12",
        ),
        (
            sms_receipt_params(
                message_id="0C1", msisdn="447700900555", to="447700900000", status="delivered"
            ),
            None,
        ),
        (
            sms_receipt_params(
                message_id="0C1", msisdn="447700900555", to="447700900000", status="delivered"
            )
            | {"client-ref": "x" * 41},
            None,
        ),
        (
            messages_status_json(
                message_uuid="aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
                to="447700900555",
                from_="447700900000",
                status="delivered",
            )
            | {"client_ref": "smschat-8-cd34"},
            "smschat-8-cd34",
        ),
    ],
    ids=["sms-api", "sms-api-without", "too-long-to-be-ours", "messages-api"],
)
def test_receipts_bring_back_the_client_ref(params: dict[str, Any], client_ref: str | None):
    assert parse_receipt(params).client_ref == client_ref


async def test_fake_slack_returns_metadata_only_when_asked_and_pages(fake_slack: FakeSlack):
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {BOT_TOKEN}"}) as http:

        async def call(method: str, **params: Any) -> dict[str, Any]:
            async with http.post(f"{fake_slack.base_url}{method}", json=params) as response:
                return await response.json()

        mark = {"event_type": "smschat_posting", "event_payload": {"case_id": 1, "message_id": 2}}
        parent = await call("chat.postMessage", channel=INBOX, text="header")
        for n in range(3):
            await call(
                "chat.postMessage",
                channel=INBOX,
                text=f"r{n}",
                thread_ts=parent["ts"],
                metadata=mark,
            )
        plain = await call("conversations.replies", channel=INBOX, ts=parent["ts"])
        assert all("metadata" not in m for m in plain["messages"])
        first = await call(
            "conversations.replies",
            channel=INBOX,
            ts=parent["ts"],
            include_all_metadata=True,
            limit=2,
        )
        assert [m["text"] for m in first["messages"]] == ["header", "r0", "r1"]
        assert first["messages"][1]["metadata"] == mark and first["has_more"]
        rest = await call(
            "conversations.replies",
            channel=INBOX,
            ts=parent["ts"],
            cursor=first["response_metadata"]["next_cursor"],
            limit=2,
        )
        assert [m["text"] for m in rest["messages"]] == ["r2"]
        assert rest["response_metadata"]["next_cursor"] == ""
        history = await call("conversations.history", channel=INBOX, oldest=parent["ts"])
        assert history["messages"] == []  # `oldest` is exclusive unless `inclusive`
