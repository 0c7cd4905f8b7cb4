"""Two `python -m bridge run` processes on one PostgreSQL and one Redis, one killed mid-work.

300 texts from 30 contacts and 60 staff replies go through both instances; one instance is
killed (SIGKILL) while a Slack post and an SMS send it made have taken effect but not yet
been answered, and traffic goes on through the other. Every text is then in its contact's
thread exactly once and in order, and every reply reached the phone exactly once and in
order. `BRIDGE_SOAK_CONTACTS` sets the contacts for a longer run (100 gives 1,000 texts).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from bridge.domain.contacts import ContactDetails, LabelledNumber
from bridge.domain.values import PhoneNumber
from bridge.domain.work import PaceBroadcast, PostMessage, SendSms
from bridge.fakes import FakeSlack, FakeVonage, TestTls
from bridge.fakes.process import BridgeProcess
from bridge.fakes.reading import shown_texts
from bridge.fakes.slack_payloads import event_callback_body, message_event, slack_signature_headers
from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.slack.marks import POSTING_EVENT_TYPE
from bridge.store.db import Database, migrate
from bridge.store.models import Case, InboxEventRow, OutboxJob
from bridge.store.unit import Store
from tests.bridge_process import REPO_ROOT, AnswerHolder, until
from tests.conftest import (
    REDIS_URL,
    SIGNING_SECRET,
    STAFF,
    bridge_env,
    need_service,
    reset_postgres,
)

pytestmark = pytest.mark.postgres

CONTACTS = int(os.environ.get("BRIDGE_SOAK_CONTACTS", "30"))
TEXTS_PER_CONTACT = 10
REPLY_EVERY = 5  # a staff reply after every fifth text
KILL_AFTER = CONTACTS * TEXTS_PER_CONTACT // 2
# Five of our numbers, each routed to a channel of its own: Slack's budget is per channel.
OUR_NUMBERS = [f"+4477009000{n:02d}" for n in range(1, 6)]
CHANNELS = [f"C0SMS{n}" for n in range(1, 6)]
CASE_REF = re.compile(r" \(#\d+\)$")


def contact_number(index: int) -> str:
    return f"4477009{index:05d}"


def our_number(index: int) -> str:
    return OUR_NUMBERS[index % len(OUR_NUMBERS)]


class Cluster:
    """The instances behind a 'load balancer': requests take turns among the live ones."""

    def __init__(self, instances: list[BridgeProcess], http: aiohttp.ClientSession) -> None:
        self.live = list(instances)
        self.http = http
        self._turn = itertools.count()

    async def post(self, path: str, **request: object) -> None:
        """Deliver one webhook; a dead instance's refusal sends it to another, as a retry."""
        while True:
            instance = self.live[next(self._turn) % len(self.live)]
            try:
                async with self.http.post(f"{instance.url}{path}", **request) as response:
                    assert response.status == 200, await response.text()
                    return
            except aiohttp.ClientError:
                if instance in self.live:
                    await asyncio.sleep(0.05)  # the balancer has not noticed yet


@pytest.fixture
async def shared_stores(postgres_url: str) -> AsyncIterator[Database]:
    """A fresh, migrated PostgreSQL database and an empty Redis database."""
    need_service(REDIS_URL, 6379, "Redis")
    await reset_postgres(postgres_url)
    await migrate(postgres_url)
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()
    db = Database(postgres_url)
    yield db
    await db.close()


def instance_env(
    postgres_url: str, slack: FakeSlack, vonage: FakeVonage, ca_bundle: Path, port: int, **extra
) -> dict[str, str]:
    routes = ",".join(f"{n}={c}" for n, c in zip(OUR_NUMBERS, CHANNELS, strict=True))
    env = bridge_env(
        database_url=postgres_url,
        slack=slack,
        vonage=vonage,
        REDIS_URL=REDIS_URL,
        VONAGE_NUMBERS=",".join(OUR_NUMBERS),
        NUMBER_CHANNELS=routes,
        OUTBOX_LEASE_SECONDS="3",
        VONAGE_REQUESTS_PER_SECOND="200",
        LOG_LEVEL="INFO",
        HOST="127.0.0.1",
        PORT=str(port),
        SSL_CERT_FILE=str(ca_bundle),
    )
    return env | extra


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


async def thread_of(db: Database, contact: str) -> tuple[str, str]:
    """(channel, thread ts) of the contact's case, once its header is posted."""
    while True:
        async with db.reading() as session:
            row = (
                await session.execute(
                    select(Case.channel, Case.thread_ts).where(Case.contact_number == contact)
                )
            ).first()
        if row is not None and row.thread_ts is not None:
            return row.channel, row.thread_ts
        await asyncio.sleep(0.1)


