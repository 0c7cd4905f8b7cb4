"""The fake's Voice API: `POST /v1/calls` with an inline NCCO, answered as Vonage answers
(201, the call's uuid, `started`), each call recorded; and the signed event webhooks Vonage
sends of a call. https://developer.vonage.com/en/api/voice#createCall"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bridge.fakes.vonage_payloads import messages_webhook_authorization
from bridge.fakes.vonage_wire import jwt_claims, problem


@dataclass(slots=True)
class VoiceCall:
    """A call the fake took: whom it rings, from which number, and its NCCO."""

    uuid: str
    to: list[dict[str, Any]]
    from_: dict[str, Any]
    ncco: list[dict[str, Any]]
    event_url: list[str] | None


class FakeVoice:
    def __init__(self, application_id: str) -> None:
        self.application_id = application_id
        self.calls: list[VoiceCall] = []

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/calls", self._create_call)

    async def _create_call(self, request: web.Request) -> web.Response:
        # Voice takes the application's JWT only (no key and secret).
        claims = jwt_claims(request.headers.get("Authorization", "").removeprefix("Bearer "))
        if not claims or claims.get("application_id") != self.application_id:
            return problem(401)
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return problem(400)
        bad = [name for name in ("to", "from", "ncco") if not body.get(name)]
        if bad or "answer_url" in body:  # the NCCO is inline: no answer URL with it
            invalid = [{"name": name, "reason": "missing"} for name in bad]
            return problem(400, invalid_parameters=invalid)
        call = VoiceCall(
            uuid=str(uuid.uuid4()),
            to=body["to"],
            from_=body["from"],
            ncco=body["ncco"],
            event_url=body.get("event_url"),
        )
        self.calls.append(call)
        answer = {"uuid": call.uuid, "status": "started", "direction": "outbound"}
        return web.json_response(answer | {"conversation_uuid": f"CON-{uuid.uuid4()}"}, status=201)


def call_event_body(call: VoiceCall, status: str, **extra: Any) -> dict[str, Any]:
    """The event webhook Vonage posts of a call: ringing, answered, completed (duration)..."""
    return {
        "uuid": call.uuid,
        "conversation_uuid": "CON-fake",
        "status": status,
        "direction": "outbound",
        "from": call.from_.get("number"),
        "to": call.to[0].get("number"),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        **extra,
    }


def signed_call_event(
    call: VoiceCall, status: str, *, signature_secret: str, **extra: Any
) -> tuple[bytes, dict[str, str]]:
    """A call event's body and headers, signed as Vonage signs Voice webhooks (the JWT the
    Messages API's webhooks carry)."""
    body = json.dumps(call_event_body(call, status, **extra)).encode()
    authorization = messages_webhook_authorization(body, signature_secret=signature_secret)
    return body, {"Authorization": authorization, "Content-Type": "application/json"}
