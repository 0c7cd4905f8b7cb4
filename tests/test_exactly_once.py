"""A job cut off mid-call runs again without doing its work twice.

A `python -m bridge run` is killed (SIGKILL) while the fake Slack or Vonage has done what it
was asked but its answer is held back; a second bridge on the same store runs the job
again. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bridge.domain.events import receipt_event
from bridge.domain.values import MessageStatus
from bridge.errors import SendError
from bridge.fakes import FakeSlack, FakeVonage, TestTls
from bridge.fakes.clock import ShiftedClock
from bridge.fakes.process import BridgeProcess
from bridge.fakes.reading import shown_texts
from bridge.fakes.slack_payloads import event_callback_body, message_event, slack_signature_headers
from bridge.fakes.vonage_payloads import (
    messages_status_json,
    sms_inbound_params,
    sms_receipt_params,
)
from bridge.jobs.sms_sends import RECEIPT_POLL_SECONDS, RECEIPT_WAIT
from bridge.slack.marks import HEADER_EVENT_TYPE, POSTING_EVENT_TYPE
from bridge.sms.webhooks import parse_receipt
from bridge.store.db import Database
from bridge.store.dispatcher import Dispatcher
from bridge.store.inbox import InboxWriter
from bridge.store.models import (
    Case,
    CaseMessage,
    EarlyReceipt,
    InboxEventRow,
    Message,
    OutboxJob,
)
from bridge.store.outbox import ClaimedJob, Outbox
from tests.bridge_process import REPO_ROOT, AnswerHolder, until
from tests.conftest import BOT_TOKEN, INBOX, OUR_NUMBER, SIGNING_SECRET, STAFF, bridge_env
from tests.test_media import media_webhook, png

CONTACT = "447700900555"


@pytest.fixture
async def doomed(
    database_url: str,
    fake_slack: FakeSlack,
    fake_vonage: FakeVonage,
    ca_bundle: Path,
    free_port: int,
    tmp_path: Path,
) -> AsyncIterator[Callable[..., Awaitable[BridgeProcess]]]:
    """Start `python -m bridge run` on the test's store, to be killed with SIGKILL."""
    started: list[BridgeProcess] = []

    async def start(**extra: str) -> BridgeProcess:
        env = bridge_env(
            database_url=database_url,
            slack=fake_slack,
            vonage=fake_vonage,
            HOST="127.0.0.1",
            PORT=str(free_port),
            SSL_CERT_FILE=str(ca_bundle),
            **extra,
        )
        process = BridgeProcess(env, cwd=REPO_ROOT, log_path=tmp_path / "doomed.log")
        started.append(process)
        await process.start()
        return process

    yield start
    for process in started:
        await process.kill()


async def text_in(url: str, text: str, message_id: str) -> None:
    params = sms_inbound_params(
        msisdn=CONTACT, to=OUR_NUMBER.removeprefix("+"), text=text, message_id=message_id
    )
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/vonage/inbound", data=params) as response,
    ):
        assert response.status == 200


async def staff_reply(url: str, slack: FakeSlack, thread_ts: str, text: str) -> None:
    """A person types in the thread: Slack stores it, then sends the bridge the event."""
    posted = await slack.post_as_user(INBOX, STAFF, text, thread_ts=thread_ts)
    event = message_event(INBOX, STAFF, text, posted["ts"], thread_ts=thread_ts)
    body = json.dumps(event_callback_body(event)).encode()
    headers = {"Content-Type": "application/json", **slack_signature_headers(SIGNING_SECRET, body)}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/slack/events", data=body, headers=headers) as response,
    ):
        assert response.status == 200


def carries(event_type: str) -> Callable[[str, bytes], bool]:
    return lambda path, body: path.endswith("/chat.postMessage") and event_type.encode() in body


def bot_replies(slack: FakeSlack, thread_ts: str) -> list[dict[str, Any]]:
    return [m for m in slack.thread(INBOX, thread_ts)[1:] if m.get("user") == slack.bot_user_id]


async def test_a_post_cut_off_mid_call_is_found_not_posted_again(
    doomed, start_live, fake_slack: FakeSlack, db: Database
) -> None:
    origin = fake_slack.base_url.removesuffix("/api/")
    async with AnswerHolder(origin, holds=carries(POSTING_EVENT_TYPE)) as holder:
        first = await doomed(SLACK_API_URL=f"http://{holder.host}/api/")
        await text_in(first.url, "Hello?", "0E000001")
        await until(lambda: len(fake_slack.calls("chat.postMessage")) == 1)  # its header
        holder.armed = True
        await text_in(first.url, "Are you open today?", "0E000003")
        await until(lambda: bool(holder.held))
        await until(lambda: len(fake_slack.calls("chat.postMessage")) == 2)
        await first.kill()

    second = await start_live()
    await second.drained()

    [header] = fake_slack.messages(INBOX)
    [posted] = bot_replies(fake_slack, header["ts"])
    assert shown_texts(fake_slack.thread(INBOX, header["ts"])) == ["Hello?", "Are you open today?"]
    assert len(fake_slack.calls("chat.postMessage")) == 2
    [lookup] = fake_slack.calls("conversations.replies")
    assert lookup.params["include_all_metadata"] in ("1", "true")
    async with db.reading() as session:
        shown = select(CaseMessage.slack_ts).order_by(CaseMessage.id)
        shown_at = list(await session.scalars(shown))
        attempts = list(
            await session.scalars(
                select(OutboxJob.attempts)
                .where(OutboxJob.kind == "slack.post_message")
                .order_by(OutboxJob.id)
            )
        )
    assert shown_at == [header["ts"], posted["ts"]]
    assert attempts == [1, 2]  # the first text's post was the header; the second ran again