async def outbox_settled(db: Database) -> bool:
    """Every kept event routed and every job it made done."""
    async with db.reading() as session:
        busy = await session.scalar(
            select(func.count()).where(OutboxJob.status.in_(["pending", "running"]))
        )
        arriving = await session.scalar(select(func.count()).select_from(InboxEventRow))
    return busy == 0 and arriving == 0


async def test_two_instances_one_killed_mid_call_deliver_everything_exactly_once_in_order(
    shared_stores: Database,
    postgres_url: str,
    fake_slack: FakeSlack,
    fake_vonage: FakeVonage,
    tls: TestTls,
    ca_bundle: Path,
    tmp_path: Path,
) -> None:
    db = shared_stores
    for channel in CHANNELS:
        fake_slack.add_channel(channel, members=[fake_slack.bot_user_id, STAFF])
    slack_origin = fake_slack.base_url.removesuffix("/api/")
    port_a, port_b = free_ports(2)
    receipts = [f"http://127.0.0.1:{port}/vonage/status" for port in (port_a, port_b)]
    fake_vonage.send_receipts_to(receipts[0], also_to=receipts[1:])
    async with (
        AnswerHolder(slack_origin, holds=a_text_shown_in_a_thread) as slack,
        AnswerHolder(
            f"https://{fake_vonage.host}",
            holds=lambda path, _body: path == "/sms/json",
            server_ssl=tls.server_ssl_context(),
            client_ssl=tls.client_ssl_context(),
        ) as vonage,
        aiohttp.ClientSession() as http,
    ):
        # Instance A reaches the fakes through the holders, B directly.
        doomed = BridgeProcess(
            instance_env(
                postgres_url,
                fake_slack,
                fake_vonage,
                ca_bundle,
                port_a,
                SLACK_API_URL=f"http://{slack.host}/api/",
                VONAGE_REST_HOST=vonage.host,
                VONAGE_API_HOST=vonage.host,
            ),
            cwd=REPO_ROOT,
            log_path=tmp_path / "a.log",
        )
        survivor = BridgeProcess(
            instance_env(postgres_url, fake_slack, fake_vonage, ca_bundle, port_b),
            cwd=REPO_ROOT,
            log_path=tmp_path / "b.log",
        )
        cluster = Cluster([doomed, survivor], http)
        try:
            await asyncio.gather(doomed.start(), survivor.start())
            sent_texts: dict[str, list[str]] = {}
            sent_replies: dict[str, list[str]] = {}
            texts_sent = 0
            halfway, killed = asyncio.Event(), asyncio.Event()

            async def contact_talks(index: int) -> None:
                nonlocal texts_sent
                contact = contact_number(index)
                texts = sent_texts.setdefault(f"+{contact}", [])
                replies = sent_replies.setdefault(contact, [])
                for n in range(1, TEXTS_PER_CONTACT + 1):
                    text = f"text {n} from {contact}"
                    params = sms_inbound_params(
                        msisdn=contact,
                        to=our_number(index).removeprefix("+"),
                        text=text,
                        message_id=uuid.uuid4().hex[:16].upper(),
                    )
                    await cluster.post("/vonage/inbound", data=params)
                    texts.append(text)
                    texts_sent += 1
                    if texts_sent >= KILL_AFTER:
                        halfway.set()
                    if n % REPLY_EVERY == 0:
                        await reply_to(contact, f"reply {n // REPLY_EVERY} to {contact}")
                # Staff go on writing until the instance is gone: it must die mid-send.
                while index == 0 and not killed.is_set():
                    await reply_to(contact, f"reply {len(replies) + 1} to {contact}")
                    await asyncio.sleep(0.1)

            async def reply_to(contact: str, reply: str) -> None:
                channel, thread_ts = await thread_of(db, f"+{contact}")
                await staff_reply(cluster, fake_slack, channel, thread_ts, reply)
                sent_replies[contact].append(reply)

            async def kill_mid_call() -> None:
                await halfway.wait()
                slack.armed = vonage.armed = True
                await until(lambda: _held(slack, vonage), within=60)
                cluster.live.remove(doomed)
                await doomed.kill()
                killed.set()

            await asyncio.gather(kill_mid_call(), *(contact_talks(i) for i in range(CONTACTS)))
            # Generous: on a busy machine two bridges drain their backlog slowly, not wrongly.
            await until(lambda: outbox_settled(db), within=120)
        finally:
            await doomed.kill()
            await survivor.stop()

    assert doomed.process is not None and doomed.process.returncode == -9
    assert slack.held and vonage.held, "the instance died with calls in flight"
    async with db.reading() as session:
        dead = await session.scalar(select(func.count()).where(OutboxJob.status == "dead"))
        rerun = set(await session.scalars(select(OutboxJob.kind).where(OutboxJob.attempts > 1)))
    assert dead == 0
    assert {PostMessage.kind, SendSms.kind} <= rerun, "the held jobs ran again on the survivor"

    shown = _texts_in_threads(fake_slack)
    for contact, texts in sent_texts.items():
        assert shown[contact] == texts, f"thread of {contact}"
    phoned: dict[str, list[str]] = {}
    for send in fake_vonage.sends:
        phoned.setdefault(send.to, []).append(CASE_REF.sub("", send.text))
    assert phoned == sent_replies
    assert len(fake_vonage.sends) >= CONTACTS * TEXTS_PER_CONTACT // REPLY_EVERY


