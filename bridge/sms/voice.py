"""The Vonage Voice API: a call to a staff member's phone connected to a contact, and the
events Vonage sends of it. https://developer.vonage.com/en/api/voice#createCall and
https://developer.vonage.com/en/voice/voice-api/webhook-reference#event-webhook"""

from __future__ import annotations

from typing import Any

from bridge.domain.events import CallEvent
from bridge.domain.values import PhoneNumber
from bridge.errors import InvalidInput
from bridge.sms.client import VonageClient, http_failure

CALLS_PATH = "/v1/calls"
EVENT_PATH = "/vonage/voice/event"
# A call's uuid and status are at most this long (UUIDs and words such as "unanswered").
_MAX_FIELD = 64


def _phone(number: str) -> dict[str, str]:
    """A phone endpoint: Voice API numbers are E.164 without the '+'."""
    return {"type": "phone", "number": number.removeprefix("+")}


class VonageVoice:
    """Implements `VoiceCaller`: one `POST /v1/calls` per call, with an inline NCCO."""

    def __init__(self, client: VonageClient, *, event_url: str | None) -> None:
        self.client = client
        self.event_url = event_url

    async def call(
        self,
        *,
        staff_phone: PhoneNumber,
        contact: PhoneNumber,
        our_number: PhoneNumber,
        greeting: str,
    ) -> str:
        body: dict[str, Any] = {
            "to": [_phone(staff_phone)],
            "from": _phone(our_number),
            "ncco": [
                {"action": "talk", "text": greeting},
                {
                    "action": "connect",
                    "from": our_number.removeprefix("+"),
                    "endpoint": [_phone(contact)],
                },
            ],
        }
        if self.event_url is not None:
            body |= {"event_url": [self.event_url], "event_method": "POST"}
        status, answer, headers = await self.client.request(
            "POST", self.client.api_host, CALLS_PATH, credentials="jwt", json=body
        )
        if status not in (200, 201) or not isinstance(answer, dict) or not answer.get("uuid"):
            raise http_failure(status, headers, "the Voice API")
        return str(answer["uuid"])

    async def close(self) -> None:
        await self.client.close()


def parse_call_event(params: dict[str, Any]) -> CallEvent:
    """A Voice API event webhook's body; `InvalidInput` (400) when it is not one."""
    call_uuid, status = params.get("uuid"), params.get("status")
    if not isinstance(call_uuid, str) or not isinstance(status, str) or not call_uuid or not status:
        raise InvalidInput("a call event needs its uuid and status")
    if len(call_uuid) > _MAX_FIELD or len(status) > _MAX_FIELD:
        raise InvalidInput("a call event's uuid or status is too long")
    duration = params.get("duration")
    try:
        seconds = int(duration) if duration not in (None, "") else None
    except (TypeError, ValueError):
        raise InvalidInput("a call event's duration is not a number of seconds") from None
    return CallEvent(call_uuid=call_uuid, status=status, duration=seconds)