async def test_a_header_cut_off_mid_call_is_found_and_its_thread_used(
    doomed, start_live, fake_slack: FakeSlack, db: Database
) -> None:
    origin = fake_slack.base_url.removesuffix("/api/")
    async with AnswerHolder(origin, holds=carries(HEADER_EVENT_TYPE)) as holder:
        holder.armed = True
        first = await doomed(SLACK_API_URL=f"http://{holder.host}/api/")
        await text_in(first.url, "Hello?", "0E000002")
        await until(lambda: bool(holder.held))
        await until(lambda: len(fake_slack.messages(INBOX)) == 1)
        await first.kill()

    second = await start_live()
    await second.drained()

    [header] = fake_slack.messages(INBOX)
    assert shown_texts(fake_slack.thread(INBOX, header["ts"])) == ["Hello?"]
    assert bot_replies(fake_slack, header["ts"]) == []  # the text was in the header: not again
    assert len(fake_slack.calls("conversations.history")) == 1
    async with db.reading() as session:
        assert await session.scalar(select(Case.thread_ts)) == header["ts"]
        assert await session.scalar(select(CaseMessage.slack_ts)) == header["ts"]


def completes_upload(path: str, _body: bytes) -> bool:
    return path.endswith("/files.completeUploadExternal")


async def media_in(url: str, body: dict[str, Any]) -> None:
    async with aiohttp.ClientSession() as http, http.post(f"{url}/vonage/inbound", json=body) as r:
        assert r.status == 200


@pytest.mark.parametrize(
    "completed", [False, True], ids=["completion-never-arrived", "completed-answer-held"]
)
async def test_a_file_upload_cut_off_before_its_completion_was_answered_shows_once(
    doomed,
    start_live,
    fake_slack: FakeSlack,
    fake_vonage: FakeVonage,
    private_key_pem: str,
    completed: bool,
) -> None:
    app = {"VONAGE_APPLICATION_ID": "fake-app-id", "VONAGE_PRIVATE_KEY": private_key_pem}
    origin = fake_slack.base_url.removesuffix("/api/")
    picture = fake_vonage.media.put(png(), "image/png")
    async with AnswerHolder(origin, holds=completes_upload, reach_target=completed) as holder:
        holder.armed = True
        first = await doomed(SLACK_API_URL=f"http://{holder.host}/api/", **app)
        await media_in(first.url, media_webhook(picture, caption="My broken boiler"))
        await until(lambda: bool(holder.held))
        assert fake_slack.uploads_received == 1  # the bytes are up; the completion hangs
        await until(lambda: len(fake_slack.shared_files()) == int(completed))
        await first.kill()

    second = await start_live(**app)
    await second.drained()

    [header] = fake_slack.messages(INBOX)
    [shared] = fake_slack.shared_files()
    assert [s["ts"] for s in shared["shares"]["public"][INBOX]] == [
        m["ts"] for m in bot_replies(fake_slack, header["ts"])
    ]  # shared once, in the thread
    [post] = bot_replies(fake_slack, header["ts"])
    assert (post["text"], [f["id"] for f in post["files"]]) == ("My broken boiler", [shared["id"]])
    assert len(fake_slack.calls("files.completeUploadExternal")) == 1
    # Completed before the kill: found by the file id committed before completion, not sent
    # again; never completed: uploaded anew, the first reservation left unseen.
    assert fake_slack.uploads_received == (1 if completed else 2)


def vonage_holder(fake_vonage: FakeVonage, tls: TestTls, *, reach_target: bool) -> AnswerHolder:
    return AnswerHolder(
        f"https://{fake_vonage.host}",
        holds=lambda path, _body: path == "/sms/json",
        server_ssl=tls.server_ssl_context(),
        client_ssl=tls.client_ssl_context(),
        reach_target=reach_target,
    )


async def thread_recorded(db: Database) -> bool:
    """The case's thread is known: staff can answer in it."""
    async with db.reading() as session:
        return await session.scalar(select(Case.thread_ts)) is not None


async def staff_text(db: Database) -> Message:
    async with db.reading() as session:
        reply = await session.scalar(select(Message).where(Message.author.is_not(None)))
    assert reply is not None
    return reply


