"""Click-to-call: a staff member's own phone is rung through the Voice API (an inline NCCO
connecting them to the contact from our number), and the call's signed events are shown
in the case thread once each."""

from __future__ import annotations

import json

import pytest

from bridge import texts
from bridge.fakes.vonage_voice import signed_call_event
from bridge.slack import blocks
from tests.bridge_process import until
from tests.conftest import INBOX, LiveBridge

SIGNATURE_SECRET = "voice-signature-secret-0123456789"
CONTACT, STAFF_PHONE = "+447700900123", "+447700900555"


@pytest.fixture
async def calling(start_live, private_key_pem: str) -> LiveBridge:
    live = await start_live(
        VONAGE_APPLICATION_ID="fake-app-id",
        VONAGE_PRIVATE_KEY=private_key_pem,
        VONAGE_SIGNATURE_SECRET=SIGNATURE_SECRET,
        PUBLIC_URL="https://sms.example.org",
    )
    assert (await live.command(f"new {CONTACT} Your results are ready")).startswith(
        "Sending your text in case #1"
    )
    await live.drained()
    return live


def told(live: LiveBridge) -> list[str]:
    return [c.params["text"] for c in live.slack.calls("chat.postEphemeral")]


def thread(live: LiveBridge) -> list[str]:
    header = live.slack.messages(INBOX)[0]
    return [m["text"] for m in live.slack.thread(INBOX, header["ts"])[1:]]


async def test_call_rings_my_phone_and_its_events_reach_the_thread_once_each(
    calling: LiveBridge,
) -> None:
    live = calling
    assert (await live.press(blocks.CALL, 1)).status == 200
    await live.drained()
    assert told(live)[-1] == texts.CALL_NEEDS_PHONE and not live.vonage.voice.calls

    assert (await live.command("me phone +44 12")).startswith("'+44 12'")
    assert await live.command(f"me phone {STAFF_PHONE}") == texts.MY_PHONE_SET.format(
        number="+44 7700 900555"
    )
    answer = await live.command("call #1")
    assert answer == "Calling +44 7700 900555: answer it to be connected to case #1's contact."
    await live.drained()
    [call] = live.vonage.voice.calls
    assert call.to == [{"type": "phone", "number": STAFF_PHONE[1:]}]
    assert call.from_ == {"type": "phone", "number": "447700900000"}
    assert [action["action"] for action in call.ncco] == ["talk", "connect"]
    assert call.ncco[1]["from"] == "447700900000"
    assert call.ncco[1]["endpoint"] == [{"type": "phone", "number": CONTACT[1:]}]
    assert call.event_url == ["https://sms.example.org/vonage/voice/event"]

    url = f"{live.url}/vonage/voice/event"
    for status, extra in [
        ("ringing", {}),
        ("answered", {}),
        ("ringing", {}),
        ("completed", {"duration": "65"}),
    ]:
        body, headers = signed_call_event(call, status, signature_secret=SIGNATURE_SECRET, **extra)
        assert (await live.http.post(url, data=body, headers=headers)).status == 200
    await live.routed()
    await live.drained()
    notes = [t for t in thread(live) if t.startswith(":telephone_receiver:")]
    assert notes == [
        texts.CALL_STARTED_NOTE.format(user="U0STAFF"),
        texts.CALL_EVENT_NOTES["ringing"],
        texts.CALL_EVENT_NOTES["answered"],
        ":telephone_receiver: The call ended after 1:05.",
    ]


# Refusals are the webhook's, before any store: one store is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("label", "body", "signed", "status"),
    [
        ("unsigned", {"uuid": "u-1", "status": "ringing"}, False, 401),
        ("no status", {"uuid": "u-1"}, True, 400),
        (
            "a duration that is no number",
            {"uuid": "u-1", "status": "completed", "duration": "x"},
            True,
            400,
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
async def test_a_bad_call_event_is_refused_and_changes_nothing(
    calling: LiveBridge, label: str, body: dict, signed: bool, status: int
) -> None:
    from bridge.fakes.vonage_payloads import messages_webhook_authorization

    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["Authorization"] = messages_webhook_authorization(
            raw, signature_secret=SIGNATURE_SECRET
        )
    before = len(thread(calling))
    response = await calling.http.post(
        f"{calling.url}/vonage/voice/event", data=raw, headers=headers
    )
    assert response.status == status, label
    await calling.drained()
    assert len(thread(calling)) == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_without_a_vonage_application_call_says_what_is_missing(live: LiveBridge) -> None:
    assert (await live.command(f"new {CONTACT} Hello")).startswith("Sending your text in case #1")
    assert (await live.command(f"me phone {STAFF_PHONE}")).startswith("Calls from SMS Chat")
    assert (await live.command("call #1")).startswith("Calling")
    await until(lambda: told(live) and told(live)[-1] == texts.CALL_NOT_CONFIGURED)
    assert not live.vonage.voice.calls