def a_text_shown_in_a_thread(path: str, body: bytes) -> bool:
    return path.endswith("/chat.postMessage") and POSTING_EVENT_TYPE.encode() in body


async def _held(*holders: AnswerHolder) -> bool:
    return all(holder.held for holder in holders)


async def staff_reply(
    cluster: Cluster, slack: FakeSlack, channel: str, thread_ts: str, text: str
) -> None:
    """A person types in the thread: Slack stores it and sends an instance the event."""
    posted = await slack.post_as_user(channel, STAFF, text, thread_ts=thread_ts)
    event = message_event(channel, STAFF, text, posted["ts"], thread_ts=thread_ts)
    body = json.dumps(
        event_callback_body(event, event_id=f"Ev{uuid.uuid4().hex[:10].upper()}")
    ).encode()
    headers = {"Content-Type": "application/json", **slack_signature_headers(SIGNING_SECRET, body)}
    await cluster.post("/slack/events", data=body, headers=headers)


def _texts_in_threads(slack: FakeSlack) -> dict[str, list[str]]:
    """Each contact's texts as its case thread shows them, in thread order."""
    shown: dict[str, list[str]] = {}
    for channel in CHANNELS:
        for header in slack.messages(channel):
            posted = shown_texts(slack.thread(channel, header["ts"]))
            contact = "+" + posted[0].split(" from ")[1]
            assert contact not in shown, f"{contact} has two threads"
            shown[contact] = posted
    return shown


async def test_a_broadcast_goes_on_when_its_instance_dies_each_recipient_texted_once(
    shared_stores: Database,
    postgres_url: str,
    fake_slack: FakeSlack,
    fake_vonage: FakeVonage,
    ca_bundle: Path,
    tmp_path: Path,
) -> None:
    numbers = [f"+4477009008{i:02d}" for i in range(12)]
    # Four texts a second for the account, shared through Redis: the broadcast is mid-way
    # when one instance is killed, with texts of it in hand.
    paced = {"VONAGE_REQUESTS_PER_SECOND": "4", "QUIET_HOURS": ""}
    instances = [
        BridgeProcess(
            instance_env(postgres_url, fake_slack, fake_vonage, ca_bundle, port, **paced),
            cwd=REPO_ROOT,
            log_path=tmp_path / f"bridge-{k}.log",
        )
        for k, port in enumerate(free_ports(2))
    ]
    first, second = instances
    # Receipts come through the load balancer: passing over an instance that is gone.
    fake_vonage.send_receipts_to(
        f"{first.url}/vonage/status", also_to=[f"{second.url}/vonage/status"]
    )
    try:
        for instance in instances:
            await instance.start()
        async with Store(shared_stores).unit() as unit:
            for number in numbers:
                await unit.contacts.upsert(
                    ContactDetails(
                        numbers=[LabelledNumber(PhoneNumber(number))], properties={"tag": "crew"}
                    )
                )
        queueing = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bridge",
            "broadcast",
            "--to",
            "tag=crew",
            "--text",
            "Once",
            env=first.env,
            cwd=REPO_ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        said, _ = await queueing.communicate()
        assert queueing.returncode == 0 and b"12 recipients" in said
        await fake_vonage.wait_for_sends(3, timeout=10)
        await first.kill()
        assert len(fake_vonage.sends) < len(numbers)

        async def all_sent() -> bool:
            async with shared_stores.reading() as session:
                left = await session.scalar(
                    select(func.count()).where(
                        OutboxJob.kind.in_([SendSms.kind, PaceBroadcast.kind]),
                        OutboxJob.status != "done",
                    )
                )
            return left == 0

        await until(all_sent, within=40)
        assert sorted(s.to for s in fake_vonage.sends) == sorted(
            n.removeprefix("+") for n in numbers
        )
    finally:
        for instance in instances:
            await instance.kill()
