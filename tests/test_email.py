"""Email beside SMS, over the wire: raw and Mailgun ingress, threading, replies by SMTP."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

import aiohttp
import pytest
from sqlalchemy import func, select

from bridge.domain.contacts import ContactDetails, LabelledNumber
from bridge.domain.values import PhoneNumber
from bridge.fakes.reading import thread_lines
from bridge.fakes.smtp import FakeSmtp
from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.slack import blocks
from bridge.store.dispatcher import RetryPolicy
from bridge.store.models import Message
from tests.conftest import INBOX, OUR_NUMBER, STAFF, LiveBridge
from tests.test_controls import buttons

TOKEN = "inbound-token-for-tests"
MAILGUN_KEY = "key-mailgun-for-tests"
OURS = "help@help.example.org"
ALICE_PHONE = "447400765432"
FAST = RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=0.1)


def mail(
    *,
    body: str = "My boiler is broken.",
    sender: str = "Alice Doe <alice@example.com>",
    to: str = OURS,
    subject: str = "Boiler",
    message_id: str | None = None,
    extra: str = "",
) -> bytes:
    message_id = message_id or f"{uuid.uuid4().hex}@example.com"
    head = f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n"
    return (head + extra + "\r\n" + body + "\r\n").encode()


def email_settings(smtp: FakeSmtp) -> dict[str, str]:
    """Both ingress routes on, replies through `smtp`."""
    return {
        "EMAIL_ADDRESS": OURS,
        "EMAIL_FROM": "Help Desk <help@help.example.org>",
        "EMAIL_INBOUND_TOKEN": TOKEN,
        "MAILGUN_SIGNING_KEY": MAILGUN_KEY,
        "SMTP_URL": smtp.url,
        "EMAIL_MAX_BYTES": "4096",
    }


@pytest.fixture
async def live(start_live, smtp: FakeSmtp) -> LiveBridge:
    return await start_live(retry_policy=FAST, **email_settings(smtp))


async def post_raw(
    live: LiveBridge, raw: bytes, *, token: str = TOKEN, content_type: str = "message/rfc822"
) -> aiohttp.ClientResponse:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    response = await live.http.post(f"{live.url}/email/inbound", data=raw, headers=headers)
    if response.status == 200:
        await live.routed()
    return response


def mailgun_form(
    raw: bytes, *, key: str = MAILGUN_KEY, age: float = 0, token: str = ""
) -> aiohttp.FormData:
    timestamp = str(int(time.time() - age))
    token = token or uuid.uuid4().hex
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    form = aiohttp.FormData()
    for name, value in (("timestamp", timestamp), ("token", token), ("signature", signature)):
        form.add_field(name, value)
    form.add_field("body-mime", raw.decode(), content_type="text/plain")
    return form


async def thread_texts(live: LiveBridge) -> list[str]:
    await live.drained()
    [header] = live.slack.messages(INBOX)
    return thread_lines(live.slack.thread(INBOX, header["ts"]))


async def logged(live: LiveBridge) -> int:
    async with live.bridge.db.reading() as session:
        return await session.scalar(select(func.count()).select_from(Message))


async def test_a_raw_email_opens_a_case_shown_by_email_once(live: LiveBridge) -> None:
    raw = mail(message_id="first@example.com")
    assert (await post_raw(live, raw)).status == 200
    assert (await post_raw(live, raw)).status == 200  # the relay tried again
    texts = await thread_texts(live)
    assert len(texts) == 1
    assert texts[0].startswith("\u2709\ufe0f Subject: Boiler")
    assert "My boiler is broken." in texts[0]
    assert await logged(live) == 1


# (label, message, token, content type, status, what the reason names)
BAD_RAW = [
    ("bad token", mail(), "wrong", "message/rfc822", 401, "Bearer"),
    ("no token", mail(), "", "message/rfc822", 401, "Bearer"),
    ("not rfc822", mail(), TOKEN, "text/plain", 415, "message/rfc822"),
    (
        "no From",
        b"To: help@help.example.org\r\nMessage-ID: <x@y>\r\n\r\nhi",
        TOKEN,
        "message/rfc822",
        400,
        "From",
    ),
    ("no Message-ID", b"From: a@example.com\r\n\r\nhi", TOKEN, "message/rfc822", 400, "Message-ID"),
    ("too large", mail(body="x" * 5000), TOKEN, "message/rfc822", 413, "EMAIL_MAX_BYTES"),
]


async def test_bad_raw_email_is_refused_with_why_and_kept_nowhere(live: LiveBridge) -> None:
    # One bridge for every row: starting one per row would cost more than the rows.
    for label, raw, token, content_type, status, reason in BAD_RAW:
        response = await post_raw(live, raw, token=token, content_type=content_type)
        assert response.status == status, label
        assert reason in (await response.json())["error"], label
    await live.drained()
    assert live.slack.messages(INBOX) == []
    assert await logged(live) == 0


async def test_mailgun_route_is_verified_and_each_token_taken_once(live: LiveBridge) -> None:
    url = f"{live.url}/email/inbound/mailgun"
    assert (await live.http.post(url, data=mailgun_form(mail(), key="other"))).status == 401
    assert (await live.http.post(url, data=mailgun_form(mail(), age=600))).status == 401
    good = mailgun_form(mail(message_id="mg@example.com"), token="tok-once")
    assert (await live.http.post(url, data=good)).status == 200
    replay = mailgun_form(mail(message_id="mg2@example.com"), token="tok-once")
    refused = await live.http.post(url, data=replay)
    assert refused.status == 401
    assert "already accepted" in (await refused.json())["error"]
    await live.routed()
    assert len(await thread_texts(live)) == 1


async def test_staff_reply_goes_by_email_threaded_and_replies_join_the_case(
    live: LiveBridge, smtp: FakeSmtp
) -> None:
    assert (await post_raw(live, mail(message_id="q1@example.com"))).status == 200
    await live.drained()
    [header] = live.slack.messages(INBOX)
    smtp.refuse(1)  # the mail server turns the first try away: the outbox tries again
    await live.staff_reply(header["ts"], "We will send someone *today*.")
    [sent] = await smtp.wait_for(1)
    await live.drained()
    assert len(smtp.received) == 1
    assert sent["To"] == "alice@example.com"
    assert sent["Subject"] == "Re: Boiler"
    assert sent["In-Reply-To"] == "<q1@example.com>"
    assert sent["Message-ID"].endswith("@help.example.org>")
    reply_to = sent["Reply-To"]
    assert reply_to.startswith("reply+") and reply_to.endswith("@help.example.org")
    assert sent.get_body(("plain",)).get_content().strip() == "We will send someone today."
    assert "<p>" in sent.get_body(("html",)).get_content()
    # The contact answers from another address, to the plus-address: the same case.
    by_token = mail(
        sender="alice.work@example.org", to=reply_to, subject="Re: Boiler", body="Thanks"
    )
    assert (await post_raw(live, by_token)).status == 200
    # A reply through a client that drops the plus-address still threads by References.
    our_id = sent["Message-ID"]
    by_references = mail(
        sender="bob@example.net",
        subject="Re: Boiler",
        body="Me too",
        extra=f"References: {our_id}\r\n",
    )
    assert (await post_raw(live, by_references)).status == 200
    texts = await thread_texts(live)
    assert len(live.slack.messages(INBOX)) == 1
    assert [t.split("\n")[-1] for t in texts[-2:]] == ["Thanks", "Me too"]
    # Neither repeats the subject: it did not change.
    assert all("Subject:" not in t for t in texts[-2:])


async def test_auto_replies_are_recorded_and_marked(live: LiveBridge) -> None:
    auto = mail(subject="Out of office", extra="Auto-Submitted: auto-replied\r\n")
    assert (await post_raw(live, auto)).status == 200
    [text] = await thread_texts(live)
    assert "automatic reply" in text


async def text_from(live: LiveBridge, number: str, words: str) -> None:
    params = sms_inbound_params(msisdn=number, to=OUR_NUMBER[1:], text=words)
    assert (await live.vonage_webhook("/vonage/inbound", params)).status == 200


async def alice_both_ways(live: LiveBridge) -> None:
    """Alice's contact holds her phone and her address: she texts, then emails, one case."""
    async with live.bridge.store.unit() as unit:
        await unit.contacts.upsert(
            ContactDetails(
                numbers=[LabelledNumber(PhoneNumber("+" + ALICE_PHONE))],
                name="Alice Doe",
                email="alice@example.com",
            )
        )
    await text_from(live, ALICE_PHONE, "Hello by text")
    await live.drained()
    assert (await post_raw(live, mail(body="And by email"))).status == 200
    await live.drained()