async def test_a_send_cut_off_mid_call_is_recorded_from_its_receipt_not_sent_again(
    doomed, start_live, fake_slack: FakeSlack, fake_vonage: FakeVonage, tls: TestTls, db: Database
) -> None:
    async with vonage_holder(fake_vonage, tls, reach_target=True) as holder:
        first = await doomed(VONAGE_REST_HOST=holder.host, VONAGE_API_HOST=holder.host)
        fake_vonage.send_receipts_to(f"{first.url}/vonage/status")
        await text_in(first.url, "Can I book for Friday?", "0E000010")
        await fake_slack.wait_for("chat.postMessage")
        await until(lambda: thread_recorded(db))
        [header] = fake_slack.messages(INBOX)
        holder.armed = True
        await staff_reply(first.url, fake_slack, header["ts"], "Yes, Friday is fine")
        await fake_vonage.wait_for_sends(1)

        async def receipt_kept() -> bool:
            async with db.reading() as session:
                return await session.scalar(select(EarlyReceipt.client_ref)) is not None

        await until(receipt_kept)  # the receipt came; the send's answer never did
        await first.kill()

    second = await start_live()
    await second.drained()

    [send] = fake_vonage.sends
    assert send.client_ref is not None and send.client_ref.startswith("smschat-")
    reply = await staff_text(db)
    assert (reply.status, reply.provider_message_id) == (
        MessageStatus.DELIVERED,
        send.message_ids[0],
    )
    reply_post = fake_slack.thread(INBOX, header["ts"])[-1]
    assert [r["name"] for r in reply_post.get("reactions", [])] == ["white_check_mark"]


async def test_a_send_that_never_left_is_sent_once_after_the_receipt_wait(
    doomed, start_live, fake_slack: FakeSlack, fake_vonage: FakeVonage, tls: TestTls, db: Database
) -> None:
    async with vonage_holder(fake_vonage, tls, reach_target=False) as swallowing:
        first = await doomed(VONAGE_REST_HOST=swallowing.host, VONAGE_API_HOST=swallowing.host)
        await text_in(first.url, "Can I book for Friday?", "0E000011")
        await fake_slack.wait_for("chat.postMessage")
        await until(lambda: thread_recorded(db))
        [header] = fake_slack.messages(INBOX)
        swallowing.armed = True
        await staff_reply(first.url, fake_slack, header["ts"], "See you then")
        await until(lambda: bool(swallowing.held))
        await first.kill()
    started_ref = (await staff_text(db)).send_ref
    assert started_ref is not None and fake_vonage.sends == []

    clock = ShiftedClock()
    clock.advance(RECEIPT_WAIT)  # no receipt came in all that time: it never went out
    second = await start_live(clock=clock)
    await second.drained()

    [send] = fake_vonage.sends
    assert send.text.startswith("See you then")
    assert send.client_ref not in (None, started_ref)
    assert (await staff_text(db)).status == MessageStatus.SUBMITTED


async def test_a_receipt_kept_but_not_yet_routed_is_waited_for_past_the_receipt_wait(
    doomed, start_live, fake_slack: FakeSlack, fake_vonage: FakeVonage, tls: TestTls, db: Database
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("holding one inbox row back from the router needs PostgreSQL's row locks")
    async with vonage_holder(fake_vonage, tls, reach_target=True) as holder:
        first = await doomed(VONAGE_REST_HOST=holder.host, VONAGE_API_HOST=holder.host)
        await text_in(first.url, "Can I book for Friday?", "0E000012")
        await fake_slack.wait_for("chat.postMessage")
        await until(lambda: thread_recorded(db))
        [header] = fake_slack.messages(INBOX)
        holder.armed = True
        await staff_reply(first.url, fake_slack, header["ts"], "Yes, Friday is fine")
        [send] = await fake_vonage.wait_for_sends(1)
        await first.kill()
    # Its receipt reached an instance that kept it and died before routing it.
    params = sms_receipt_params(
        message_id=send.message_ids[0],
        msisdn=CONTACT,
        to=OUR_NUMBER.removeprefix("+"),
        status="delivered",
        client_ref=send.client_ref,
    )
    writer = InboxWriter(db)
    await writer.keep(receipt_event(parse_receipt(params), at=ShiftedClock().now()))
    clock = ShiftedClock()
    clock.advance(RECEIPT_WAIT)
    async with db.transaction() as holding:
        # Locked, the router passes over the receipt; the send job still sees it waiting.
        await holding.execute(select(InboxEventRow).with_for_update())
        second = await start_live(clock=clock)
        await asyncio.sleep(2 * RECEIPT_POLL_SECONDS + 1)
        assert len(fake_vonage.sends) == 1
    await second.drained()

    assert len(fake_vonage.sends) == 1
    reply = await staff_text(db)
    assert (reply.status, reply.provider_message_id) == (
        MessageStatus.DELIVERED,
        send.message_ids[0],
    )


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
