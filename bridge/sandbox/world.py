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

import asyncio
import contextlib
import html
import itertools
import json
import logging
import os
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import web
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from bridge.app import Bridge, build_bridge, build_web_app
from bridge.config import Settings
from bridge.fakes import FakeSlack, FakeVonage, TestTls, slack_signature_headers
from bridge.fakes.slack_api import (
    block_actions_payload,
    event_callback_body,
    interaction_form,
    message_event,
    slash_command_form,
    view_submission_payload,
)
from bridge.fakes.vonage_api import sms_inbound_params
from bridge.sandbox import views, wire
from bridge.tasks import TaskKeeper

log = logging.getLogger(__name__)

OUR_NUMBER = "+447700900000"  # Ofcom's range for drama: never a real phone
INBOX_CHANNEL = "C0INBOX"
INBOX_NAME = "sms-inbox"
WORKSPACE_NAME = "Demo Clinic"
STAFF_ID, STAFF_NAME, STAFF_DISPLAY = "U0SAM", "sam", "Sam Rivera"
COMMAND = "/smschat"
VONAGE_API_KEY = "demo0key"
# Delivery receipts come back seconds after a send on a real network; the fake posts them
# at once, so the relay holds each one back a little before passing it on.
RECEIPT_DELAY = 0.6
FORM = "application/x-www-form-urlencoded"


