"""Shared fixtures: real stores (SQLite file, PostgreSQL), fake Slack and Vonage, a live bridge."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import and_, func, make_url, or_, select

from bridge.app import Bridge, build_bridge
from bridge.config import Settings
from bridge.fakes import FakeSlack, FakeVonage, TestTls
from bridge.fakes.clock import ShiftedClock
from bridge.fakes.reading import shown_texts
from bridge.fakes.slack_payloads import (
    block_actions_payload,
    event_callback_body,
    interaction_form,
    message_event,
    slack_signature_headers,
    slash_command_form,
    view_block_actions_payload,
    view_submission_payload,
)
from bridge.fakes.smtp import FakeSmtp
from bridge.fakes.views import home_opened_event, submitted_state
from bridge.store.db import Database, migrate
from bridge.store.dispatcher import RetryPolicy
from bridge.store.models import Base, InboxEventRow, OutboxJob
from bridge.web_app import build_web_app

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-bot-token-0123456789"
VONAGE_KEY, VONAGE_SECRET = "abcd1234", "s3cr3t-vonage-api"
INBOX = "C0INBOX"
OUR_NUMBER = "+447700900000"
STAFF = "U0STAFF"
ADMIN = "U0ADMIN"  # a workspace admin, who may change the chat settings

# One Redis database per test worker (pytest-xdist's gw0, gw1, …), so that a test clearing
# its database never touches another worker's keys.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
# Each test worker has a database of its own on the Redis server (tests flush theirs).
REDIS_SERVER = os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379")
REDIS_URL = f"{REDIS_SERVER}/{15 - _WORKER % 8}"
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REQUIRE_SERVICES = os.environ.get("BRIDGE_REQUIRE_SERVICES") == "1"


def _reachable(url: str, default_port: int) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url.replace("+asyncpg", ""))
    try:
        with socket.create_connection((parts.hostname, parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def need_service(url: str, port: int, what: str) -> None:
    """Skip when a server is absent, unless CI demands it (then fail loudly)."""
    if _reachable(url, port):
        return
    message = f"{what} is not reachable at {url}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} and BRIDGE_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


async def reset_postgres(url: str) -> None:
    from sqlalchemy import text

    db = Database(url)
    async with db.engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await db.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test run's own on the PostgreSQL server, dropped at the end.

    Its own database, so that two test runs on one server never reset each other's tables.
    """
    need_service(POSTGRES_URL, 5432, "PostgreSQL")
    import asyncpg

    base = make_url(POSTGRES_URL)
    name = f"smschat_test_{os.getpid()}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)

    async def execute(sql: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    def run(sql: str) -> None:
        # First asked for from inside a test's event loop: run on a loop of its own.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, execute(sql)).result()

    run(f'DROP DATABASE IF EXISTS "{name}"')
    run(f'CREATE DATABASE "{name}"')
    yield base.set(database=name).render_as_string(hide_password=False)
    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file, made once: each test starts from a copy of it (running
    the migrations takes far longer than copying their result)."""
    path = tmp_path_factory.mktemp("template") / "bridge.db"
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, migrate(f"sqlite+aiosqlite:///{path}")).result()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the one file
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "bridge.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        return f"sqlite+aiosqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    await empty_postgres(url)
    return url


async def empty_postgres(url: str) -> None:
    """Every table emptied, when the schema is this version's; built afresh when it is not
    (a test before left it empty, older or newer)."""
    from sqlalchemy import text

    db = Database(url)
    try:
        current = await _at_head(db)
        if current:
            async with db.engine.begin() as connection:
                tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await db.close()
    if not current:
        await reset_postgres(url)
        await migrate(url)


async def _at_head(db: Database) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from bridge.store.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()
    async with db.engine.connect() as connection:
        revision = await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    return revision == head


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.close()


@pytest.fixture(scope="session")
def tls() -> TestTls:
    return TestTls()


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    """An RSA private key in PEM, as a Vonage application's key file holds it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode()


@pytest.fixture
def ca_bundle(tls: TestTls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tls.ca_bundle_path(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    return path


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(token=BOT_TOKEN) as slack:
        slack.add_user(STAFF, "dana", display_name="Dana")
        slack.add_user(ADMIN, "ada", display_name="Ada", is_admin=True)
        slack.add_channel(INBOX, "sms-inbox", members=[slack.bot_user_id, STAFF])
        yield slack


@pytest.fixture
async def fake_vonage(tls: TestTls, ca_bundle: Path) -> AsyncIterator[FakeVonage]:
    async with FakeVonage(tls=tls, api_key=VONAGE_KEY, api_secret=VONAGE_SECRET) as vonage:
        yield vonage


@pytest.fixture
async def smtp() -> AsyncIterator[FakeSmtp]:
    """A mail server on loopback that records what it takes."""
    async with FakeSmtp() as server:
        yield server


def bridge_env(
    *, database_url: str, slack: FakeSlack, vonage: FakeVonage, **extra: str
) -> dict[str, str]:
    """The environment a deployment would set, pointed at the fakes."""
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_CHANNEL": INBOX,
        "SLACK_API_URL": slack.base_url,
        "VONAGE_API_KEY": VONAGE_KEY,
        "VONAGE_API_SECRET": VONAGE_SECRET,
        "VONAGE_NUMBERS": OUR_NUMBER,
        "VONAGE_REST_HOST": vonage.host,
        "VONAGE_API_HOST": vonage.host,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "DEBUG",
        # Slack's real budget (1 post a second a channel) would only slow the tests down;
        # tests of the budget itself set their own.
        "SLACK_POSTS_PER_SECOND": "50",
    }
    env.update(extra)
    return env


@dataclass
class LiveBridge:
    """A bridge served on loopback, with helpers that speak Slack's and Vonage's wire formats."""

    bridge: Bridge
    url: str
    http: aiohttp.ClientSession
    slack: FakeSlack
    vonage: FakeVonage

    async def vonage_webhook(
        self, path: str, params: dict[str, Any], *, as_: str = "form", headers: dict | None = None
    ) -> aiohttp.ClientResponse:
        """Post a Vonage webhook; once it is answered 200, wait until the router took it."""
        url = f"{self.url}{path}"
        if as_ == "get":
            response = await self.http.get(f"{url}?{urlencode(params)}", headers=headers)
        elif as_ == "json":
            response = await self.http.post(url, json=params, headers=headers)
        else:
            response = await self.http.post(url, data=params, headers=headers)
        if response.status == 200:
            await self.routed()
        return response

    async def routed(self) -> None:
        """Wait (at most 10 s) until the router decided about every event the inbox kept."""
        async with asyncio.timeout(10):
            while await self._arriving():  # noqa: ASYNC110 (the store is what we wait on)
                await asyncio.sleep(0.01)

    async def _arriving(self) -> int:
        async with self.bridge.db.reading() as session:
            return await session.scalar(
                select(func.count())
                .select_from(InboxEventRow)
                .where(InboxEventRow.status == "pending")
            )

    async def slack_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry: int | None = None,
        secret: str = SIGNING_SECRET,
    ) -> aiohttp.ClientResponse:
        body = json.dumps(
            event_callback_body(event, event_id=event_id or f"Ev{uuid.uuid4().hex[:10].upper()}")
        ).encode()
        headers = {"Content-Type": "application/json", **slack_signature_headers(secret, body)}
        if retry is not None:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "timeout"})
        return await self.http.post(f"{self.url}/slack/events", data=body, headers=headers)

    async def signed_form(self, form: dict[str, str]) -> aiohttp.ClientResponse:
        body = urlencode(form).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **slack_signature_headers(SIGNING_SECRET, body),
        }
        return await self.http.post(f"{self.url}/slack/events", data=body, headers=headers)

    async def command(self, text: str, *, user: str = STAFF) -> str:
        """Run `/smschat <text>` as `user`; the ephemeral answer's text."""
        response = await self.signed_form(slash_command_form("/smschat", text, user, INBOX))
        assert response.status == 200
        body = await response.text()
        return json.loads(body).get("text", "") if body.startswith("{") else body

    async def press(
        self, action_id: str, case_id: int, *, user: str = STAFF, **action: Any
    ) -> aiohttp.ClientResponse:
        """Press a case header's button (or pick in its menu), as Slack sends it."""
        header = next(m for m in self.slack.messages(INBOX) if f"#{case_id}" in m["text"])
        payload = block_actions_payload(
            user=user,
            channel=INBOX,
            message=header,
            action={
                "action_id": action_id,
                "block_id": f"case:{case_id}",
                "value": str(case_id),
                "type": "button",
                **action,
            },
        )
        return await self.signed_form(interaction_form(payload))

    async def scrape(self) -> dict[tuple[str, tuple], float]:
        """/metrics as {(sample name, sorted labels): value}."""
        async with self.http.get(f"{self.url}/metrics") as response:
            assert response.status == 200
            body = await response.text()
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body)
            for sample in family.samples
        }

    async def drained(self) -> None:
        """Wait (at most 10 s) until no outbox job is due or running."""
        async with asyncio.timeout(10):
            while await self._arriving() or await self._busy():  # noqa: ASYNC110
                await asyncio.sleep(0.02)

    def shown_texts(self, channel: str = INBOX) -> list[str]:
        """The contacts' texts every case thread of `channel` shows, case by case."""
        return [
            text
            for header in self.slack.messages(channel)
            for text in shown_texts(self.slack.thread(channel, header["ts"]))
        ]

    async def _busy(self) -> int:
        async with self.bridge.db.reading() as session:
            return await session.scalar(
                select(func.count())
                .select_from(OutboxJob)
                .where(
                    or_(
                        OutboxJob.status == "running",
                        and_(
                            OutboxJob.status == "pending",
                            OutboxJob.run_after <= self.bridge.clock.now(),
                        ),
                    )
                )
            )

    async def change_settings(self, *, user: str = ADMIN, **changes: Any) -> dict[str, Any]:
        """Open `/smschat settings` as an admin, change some fields, submit; Slack's answer."""
        before = len(self.slack.calls("views.open"))
        assert await self.command("settings", user=user) == ""
        opened = await self.slack.wait_for("views.open", count=before + 1)
        view = opened[-1].params["view"]
        view = json.loads(view) if isinstance(view, str) else view
        payload = view_submission_payload(
            user=user, view=view, values=submitted_state(view, **changes)
        )
        response = await self.signed_form(interaction_form(payload))
        assert response.status == 200
        return await response.json()

    async def open_home(self, user: str = STAFF) -> dict[str, Any]:
        """Open the App Home as `user`; the Home tab the bridge publishes in answer."""
        before = len(self._homes(user))
        assert (await self.slack_event(home_opened_event(user))).status == 200
        await self.slack.wait_until(lambda: len(self._homes(user)) > before, what="a Home tab")
        return self._homes(user)[-1]

    def _homes(self, user: str) -> list[dict[str, Any]]:
        published = [c.params for c in self.slack.calls("views.publish")]
        views = [p["view"] for p in published if p.get("user_id") == user]
        return [json.loads(v) if isinstance(v, str) else v for v in views]

    async def press_in_view(
        self, view: dict[str, Any], action_id: str, value: str, *, user: str = STAFF
    ) -> aiohttp.ClientResponse:
        """Press a button of a view (a modal or the Home tab), as Slack sends it."""
        stored = {"id": f"V{uuid.uuid4().hex[:10].upper()}", **view}
        action = {"type": "button", "action_id": action_id, "block_id": "b", "value": value}
        payload = view_block_actions_payload(user=user, view=stored, action=action)
        return await self.signed_form(interaction_form(payload))

    async def staff_reply(
        self, thread_ts: str, text: str, *, user: str = STAFF, **extra: Any
    ) -> aiohttp.ClientResponse:
        """A person types in the thread: Slack stores it, then sends the bridge the event."""
        posted = await self.slack.post_as_user(INBOX, user, text, thread_ts=thread_ts)
        event = message_event(INBOX, user, text, posted["ts"], thread_ts=thread_ts, **extra)
        return await self.slack_event(event)


