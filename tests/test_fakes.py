"""The fakes answer the real SDK clients as Slack and Vonage do.

Slack is driven through slack_sdk's AsyncWebClient (and Bolt for the payload builders);
Vonage through the vonage SDK, which only speaks HTTPS, so the fake serves TLS from a
private CA that `requests` trusts through REQUESTS_CA_BUNDLE.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import requests
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from vonage import Auth, HttpClientOptions, Vonage
from vonage_http_client.errors import AuthenticationError, RateLimitedError, ServerError
from vonage_jwt.verify_jwt import verify_signature
from vonage_messages import Sms as MessagesSms
from vonage_sms import SmsMessage
from vonage_sms.errors import SmsError

from bridge.fakes import FakeSlack, FakeVonage, SlackCall, TestTls, VonageSend
from bridge.fakes.slack_payloads import (
    event_callback_body,
    interaction_form,
    message_event,
    slack_signature_headers,
    slash_command_form,
)
from bridge.fakes.vonage_payloads import (
    messages_inbound_json,
    messages_status_json,
    messages_webhook_authorization,
    sign_params,
    sms_inbound_params,
    sms_receipt_params,
)

TOKEN = "xoxb-fake-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TS_PATTERN = re.compile(r"^\d{10}\.\d{6}$")
OUR_NUMBER, CONTACT = "447700900000", "447700900001"


# -- fixtures --------------------------------------------------------------------------
@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user("U1ALICE", "alice", real_name="Alice Agent", display_name="ali")
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=slack.base_url)


@pytest.fixture(scope="module")
def tls() -> TestTls:
    return TestTls()


@pytest.fixture
async def vonage(
    tls: TestTls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FakeVonage]:
    async with FakeVonage(tls=tls) as fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_bundle_path(tmp_path)))
        yield fake


@pytest.fixture
def private_key(private_key_pem: str) -> str:
    return private_key_pem


def sdk(fake: FakeVonage, **auth: str) -> Vonage:
    auth = auth or {"api_key": fake.api_key, "api_secret": fake.api_secret}
    return Vonage(Auth(**auth), HttpClientOptions(rest_host=fake.host, api_host=fake.host))


async def send_sms(client: Vonage, text: str = "Hello", **extra: Any) -> Any:
    message = SmsMessage(to=CONTACT, from_=OUR_NUMBER, text=text, **extra)
    return await asyncio.to_thread(client.sms.send, message)


async def send_message(client: Vonage, text: str = "Hello") -> Any:
    message = MessagesSms(to=CONTACT, from_=OUR_NUMBER, text=text)
    return await asyncio.to_thread(client.messages.send, message)


# -- Slack Web API -------------------------------------------------------------------------
async def test_auth_test_reports_the_bot_identity(client: AsyncWebClient) -> None:
    response = await client.auth_test()
    assert response["ok"] is True
    assert (response["user_id"], response["bot_id"], response["team_id"]) == (
        "U0BOT",
        "B0BOT",
        "T0TEAM",
    )
    assert response["is_enterprise_install"] is False
    assert response["url"] == "https://fake-workspace.slack.com/"


async def test_post_message_and_thread_reply(slack: FakeSlack, client: AsyncWebClient) -> None:
    root = await client.chat_postMessage(channel="C1CASES", text="New SMS from +44 7700 900001")
    reply = await client.chat_postMessage(channel="C1CASES", text="reply", thread_ts=root["ts"])

    assert root["channel"] == "C1CASES"
    assert TS_PATTERN.match(root["ts"]) and TS_PATTERN.match(reply["ts"])
    assert float(reply["ts"]) > float(root["ts"])
    assert root["message"]["text"] == "New SMS from +44 7700 900001"
    assert (root["message"]["user"], root["message"]["bot_id"]) == ("U0BOT", "B0BOT")
    assert "thread_ts" not in root["message"]
    assert reply["message"]["thread_ts"] == root["ts"]

    assert [m["ts"] for m in slack.messages("C1CASES")] == [root["ts"]]
    assert [m["text"] for m in slack.thread("C1CASES", root["ts"])] == [
        "New SMS from +44 7700 900001",
        "reply",
    ]
    parent = slack.message("C1CASES", root["ts"])
    assert parent is not None and parent["reply_count"] == 1
    assert parent["latest_reply"] == reply["ts"]


async def test_ts_values_are_unique_under_concurrency(client: AsyncWebClient) -> None:
    posts = [client.chat_postMessage(channel="C1", text=str(i)) for i in range(20)]
    stamps = [r["ts"] for r in await asyncio.gather(*posts)]
    assert len(set(stamps)) == 20


async def test_blocks_sent_as_json_or_form_are_stored_decoded(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    await client.chat_postMessage(channel="C1", text="hi", blocks=blocks)  # sent as JSON
    form = {"token": TOKEN, "channel": "C1", "text": "hey", "blocks": json.dumps(blocks)}
    async with aiohttp.ClientSession() as session:
        async with session.post(slack.base_url + "chat.postMessage", data=form) as response:
            assert response.status == 200
            assert (await response.json())["ok"] is True

    stored = slack.messages("C1")
    assert [m["blocks"] for m in stored] == [blocks, blocks]
    json_call, form_call = slack.calls("chat.postMessage")
    assert json_call.params["blocks"] == blocks
    assert form_call.params["blocks"] == json.dumps(blocks)  # recorded as given
    assert "token" not in form_call.params


async def test_bad_or_missing_token_is_refused(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as bad:
        await AsyncWebClient(token="xoxb-wrong", base_url=slack.base_url).auth_test()
    with pytest.raises(SlackApiError) as missing:
        await AsyncWebClient(base_url=slack.base_url).auth_test()
    assert bad.value.response["error"] == "invalid_auth"
    assert missing.value.response["error"] == "not_authed"
    assert bad.value.response.status_code == 200


async def test_fail_next_answers_like_slack(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail_next("chat.postMessage", error="channel_not_found")
    slack.fail_next("reactions.add", status=429, retry_after=7, times=2)

    with pytest.raises(SlackApiError) as not_found:
        await client.chat_postMessage(channel="C404", text="x")
    posted = await client.chat_postMessage(channel="C1", text="x")
    for _ in range(2):
        with pytest.raises(SlackApiError) as limited:
            await client.reactions_add(channel="C1", name="eyes", timestamp=posted["ts"])
    added = await client.reactions_add(channel="C1", name="eyes", timestamp=posted["ts"])

    assert (not_found.value.response.status_code, not_found.value.response["error"]) == (
        200,
        "channel_not_found",
    )
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert limited.value.response["error"] == "ratelimited"
    assert added["ok"] is True
    assert [c.error for c in slack.calls("reactions.add")] == ["ratelimited", "ratelimited", None]


async def test_rate_limit_per_channel(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.rate_limit_per_channel(per_second=0.5, burst=2)
    await client.chat_postMessage(channel="C1", text="1")
    await client.chat_postMessage(channel="C1", text="2")
    with pytest.raises(SlackApiError) as limited:
        await client.chat_postMessage(channel="C1", text="3")
    other_channel = await client.chat_postMessage(channel="C2", text="1")

    assert limited.value.response.status_code == 429
    assert limited.value.response["error"] == "ratelimited"
    assert limited.value.response.headers["Retry-After"] == "2"  # whole seconds, rounded up
    assert other_channel["ok"] is True
    assert slack.rate_limited_count == 1
    assert len(slack.messages("C1")) == 2


async def test_update_and_delete(slack: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="draft")
    updated = await client.chat_update(channel="C1", ts=posted["ts"], text="final")
    assert (updated["ts"], updated["text"]) == (posted["ts"], "final")
    assert slack.messages("C1")[0]["text"] == "final"
    assert "edited" in slack.messages("C1")[0]

    deleted = await client.chat_delete(channel="C1", ts=posted["ts"])
    assert deleted["ts"] == posted["ts"]
    assert slack.messages("C1") == []
    with pytest.raises(SlackApiError) as gone:
        await client.chat_update(channel="C1", ts=posted["ts"], text="again")
    assert gone.value.response["error"] == "message_not_found"


async def test_people_messages_cannot_be_edited_by_the_bot(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    typed = await slack.post_as_user("C1", "U1ALICE", "please call me back")
    assert typed["user"] == "U1ALICE" and TS_PATTERN.match(typed["ts"])
    with pytest.raises(SlackApiError) as update:
        await client.chat_update(channel="C1", ts=typed["ts"], text="no")
    with pytest.raises(SlackApiError) as delete:
        await client.chat_delete(channel="C1", ts=typed["ts"])
    assert update.value.response["error"] == "cant_update_message"
    assert delete.value.response["error"] == "cant_delete_message"


async def test_reactions(slack: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="x")
    await client.reactions_add(channel="C1", name="white_check_mark", timestamp=posted["ts"])
    assert slack.messages("C1")[0]["reactions"] == [
        {"name": "white_check_mark", "users": ["U0BOT"], "count": 1}
    ]
    with pytest.raises(SlackApiError) as twice:
        await client.reactions_add(channel="C1", name="white_check_mark", timestamp=posted["ts"])
    await client.reactions_remove(channel="C1", name="white_check_mark", timestamp=posted["ts"])
    with pytest.raises(SlackApiError) as none_left:
        await client.reactions_remove(channel="C1", name="white_check_mark", timestamp=posted["ts"])
    assert twice.value.response["error"] == "already_reacted"
    assert none_left.value.response["error"] == "no_reaction"
    assert slack.messages("C1")[0]["reactions"] == []


async def test_ephemeral_and_permalink(client: AsyncWebClient) -> None:
    ephemeral = await client.chat_postEphemeral(channel="C1", user="U1ALICE", text="only you")
    root = await client.chat_postMessage(channel="C1", text="root")
    reply = await client.chat_postMessage(channel="C1", text="r", thread_ts=root["ts"])
    root_link = await client.chat_getPermalink(channel="C1", message_ts=root["ts"])
    reply_link = await client.chat_getPermalink(channel="C1", message_ts=reply["ts"])

    assert TS_PATTERN.match(ephemeral["message_ts"])
    digits = root["ts"].replace(".", "")
    assert root_link["permalink"] == f"https://fake-workspace.slack.com/archives/C1/p{digits}"
    assert reply_link["permalink"].endswith(f"?thread_ts={root['ts']}&cid=C1")


async def test_conversations_and_users(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.add_channel("C1CASES", "sms-cases", members=["U1ALICE", "U0BOT"])
    slack.add_user("U2BOB", "bob", is_admin=True, is_restricted=True)

    opened = await client.conversations_open(users="U1ALICE")
    again = await client.conversations_open(users="U1ALICE")
    dm_info = await client.conversations_info(channel=opened["channel"]["id"])
    info = await client.conversations_info(channel="C1CASES")
    members = await client.conversations_members(channel="C1CASES")
    alice = (await client.users_info(user="U1ALICE"))["user"]
    bob = (await client.users_info(user="U2BOB"))["user"]

    assert opened["channel"]["id"].startswith("D") and again["already_open"] is True
    assert again["channel"]["id"] == opened["channel"]["id"]
    assert dm_info["channel"]["is_im"] is True and dm_info["channel"]["user"] == "U1ALICE"
    assert (info["channel"]["name"], info["channel"]["is_channel"]) == ("sms-cases", True)
    assert members["members"] == ["U1ALICE", "U0BOT"]
    assert (alice["real_name"], alice["profile"]["display_name"]) == ("Alice Agent", "ali")
    assert (alice["is_admin"], alice["is_bot"]) == (False, False)
    assert (bob["is_admin"], bob["is_restricted"], bob["is_ultra_restricted"]) == (
        True,
        True,
        False,
    )
    for call, error in [
        (client.users_info(user="U404"), "user_not_found"),
        (client.conversations_info(channel="C404"), "channel_not_found"),
        (client.conversations_open(users="U404"), "user_not_found"),
    ]:
        with pytest.raises(SlackApiError) as failed:
            await call
        assert failed.value.response["error"] == error


async def test_strict_channels_refuse_unknown_channels() -> None:
    async with FakeSlack(strict_channels=True) as fake:
        client = AsyncWebClient(token=TOKEN, base_url=fake.base_url)
        with pytest.raises(SlackApiError) as refused:
            await client.chat_postMessage(channel="C404", text="x")
        fake.add_channel("C1")
        assert (await client.chat_postMessage(channel="C1", text="x"))["ok"] is True
    assert refused.value.response["error"] == "channel_not_found"


async def test_views(slack: FakeSlack, client: AsyncWebClient) -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "New SMS"}, "blocks": []}
    opened = await client.views_open(trigger_id="123.456.abc", view=modal)
    view_id = opened["view"]["id"]
    changed = {**modal, "blocks": [{"type": "divider"}]}
    updated = await client.views_update(view_id=view_id, view=changed)
    pushed = await client.views_push(trigger_id="123.456.def", view=modal)
    home = await client.views_publish(user_id="U1ALICE", view={"type": "home", "blocks": []})

    assert view_id.startswith("V") and opened["view"]["type"] == "modal"
    assert opened["view"]["state"] == {"values": {}}
    assert (updated["view"]["id"], updated["view"]["blocks"]) == (view_id, [{"type": "divider"}])
    assert pushed["view"]["id"] != view_id
    assert home["view"]["type"] == "home"
    with pytest.raises(SlackApiError) as unknown:
        await client.views_update(view_id="V404", view=modal)
    assert unknown.value.response["error"] == "not_found"


async def test_unknown_method_is_http_200(slack: FakeSlack, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as unknown:
        await client.api_call("chat.teleport")
    assert unknown.value.response.status_code == 200
    assert unknown.value.response["error"] == "unknown_method"
    assert slack.calls("chat.teleport")[0].error == "unknown_method"


async def test_wait_for_returns_calls_without_sleeping(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    later = asyncio.create_task(client.chat_postMessage(channel="C1", text="soon"))
    calls = await slack.wait_for("chat.postMessage", count=1, timeout=5)
    await later
    assert isinstance(calls[0], SlackCall)
    assert calls[0].params["text"] == "soon" and calls[0].status == 200
    with pytest.raises(TimeoutError, match=r"2 call\(s\) of chat.postMessage"):
        await slack.wait_for("chat.postMessage", count=2, timeout=0.05)


async def test_listeners_hear_every_change(slack: FakeSlack, client: AsyncWebClient) -> None:
    heard: list[tuple[str, str]] = []

    async def listener(kind: str, message: dict[str, Any]) -> None:
        heard.append((kind, message["text"]))

    async def broken(kind: str, message: dict[str, Any]) -> None:
        raise RuntimeError("a UI bug")

    slack.on_message(broken)
    slack.on_message(listener)
    posted = await client.chat_postMessage(channel="C1", text="a")
    await client.chat_update(channel="C1", ts=posted["ts"], text="b")
    await client.reactions_add(channel="C1", name="eyes", timestamp=posted["ts"])
    await client.chat_delete(channel="C1", ts=posted["ts"])
    assert heard == [("posted", "a"), ("updated", "b"), ("reaction_added", "b"), ("deleted", "b")]


# -- what Slack sends: signature and payload builders ----------------------------------------
def test_signature_matches_slacks_documented_example() -> None:
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
        b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
        b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = slack_signature_headers(SIGNING_SECRET, body, timestamp=1531420618)
    assert headers == {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    fresh = slack_signature_headers(SIGNING_SECRET, body)
    assert SignatureVerifier(SIGNING_SECRET).is_valid_request(body, fresh)
    assert not SignatureVerifier("another-secret").is_valid_request(body, fresh)


async def test_bolt_accepts_the_built_payloads(slack: FakeSlack) -> None:
    app = AsyncApp(
        client=AsyncWebClient(token=TOKEN, base_url=slack.base_url),
        signing_secret=SIGNING_SECRET,
        process_before_response=True,
    )
    seen: dict[str, Any] = {}

    @app.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        seen["event"], seen["envelope"] = event, body

    @app.command("/sms")
    async def on_command(ack: Any, command: dict[str, Any]) -> None:
        await ack()
        seen["command"] = command

    @app.action("close_case")
    async def on_action(ack: Any, action: dict[str, Any]) -> None:
        await ack()
        seen["action"] = action

    async def deliver(body: str, content_type: str) -> int:
        headers = slack_signature_headers(SIGNING_SECRET, body.encode())
        request = AsyncBoltRequest(body=body, headers=headers | {"content-type": content_type})
        return (await app.async_dispatch(request)).status

    event = message_event("C1CASES", "U1ALICE", "hi there", "1700000000.000100", "1699.1")
    envelope = event_callback_body(event, event_id="Ev0001", event_time=1700000000)
    action = {"type": "block_actions", "user": {"id": "U1ALICE"}, "team": {"id": "T0TEAM"}}
    action |= {"api_app_id": "A0APP", "trigger_id": "1.2.3", "container": {"type": "message"}}
    action["actions"] = [
        {"type": "button", "action_id": "close_case", "block_id": "b", "value": "7"}
    ]

    assert await deliver(json.dumps(envelope), "application/json") == 200
    form = slash_command_form("/sms", "+447700900001 hello", "U1ALICE", "C1CASES")
    assert await deliver(urlencode(form), "application/x-www-form-urlencoded") == 200
    assert (
        await deliver(urlencode(interaction_form(action)), "application/x-www-form-urlencoded")
        == 200
    )

    assert (seen["event"]["text"], seen["event"]["thread_ts"]) == ("hi there", "1699.1")
    assert seen["envelope"]["event_id"] == "Ev0001"
    assert seen["envelope"]["authorizations"][0]["user_id"] == "U0BOT"
    assert seen["command"]["text"] == "+447700900001 hello"
    assert set(seen["command"]) >= {"trigger_id", "response_url", "team_domain", "api_app_id"}
    assert seen["action"]["value"] == "7"
    assert slack.calls("auth.test")  # Bolt authorized against the fake


# -- Vonage SMS API ----------------------------------------------------------------------------
async def test_sms_send_through_the_sdk(vonage: FakeVonage) -> None:
    response = await send_sms(sdk(vonage), "Your case is open", client_ref="case-7")
    sends = await vonage.wait_for_sends(1)

    assert response.message_count == "1"
    part = response.messages[0]
    assert (part.status, part.to, part.network, part.client_ref) == (
        "0",
        CONTACT,
        "23410",
        "case-7",
    )
    assert re.fullmatch(r"[0-9A-F]{16}", part.message_id or "")
    assert part.message_price == "0.03330000" and float(part.remaining_balance or 0) < 100
    assert sends == [
        VonageSend(
            api="sms",
            to=CONTACT,
            from_=OUR_NUMBER,
            text="Your case is open",
            message_ids=[part.message_id],
            at=sends[0].at,
            client_ref="case-7",
        )
    ]


@pytest.mark.parametrize(
    ("text", "sms_type", "parts"),
    [
        pytest.param("a" * 160, None, "1", id="160-gsm"),
        pytest.param("a" * 161, None, "2", id="161-gsm"),
        pytest.param("a" * 306, None, "2", id="306-gsm"),
        pytest.param("a" * 307, None, "3", id="307-gsm"),
        pytest.param("€" * 80, None, "1", id="80-euro-is-160-septets"),
        pytest.param("€" * 81, None, "2", id="81-euro"),
        pytest.param("é" * 160, None, "1", id="160-e-acute-is-gsm7"),
        pytest.param("ł" * 70, "unicode", "1", id="70-ucs2"),
        pytest.param("ł" * 71, "unicode", "2", id="71-ucs2"),
        pytest.param("ł" * 135, None, "3", id="135-ucs2-detected"),
    ],
)
async def test_long_texts_are_split_into_parts(
    vonage: FakeVonage, text: str, sms_type: str | None, parts: str
) -> None:
    extra = {"type": sms_type} if sms_type else {}
    response = await send_sms(sdk(vonage), text, **extra)
    assert response.message_count == parts
    assert len({m.message_id for m in response.messages}) == int(parts)
    assert len(vonage.sends[0].message_ids) == int(parts)


async def test_sms_refuses_bad_credentials_and_missing_fields(
    vonage: FakeVonage, tls: TestTls
) -> None:
    with pytest.raises(SmsError, match="error code 4: Bad Credentials"):
        await send_sms(sdk(vonage, api_key="fake-key", api_secret="wrong"))

    url = f"https://{vonage.host}/sms/json"
    form = {"api_key": "fake-key", "api_secret": "fake-secret", "from": OUR_NUMBER, "to": CONTACT}
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=form, ssl=tls.client_ssl_context()) as response:
            missing_text = await response.json()
        async with session.post(url, json=form | {"text": "hi"}, ssl=tls.client_ssl_context()) as r:
            as_json = await r.json()
    assert missing_text == {
        "message-count": "1",
        "messages": [{"status": "2", "error-text": "Missing text param"}],
    }
    assert as_json["messages"][0]["status"] == "0"
    assert len(vonage.sends) == 1


@pytest.mark.parametrize("method", ["md5", "sha256"])
async def test_sms_signed_requests(
    tls: TestTls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_bundle_path(tmp_path)))
    fields = {"api_key": "fake-key", "from": OUR_NUMBER, "to": CONTACT, "text": "a=b&c"}
    async with FakeVonage(tls=tls, signature_secret="sig-secret", signature_method=method) as fake:
        url, context = f"https://{fake.host}/sms/json", tls.client_ssl_context()
        async with aiohttp.ClientSession() as session:
            for secret in ("sig-secret", "wrong"):
                form = sign_params(fields, secret=secret, method=method)
                async with session.post(url, data=form, ssl=context) as response:
                    statuses = [m["status"] for m in (await response.json())["messages"]]
                    assert statuses == (["0"] if secret == "sig-secret" else ["14"])
        # vonage-sms 1.2 signs every field of its model, None ones included ("&ttl=None"),
        # then `requests` leaves those out of the form, so the signature cannot match.
        sdk_client = sdk(
            fake, api_key="fake-key", signature_secret="sig-secret", signature_method=method
        )
        with pytest.raises(SmsError, match="error code 14: Invalid Signature"):
            await send_sms(sdk_client)
    assert len(fake.sends) == 1


async def test_sms_fail_next(vonage: FakeVonage) -> None:
    client = sdk(vonage)
    vonage.fail_next(sms_status="1")
    vonage.fail_next(http_status=500)
    vonage.fail_next(http_status=429)
    with pytest.raises(SmsError, match="error code 1: Throttled"):
        await send_sms(client)
    with pytest.raises(ServerError):
        await send_sms(client)
    with pytest.raises(RateLimitedError) as limited:
        await send_sms(client)
    assert (await send_sms(client)).messages[0].status == "0"
    assert limited.value.response.json()["title"] == "Rate Limit Hit"
    assert len(vonage.sends) == 1


async def test_quota_violation_when_the_balance_runs_out(vonage: FakeVonage) -> None:
    vonage.account.balance = 0.05  # enough for one part
    await send_sms(sdk(vonage))
    with pytest.raises(SmsError, match="error code 9: Partner Quota Violation"):
        await send_sms(sdk(vonage))


async def test_rate_limit(vonage: FakeVonage, private_key: str) -> None:
    vonage.rate_limit(per_second=0.001, burst=1)
    await send_sms(sdk(vonage))
    with pytest.raises(SmsError, match="error code 1: Throttled"):
        await send_sms(sdk(vonage))
    jwt_client = sdk(vonage, application_id=vonage.application_id, private_key=private_key)
    with pytest.raises(RateLimitedError):
        await send_message(jwt_client)
    assert vonage.rate_limited_count == 2

    vonage.rate_limit(per_second=0.001, burst=0, sms_as_http_429=True)
    with pytest.raises(RateLimitedError):
        await send_sms(sdk(vonage))


async def test_delivery_receipts_are_posted_back(vonage: FakeVonage) -> None:
    received: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def receipt(request: web.Request) -> web.Response:
        await received.put(dict(await request.post()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/webhooks/dlr", receipt)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        vonage.send_receipts_to(f"http://127.0.0.1:{port}/webhooks/dlr", status="delivered")
        response = await send_sms(sdk(vonage), "x" * 200, client_ref="case-9")
        receipts = [await asyncio.wait_for(received.get(), 5) for _ in range(2)]
    finally:
        await runner.cleanup()

    assert sorted(r["messageId"] for r in receipts) == sorted(
        m.message_id for m in response.messages
    )
    for dlr in receipts:
        assert (dlr["msisdn"], dlr["to"], dlr["status"], dlr["err-code"]) == (
            CONTACT,
            OUR_NUMBER,
            "delivered",
            "0",
        )
        assert dlr["client-ref"] == "case-9" and dlr["network-code"] == "23410"
        assert re.fullmatch(r"\d{10}", dlr["scts"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", dlr["message-timestamp"])


async def test_the_fake_really_speaks_tls(
    vonage: FakeVonage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with pytest.raises(requests.exceptions.SSLError):
        await asyncio.to_thread(requests.post, f"https://{vonage.host}/sms/json", timeout=5)
    assert isinstance(vonage.tls.server_ssl_context(), ssl.SSLContext)


# -- Vonage Messages API -------------------------------------------------------------------------
async def test_messages_send_with_a_jwt(vonage: FakeVonage, private_key: str) -> None:
    client = sdk(vonage, application_id=vonage.application_id, private_key=private_key)
    response = await send_message(client, "Hi from the bridge")
    assert re.fullmatch(r"[0-9a-f-]{36}", response.message_uuid)
    assert vonage.sends[0].api == "messages"
    assert vonage.sends[0].message_ids == [response.message_uuid]
    assert (vonage.sends[0].to, vonage.sends[0].from_) == (CONTACT, OUR_NUMBER)


async def test_messages_send_with_basic_auth(vonage: FakeVonage) -> None:
    response = await send_message(sdk(vonage))  # no application: the SDK falls back to Basic
    assert vonage.sends[0].message_ids == [response.message_uuid]


async def test_messages_refuse_another_application(vonage: FakeVonage, private_key: str) -> None:
    client = sdk(vonage, application_id="someone-else", private_key=private_key)
    with pytest.raises(AuthenticationError) as refused:
        await send_message(client)
    problem = refused.value.response.json()
    assert refused.value.response.status_code == 401
    assert problem["title"] == "Unauthorized"
    assert set(problem) == {"type", "title", "detail", "instance"}
    assert refused.value.response.headers["Content-Type"].startswith("application/problem+json")
    assert vonage.sends == []


async def test_messages_fail_next_skips_sms_statuses(vonage: FakeVonage, private_key: str) -> None:
    client = sdk(vonage, application_id=vonage.application_id, private_key=private_key)
    vonage.fail_next(sms_status="6")  # only an SMS API send can take this one
    vonage.fail_next(http_status=500)
    with pytest.raises(ServerError):
        await send_message(client)
    with pytest.raises(SmsError, match="error code 6: Invalid Message"):
        await send_sms(sdk(vonage))


# -- what Vonage sends: webhook builders ----------------------------------------------------------
def test_sms_inbound_params() -> None:
    params = sms_inbound_params(
        msisdn=CONTACT,
        to=OUR_NUMBER,
        text="stop please",
        message_id="0A0000001234ABCD",
        concat=("ref1", 3, 2),
    )
    assert params["msisdn"] == CONTACT and params["to"] == OUR_NUMBER
    assert (params["messageId"], params["type"], params["keyword"]) == (
        "0A0000001234ABCD",
        "text",
        "STOP",
    )
    assert (params["concat"], params["concat-ref"], params["concat-total"]) == ("true", "ref1", "3")
    assert params["concat-part"] == "2" and params["api-key"] == "fake-key"
    assert sms_inbound_params(msisdn=CONTACT, to=OUR_NUMBER, text="Cześć")["type"] == "unicode"


@pytest.mark.parametrize("method", ["md5", "sha1", "sha256", "sha512"])
def test_signed_webhooks_verify_with_the_sdk(method: str) -> None:
    secret = "signature-secret"
    inbound = sms_inbound_params(
        msisdn=CONTACT,
        to=OUR_NUMBER,
        text="a&b=c",
        signature_secret=secret,
        signature_method=method,
    )
    receipt = sms_receipt_params(
        message_id="0C00000000000001",
        msisdn=CONTACT,
        to=OUR_NUMBER,
        status="failed",
        err_code="6",
        signature_secret=secret,
        signature_method=method,
    )
    auth = Auth(api_key="fake-key", signature_secret=secret, signature_method=method)
    assert {"sig", "timestamp", "nonce"} <= set(inbound)
    assert auth.check_signature(dict(inbound))
    assert auth.check_signature(dict(receipt))
    assert not auth.check_signature(dict(inbound) | {"text": "tampered"})


def test_messages_webhook_builders() -> None:
    SECRET_32 = "a-signature-secret-of-32-bytes!!"  # PyJWT warns on shorter HS256 keys
    inbound = messages_inbound_json(from_=CONTACT, to=OUR_NUMBER, text="hello there")
    status = messages_status_json(
        message_uuid="aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        to=CONTACT,
        from_=OUR_NUMBER,
        status="rejected",
        error=(1250, "Unroutable"),
    )
    body = json.dumps(inbound).encode()
    authorization = messages_webhook_authorization(body, signature_secret=SECRET_32)

    assert (inbound["channel"], inbound["message_type"], inbound["from"]) == (
        "sms",
        "text",
        CONTACT,
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", inbound["timestamp"])
    assert inbound["sms"]["keyword"] == "HELLO"
    assert (status["status"], status["error"]["title"], status["error"]["detail"]) == (
        "rejected",
        1250,
        "Unroutable",
    )
    token = authorization.removeprefix("Bearer ")
    assert verify_signature(token, SECRET_32)
    assert not verify_signature(token, "another-secret-of-32-bytes-long!")
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["payload_hash"] == hashlib.sha256(body).hexdigest()
