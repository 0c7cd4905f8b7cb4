"""A call that Slack or Vonage carried out but whose answer was lost is not made again.

Between the bridge and each fake sits a proxy that lets the call through and then loses
its answer: it closes the connection, or answers after the bridge stopped waiting. No
client may retry inside that call (the SDKs would: Slack's connection-error handler,
Vonage's RemoveDisconnected loop); the outbox tries again, looking first for what the lost
call did (Slack message metadata, the send's client-ref in its delivery receipt).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bridge.domain.contacts import ContactDetails, LabelledNumber
from bridge.domain.values import PhoneNumber
from bridge.fakes import FakeSlack, FakeVonage, TestTls
from bridge.fakes.reading import thread_lines
from bridge.fakes.slack_payloads import slash_command_form
from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.store.dispatcher import RetryPolicy
from tests.bridge_process import AnswerHolder
from tests.conftest import INBOX, OUR_NUMBER, STAFF, LiveBridge
from tests.test_exactly_once import completes_upload
from tests.test_media import media_webhook, png, send_media
from tests.test_media_out import PUBLIC, US_CONTACT, gif, pdf, picture, share_files_in_case

CONTACT = "447400123456"
FAST_RETRIES = RetryPolicy(max_attempts=6, base_delay=0.1, max_delay=0.3)


def posts_with(text: str) -> Callable[[str, bytes], bool]:
    return lambda path, body: path.endswith("chat.postMessage") and text.encode() in body


def header_post(path: str, body: bytes) -> bool:
    return path.endswith("chat.postMessage") and b"smschat_case" in body


def any_send(path: str, _body: bytes) -> bool:
    return path in ("/sms/json", "/v1/messages")


@pytest.fixture
async def lossy(
    start_live, fake_slack: FakeSlack, fake_vonage: FakeVonage, tls: TestTls
) -> AsyncIterator[Callable[..., Any]]:
    """Start a bridge whose calls to one fake go through an `AnswerHolder`."""
    proxies: list[AnswerHolder] = []

    async def start(to: str, picks: Callable[[str, bytes], bool], lose: Any, **extra: str):
        if to == "slack":
            proxy = AnswerHolder(fake_slack.base_url.removesuffix("/api/"), holds=picks, lose=lose)
        else:
            proxy = AnswerHolder(
                f"https://{fake_vonage.host}",
                holds=picks,
                lose=lose,
                server_ssl=tls.server_ssl_context(),
                client_ssl=tls.client_ssl_context(),
            )
        await proxy.__aenter__()
        proxies.append(proxy)
        routed = (
            {"SLACK_API_URL": f"http://{proxy.host}/api/"}
            if to == "slack"
            else {"VONAGE_REST_HOST": proxy.host, "VONAGE_API_HOST": proxy.host}
        )
        live = await start_live(
            retry_policy=FAST_RETRIES, HTTP_TIMEOUT_SECONDS="1", **routed, **extra
        )
        fake_vonage.send_receipts_to(f"{live.url}/vonage/status")
        proxy.armed = True
        return live, proxy

    yield start
    for proxy in proxies:
        await proxy.__aexit__(None, None, None)


async def text_in(live: LiveBridge, text: str, message_id: str) -> None:
    params = sms_inbound_params(
        msisdn=CONTACT, to=OUR_NUMBER.removeprefix("+"), text=text, message_id=message_id
    )
    assert (await live.vonage_webhook("/vonage/inbound", params)).status == 200


def thread_texts(slack: FakeSlack) -> list[str]:
    [header] = slack.messages(INBOX)
    return thread_lines(slack.thread(INBOX, header["ts"]))


@pytest.mark.parametrize("lose", ["drop", 1.5], ids=["connection-dropped", "answer-too-late"])
async def test_a_header_whose_answer_was_lost_is_posted_once(lossy, lose) -> None:
    live, proxy = await lossy("slack", header_post, lose)
    await text_in(live, "First words", "L1")
    await live.slack.wait_until(lambda: bool(live.slack.calls("chat.postMessage")))
    await live.drained()
    assert proxy.held == ["/api/chat.postMessage"]
    assert len(live.slack.messages(INBOX)) == 1  # one header
    assert thread_texts(live.slack) == ["First words"]


@pytest.mark.parametrize("lose", ["drop", 1.5], ids=["connection-dropped", "answer-too-late"])
async def test_a_text_whose_post_answer_was_lost_is_posted_once(lossy, lose) -> None:
    live, proxy = await lossy("slack", posts_with("Second words"), lose)
    await text_in(live, "First words", "L1")
    await live.drained()  # shown in the header; the second text gets a post of its own
    await text_in(live, "Second words", "L2")
    await live.slack.wait_until(lambda: len(live.slack.calls("chat.postMessage")) >= 2)
    await live.drained()
    assert proxy.held == ["/api/chat.postMessage"]
    assert thread_texts(live.slack) == ["First words", "Second words"]


@pytest.mark.parametrize("api", ["sms", "messages"])
@pytest.mark.parametrize("lose", ["drop", 1.5], ids=["connection-dropped", "answer-too-late"])
async def test_a_reply_whose_send_answer_was_lost_is_sent_once(
    lossy, lose, api: str, private_key_pem: str
) -> None:
    extra = {"VONAGE_APPLICATION_ID": "fake-app-id", "VONAGE_PRIVATE_KEY": private_key_pem}
    live, proxy = await lossy("vonage", any_send, lose, **(extra if api == "messages" else {}))
    await text_in(live, "Can I come on Friday?", "L1")
    await live.drained()
    thread = live.slack.messages(INBOX)[0]["ts"]
    await live.staff_reply(thread, "Yes, Friday works")
    await live.vonage.wait_for_sends(1)
    await live.slack.wait_until(
        lambda: any(
            c.params.get("name") == "white_check_mark" for c in live.slack.calls("reactions.add")
        ),
        what="the delivered reaction",
        timeout=15,
    )
    await live.drained()
    assert proxy.held == ["/sms/json" if api == "sms" else "/v1/messages"]
    assert [s.text for s in live.vonage.sends] == ["Yes, Friday works (#1)"]


async def test_a_command_whose_send_answer_was_lost_texts_once(lossy) -> None:
    live, proxy = await lossy("vonage", any_send, "drop")
    form = slash_command_form(
        "/smschat", "new +44 7400 123456 Your results are ready", STAFF, INBOX
    )
    response = await live.signed_form(form)
    assert response.status == 200
    await live.vonage.wait_for_sends(1)
    await live.slack.wait_until(
        lambda: any(
            c.params.get("name") == "white_check_mark" for c in live.slack.calls("reactions.add")
        ),
        what="the delivered reaction",
        timeout=15,
    )
    await live.drained()
    assert len(live.vonage.sends) == 1
    assert json.dumps(proxy.held) == '["/sms/json"]'


def broadcast_post(path: str, body: bytes) -> bool:
    return path.endswith("chat.postMessage") and b"smschat_broadcast" in body


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_broadcast_post_whose_answer_was_lost_is_posted_once(lossy) -> None:
    live, proxy = await lossy("slack", broadcast_post, "drop", QUIET_HOURS="")
    async with live.bridge.store.unit() as unit:
        await unit.contacts.upsert(
            ContactDetails(
                numbers=[LabelledNumber(PhoneNumber("+" + CONTACT))], properties={"tag": "crew"}
            )
        )
    assert "Broadcast #1 queued" in await live.command("broadcast to:tag=crew Hello crew")
    await live.vonage.wait_for_sends(1)
    await live.slack.wait_for("chat.update")
    await live.drained()
    assert proxy.held == ["/api/chat.postMessage"]
    assert len([m for m in live.slack.messages(INBOX) if "Broadcast #1" in m["text"]]) == 1


def second_mms() -> Callable[[str, bytes], bool]:
    calls = 0

    def picks(path: str, _body: bytes) -> bool:
        nonlocal calls
        calls += path == "/v1/messages"
        return calls == 2

    return picks


async def test_a_files_send_whose_answer_was_lost_goes_once_and_the_rest_follow(
    lossy, private_key_pem: str
) -> None:
    extra = {"VONAGE_APPLICATION_ID": "fake-app-id", "VONAGE_PRIVATE_KEY": private_key_pem}
    live, proxy = await lossy("vonage", second_mms(), "drop", PUBLIC_URL=PUBLIC, **extra)
    files = [(picture(), "image/png"), (gif(), "image/gif"), (pdf(), "application/pdf")]
    sends, _header = await share_files_in_case(live, US_CONTACT, "Maps", files, sends=3)
    await live.drained()
    assert proxy.held == ["/v1/messages"]
    # The second picture went once, found by its receipt; the links went after it.
    assert [(s.text, s.image_url is not None) for s in live.vonage.sends] == [
        ("Maps (#1)", True),
        ("", True),
        (sends[2].text, False),
    ]
    assert len({s.client_ref for s in sends}) == 3
    assert sends[2].text.startswith(f"{PUBLIC}/media/")


async def test_a_file_whose_completion_answer_was_lost_is_shown_once(
    lossy, private_key_pem: str
) -> None:
    extra = {"VONAGE_APPLICATION_ID": "fake-app-id", "VONAGE_PRIVATE_KEY": private_key_pem}
    live, proxy = await lossy("slack", completes_upload, "drop", **extra)
    await send_media(live, media_webhook(live.vonage.media.put(png(), "image/png")))
    await live.slack.wait_until(lambda: live.slack.shared_files() != [], what="a shared file")
    await live.drained()
    assert proxy.held == ["/api/files.completeUploadExternal"]
    # Shared by the lost call; the run again found it by the file id committed before it.
    [shared] = live.slack.shared_files()
    assert len(shared["shares"]["public"][INBOX]) == 1
    assert live.slack.uploads_received == 1
    assert len(live.slack.calls("files.completeUploadExternal")) == 1
    assert thread_texts(live.slack) == ["My broken boiler"]
