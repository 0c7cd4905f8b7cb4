"""Requests an attacker, a broken client or a confused proxy would send, one finding per test.

Each of these once got a 5xx, a forged text into Slack or a second SMS. Rules they hold the
bridge to: the parameters of a request come only from what its signature covers; a signed
request is accepted once; unsigned or unparseable input gets a 4xx before anything can
fail; a signed Slack payload that can never succeed gets a 200 and a note, never a retry
loop; nothing bad input carries reaches the store.
"""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from bridge.fakes.slack_payloads import (
    block_actions_payload,
    interaction_form,
    message_event,
    slack_signature_headers,
    slash_command_form,
    view_submission_payload,
)
from bridge.fakes.vonage_payloads import (
    messages_inbound_json,
    messages_status_json,
    messages_webhook_authorization,
    sms_inbound_params,
)
from bridge.store.models import Message
from tests.conftest import INBOX, OUR_NUMBER, SIGNING_SECRET, STAFF, LiveBridge

SECRET = "hostile-input-signature-secret-0123456789"
CONTACT = "447400123456"
US = OUR_NUMBER.removeprefix("+")


async def stored_texts(live: LiveBridge) -> list[str]:
    await live.routed()
    async with live.bridge.db.reading() as session:
        return list(await session.scalars(select(Message.text).order_by(Message.id)))


async def message_count(live: LiveBridge) -> int:
    await live.routed()
    async with live.bridge.db.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


def jwt_headers(body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Authorization": messages_webhook_authorization(body, signature_secret=SECRET),
    }


# -- 1. forged texts through a signed request -----------------------------------------------


async def test_a_signed_status_callback_cannot_smuggle_a_text_in_its_query(start_live) -> None:
    live = await start_live(VONAGE_SIGNATURE_SECRET=SECRET)
    status = messages_status_json(
        message_uuid=str(uuid.uuid4()), to=CONTACT, from_=US, status="delivered"
    )
    body = json.dumps(status).encode()
    forged = {"msisdn": CONTACT, "to": US, "text": "forged text", "messageId": "FORGED1"}
    forged["message-timestamp"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    response = await live.http.post(
        f"{live.url}/vonage/inbound?{urlencode(forged)}", data=body, headers=jwt_headers(body)
    )
    assert response.status == 400
    assert "query" in (await response.json())["error"]
    await live.drained()
    assert await stored_texts(live) == []
    assert live.slack.calls("chat.postMessage") == []


async def test_a_signed_messages_api_request_is_accepted_once(start_live) -> None:
    first = await start_live(VONAGE_SIGNATURE_SECRET=SECRET)
    second = await start_live(VONAGE_SIGNATURE_SECRET=SECRET)  # the same store, as a 2nd instance
    body = json.dumps(messages_inbound_json(from_=CONTACT, to=US, text="once")).encode()
    headers = jwt_headers(body)
    accepted = await first.http.post(f"{first.url}/vonage/inbound", data=body, headers=headers)
    replayed = [
        await live.http.post(f"{live.url}/vonage/inbound", data=body, headers=headers)
        for live in (first, second)
    ]
    assert accepted.status == 200
    assert [r.status for r in replayed] == [401, 401]
    assert await stored_texts(first) == ["once"]


# -- 3. replayed Slack requests ---------------------------------------------------------------


async def test_a_replayed_slack_command_is_refused_and_texts_once(live: LiveBridge) -> None:
    form = slash_command_form(
        "/smschat", "new +44 7400 123456 Your results are ready", STAFF, INBOX
    )
    body = urlencode(form).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **slack_signature_headers(SIGNING_SECRET, body),
    }
    first = await live.http.post(f"{live.url}/slack/events", data=body, headers=headers)
    replays = [
        await live.http.post(f"{live.url}/slack/events", data=body, headers=headers)
        for _ in range(3)
    ]
    assert first.status == 200
    assert [r.status for r in replays] == [401, 401, 401]
    await live.vonage.wait_for_sends(1)
    await live.drained()
    assert len(live.vonage.sends) == 1


