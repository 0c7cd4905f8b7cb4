"""The demo's own web app: one page, its JSON endpoints and a Server-Sent Events stream.

The page talks only to this app. Each endpoint acts through `Sandbox`, which reaches the
bridge the way Slack and Vonage would; the stream carries every change in the fakes.

    GET  /                   the page (static/index.html, app.js, style.css)
    GET  /api/state          everything to draw: channel messages, phone, notices, contacts
    GET  /api/export.csv     today's messaging log, as `smschat-bridge export` writes it
    GET  /api/events         text/event-stream of "slack", "phone", "mail", "notice", "modal"
                             changes
    POST /api/phone/send     {"contact": "+447400900123", "text": "..."}
    GET  /api/phone/files/{id}  the picture or file a phone's bubble carries
    POST /api/mail/send      {"from": "alice@example.com", "subject": "...", "text": "...",
                              "answering": "m3"}  (answering: the id of a reply it got)
    POST /api/slack/post     {"text": "...", "thread_ts": "..."}  (thread_ts: a reply)
    POST /api/slack/file     {"thread_ts": "...", "text": "...", "name": "map.png",
                              "mimetype": "image/png", "data": "<base64>"}  (an upload)
    GET  /api/slack/files/{id}  a file shared in the channel
    POST /api/slack/command  {"text": "/smschat help"}
    POST /api/slack/action   {"message_ts": "...", "action_id": "...", "block_id": "...",
                              "chosen": "U0SAM"}  (chosen: a menu's pick); or "view_id"
                              instead of "message_ts" (a modal or Home tab), with "values"
    POST /api/slack/shortcut {"message_ts": "...", "callback_id": "move_to_new_case"}
    POST /api/slack/home     {}  (the Home tab opened)
    POST /api/me             {"user": "U0DANA"}  (sign in as someone else)
    POST /api/clock          {"hour": 2}  (the bridge's clock moves on to the next 2 a.m.)
    POST /api/slack/view     {"view_id": "V...", "values": {block_id: {action_id: value}}}
    POST /api/slack/view/close {"view_id": "V..."}
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bridge.errors import BridgeError
from bridge.logs import configure_logging
from bridge.sandbox import wire
from bridge.sandbox.seed import CONTACTS, seed
from bridge.sandbox.world import Sandbox
from bridge.tasks import stop_requests

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
KEEPALIVE_SECONDS = 15.0  # a comment line now and then keeps proxies from closing the stream
NO_CACHE = {"Cache-Control": "no-store"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class DemoError(BridgeError):
    """The demo could not start; the message says why, for the command line."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    host: str = "127.0.0.1"
    port: int = 3000
    database: Path | None = None
    empty: bool = False


