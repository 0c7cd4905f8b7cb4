"""A bridge process killed mid-work loses nothing: the next process on the same store finishes it.

These run the real command, `python -m bridge run`, and kill it with SIGKILL.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bridge.domain.work import PostHeader
from bridge.fakes import FakeSlack, FakeVonage
from bridge.fakes.process import BridgeProcess
from bridge.fakes.reading import thread_lines
from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.store.db import Database
from bridge.store.models import OutboxJob
from tests.bridge_process import until
from tests.conftest import BOT_TOKEN, INBOX, OUR_NUMBER, bridge_env

CONTACT = "447700900123"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bridge.db'}"


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[Database]:
    """The test's own window on the database the processes share."""
    db = Database(sqlite_url)
    yield db
    await db.close()


@pytest.fixture
def process_for(
    tmp_path: Path,
    sqlite_url: str,
    fake_slack: FakeSlack,
    fake_vonage: FakeVonage,
    ca_bundle: Path,
    free_port: int,
):
    """Build a `python -m bridge run` on the shared database, its Slack at `slack_url`."""
    made: list[BridgeProcess] = []

    def make(slack_url: str) -> BridgeProcess:
        env = bridge_env(
            database_url=sqlite_url,
            slack=fake_slack,
            vonage=fake_vonage,
            SLACK_API_URL=slack_url,
            HOST="127.0.0.1",
            PORT=str(free_port),
            SSL_CERT_FILE=str(ca_bundle),
        )
        process = BridgeProcess(env, cwd=tmp_path, log_path=tmp_path / f"bridge-{len(made)}.log")
        made.append(process)
        return process

    return make


async def header_job(db: Database) -> OutboxJob | None:
    async with db.reading() as session:
        return await session.scalar(select(OutboxJob).where(OutboxJob.kind == PostHeader.kind))


async def send_inbound(process: BridgeProcess, text: str, message_id: str) -> None:
    params = sms_inbound_params(
        msisdn=CONTACT, to=OUR_NUMBER.removeprefix("+"), text=text, message_id=message_id
    )
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{process.url}/vonage/inbound", data=params) as response,
    ):
        assert response.status == 200


async def all_done(db: Database) -> bool:
    async with db.reading() as session:
        statuses = set(await session.scalars(select(OutboxJob.status)))
    return statuses == {"done"}


def assert_posted_once(slack: FakeSlack, text: str) -> None:
    [header] = slack.messages(INBOX)
    assert "blocks" in header
    assert thread_lines(slack.thread(INBOX, header["ts"])) == [text]  # shown in the header
    assert len(slack.calls("chat.postMessage")) == 1


async def test_a_text_accepted_before_a_kill_is_posted_once_after_restart(
    process_for, fake_slack: FakeSlack, store: Database
) -> None:
    async with FakeSlack(token=BOT_TOKEN) as failing_slack:
        failing_slack.fail_next("chat.postMessage", error="fatal_error", times=1_000)
        first = process_for(failing_slack.base_url)
        second = process_for(fake_slack.base_url)
        try:
            await first.start()
            await send_inbound(first, "Is anyone reading this?", "0A000001")

            async def waiting_to_retry() -> bool:
                job = await header_job(store)
                return job is not None and job.status == "pending" and job.last_error is not None

            await until(waiting_to_retry)
            await first.kill()
            assert fake_slack.calls() == []

            await second.start()
            await fake_slack.wait_for("chat.postMessage", timeout=10)
            await until(lambda: all_done(store))
            assert_posted_once(fake_slack, "Is anyone reading this?")
        finally:
            await first.kill()
            await second.kill()


@pytest.fixture
async def black_hole() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """An HTTP 'server' that reads a request and never answers: a call stays in flight."""
    arrived = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        if await reader.read(1024):
            arrived.set()
        await reader.read()  # until the client goes away

    server = await asyncio.start_server(swallow, "127.0.0.1", 0, family=socket.AF_INET)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/api/", arrived
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


async def test_a_job_running_when_the_process_died_resumes_at_restart(
    process_for, fake_slack: FakeSlack, store: Database, black_hole
) -> None:
    hanging_url, call_arrived = black_hole
    first = process_for(hanging_url)
    second = process_for(fake_slack.base_url)
    try:
        await first.start()
        await send_inbound(first, "Still there?", "0B000001")
        async with asyncio.timeout(10):
            await call_arrived.wait()

        async def running() -> bool:
            job = await header_job(store)
            return job is not None and job.status == "running"

        await until(running)
        await first.kill()
        job = await header_job(store)
        assert job is not None and job.status == "running" and job.lease_until is not None

        await second.start()
        # The lease would hold the job for a minute; a restart must not wait for it.
        await fake_slack.wait_for("chat.postMessage", timeout=10)
        await until(lambda: all_done(store))
        assert_posted_once(fake_slack, "Still there?")
        job = await header_job(store)
        assert job is not None and job.attempts == 2
        assert "resuming 1 outbox job" in second.log
    finally:
        await first.kill()
        await second.kill()
