"""The composition root: the one place that knows every room and wires them together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bridge.clock import Clock, SystemClock
from bridge.config import Settings
from bridge.domain.values import ChannelId
from bridge.errors import ConfigError, SendError
from bridge.jobs.context import JobContext
from bridge.jobs.registry import job_handlers
from bridge.jobs.router import BATCH_BY_STORE, Router
from bridge.mail.http import smtp_sender
from bridge.mail.intake import MailIntake
from bridge.mail.smtp_server import SmtpListener, smtp_listener
from bridge.metrics import Metrics
from bridge.routing.chat_settings import SettingsBook
from bridge.routing.erasure import keep_sweeping
from bridge.routing.notices import job_settled
from bridge.routing.outside import SmsSender, VoiceCaller
from bridge.routing.ports import SeenOnce
from bridge.settings_rules import broadcast_rules, chat_rules, chat_settings_defaults
from bridge.slack.access import Gatekeeper
from bridge.slack.eraser import SlackEraser
from bridge.slack.files import SlackFiles
from bridge.slack.listeners import build_bolt_app
from bridge.slack.poster import SlackPoster
from bridge.sms.client import VonageClient
from bridge.sms.media import VonageMedia
from bridge.sms.media_links import SignedMediaLinks
from bridge.sms.sender import VonageSender, vonage_auth
from bridge.sms.voice import EVENT_PATH as VOICE_EVENT_PATH
from bridge.sms.voice import VonageVoice
from bridge.store.checks import sqlite_unwritable
from bridge.store.coordination import INBOX_CHANNEL, LocalPauses, LocalRateLimiter, Wakeups
from bridge.store.db import Database, migrate, schema_behind
from bridge.store.dispatcher import Dispatcher, RetryPolicy
from bridge.store.inbox import InboxWriter
from bridge.store.outbox import ClaimedJob, Outbox
from bridge.store.redis_link import (
    RedisLink,
    RedisPauses,
    RedisRateLimiter,
    RedisSeenOnce,
    RedisWakeups,
)
from bridge.store.seen import StoreSeenOnce
from bridge.store.unit import Store
from bridge.tasks import Foreground, TaskKeeper

log = logging.getLogger(__name__)


@dataclass
class Bridge:
    """A running bridge: store, adapters, dispatcher and the web application."""

    settings: Settings
    db: Database
    store: Store
    outbox: Outbox
    dispatcher: Dispatcher
    router: Router
    intake: InboxWriter
    arrivals: Wakeups
    bolt: AsyncApp
    gatekeeper: Gatekeeper
    seen: SeenOnce
    sender: SmsSender
    metrics: Metrics
    book: SettingsBook
    wakeups: Wakeups
    redis: RedisLink | None
    slack_session: aiohttp.ClientSession
    media_client: VonageClient  # fetches contacts' files
    links: SignedMediaLinks  # staff members' files, as carriers fetch them
    tasks: TaskKeeper
    clock: Clock
    caller: VoiceCaller | None = None
    smtp_listener: SmtpListener | None = None  # inbound mail by SMTP (EMAIL_SMTP_LISTEN)
    _dispatching: asyncio.Task[None] | None = None
    _routing: asyncio.Task[None] | None = None

    async def start_background(self) -> None:
        """Start the background work (and the SMTP listener: `ConfigError` if it cannot)."""
        if self.smtp_listener is not None:
            await self.smtp_listener.start()
        if self.db.dialect == "sqlite" or not self.settings.redis_url:
            # One instance owns the database: whatever ran when it last stopped died with it.
            released = await self.outbox.release_orphans()
            if released:
                log.info("resuming %s outbox job(s) interrupted by the last stop", released)
        if self.settings.retention_days is not None:
            async with self.store.unit() as unit:
                await keep_sweeping(unit, now=self.clock.now())
        self._dispatching = self.tasks.spawn(self.dispatcher.run(), name="outbox-dispatcher")
        self._routing = self.tasks.spawn(self.router.run(), name="inbox-router")
        self.tasks.spawn(self.book.keep_current(), name="chat-settings-reload")
        if self.redis is not None:
            self.tasks.spawn(self.wakeups.listen(), name="outbox-wakeups")
            self.tasks.spawn(self.arrivals.listen(), name="inbox-wakeups")
            self.tasks.spawn(self.redis.watch(), name="redis-watch")

    async def close(self, *, grace: float = 10.0) -> None:
        """Keep what webhooks brought, stop routing and taking jobs, let the ones in hand
        finish (up to `grace` seconds), close."""
        if self.smtp_listener is not None:
            await self.smtp_listener.close()
        await self.intake.close()
        self.router.stop()
        self.dispatcher.stop()
        for running in (self._routing, self._dispatching):
            if running is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(running), grace)
        await self.tasks.cancel_all()
        await self.slack_session.close()
        if self.redis is not None:
            await self.redis.close()
        await self.media_client.close()
        for client in (self.sender, self.caller):
            close = getattr(client, "close", None)
            if close is not None:
                await close()
        await self.db.close()


async def build_bridge(
    settings: Settings,
    *,
    sender: SmsSender | None = None,
    retry_policy: RetryPolicy | None = None,
    clock: Clock | None = None,
) -> Bridge:
    """Open the store (migrating an embedded SQLite database) and wire everything.

    A store or Redis that cannot be used is a `ConfigError` naming the setting.
    """
    clock = clock or SystemClock()
    db = await open_store(settings.database_url)
    try:
        redis = await open_redis(settings.redis_url)
    except ConfigError:
        await db.close()
        raise
    store = Store(db, clock, erasure_key=settings.erasure_key_bytes())
    # One HTTP session for every Slack call: connections (and TLS) are reused.
    slack_session = aiohttp.ClientSession()
    client = slack_web_client(settings, slack_session)
    in_store = StoreSeenOnce(db, clock)
    seen: SeenOnce = RedisSeenOnce(redis, in_store) if redis else in_store
    poster = SlackPoster(
        client,
        pauses=RedisPauses(redis) if redis else LocalPauses(),
        limiter=RedisRateLimiter(redis) if redis else LocalRateLimiter(),
        posts_per_second=settings.slack_posts_per_second,
    )
    sender = sender or VonageSender(
        settings,
        vonage_client(settings),
        limiter=RedisRateLimiter(redis) if redis else LocalRateLimiter(),
    )
    book = SettingsBook(
        store,
        clock=clock,
        defaults=chat_settings_defaults(settings),
        base_rules=chat_rules(settings),
        numbers=settings.vonage_numbers,
        default_channel=ChannelId(settings.slack_channel),
    )
    await book.reload()
    metrics = Metrics()
    links = SignedMediaLinks(
        # Signed with a key made from the bot token: a secret every setup has.
        key=settings.slack_bot_token.get_secret_value().encode(),
        public_url=settings.public_url,
        hours=settings.media_link_hours,
        clock=clock,
    )
    ctx = JobContext(
        units=store,
        poster=poster,
        sender=sender,
        renderer=poster,
        book=book,
        clock=clock,
        media=VonageMedia(media_client := vonage_client(settings)),  # closed by Bridge.close
        files=SlackFiles(poster),
        media_max_bytes=settings.media_max_bytes,
        links=links,
        broadcasting=broadcast_rules(settings),
        mailer=smtp_sender(settings),
        our_address=settings.email_address,
        eraser=SlackEraser(poster),
        retention_days=settings.retention_days,
        caller=voice_caller(settings),
    )
    outbox = Outbox(db, lease=timedelta(seconds=settings.outbox_lease_seconds), clock=clock)

    async def settled(job: ClaimedJob, outcome: str, error: SendError | None) -> None:
        metrics.jobs.labels(job.kind, outcome).inc()
        await job_settled(store, seen, job.kind, outcome, error)

    foreground = Foreground()  # webhooks being kept: the router and the outbox give way
    handlers = job_handlers(ctx)
    dispatcher = Dispatcher(
        outbox, handlers, policy=retry_policy, on_settled=settled, give_way=foreground.give_way
    )
    tasks = TaskKeeper()
    shared = RedisWakeups(redis, dispatcher.notify) if redis else None
    wakeups = Wakeups(dispatcher.notify, shared, tasks=tasks)
    store.on_enqueued(wakeups.committed)
    store.on_scheduled(dispatcher.due_at)
    outbox.on_revived(wakeups.committed)

    router = Router(
        store,
        book,
        clock,
        batch=BATCH_BY_STORE[db.dialect],
        sole_claimer=db.dialect == "sqlite",
        on_routed=lambda done: metrics.messages_in.inc(done.texts),
        give_way=foreground.give_way,
    )
    shared_arrivals = RedisWakeups(redis, router.notify, channel=INBOX_CHANNEL) if redis else None
    arrivals = Wakeups(router.notify, shared_arrivals, tasks=tasks)
    intake = InboxWriter(db, on_committed=arrivals.committed, foreground=foreground)
    gatekeeper = Gatekeeper(client, lambda: book.inbox.all_channels)
    bolt = build_bolt_app(
        client=client,
        gatekeeper=gatekeeper,
        units=store,
        outbox=outbox,
        metrics=metrics,
        book=book,
        clock=clock,
        broadcasting=broadcast_rules(settings),
    )
    mail = MailIntake(intake=intake, clock=clock, our_address=settings.email_address)
    return Bridge(
        caller=ctx.caller,
        smtp_listener=smtp_listener(settings, mail),
        settings=settings,
        db=db,
        store=store,
        outbox=outbox,
        dispatcher=dispatcher,
        router=router,
        intake=intake,
        arrivals=arrivals,
        bolt=bolt,
        gatekeeper=gatekeeper,
        seen=seen,
        sender=sender,
        metrics=metrics,
        book=book,
        wakeups=wakeups,
        redis=redis,
        slack_session=slack_session,
        media_client=media_client,
        links=links,
        tasks=tasks,
        clock=clock,
    )


async def open_store(url: str) -> Database:
    """The database, migrated when it is an embedded SQLite file and current otherwise."""
    unwritable = sqlite_unwritable(url)
    if unwritable is not None:
        raise ConfigError(f"DATABASE_URL: {unwritable}")
    db = Database(url)
    try:
        if url.startswith("sqlite"):
            await migrate(url)
        behind = await schema_behind(db)
    except (SQLAlchemyError, OSError) as exc:
        await db.close()
        raise ConfigError(f"DATABASE_URL: the database does not answer ({_why(exc)})") from None
    if behind:
        await db.close()
        # Several instances may share PostgreSQL: upgrading is a deliberate step.
        raise ConfigError(f"DATABASE_URL: {behind}; run `smschat-bridge migrate` first")
    return db


async def open_redis(url: str | None) -> RedisLink | None:
    if not url:
        return None
    redis = Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        await redis.aclose()
        raise ConfigError(f"REDIS_URL: Redis does not answer ({type(exc).__name__})") from None
    return RedisLink(redis)


def _why(exc: Exception) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return type(cause).__name__


def slack_web_client(settings: Settings, session: aiohttp.ClientSession) -> AsyncWebClient:
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        session=session,
        timeout=int(settings.http_timeout_seconds + 0.999),
        # No retries inside a call: a post whose answer was lost may have been made, and
        # only the outbox, which looks first, may decide to try again.
        retry_handlers=[],
    )


def vonage_client(settings: Settings) -> VonageClient:
    return VonageClient(
        vonage_auth(settings),
        rest_host=settings.vonage_rest_host,
        api_host=settings.vonage_api_host,
        timeout=settings.http_timeout_seconds,
    )


def voice_caller(settings: Settings) -> VonageVoice | None:
    """Calls go through the Voice API of the Vonage application, when one is set."""
    if not settings.uses_messages_api:
        return None
    event_url = f"{settings.public_url}{VOICE_EVENT_PATH}" if settings.public_url else None
    return VonageVoice(vonage_client(settings), event_url=event_url)