# -- 5. 500 for input the bridge cannot use -------------------------------------------------


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


UNSIGNED_SLACK = [
    ("garbage-bytes", b"\x00\xff\xfe{{", {"Content-Type": "application/json"}, 400),
    ("not-json", b"{not json", {"Content-Type": "application/json"}, 401),
    ("no-headers-form", b"payload=%7B", {"Content-Type": "application/x-www-form-urlencoded"}, 401),
    (
        "timestamp-not-a-number",
        b"{}",
        {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=" + "0" * 64},
        401,
    ),
    (
        "timestamp-fractional",
        b"{}",
        {"X-Slack-Request-Timestamp": "1712345678.5", "X-Slack-Signature": "v0=" + "0" * 64},
        401,
    ),
    (
        "charset-undefined",
        b"token=x&command=%2Fsmschat",
        {"Content-Type": "application/x-www-form-urlencoded; charset=undefined"},
        401,
    ),
    ("deeply-nested-json", _nested(20_000), {"Content-Type": "application/json"}, 401),
]


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [case[1:] for case in UNSIGNED_SLACK],
    ids=[case[0] for case in UNSIGNED_SLACK],
)
async def test_unsigned_slack_requests_get_a_4xx(live: LiveBridge, body, headers, status) -> None:
    response = await live.http.post(f"{live.url}/slack/events", data=body, headers=headers)
    assert response.status == status


def signed(body: bytes, content_type: str) -> dict[str, str]:
    return {"Content-Type": content_type, **slack_signature_headers(SIGNING_SECRET, body)}


SIGNED_SLACK_BODIES = {
    "charset-undefined": (
        urlencode(slash_command_form("/smschat", "help", STAFF, INBOX)).encode(),
        "application/x-www-form-urlencoded; charset=undefined",
    ),
    "deeply-nested-json": (_nested(20_000), "application/json"),
    "not-utf8": (b"command=%2Fsmschat&text=\xff\xfe", "application/x-www-form-urlencoded"),
    "payload-not-json": (b"payload=%7Bnope", "application/x-www-form-urlencoded"),
    "json-array": (b"[1, 2, 3]", "application/json"),
    "event-without-event": (b'{"type": "event_callback", "team_id": "T0TEAM"}', "application/json"),
    "event-is-a-string": (
        b'{"type": "event_callback", "event": "message", "event_id": "Ev1"}',
        "application/json",
    ),
}


@pytest.mark.parametrize("name", list(SIGNED_SLACK_BODIES))
async def test_signed_slack_bodies_that_cannot_be_read_get_no_5xx(live: LiveBridge, name) -> None:
    body, content_type = SIGNED_SLACK_BODIES[name]
    response = await live.http.post(
        f"{live.url}/slack/events", data=body, headers=signed(body, content_type)
    )
    assert response.status < 500
    await live.drained()
    assert live.vonage.sends == [] and await message_count(live) == 0


def _thread_event(**changes) -> dict:
    event = message_event(INBOX, STAFF, "hello", "1712345678.000200", thread_ts="1712345678.000100")
    event.update(changes)
    return {k: v for k, v in event.items() if v is not None}


MALFORMED_EVENTS = {
    "reply-without-channel": _thread_event(channel=None),
    "reply-channel-is-a-list": _thread_event(channel=["C0INBOX"]),
    "reply-text-is-a-number": _thread_event(text=12),
    "reply-ts-is-an-object": _thread_event(ts={"a": 1}),
    "reply-user-too-long": _thread_event(user="U" + "X" * 300),
    "reply-ts-too-long": _thread_event(ts="1" * 200),
    "edit-without-previous": _thread_event(subtype="message_changed", message="nope"),
    "edit-previous-is-a-string": _thread_event(subtype="message_deleted", previous_message="x"),
    "home-without-user": {"type": "app_home_opened", "tab": "home"},
    "home-user-is-a-number": {"type": "app_home_opened", "tab": "home", "user": 7},
}