def header_of(live: LiveBridge, case_id: int) -> dict:
    return next(m for m in live.slack.messages(INBOX) if f"#{case_id}" in m["text"])


def context_of(header: dict) -> str:
    return " ".join(
        e["text"] for b in header["blocks"] if b["type"] == "context" for e in b["elements"]
    )


async def test_staff_switch_how_replies_go_until_the_contact_writes_again(
    live: LiveBridge, smtp: FakeSmtp
) -> None:
    await alice_both_ways(live)
    header = header_of(live, 1)
    assert len(live.slack.messages(INBOX)) == 1
    assert "Replies go by email to alice@example.com" in context_of(header)
    assert blocks.REPLY_BY_SMS in buttons(header)

    assert (await live.press(blocks.REPLY_BY_SMS, 1)).status == 200
    await live.drained()
    header = header_of(live, 1)
    assert "Replies go by SMS to +44 7400 765432" in context_of(header)
    assert blocks.REPLY_BY_EMAIL in buttons(header)
    notes = thread_lines(live.slack.thread(INBOX, header["ts"]))
    assert any(n.startswith(f"<@{STAFF}> switched replies to SMS.") for n in notes)
    await live.staff_reply(header["ts"], "Texting you back")
    await live.drained()
    assert live.vonage.sends[-1].text.startswith("Texting you back")
    assert smtp.received == []

    # The contact's last channel wins: she emails, and the next reply goes by email.
    assert (await post_raw(live, mail(body="Email me, please"))).status == 200
    await live.drained()
    assert "Replies go by email" in context_of(header_of(live, 1))
    await live.staff_reply(header["ts"], "Emailing you back")
    [sent] = await smtp.wait_for(1)
    assert sent["To"] == "alice@example.com"
    assert len(live.vonage.sends) == 1