class SandboxSettings(Settings):
    """The bridge's own Settings, validated as in production, but taken only from what the
    sandbox passes: neither the environment nor a `.env` file (which may hold real
    tokens) can leak into the demo."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


@dataclass(slots=True)
class PhoneMessage:
    """One bubble on the phone: a text it sent to our number, or one it received."""

    id: str
    contact: str  # the phone's own number, E.164
    direction: str  # "sent" (phone → bridge) or "received" (bridge → phone)
    text: str
    at: float
    state: str  # sent: sending, sent, refused; received: submitted, delivered, failed, ...
    detail: str = ""
    parts: list[str] = field(default_factory=list)  # carrier message ids of what it received
    part_states: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Notice:
    """Something only the demo's staff member sees: an ephemeral, a command's answer."""

    id: str
    at: float
    kind: str  # "ephemeral", "command", "response" or "error"
    text: str
    blocks: list[Any] = field(default_factory=list)
    thread_ts: str | None = None
    command: str | None = None


Listener = Callable[[str, dict[str, Any]], None]


class Sandbox:
    """Starts the fakes, a relay and the bridge; acts as the phone and the staff member."""

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
        self.tls = TestTls()
        self.slack = FakeSlack(token=self.bot_token)
        self.vonage = FakeVonage(
            api_key=VONAGE_API_KEY, api_secret=secrets.token_hex(12), tls=self.tls
        )
        self.settings: Settings | None = None
        self.bridge: Bridge | None = None
        self.bridge_url = ""
        self.relay_url = ""
        self.phone: list[PhoneMessage] = []
        self.notices: list[Notice] = []
        self.modal: dict[str, Any] | None = None  # the dialog open in front of the channel
        self.tasks = TaskKeeper()
        self._ids = itertools.count(1)
        self._listeners: list[Listener] = []
        self._phone_changed = asyncio.Condition()
        self._relay: web.AppRunner | None = None
        self._bridge_site: web.AppRunner | None = None
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
        self.slack.add_user(STAFF_ID, STAFF_NAME, real_name=STAFF_DISPLAY, display_name="Sam")
        self.slack.add_channel(
            INBOX_CHANNEL, INBOX_NAME, members=[self.slack.bot_user_id, STAFF_ID]
        )
        self.slack.on_message(self._on_slack)
        await self.vonage.start()
        self._relay, self.relay_url = await _serve(self._relay_app())
        self.settings = SandboxSettings(
            slack_bot_token=self.bot_token,
            slack_signing_secret=self.signing_secret,
            slack_channel=INBOX_CHANNEL,
            slack_api_url=self.slack.base_url,
            vonage_api_key=VONAGE_API_KEY,
            vonage_api_secret=self.vonage.api_secret,
            vonage_signature_secret=self.vonage_signature_secret,
            vonage_numbers=OUR_NUMBER,
            vonage_rest_host=self.vonage.host,
            vonage_api_host=self.vonage.host,
            database_url=f"sqlite+aiosqlite:///{self.database}",
            host="127.0.0.1",
            log_level="INFO",
        )
        self.bridge = await build_bridge(self.settings)
        self._bridge_site, self.bridge_url = await _serve(build_web_app(self.bridge))
        await self.bridge.start_background()
        self.vonage.send_receipts_to(f"{self.relay_url}/vonage/status")
        self.tasks.spawn(self._watch_sends(), name="sandbox-phone")
        log.info("sandbox: bridge on %s, fake Slack on %s", self.bridge_url, self.slack.base_url)

    async def close(self) -> None:
        """Stop as work flows: no new webhooks, let the outbox finish, then the rest."""
        if self._bridge_site is not None:
            await self._bridge_site.cleanup()
            self._bridge_site = None
        if self.bridge is not None:
            await self.bridge.close(grace=5.0)
            self.bridge = None
        await self.tasks.cancel_all()
        await self.vonage.stop()
        await self.slack.stop()
        if self._relay is not None:
            await self._relay.cleanup()
            self._relay = None
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
        found = [self.signing_secret, self.bot_token, self.vonage.api_secret]
        return found + ([self.vonage_signature_secret] if self.vonage_signature_secret else [])

    # -- what the page sees --------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Call `listener(kind, data)` on every change: "slack", "phone", "notice", "modal"."""
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
            "me": {"id": STAFF_ID, "name": STAFF_DISPLAY},
            "command": COMMAND,
            "notes_prefix": self.settings.notes_prefix if self.settings else None,
            "users": {uid: views.display_name(u) for uid, u in self.slack.users.items()},
            "bots": [uid for uid, u in self.slack.users.items() if u.get("is_bot")],
            "slack": messages,
            "phone": [asdict(m) for m in self.phone],
            "notices": [asdict(n) for n in self.notices],
            "modal": self.modal,
        }

    def slack_view(self, message: dict[str, Any]) -> dict[str, Any]:
        via_sms = bool(message.get("bot_id")) and views.posted_verbatim(
            self.slack.calls("chat.postMessage"), message
        )
        return views.slack_view(message, users=self.slack.users, via_sms=via_sms)

    def thread_of(self, text: str) -> str | None:
        """The thread where the bridge posted `text` (a phone's words), if it has yet."""
        for top in self.slack.messages(INBOX_CHANNEL):
            for msg in self.slack.thread(INBOX_CHANNEL, top["ts"]):
                if msg.get("bot_id") and html.unescape(msg.get("text", "")) == text:
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

    async def wait_for_phone(
        self,
        predicate: Callable[[list[PhoneMessage]], bool],
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 -- a bounded wait is the point
    ) -> None:
        async with asyncio.timeout(timeout), self._phone_changed:
            await self._phone_changed.wait_for(lambda: predicate(self.phone))

    # -- the phone -----------------------------------------------------------------------
    async def phone_send(self, contact: str, text: str) -> PhoneMessage:
        """The phone `contact` texts our number: one inbound webhook per SMS part."""
        assert self.settings is not None, "start() the sandbox first"
        number = wire.contact_number(contact, ours=OUR_NUMBER)
        if not text.strip():
            raise ValueError("type a message first")
        msg = PhoneMessage(self._next_id("p"), number, "sent", text, time.time(), "sending")
        await self._phone_update(msg, new=True)
        parts = wire.split_sms(text)
        ref = f"{secrets.randbelow(0xFFFF):04X}"
        for number_in_series, part in enumerate(parts, start=1):
            params = sms_inbound_params(
                msisdn=number.removeprefix("+"),
                to=OUR_NUMBER.removeprefix("+"),
                text=part,
                concat=(ref, len(parts), number_in_series) if len(parts) > 1 else None,
                api_key=VONAGE_API_KEY,
                signature_secret=self.vonage_signature_secret,
                signature_method=self.settings.vonage_signature_method,
            )
            body = urlencode(params).encode()
            status, answer = await self._post("/vonage/inbound", body, {"Content-Type": FORM})
            if status != 200:
                msg.state, msg.detail = "refused", f"the bridge answered HTTP {status} {answer}"
                break
        else:
            msg.state = "sent"
            msg.detail = f"{len(parts)} SMS parts" if len(parts) > 1 else ""
        await self._phone_update(msg)
        return msg

    async def _watch_sends(self) -> None:
        """Every text Vonage accepted arrives on the phone it was sent to."""
        seen = 0
        while True:
            try:
                sends = await self.vonage.wait_for_sends(seen + 1, timeout=3600)
            except TimeoutError:
                continue
            for send in sends[seen:]:
                msg = PhoneMessage(
                    self._next_id("p"),
                    "+" + send.to.removeprefix("+"),
                    "received",
                    send.text,
                    send.at,
                    "submitted",
                    parts=list(send.message_ids),
                    part_states=dict.fromkeys(send.message_ids, "submitted"),
                )
                await self._phone_update(msg, new=True)
            seen = len(sends)

    async def _phone_update(self, msg: PhoneMessage, *, new: bool = False) -> None:
        if new:
            self.phone.append(msg)
        self._emit("phone", asdict(msg))
        async with self._phone_changed:
            self._phone_changed.notify_all()

    # -- the staff member in Slack -------------------------------------------------------
    async def staff_post(self, text: str, *, thread_ts: str | None = None) -> dict[str, Any]:
        """Sam types in the channel (or a thread): Slack stores it and sends the event."""
        if not text.strip():
            raise ValueError("type a message first")
        if thread_ts is not None and self.slack.message(INBOX_CHANNEL, thread_ts) is None:
            raise ValueError("no such thread")
        text = wire.typed_in_slack(text)
        posted = await self.slack.post_as_user(INBOX_CHANNEL, STAFF_ID, text, thread_ts=thread_ts)
        event = message_event(INBOX_CHANNEL, STAFF_ID, text, posted["ts"], thread_ts=thread_ts)
        event["team"] = self.slack.team_id
        envelope = event_callback_body(
            event, team_id=self.slack.team_id, api_app_id=self.slack.app_id
        )
        status, answer = await self._post_slack(json.dumps(envelope).encode(), "application/json")
        if status != 200:
            text = f"Slack could not deliver this message to the app (HTTP {status} {answer})"
            await self._notice("error", text, thread_ts=thread_ts)
        return {"ts": posted["ts"], "status": status}

    async def run_command(self, line: str) -> Notice:
        """Sam runs a slash command: Slack posts the signed form to the request URL."""
        line = line.strip()
        if not line.startswith("/"):
            line = f"{COMMAND} {line}"
        command, _, text = line.partition(" ")
        form = slash_command_form(
            command,
            wire.typed_in_slack(text.strip()),
            STAFF_ID,
            INBOX_CHANNEL,
            team_id=self.slack.team_id,
            team_domain=self.slack.team_domain,
            channel_name=INBOX_NAME,
            user_name=STAFF_NAME,
            api_app_id=self.slack.app_id,
            response_url=self._response_url(),
        )
        status, answer = await self._post_slack(urlencode(form).encode(), FORM)
        if status != 200:
            return await self._notice(
                "error", f"{command} failed: the app answered HTTP {status}.", command=line
            )
        text_out, blocks = wire.answer_content(answer)
        return await self._notice(
            "command", views.emojize(text_out), blocks=views.emojize(blocks), command=line
        )

    async def click(
        self,
        message_ts: str,
        action_id: str,
        *,
        block_id: str | None = None,
        chosen: str | None = None,
    ) -> dict[str, Any]:
        """Sam presses a button or picks in a menu: Slack posts a signed `block_actions`."""
        msg = self.slack.message(INBOX_CHANNEL, message_ts)
        if msg is None:
            raise ValueError("no such message")
        found = wire.find_element(msg.get("blocks") or [], action_id, block_id)
        if found is None:
            raise ValueError("no such button on that message")
        payload = block_actions_payload(
            user=STAFF_ID,
            channel=INBOX_CHANNEL,
            message={k: v for k, v in msg.items() if k != "channel"},
            action=wire.action_for(*found, chosen),
            team_id=self.slack.team_id,
        )
        payload["response_url"] = self._response_url()
        if msg.get("thread_ts") and msg["thread_ts"] != message_ts:
            payload["container"]["thread_ts"] = msg["thread_ts"]
        opened = set(self.slack.views)
        status, answer = await self._post_interaction(payload)
        if status != 200:
            text = f"That did not work: the app answered HTTP {status}."
            await self._notice("error", text, thread_ts=msg.get("thread_ts"))
        # An app answers a click with views.open (a modal) inside the request, if at all.
        for view_id in set(self.slack.views) - opened:
            self._show_modal(self.slack.views[view_id])
        return {"status": status, "answer": answer}

    async def submit_view(self, view_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Sam presses a modal's submit button: Slack posts a signed `view_submission`."""
        view = self.slack.views.get(view_id)
        if view is None or self.modal is None or self.modal["id"] != view_id:
            raise ValueError("that dialog is no longer open")
        shown = {k: v for k, v in view.items() if k != "state"}
        payload = view_submission_payload(
            user=STAFF_ID,
            view=shown,
            values=wire.view_state(view, values),
            team_id=self.slack.team_id,
        )
        status, answer = await self._post_interaction(payload)
        if status != 200:
            return {"status": status, "errors": {"": f"the app answered HTTP {status}"}}
        reply = json.loads(answer) if answer.startswith("{") else {}
        action = reply.get("response_action")
        if action == "errors":
            return {"status": status, "errors": reply.get("errors", {})}
        if action in ("update", "push"):
            self._show_modal(self.slack.views[view_id] | reply["view"])
        else:  # no answer, or "clear": the modal closes
            self._show_modal(None)
        return {"status": status, "errors": {}}

    def close_view(self, view_id: str) -> None:
        """Sam cancels a modal (the bridge asks for no `view_closed`, so Slack sends none)."""
        if self.modal is not None and self.modal["id"] == view_id:
            self._show_modal(None)

    def _show_modal(self, view: dict[str, Any] | None) -> None:
        self.modal = views.emojize(view) if view is not None else None
        self._emit("modal", {"view": self.modal})

    # -- wire plumbing ---------------------------------------------------------------------
    async def _post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        assert self._http is not None
        async with self._http.post(f"{self.bridge_url}{path}", data=body, headers=headers) as r:
            return r.status, (await r.text()).strip()

    async def _post_interaction(self, payload: dict[str, Any]) -> tuple[int, str]:
        return await self._post_slack(urlencode(interaction_form(payload)).encode(), FORM)

    async def _post_slack(self, body: bytes, content_type: str) -> tuple[int, str]:
        headers = {"Content-Type": content_type}
        headers |= slack_signature_headers(self.signing_secret, body)
        return await self._post("/slack/events", body, headers)

    def _response_url(self) -> str:
        return f"{self.relay_url}/slack/respond/{uuid.uuid4().hex}"

    def _relay_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/vonage/status", self._relay_receipt)
        app.router.add_post("/slack/respond/{token}", self._relay_response)
        return app

    async def _relay_receipt(self, request: web.Request) -> web.Response:
        """A delivery receipt from the fake Vonage, passed on to the bridge unchanged."""
        body = await request.read()
        content_type = request.headers.get("Content-Type", FORM)
        params = dict(request.query)
        if body and "json" not in content_type:
            params |= dict(parse_qsl(body.decode()))
        self.tasks.spawn(self._forward_receipt(body, content_type, params), name="receipt")
        return web.Response(status=200)

    async def _forward_receipt(self, body: bytes, content_type: str, params: dict) -> None:
        await asyncio.sleep(RECEIPT_DELAY)
        status, answer = await self._post("/vonage/status", body, {"Content-Type": content_type})
        part_id, state = params.get("messageId", ""), params.get("status", "unknown")
        for msg in self.phone:
            if part_id in msg.part_states:
                msg.part_states[part_id] = state
                if status != 200:
                    msg.state = "receipt refused"
                    msg.detail = f"the bridge answered HTTP {status} {answer}"
                else:
                    msg.state = wire.overall_receipt_state(msg.part_states.values())
                await self._phone_update(msg)

    async def _relay_response(self, request: web.Request) -> web.Response:
        """What the app posts to a command's or an action's `response_url`."""
        try:
            answer = await request.json()
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid_payload"}, status=400)
        text, blocks = wire.answer_content(answer)
        await self._notice("response", views.emojize(text), blocks=views.emojize(blocks))
        return web.Response(text="ok")

    async def _on_slack(self, kind: str, message: dict[str, Any]) -> None:
        if message.get("channel") != INBOX_CHANNEL:
            return
        if kind == "ephemeral":
            if message.get("ephemeral_to") == STAFF_ID:
                text = views.emojize(message.get("text") or "")
                blocks = views.emojize(message.get("blocks") or [])
                thread_ts = message.get("thread_ts")
                await self._notice("ephemeral", text, blocks=blocks, thread_ts=thread_ts)
            return
        self._emit("slack", {"kind": kind, "message": self.slack_view(message)})

    async def _notice(self, kind: str, text: str, **extra: Any) -> Notice:
        notice = Notice(self._next_id("n"), time.time(), kind, text, **extra)
        self.notices.append(notice)
        self._emit("notice", asdict(notice))
        return notice

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(kind, data)

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve `app` on a free loopback port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"