@pytest.mark.parametrize("name", list(MALFORMED_EVENTS))
async def test_signed_events_with_wrong_fields_are_answered_200(live: LiveBridge, name) -> None:
    response = await live.slack_event(MALFORMED_EVENTS[name])
    assert response.status == 200
    await live.drained()
    assert live.vonage.sends == [] and await message_count(live) == 0


def _interaction(payload: dict) -> bytes:
    return urlencode(interaction_form(payload)).encode()


def _header_button(**action) -> dict:
    message = {"ts": "1712345678.000100", "text": "Case #1", "type": "message"}
    return block_actions_payload(
        user=STAFF,
        channel=INBOX,
        message=message,
        action={"action_id": "case_close", "block_id": "case:1", "value": "1", **action},
    )


MALFORMED_INTERACTIONS = {
    "button-value-not-a-number": _header_button(value="nine", block_id="case:nine"),
    "button-value-huge": _header_button(value="9" * 40, block_id="case:" + "9" * 40),
    "no-actions": {**_header_button(), "actions": []},
    "user-is-a-string": {**_header_button(), "user": "U0STAFF"},
    "view-without-state": {
        **view_submission_payload(
            user=STAFF, view={"callback_id": "add_contact", "blocks": []}, values={}
        ),
        "view": {"callback_id": "add_contact", "private_metadata": "1"},
    },
    "move-view-bad-metadata": view_submission_payload(
        user=STAFF,
        view={"callback_id": "move_message", "private_metadata": "x:y", "blocks": []},
        values={"comment": {"comment": {"type": "plain_text_input", "value": "c"}}},
    ),
    "new-view-without-values": view_submission_payload(
        user=STAFF, view={"callback_id": "new_conversation", "blocks": []}, values={}
    ),
}


@pytest.mark.parametrize("name", list(MALFORMED_INTERACTIONS))
async def test_signed_interactions_with_wrong_fields_get_no_5xx(live: LiveBridge, name) -> None:
    body = _interaction(MALFORMED_INTERACTIONS[name])
    response = await live.http.post(
        f"{live.url}/slack/events",
        data=body,
        headers=signed(body, "application/x-www-form-urlencoded"),
    )
    assert response.status == 200
    await live.drained()
    assert live.vonage.sends == [] and await message_count(live) == 0


@pytest.mark.parametrize(
    "text",
    [
        "search bob page:99999999999999999999",
        "close #99999999999999999999",
        "list page:" + "9" * 30,
    ],
    ids=["search-page-huge", "close-ref-huge", "list-page-huge"],
)
async def test_commands_with_huge_numbers_are_answered(live: LiveBridge, text) -> None:
    answer = await live.command(text)
    assert answer  # an explanation, not an error page


VONAGE_BAD = {
    "deeply-nested-json": (_nested(20_000), "application/json"),
    "message-id-too-long": (
        urlencode(sms_inbound_params(msisdn=CONTACT, to=US, text="hi", message_id="M" * 200)),
        "application/x-www-form-urlencoded",
    ),
    "concat-ref-too-long": (
        urlencode(
            sms_inbound_params(
                msisdn=CONTACT, to=US, text="a", message_id="C1", concat=("R" * 200, 2, 1)
            )
        ),
        "application/x-www-form-urlencoded",
    ),
    "concat-total-huge": (
        urlencode(
            sms_inbound_params(
                msisdn=CONTACT, to=US, text="a", message_id="C2", concat=("R1", 10**30, 1)
            )
        ),
        "application/x-www-form-urlencoded",
    ),
    "timestamp-huge": (
        json.dumps(
            {**sms_inbound_params(msisdn=CONTACT, to=US, text="a", message_id="T1")}
            | {"message-timestamp": None, "timestamp": "9" * 40}
        ),
        "application/json",
    ),
}