async def test_a_switch_that_cannot_be_made_is_told_to_the_presser_and_changes_nothing(
    live: LiveBridge,
) -> None:
    await alice_both_ways(live)  # case 1: both ways, replies by email
    await text_from(live, "447400555000", "Only a phone")  # case 2
    assert (await post_raw(live, mail(sender="carol@example.net"))).status == 200  # case 3
    await live.drained()
    updates, posts = len(live.slack.calls("chat.update")), len(live.slack.calls("chat.postMessage"))
    # (label, button, case shown, value sent, what the presser is told)
    refused = [
        ("case gone", blocks.REPLY_BY_SMS, 1, "99", "There is no case #99."),
        ("already so", blocks.REPLY_BY_EMAIL, 1, "1", "Replies in case #1 already go by email."),
        ("no address", blocks.REPLY_BY_EMAIL, 2, "2", "Case #2 has no email address"),
        ("no phone", blocks.REPLY_BY_SMS, 3, "3", "Case #3 has no phone number"),
    ]
    for count, (label, action_id, case_id, value, told) in enumerate(refused, start=1):
        response = await live.press(action_id, case_id, value=value)
        assert response.status == 200, label
        said = await live.slack.wait_for("chat.postEphemeral", count=count)
        assert said[-1].params["text"].startswith(told), label
        assert said[-1].params["user"] == STAFF, label
    await live.drained()
    assert len(live.slack.calls("chat.update")) == updates
    assert len(live.slack.calls("chat.postMessage")) == posts
    assert "Replies go by email" in context_of(header_of(live, 1))


async def test_an_email_only_contact_is_shown_by_address_never_by_its_key(
    live: LiveBridge,
) -> None:
    assert (await post_raw(live, mail(sender="bob@example.net"))).status == 200
    assert (await post_raw(live, mail(sender="Alice Doe <alice@example.com>"))).status == 200
    await live.drained()
    bob, alice = header_of(live, 1), header_of(live, 2)
    assert bob["text"].startswith("Case #1: email from bob@example.net")
    assert alice["blocks"][0]["text"]["text"] == "#2 · Alice Doe – alice@example.com"
    for header in (bob, alice):
        shown = f"{header['text']} {header['blocks']}"
        assert "*Our number*\\nnone: by email" in shown
        assert "email:" not in shown and ":warning:" not in shown
        assert blocks.REPLY_BY_SMS not in buttons(header)
    listed = await live.command("list")
    assert "bob@example.net" in listed and "Alice Doe" in listed
    home = str(await live.open_home())
    assert "bob@example.net" in home
    assert "email:" not in listed + home