@pytest.fixture
def make_settings(database_url: str, fake_slack: FakeSlack, fake_vonage: FakeVonage):
    def make(**extra: str) -> Settings:
        env = bridge_env(database_url=database_url, slack=fake_slack, vonage=fake_vonage, **extra)
        return Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})

    return make


@pytest.fixture
async def start_live(
    make_settings, fake_slack: FakeSlack, fake_vonage: FakeVonage
) -> AsyncIterator[Callable[..., Awaitable[LiveBridge]]]:
    """Start a bridge with extra settings (as environment names), stopped after the test."""
    stack = contextlib.AsyncExitStack()

    async def start(
        *, retry_policy: RetryPolicy | None = None, clock: ShiftedClock | None = None, **extra: str
    ) -> LiveBridge:
        bridge = await build_bridge(make_settings(**extra), retry_policy=retry_policy, clock=clock)
        if clock is not None:
            # Jobs that waited for a later hour are due once the clock gets there.
            clock.on_change(lambda: bridge.dispatcher.notify(bridge.dispatcher.workers))
        runner = web.AppRunner(build_web_app(bridge))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        await bridge.start_background()
        stack.push_async_callback(bridge.close)
        stack.push_async_callback(runner.cleanup)
        http = await stack.enter_async_context(aiohttp.ClientSession())
        return LiveBridge(bridge, f"http://{host}:{port}", http, fake_slack, fake_vonage)

    async with stack:
        yield start


@pytest.fixture
async def live(start_live) -> LiveBridge:
    return await start_live()


@pytest.fixture
def free_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port


# Tests that run whole bridge processes take longest: they start first, so that the other
# workers' short tests fill in around them instead of everyone waiting for them at the end.
_PROCESS_TESTS = {"test_scale_out.py", "test_exactly_once.py", "test_restart.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in _PROCESS_TESTS)
