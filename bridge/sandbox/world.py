"""The sandbox world: the real bridge between the Slack and Vonage stand-ins of `bridge.fakes`.

Everything reaches the bridge as Slack and Vonage would send it: a phone's text becomes a
Vonage inbound webhook, a thread reply a message stored in the fake Slack plus a signed
Events API request, a command a signed slash-command form, a button a signed
`block_actions` payload. What the bridge sends out lands in the fakes, whose listeners
feed the page. A small relay on loopback stands in for the two things those services call
back: Vonage's delivery receipts (held back a moment, as a real network would, then passed
on unchanged to the bridge's `/vonage/status`) and Slack's `response_url`.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import os
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from bridge.app import Bridge, build_bridge
from bridge.config import Settings
from bridge.fakes import FakeSlack, FakeVonage, TestTls
from bridge.fakes.clock import ShiftedClock
from bridge.fakes.reading import shown_texts
from bridge.fakes.smtp import FakeSmtp
from bridge.routing.export import log_range, write_log
from bridge.sandbox import views
from bridge.sandbox.mailboxes import Mailboxes
from bridge.sandbox.phones import Phones, sample_picture
from bridge.sandbox.relay import CallbackRelay, loopback_socket, serve_on_loopback
from bridge.sandbox.scene import (
    COMMAND,
    INBOX_CHANNEL,
    INBOX_NAME,
    OUR_EMAIL,
    OUR_EMAIL_FROM,
    OUR_NUMBER,
    PEOPLE,
    SIGNATURE_METHOD,
    STAFF_ID,
    VONAGE_API_KEY,
    WORKSPACE_NAME,
    Listener,
    MailMessage,
    Notice,
    PhoneMessage,
    SandboxSettings,
)
from bridge.sandbox.staff import StaffActions
from bridge.sandbox.surfaces import VIEW_EVENTS, Surfaces
from bridge.tasks import TaskKeeper
from bridge.web_app import build_web_app

log = logging.getLogger(__name__)


class Sandbox(StaffActions, Surfaces):
    """Starts the fakes, a relay and the bridge; acts as the phones and the staff."""

    def __init__(
        self, *, database: Path | None = None, vonage_signature_secret: str | None = None
    ) -> None:
        self._workdir = Path(tempfile.mkdtemp(prefix="smschat-demo-"))
        self.database = (database or self._workdir / "demo.db").resolve()
        self.fresh_database = not self.database.exists()
        self.signing_secret = secrets.token_hex(16)
        # Off by default: the fake Vonage does not sign the delivery receipts it posts, and
        # a bridge holding a signature secret refuses unsigned ones.
        self.vonage_signature_secret = vonage_signature_secret
        self.bot_token = "xoxb-demo-" + secrets.token_hex(12)
        self.email_token = secrets.token_hex(16)
        self.tls = TestTls()
        self.slack = FakeSlack(token=self.bot_token)
        self.vonage = FakeVonage(
            api_key=VONAGE_API_KEY, api_secret=secrets.token_hex(12), tls=self.tls
        )
        self.settings: Settings | None = None
        self.bridge: Bridge | None = None
        self.bridge_url = ""
        self.notices: list[Notice] = []
        self.modals: list[str] = []  # ids of the dialogs open in front of the page, pushed last
        self.me = STAFF_ID  # who the page is signed in as
        # Rules about hours see this clock: the page can pretend it is 2 a.m.
        self.clock = ShiftedClock()
        self.tasks = TaskKeeper()
        self._ids = itertools.count(1)
        self._listeners: list[Listener] = []
        self.phones = Phones(
            vonage=self.vonage,
            post=self._post,
            fetch=self._get,
            emit=self._emit,
            signature_secret=vonage_signature_secret,
            signature_method=SIGNATURE_METHOD,
        )
        self.smtp = FakeSmtp()
        self.mailboxes = Mailboxes(
            smtp=self.smtp, post=self._post, emit=self._emit, inbound_token=self.email_token
        )
        self.relay = CallbackRelay(
            post=self._post,
            on_receipt=self.phones.receipt_arrived,
            on_response=self._responded,
            tasks=self.tasks,
        )
        self._bridge_site: web.AppRunner | None = None
        self._bridge_socket: socket.socket | None = None
        self._http: aiohttp.ClientSession | None = None
        self._old_ca_bundle: str | None = None
        self._ca_bundle_set = False

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise

    async def _start(self) -> None:
        # The Vonage SDK only speaks https, through `requests`: trust the fake's private CA.
        self._old_ca_bundle = os.environ.get("SSL_CERT_FILE")
        ca_bundle = self.tls.ca_bundle_path(self._workdir)
        os.environ["SSL_CERT_FILE"] = str(ca_bundle)
        self._ca_bundle_set = True
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        await self.slack.start()
        for person in PEOPLE:
            self.slack.add_user(
                person.id,
                person.handle,
                real_name=person.name,
                display_name=person.name.split()[0],
                is_admin=person.role == "admin",
                is_restricted=person.role == "guest",
            )
        members = [self.slack.bot_user_id, *(p.id for p in PEOPLE)]
        self.slack.add_channel(INBOX_CHANNEL, INBOX_NAME, members=members)
        self.slack.on_message(self._on_slack)
        await self.vonage.start()
        await self.relay.start()
        await self.smtp.start()
        # The bridge's public address is its own loopback one, known before it is built:
        # the links to staff members' files (GET /media/{token}) are made from it.
        self._bridge_socket = loopback_socket()
        public_url = f"http://127.0.0.1:{self._bridge_socket.getsockname()[1]}"
        self.settings = SandboxSettings(
            slack_bot_token=self.bot_token,
            slack_signing_secret=self.signing_secret,
            slack_channel=INBOX_CHANNEL,
            slack_api_url=self.slack.base_url,
            vonage_api_key=VONAGE_API_KEY,
            vonage_api_secret=self.vonage.api_secret,
            vonage_signature_secret=self.vonage_signature_secret,
            vonage_signature_method=SIGNATURE_METHOD,
            vonage_numbers=OUR_NUMBER,
            vonage_rest_host=self.vonage.host,
            vonage_api_host=self.vonage.host,
            database_url=f"sqlite+aiosqlite:///{self.database}",
            host="127.0.0.1",
            public_url=public_url,
            # Email beside SMS, with no account: replies go to the fake mail server.
            email_address=OUR_EMAIL,
            email_from=OUR_EMAIL_FROM,
            email_inbound_token=self.email_token,
            smtp_url=self.smtp.url,
            log_level="INFO",
            # A visitor's broadcast goes at once, whatever the hour where the demo runs.
            quiet_hours="",
            broadcast_redraw_seconds=1,
        )
        self.bridge = await build_bridge(self.settings, clock=self.clock)
        dispatcher = self.bridge.dispatcher
        # Jobs that waited for a later hour are due once the clock gets there.
        self.clock.on_change(lambda: dispatcher.notify(dispatcher.workers))
        self._bridge_site, self.bridge_url = await serve_on_loopback(
            build_web_app(self.bridge), self._bridge_socket
        )
        self.phones.bridge_url = public_url
        await self.bridge.start_background()
        self.vonage.send_receipts_to(f"{self.relay.url}/vonage/status")
        self.tasks.spawn(self.phones.watch_sends(), name="sandbox-phone")
        self.tasks.spawn(self.mailboxes.watch_sends(), name="sandbox-mail")
        log.info("sandbox: bridge on %s, fake Slack on %s", self.bridge_url, self.slack.base_url)

    async def close(self) -> None:
        """Stop as work flows: no new webhooks, let the outbox finish, then the rest."""
        if self._bridge_site is not None:
            await self._bridge_site.cleanup()
            self._bridge_site = None
        if self._bridge_socket is not None:
            self._bridge_socket.close()
            self._bridge_socket = None
        if self.bridge is not None:
            await self.bridge.close(grace=5.0)
            self.bridge = None
        await self.tasks.cancel_all()
        await self.vonage.stop()
        await self.slack.stop()
        await self.relay.close()
        await self.smtp.stop()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._ca_bundle_set:
            os.environ.pop("SSL_CERT_FILE", None)
            if self._old_ca_bundle is not None:
                os.environ["SSL_CERT_FILE"] = self._old_ca_bundle
            self._ca_bundle_set = False
        shutil.rmtree(self._workdir, ignore_errors=True)

    def secret_values(self) -> list[str]:
        """The demo's own secrets, for the log filter (dummies, but kept out of logs too)."""
        found = [self.signing_secret, self.bot_token, self.vonage.api_secret, self.email_token]
        return found + ([self.vonage_signature_secret] if self.vonage_signature_secret else [])

    # -- what the page sees --------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Call `listener(kind, data)` on every change: "slack", "dm", "phone", "mail",
        "notice", "modal", "home", "me" or "clock"."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def snapshot(self) -> dict[str, Any]:
        """Everything the page draws, as JSON."""
        messages = []
        for top in self.slack.messages(INBOX_CHANNEL):
            thread = self.slack.thread(INBOX_CHANNEL, top["ts"])
            messages += [self.slack_view(top)]
            messages += [self.slack_view(m) for m in thread if m["ts"] != top["ts"]]
        return {
            "our_number": OUR_NUMBER,
            "workspace": WORKSPACE_NAME,
            "channel": {"id": INBOX_CHANNEL, "name": INBOX_NAME},
            "me": self.me,
            "people": [asdict(p) for p in PEOPLE],
            "shortcuts": views.message_shortcuts(),
            "clock": self.clock.now().isoformat(),
            "time_zone": self.settings.time_zone if self.settings else "UTC",
            "command": COMMAND,
            "notes_prefix": self.settings.notes_prefix if self.settings else None,
            "users": {uid: views.display_name(u) for uid, u in self.slack.users.items()},
            "bots": [uid for uid, u in self.slack.users.items() if u.get("is_bot")],
            "slack": messages,
            "phone": [asdict(m) for m in self.phone],
            "our_email": OUR_EMAIL,
            "mail": [asdict(m) for m in self.mailboxes.messages],
            "notices": [asdict(n) for n in self.notices],
            "modal": self.modal,
            "homes": self.homes(),
            "dms": self.direct_messages(),
        }

    def slack_view(self, message: dict[str, Any]) -> dict[str, Any]:
        # A header showing a case's first texts, or texts sharing one post, carries them as
        # plain-text blocks; a text posted alone is posted with mrkdwn off.
        in_blocks = bool(message.get("blocks")) and bool(shown_texts([message]))
        via_sms = bool(message.get("bot_id")) and (
            in_blocks or views.posted_verbatim(self.slack.calls("chat.postMessage"), message)
        )
        return views.slack_view(message, users=self.slack.users, via_sms=via_sms)

    def thread_of(self, text: str) -> str | None:
        """The thread where the bridge posted `text` (a phone's words), if it has yet."""
        for top in self.slack.messages(INBOX_CHANNEL):
            if text in shown_texts(self.slack.thread(INBOX_CHANNEL, top["ts"])):
                return top["ts"]
        return None

    async def wait_for_thread(self, text: str, *, timeout: float = 10.0) -> str:  # noqa: ASYNC109
        """Wait until the bridge has posted the phone's `text`; its case thread's ts."""
        await self.slack.wait_until(
            lambda: self.thread_of(text) is not None, timeout=timeout, what=f"post of {text!r}"
        )
        found = self.thread_of(text)
        assert found is not None
        return found

    @property
    def phone(self) -> list[PhoneMessage]:
        """Every bubble on the phones, oldest first."""
        return self.phones.messages

    async def phone_send(self, contact: str, text: str) -> PhoneMessage:
        """The phone `contact` texts our number: one inbound webhook per SMS part."""
        assert self.settings is not None, "start() the sandbox first"
        return await self.phones.send(contact, text)

    async def phone_send_picture(self, contact: str, caption: str) -> PhoneMessage:
        """The phone `contact` sends a picture with a caption (an MMS)."""
        assert self.settings is not None, "start() the sandbox first"
        return await self.phones.send_picture(contact, caption, sample_picture())

    async def mail_send(
        self, sender: str, subject: str, text: str, *, answering: str | None = None
    ) -> MailMessage:
        """The mailbox `sender` writes to our address, or answers a reply it received."""
        assert self.settings is not None, "start() the sandbox first"
        return await self.mailboxes.send(sender, subject, text, answering=answering)

    async def wait_for_phone(
        self,
        predicate: Callable[[list[PhoneMessage]], bool],
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 -- a bounded wait is the point
    ) -> None:
        await self.phones.wait_until(predicate, timeout=timeout)

    # -- wire plumbing ---------------------------------------------------------------------
    async def _post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        assert self._http is not None
        async with self._http.post(f"{self.bridge_url}{path}", data=body, headers=headers) as r:
            return r.status, (await r.text()).strip()

    async def _get(self, url: str) -> tuple[int, str, bytes]:
        """What a phone gets at `url` (status, type, body); 502 when nobody answers."""
        assert self._http is not None
        try:
            async with self._http.get(url) as response:
                return response.status, response.content_type, await response.read()
        except (aiohttp.ClientError, TimeoutError) as failed:
            log.warning("sandbox: %s did not open: %s", url, failed)
            return 502, "", b""

    async def _responded(self, text: str, blocks: list[Any]) -> None:
        await self._notice("response", views.emojize(text), blocks=views.emojize(blocks))

    async def _on_slack(self, kind: str, message: dict[str, Any]) -> None:
        if kind in VIEW_EVENTS:
            self.view_changed(kind, message)
        elif kind == "ephemeral" and message.get("channel") == INBOX_CHANNEL:
            text = views.emojize(message.get("text") or "")
            blocks = views.emojize(message.get("blocks") or [])
            thread_ts, to = message.get("thread_ts"), str(message.get("ephemeral_to"))
            await self._notice("ephemeral", text, blocks=blocks, thread_ts=thread_ts, to=to)
        elif message.get("channel") == INBOX_CHANNEL:
            self._emit("slack", {"kind": kind, "message": self.slack_view(message)})
        elif self.is_dm(message.get("channel")):
            self._emit("dm", {"kind": kind, "message": self.dm_view(message)})

    async def export_log(self) -> str:
        """Today's messaging log as `smschat-bridge export --format csv` writes it."""
        assert self.bridge is not None and self.settings is not None
        now = self.clock.now()
        zone = self.settings.time_zone
        since = now.astimezone(ZoneInfo(zone)).date().isoformat()
        out = io.StringIO()
        span = log_range(since, None, time_zone=zone, now=now)
        await write_log(self.bridge.store, span, file_format="csv", out=out)
        return out.getvalue()

    def pretend_it_is(self, hour: int, minute: int = 0) -> str:
        """Move the bridge's clock on to the next `hour`:`minute` in its time zone."""
        assert self.settings is not None
        zone = ZoneInfo(self.settings.time_zone)
        now = self.clock.now().astimezone(zone)
        moment = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if moment <= now:
            moment += timedelta(days=1)
        self.clock.set(moment)
        shown = self.clock.now().isoformat()
        self._emit("clock", {"clock": shown})
        return shown

    async def _notice(self, kind: str, text: str, **extra: Any) -> Notice:
        extra.setdefault("to", self.me)
        notice = Notice(self._next_id("n"), time.time(), kind, text, **extra)
        self.notices.append(notice)
        self._emit("notice", asdict(notice))
        return notice

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(kind, data)

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"