class EventHub:
    """Fans every sandbox change out to the open event streams, one queue each."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[tuple[str, dict[str, Any]] | None]] = set()

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        for queue in self._queues:
            queue.put_nowait((kind, data))

    def open(self) -> asyncio.Queue[tuple[str, dict[str, Any]] | None]:
        queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue()
        self._queues.add(queue)
        return queue

    def close(self, queue: asyncio.Queue[Any]) -> None:
        self._queues.discard(queue)

    def shutdown(self) -> None:
        """End every stream (a browser would otherwise hold the server open)."""
        for queue in self._queues:
            queue.put_nowait(None)


EVENT_HUB = web.AppKey("event_hub", EventHub)


def build_demo_app(sandbox: Sandbox, *, empty: bool = False) -> web.Application:
    hub = EventHub()
    sandbox.subscribe(hub.publish)
    contacts = [] if empty else [asdict(c) for c in CONTACTS]

    async def index(_request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers=NO_CACHE)

    async def state(_request: web.Request) -> web.Response:
        return web.json_response(sandbox.snapshot() | {"contacts": contacts}, headers=NO_CACHE)

    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"} | NO_CACHE
        )
        await response.prepare(request)
        queue = hub.open()
        try:
            await response.write(b"retry: 1000\n\n")
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if item is None:
                    break
                kind, data = item
                await response.write(f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode())
        except (ConnectionResetError, ConnectionError):
            pass  # the browser went away
        finally:
            hub.close(queue)
        return response

    async def export_csv(_request: web.Request) -> web.Response:
        disposition = 'attachment; filename="smschat-log.csv"'
        return web.Response(
            text=await sandbox.export_log(),
            content_type="text/csv",
            headers={"Content-Disposition": disposition} | NO_CACHE,
        )

    async def phone_send(body: dict[str, Any]) -> dict[str, Any]:
        sent = await sandbox.phone_send(str(body.get("contact", "")), str(body.get("text", "")))
        return {"message": asdict(sent)}

    async def phone_picture(body: dict[str, Any]) -> dict[str, Any]:
        contact, caption = str(body.get("contact", "")), str(body.get("text", ""))
        return {"message": asdict(await sandbox.phone_send_picture(contact, caption))}

    async def mail_send(body: dict[str, Any]) -> dict[str, Any]:
        sent = await sandbox.mail_send(
            str(body.get("from", "")),
            str(body.get("subject", "")),
            str(body.get("text", "")),
            answering=str(body["answering"]) if body.get("answering") else None,
        )
        return {"message": asdict(sent)}

    async def phone_file(request: web.Request) -> web.Response:
        found = sandbox.phones.files.get(request.match_info["message_id"])
        if found is None:
            raise web.HTTPNotFound()
        return _file_response(*found)

    async def slack_file(request: web.Request) -> web.Response:
        found = sandbox.slack.files.get(request.match_info["file_id"], {})
        if found.get("_data") is None:
            raise web.HTTPNotFound()
        return _file_response(found["_data"], found.get("mimetype") or wire.UNTYPED)

    async def slack_share_file(body: dict[str, Any]) -> dict[str, Any]:
        return await sandbox.staff_share_file(
            name=str(body.get("name", "")),
            mimetype=str(body.get("mimetype") or ""),
            data=wire.file_bytes(body.get("data")),
            text=str(body.get("text", "")),
            thread_ts=str(body.get("thread_ts", "")),
        )

    async def slack_post(body: dict[str, Any]) -> dict[str, Any]:
        thread_ts = body.get("thread_ts") or None
        return await sandbox.staff_post(str(body.get("text", "")), thread_ts=thread_ts)

    async def slack_command(body: dict[str, Any]) -> dict[str, Any]:
        return {"notice": asdict(await sandbox.run_command(str(body.get("text", ""))))}

    async def slack_action(body: dict[str, Any]) -> dict[str, Any]:
        if body.get("view_id"):
            values = body.get("values") or {}
            if not isinstance(values, dict):
                raise ValueError("values must be an object")
            return await sandbox.click_in_view(
                str(body["view_id"]),
                str(body.get("action_id", "")),
                block_id=body.get("block_id") or None,
                chosen=body.get("chosen") or None,
                values=values,
            )
        return await sandbox.click(
            str(body.get("message_ts", "")),
            str(body.get("action_id", "")),
            block_id=body.get("block_id") or None,
            chosen=body.get("chosen") or None,
        )

    async def slack_view(body: dict[str, Any]) -> dict[str, Any]:
        values = body.get("values")
        if not isinstance(values, dict):
            raise ValueError("values must be an object")
        return await sandbox.submit_view(str(body.get("view_id", "")), values)

    async def slack_view_close(body: dict[str, Any]) -> dict[str, Any]:
        sandbox.close_view(str(body.get("view_id", "")))
        return {"ok": True}

    async def slack_shortcut(body: dict[str, Any]) -> dict[str, Any]:
        return await sandbox.shortcut(
            str(body.get("message_ts", "")), str(body.get("callback_id", ""))
        )

    async def slack_home(_body: dict[str, Any]) -> dict[str, Any]:
        return await sandbox.open_home()

    async def sign_in(body: dict[str, Any]) -> dict[str, Any]:
        sandbox.sign_in(str(body.get("user", "")))
        return {"me": sandbox.me}

    async def set_clock(body: dict[str, Any]) -> dict[str, Any]:
        hour = body.get("hour")
        if not isinstance(hour, int) or not 0 <= hour <= 23:
            raise ValueError("hour must be a whole number from 0 to 23")
        return {"clock": sandbox.pretend_it_is(hour)}

    # A file the page uploads arrives as base64 in JSON: a third larger than the file.
    app = web.Application(client_max_size=wire.MOST_FILE_BYTES * 2)
    app[EVENT_HUB] = hub
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/api/state", state)
    app.router.add_get("/api/events", events)
    app.router.add_get("/api/export.csv", export_csv)
    app.router.add_post("/api/phone/send", _json_endpoint(phone_send))
    app.router.add_post("/api/phone/picture", _json_endpoint(phone_picture))
    app.router.add_get("/api/phone/files/{message_id}", phone_file)
    app.router.add_post("/api/mail/send", _json_endpoint(mail_send))
    app.router.add_get("/api/slack/files/{file_id}", slack_file)
    app.router.add_post("/api/slack/file", _json_endpoint(slack_share_file))
    app.router.add_post("/api/slack/post", _json_endpoint(slack_post))
    app.router.add_post("/api/slack/command", _json_endpoint(slack_command))
    app.router.add_post("/api/slack/action", _json_endpoint(slack_action))
    app.router.add_post("/api/slack/view", _json_endpoint(slack_view))
    app.router.add_post("/api/slack/view/close", _json_endpoint(slack_view_close))
    app.router.add_post("/api/slack/shortcut", _json_endpoint(slack_shortcut))
    app.router.add_post("/api/slack/home", _json_endpoint(slack_home))
    app.router.add_post("/api/me", _json_endpoint(sign_in))
    app.router.add_post("/api/clock", _json_endpoint(set_clock))
    return app


def _file_response(data: bytes, content_type: str) -> web.Response:
    """A visitor's file: a picture to draw, anything else to download (never a page of
    this site's), of the type it was given, never guessed."""
    headers = {"X-Content-Type-Options": "nosniff"}
    if not content_type.startswith("image/"):
        headers["Content-Disposition"] = "attachment"
    return web.Response(body=data, content_type=content_type, headers=headers)