@pytest.mark.parametrize("name", list(VONAGE_BAD))
async def test_bad_vonage_webhooks_get_a_400(live: LiveBridge, name) -> None:
    body, content_type = VONAGE_BAD[name]
    body = body if isinstance(body, bytes) else body.encode()
    response = await live.http.post(
        f"{live.url}/vonage/inbound", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == 400
    await live.drained()
    assert await message_count(live) == 0


async def test_lone_surrogates_are_stored_as_replacement_characters(live: LiveBridge) -> None:
    body = json.dumps(
        sms_inbound_params(msisdn=CONTACT, to=US, text="broken \ud83d here", message_id="S1")
    )
    response = await live.http.post(
        f"{live.url}/vonage/inbound", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 200
    await live.drained()
    assert await stored_texts(live) == ["broken \ufffd here"]


async def test_an_emoji_split_between_two_parts_is_joined_whole(live: LiveBridge) -> None:
    # A UCS-2 part boundary can fall between the two halves of a surrogate pair; form
    # bodies then carry each half as its own (CESU-8) percent-escape.
    smile = "\U0001f600"
    high, low = smile.encode("utf-16-be")[:2], smile.encode("utf-16-be")[2:]
    halves = [chr(int.from_bytes(h, "big")) for h in (high, low)]
    for number, text in ((1, "Thanks " + halves[0]), (2, halves[1] + " see you")):
        params = sms_inbound_params(
            msisdn=CONTACT, to=US, text="x", message_id=f"E{number}", concat=("E1", 2, number)
        )
        params["text"] = text
        params["type"] = "unicode"
        body = urlencode(params, encoding="utf-8", errors="surrogatepass").encode()
        response = await live.http.post(
            f"{live.url}/vonage/inbound",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status == 200
    await live.drained()
    assert await stored_texts(live) == [f"Thanks {smile} see you"]


# -- 6. outsiders -------------------------------------------------------------------------


async def test_an_admin_of_another_workspace_is_refused(live: LiveBridge) -> None:
    live.slack.add_user("W0OUTSIDE", "eve", is_admin=True)
    live.slack.users["W0OUTSIDE"]["team_id"] = "T0OTHER"
    live.slack.set_members(INBOX, [live.slack.bot_user_id, STAFF, "W0OUTSIDE"])
    answer = await live.command("new +44 7400 123456 hello from outside", user="W0OUTSIDE")
    assert "workspace" in answer.lower()
    await live.drained()
    assert live.vonage.sends == [] and await message_count(live) == 0


async def test_a_thread_reply_from_another_workspace_is_not_texted(live: LiveBridge) -> None:
    await live.vonage_webhook(
        "/vonage/inbound", sms_inbound_params(msisdn=CONTACT, to=US, text="Hi", message_id="O1")
    )
    await live.drained()
    thread = live.slack.messages(INBOX)[0]["ts"]
    live.slack.add_user("W0OUTSIDE", "eve")
    live.slack.users["W0OUTSIDE"]["team_id"] = "T0OTHER"
    await live.staff_reply(thread, "I am not one of you", user="W0OUTSIDE", user_team="T0OTHER")
    told = await live.slack.wait_for("chat.postEphemeral")
    assert told[0].params["user"] == "W0OUTSIDE"
    await live.drained()
    assert live.vonage.sends == []


# -- 8. header notification text -------------------------------------------------------------


async def test_a_contact_name_is_escaped_in_the_header_notification(live: LiveBridge) -> None:
    await live.vonage_webhook(
        "/vonage/inbound", sms_inbound_params(msisdn=CONTACT, to=US, text="Hi", message_id="N1")
    )
    await live.drained()
    await live.drained()
    answer = await live.press("case_add_contact", 1)
    assert answer.status == 200
    opened = await live.slack.wait_for("views.open")
    view = opened[-1].params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    payload = view_submission_payload(
        user=STAFF,
        view={**view, "private_metadata": "1"},
        values={
            "name": {"name": {"type": "plain_text_input", "value": "<!channel> <@U0ADMIN>"}},
            "label": {"label": {"type": "static_select", "selected_option": {"value": "Mobile"}}},
        },
    )
    response = await live.signed_form(interaction_form(payload))
    assert response.status == 200
    updates = await live.slack.wait_for("chat.update")
    assert "<!channel>" not in updates[-1].params["text"]
    assert "&lt;!channel&gt;" in updates[-1].params["text"]
