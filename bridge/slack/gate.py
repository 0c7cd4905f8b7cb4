"""`POST /slack/events` before Bolt: what a request must be before any listener sees it.

In order: a timestamp and a `v0=` signature in the shapes Slack sends, the timestamp within
five minutes, the signature matching the body (slack_sdk's `SignatureVerifier`). Only
then is the body read: UTF-8, Slack's form or JSON, the envelope's fields of the types
Slack documents. A command or interaction whose signature was accepted before is a replay,
refused by every instance sharing the store or Redis. Unsigned or unverifiable requests
get a 4xx before anything can fail; a signed request whose body cannot be used gets a 200,
since Slack would only retry it, and one warning without its body.
https://docs.slack.dev/authentication/verifying-requests-from-slack
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

from bridge.routing.ports import SeenOnce

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
# slack_sdk refuses timestamps more than five minutes from our clock, either way: a
# signature may come back for up to ten minutes after it was first accepted.
WINDOW_SECONDS = 300
REMEMBER_SECONDS = 2 * WINDOW_SECONDS


class _Ref(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str | None = None


class _Action(BaseModel):
    model_config = ConfigDict(extra="allow")
    action_id: str


class _View(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    callback_id: str = ""


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    subtype: str | None = None
    user: str | _Ref | None = None
    channel: str | _Ref | None = None
    team: str | None = None
    user_team: str | None = None
    message: dict[str, Any] | None = None
    previous_message: dict[str, Any] | None = None
    item: dict[str, Any] | None = None


_STRUCTURED = ("event", "view", "message", "container", "actions", "authorizations")


class Envelope(BaseModel):
    """The top-level fields Bolt and our listeners read, with the types Slack gives them."""

    model_config = ConfigDict(extra="allow")
    type: str | None = None
    team: str | _Ref | None = None
    user: str | _Ref | None = None
    channel: str | _Ref | None = None
    enterprise: str | _Ref | None = None
    event: _Event | None = None
    view: _View | None = None
    message: dict[str, Any] | None = None
    container: dict[str, Any] | None = None
    actions: Annotated[list[_Action], Field(min_length=1)] | None = None
    callback_id: str | None = None
    command: str | None = None
    authorizations: list[_Ref] | None = None
    response_urls: list[dict[str, Any]] | None = None
    response_url: str | None = None
    trigger_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        # Bolt reads these as `body.get(key, {})`: present, they must hold something.
        if isinstance(data, dict):
            nulled = [key for key in _STRUCTURED if key in data and data[key] is None]
            if nulled:
                raise ValueError(f"{', '.join(nulled)} given as null")
        return data

    @model_validator(mode="after")
    def _named(self) -> Envelope:
        # Bolt matches shortcuts by their callback id and modals by their view's.
        if self.type in ("shortcut", "message_action") and self.callback_id is None:
            raise ValueError("a shortcut names no callback_id")
        if self.type == "block_actions" and not self.actions:
            raise ValueError("block_actions without actions")
        if self.type in ("view_submission", "view_closed") and self.view is None:
            raise ValueError("a view payload without its view")
        return self


class Unusable(Exception):
    """A signed request whose body cannot be used; the message says why, without the body."""


class SlackGate:
    """Verifies and reads a request to `/slack/events`, then hands it to Bolt."""

    def __init__(self, bolt: AsyncApp, *, signing_secret: str, seen: SeenOnce) -> None:
        self.bolt = bolt
        self.verifier = SignatureVerifier(signing_secret)
        self.seen = seen

    async def handle(self, request: web.Request) -> web.Response:
        try:
            # Slack sends UTF-8 whatever the Content-Type says; anything else is not Slack's.
            body = (await request.read()).decode("utf-8")
        except UnicodeDecodeError:
            return web.json_response({"error": "the body is not UTF-8"}, status=400)
        headers = request.headers
        refusal = self._refusal(headers, body)
        if refusal is not None:
            log.warning("refused a request to /slack/events (401): %s", refusal)
            return web.json_response({"error": refusal}, status=401)
        try:
            bolt_request = bolt_request_of(body, headers, request.query_string)
        except Unusable as why:
            log.warning("a signed Slack request could not be used: %s", why)
            return web.Response(status=200)
        # Events are taken once by their own identity in the store (a message's ts), and
        # Slack retries them, maybe within the same second; every other request (a
        # command, a button, a form) Slack sends once, so its signature is taken once.
        token = f"slack:{headers[SIGNATURE_HEADER]}"
        guarded = bolt_request.body.get("type") != "event_callback"
        if guarded and not await self.seen.first_time(token, ttl=REMEMBER_SECONDS):
            log.warning("refused a request to /slack/events (401): a replay")
            return web.json_response({"error": "this request was already accepted"}, status=401)
        response = await to_aiohttp_response(await self.bolt.async_dispatch(bolt_request))
        if guarded and response.status >= 500:
            await self.seen.forget(token)  # nothing was taken: let it in again
        return response

    def _refusal(self, headers: Mapping[str, str], body: str) -> str | None:
        """Why the request is not Slack's; None when it is."""
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        signature = headers.get(SIGNATURE_HEADER, "")
        if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
            return "no Slack signature"
        if abs(time.time() - int(timestamp)) > WINDOW_SECONDS:
            return "the request is more than five minutes old"
        if not self.verifier.is_valid(body, timestamp, signature):
            return "the signature does not match"
        return None


def bolt_request_of(text: str, headers: Mapping[str, str], query: str) -> AsyncBoltRequest:
    """Bolt's request for a verified body; `Unusable` if the body cannot be read as Slack's."""
    content_type = headers.get("Content-Type", "").partition(";")[0].strip()
    try:
        parsed = parse_body(text, content_type)
    except (ValueError, RecursionError) as exc:
        raise Unusable(f"the body is not Slack's form or JSON ({type(exc).__name__})") from None
    if not isinstance(parsed, dict):
        raise Unusable("the body is not an object")
    try:
        Envelope.model_validate(parsed)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise Unusable(f"unusable field(s) {', '.join(fields[:5])}") from None
    forwarded = {"Content-Type": content_type or "application/x-www-form-urlencoded"}
    forwarded |= {k: v for k, v in headers.items() if k.lower().startswith("x-slack-")}
    return AsyncBoltRequest(body=text, query=query, headers=forwarded)