def _json_endpoint(
    action: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "the body must be JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "the body must be a JSON object"}, status=400)
        try:
            return web.json_response(await action(body))
        except ValueError as refused:
            return web.json_response({"error": str(refused)}, status=400)

    return handler


class Demo:
    """The sandbox and the page's web app, started and stopped together."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.sandbox = Sandbox(database=options.database)
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Start everything, seed the example, listen; the page's URL. DemoError if not."""
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise
        assert self._runner is not None
        self.url = page_url(self.options.host, self._runner.addresses[0][1])
        return self.url

    async def _start(self) -> None:
        options = self.options
        try:
            await self.sandbox.start()
        except (OSError, BridgeError, SQLAlchemyError) as exc:
            raise DemoError(f"the bridge did not start: {exc}") from exc
        if not options.empty and self.sandbox.fresh_database:
            try:
                await seed(self.sandbox)
            except (RuntimeError, TimeoutError) as exc:
                raise DemoError(f"the example conversation did not go through: {exc}") from exc
        elif not self.sandbox.fresh_database:
            log.info("demo: %s already holds data; no example added", options.database)
        app = build_demo_app(self.sandbox, empty=options.empty)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, options.host, options.port).start()
        except OSError as exc:
            raise DemoError(
                f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}; "
                "choose another --port"
            ) from exc

    async def close(self) -> None:
        if self._runner is not None:
            # Open event streams would otherwise hold the server until its shutdown timeout.
            self._runner.app[EVENT_HUB].shutdown()
            await self._runner.cleanup()
            self._runner = None
        await self.sandbox.close()


def page_url(host: str, port: int) -> str:
    """The URL to open on this machine: a wildcard address is reached through loopback."""
    if host in ("", "0.0.0.0", "localhost"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


async def serve_demo(options: DemoOptions) -> int:
    """`smschat-bridge demo`: run until Ctrl-C (or SIGTERM), then stop everything."""
    stopping = stop_requests()
    demo = Demo(options)
    configure_logging("INFO", demo.sandbox.secret_values())
    try:
        url = await demo.start()
    except DemoError as exc:
        print(f"smschat-bridge demo: {exc}", file=sys.stderr)
        return 1
    print(f"smschat-bridge demo: open {url} (Ctrl-C stops it)", flush=True)
    await stopping.wait()
    log.info("demo: stopping")
    await demo.close()
    return 0
