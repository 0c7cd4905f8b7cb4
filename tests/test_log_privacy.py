"""What the bridge writes to its log: never a secret; at INFO and above, no number, no words.

A whole conversation (inbound text and its repeat, a refused webhook, post, staff reply,
send, delivery receipt, an edit of the sent reply, a send Vonage refuses) runs with logging
set up by the project's own `configure_logging`, in process and in `python -m bridge run`.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from bridge.app import build_bridge
from bridge.fakes import FakeSlack, FakeVonage
from bridge.fakes.process import BridgeProcess
from bridge.fakes.slack_payloads import (
    block_actions_payload,
    event_callback_body,
    interaction_form,
    message_event,
    slack_signature_headers,
    slash_command_form,
)
from bridge.fakes.vonage_payloads import sms_inbound_params, sms_receipt_params
from bridge.logs import RedactingFilter, configure_logging
from bridge.store.db import Database
from bridge.store.models import Case
from bridge.web_app import build_web_app
from tests.conftest import (
    BOT_TOKEN,
    INBOX,
    OUR_NUMBER,
    SIGNING_SECRET,
    STAFF,
    VONAGE_KEY,
    VONAGE_SECRET,
    bridge_env,
)

CONTACT = "+447700900123"
# Distinctive words, so finding them in a log can only mean a text was written there.
INBOUND_TEXT = "Marmalade zeppelin, my biopsy results please"
REPLY_TEXT = "Quokka lantern: your results are normal"
REFUSED_TEXT = "Periwinkle saxophone follow-up"
EDITED_TEXT = "Quokka lantern: results are fine, call us"

SECRETS = {
    "bot token": BOT_TOKEN,
    "signing secret": SIGNING_SECRET,
    "vonage api secret": VONAGE_SECRET,
    "vonage basic auth": base64.b64encode(f"{VONAGE_KEY}:{VONAGE_SECRET}".encode()).decode(),
}
PERSONAL = {
    "contact number": CONTACT.removeprefix("+"),
    "contact number, national": "7700900123",
    "contact number, spaced": "7700 900123",
    "inbound text": "Marmalade zeppelin",
    "reply text": "Quokka lantern",
    "refused reply text": "Periwinkle saxophone",
    "edited text": "results are fine",
}
# A logging line as `configure_logging` formats it: "<date> <time> LEVEL logger: message".
RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


class Conversation:
    """Speaks to a bridge at `url` as Vonage and Slack would."""

    def __init__(
        self,
        url: str,
        http: aiohttp.ClientSession,
        slack: FakeSlack,
        vonage: FakeVonage,
        database_url: str,
    ):
        self.url, self.http, self.slack, self.vonage = url, http, slack, vonage
        self.database_url = database_url

    async def thread_recorded(self) -> None:
        """Wait until the bridge recorded the case's thread, as staff could only answer then."""
        db = Database(self.database_url)
        try:
            while True:
                async with db.reading() as session:
                    if await session.scalar(select(Case.thread_ts)) is not None:
                        return
                await asyncio.sleep(0.02)
        finally:
            await db.close()

    async def vonage_webhook(self, path: str, params: dict[str, str], *, get: bool = False) -> int:
        if get:
            response = await self.http.get(f"{self.url}{path}?{urlencode(params)}")
        else:
            response = await self.http.post(f"{self.url}{path}", data=params)
        return response.status

    async def slack_event(self, event: dict) -> int:
        body = json.dumps(event_callback_body(event, event_id=f"Ev{uuid.uuid4().hex[:10]}"))
        headers = {
            "Content-Type": "application/json",
            **slack_signature_headers(SIGNING_SECRET, body.encode()),
        }
        response = await self.http.post(f"{self.url}/slack/events", data=body, headers=headers)
        return response.status

    async def staff_reply(self, thread: str, text: str) -> str:
        posted = await self.slack.post_as_user(INBOX, STAFF, text, thread_ts=thread)
        event = message_event(INBOX, STAFF, text, posted["ts"], thread_ts=thread)
        assert await self.slack_event(event) == 200
        return posted["ts"]

    async def run(self) -> None:
        """The whole round trip, with the failures that make the bridge log the most."""
        contact, ours = CONTACT.removeprefix("+"), OUR_NUMBER.removeprefix("+")
        inbound = sms_inbound_params(
            msisdn=contact, to=ours, text=INBOUND_TEXT, message_id="0A00000000000001"
        )
        assert await self.vonage_webhook("/vonage/inbound", inbound, get=True) == 200
        assert await self.vonage_webhook("/vonage/inbound", inbound) == 200  # a repeat
        no_id = {k: v for k, v in inbound.items() if k != "messageId"}
        assert await self.vonage_webhook("/vonage/inbound", no_id) == 400
        await self.slack.wait_for("chat.postMessage", timeout=10)
        async with asyncio.timeout(10):
            await self.thread_recorded()
        thread = self.slack.messages(INBOX)[0]["ts"]

        reply_ts = await self.staff_reply(thread, REPLY_TEXT)
        [sent] = await self.vonage.wait_for_sends(1, timeout=10)
        receipt = sms_receipt_params(
            message_id=sent.message_ids[0],
            msisdn=contact,
            to=ours,
            status="delivered",
            api_key=VONAGE_KEY,
        )
        assert await self.vonage_webhook("/vonage/status", receipt) == 200
        await self.slack.wait_for("reactions.add", timeout=10)

        before = {"type": "message", "user": STAFF, "text": REPLY_TEXT, "ts": reply_ts}
        edit = {
            "type": "message",
            "subtype": "message_changed",
            "channel": INBOX,
            "hidden": True,
            "ts": "1799999999.000100",
            "previous_message": before | {"thread_ts": thread},
            "message": before | {"thread_ts": thread, "text": EDITED_TEXT},
        }
        assert await self.slack_event(edit) == 200
        await self.slack.wait_for("chat.postEphemeral", timeout=10)

        self.vonage.fail_next(sms_status="6")
        await self.staff_reply(thread, REFUSED_TEXT)
        await self.slack.wait_for("reactions.add", count=2, timeout=10)
        await self.slack.wait_until(lambda: len(self.slack.thread(INBOX, thread)) >= 4, timeout=10)


def leaks(log: str) -> list[str]:
    """What should not be in `log`: secrets anywhere; numbers and words at INFO and above."""
    found = [name for name, secret in SECRETS.items() if secret in log]
    for line in log_at_info_and_above(log):
        found += [f"{name} in {line!r}" for name, value in PERSONAL.items() if value in line]
    return found


def log_at_info_and_above(log: str) -> Iterator[str]:
    """Lines of records at INFO or above, with their tracebacks; any stray output too."""
    level = "INFO"
    for line in log.splitlines():
        record = RECORD.match(line)
        if record:
            level = record.group(1)
        if level != "DEBUG":
            yield line


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """`configure_logging` rewires the root logger; put back what pytest had."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


@pytest.fixture
async def served_with_logging(
    make_settings, fake_slack: FakeSlack, fake_vonage: FakeVonage, restore_logging, request
) -> AsyncIterator[tuple[Conversation, io.StringIO]]:
    """A bridge set up as `smschat-bridge run` sets it up, its log written to a buffer."""
    settings = make_settings(LOG_LEVEL=request.param)
    configure_logging(settings.log_level, settings.secret_values())
    [handler] = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)
    bridge = await build_bridge(settings)
    runner = web.AppRunner(build_web_app(bridge), access_log=None)  # as the CLI serves it
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    await bridge.start_background()
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://{host}:{port}"
            yield Conversation(url, http, fake_slack, fake_vonage, settings.database_url), buffer
    finally:
        await runner.cleanup()
        await bridge.close()


@pytest.mark.parametrize("served_with_logging", ["DEBUG", "INFO"], indirect=True)
async def test_the_log_of_a_conversation_keeps_secrets_numbers_and_words_out(
    served_with_logging: tuple[Conversation, io.StringIO],
) -> None:
    conversation, buffer = served_with_logging

    await conversation.run()

    log = buffer.getvalue()
    assert "outbox job" in log, "the bridge's own records must be in the captured log"
    assert leaks(log) == []


@pytest.mark.parametrize("served_with_logging", ["INFO"], indirect=True)
async def test_a_webhook_the_store_chokes_on_leaves_no_number_or_words_in_the_log(
    served_with_logging: tuple[Conversation, io.StringIO],
) -> None:
    """PostgreSQL refuses NUL characters in text; whatever fails, the log stays clean."""
    conversation, buffer = served_with_logging
    inbound = sms_inbound_params(
        msisdn=CONTACT.removeprefix("+"),
        to=OUR_NUMBER.removeprefix("+"),
        text=f"{INBOUND_TEXT}\x00",
        message_id="0A00000000000002",
    )

    response = await conversation.http.post(f"{conversation.url}/vonage/inbound", json=inbound)

    await response.read()
    assert leaks(buffer.getvalue()) == []


async def test_the_running_command_logs_no_secret_number_or_words(
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_vonage: FakeVonage,
    ca_bundle: Path,
    free_port: int,
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'bridge.db'}"
    env = bridge_env(
        database_url=database_url,
        slack=fake_slack,
        vonage=fake_vonage,
        LOG_LEVEL="DEBUG",
        HOST="127.0.0.1",
        PORT=str(free_port),
        SSL_CERT_FILE=str(ca_bundle),
    )
    process = BridgeProcess(env, cwd=tmp_path, log_path=tmp_path / "bridge.log")
    try:
        await process.start()
        async with aiohttp.ClientSession() as http:
            await Conversation(process.url, http, fake_slack, fake_vonage, database_url).run()
        assert await process.stop() == 0, process.log
    finally:
        await process.kill()

    log = process.log
    assert " DEBUG " in log and "outbox job" in log
    assert leaks(log) == []


@pytest.mark.parametrize("served_with_logging", ["INFO"], indirect=True)
async def test_refused_and_unusable_requests_leave_no_number_or_words_in_the_log(
    served_with_logging: tuple[Conversation, io.StringIO],
) -> None:
    """Requests refused before, or failing inside, Bolt: none of their contents is logged."""
    conversation, buffer = served_with_logging
    url, http = f"{conversation.url}/slack/events", conversation.http
    command = urlencode(
        slash_command_form("/smschat", f"new {CONTACT} {INBOUND_TEXT}", STAFF, INBOX)
    ).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    stale = slack_signature_headers(SIGNING_SECRET, command, timestamp=int(time.time()) - 600)
    assert (await http.post(url, data=command, headers=form | stale)).status == 401
    forged = {**slack_signature_headers("not-the-secret", command)}
    assert (await http.post(url, data=command, headers=form | forged)).status == 401

    message = {"ts": "1712345678.000100", "text": f"{INBOUND_TEXT} from {CONTACT}"}
    unknown = block_actions_payload(
        user=STAFF, channel=INBOX, message=message, action={"action_id": "no_such_button"}
    )
    broken = {**unknown, "actions": [{"action_id": "case_close", "value": INBOUND_TEXT}]}
    for payload in (unknown, broken):
        body = urlencode(interaction_form(payload)).encode()
        signed = form | slack_signature_headers(SIGNING_SECRET, body)
        assert (await http.post(url, data=body, headers=signed)).status == 200
    event = message_event(INBOX, STAFF, REPLY_TEXT, "1712345678.000200", thread_ts="1.2")
    assert await conversation.slack_event(event | {"channel": [CONTACT]}) == 200

    escaped = f"{conversation.url}/vonage/inbound?msisdn=%2B{CONTACT[1:]}&text=Marmalade+zeppelin"
    assert (await http.get(escaped)).status == 400

    log = buffer.getvalue()
    assert "refused a request to /slack/events" in log and "could not be used" in log
    assert leaks(log) == []


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("to +447700900123 now", "to +********0123 now"),
        ("msisdn=447700900123&to=1", "msisdn=********0123&to=1"),
        ("text=new+%2B44+7700+900123", "text=new++**+****+**0123"),
        ("%2B447700900123", "+********0123"),
        ("+44 7700 900123", "+** **** **0123"),
        ("(0)7700-900123", "(*)****-**0123"),
        ("at 2026-12-02 09:00", "at 2026-12-02 09:00"),
        ("ts 1712345678.000100", "ts 1712345678.000100"),
        ("case #12 of 3", "case #12 of 3"),
    ],
    ids=[
        "e164",
        "form-digits",
        "url-encoded-spaced",
        "url-encoded-plus",
        "spaced",
        "national-with-dash",
        "a-date-is-no-number",
        "a-slack-ts-is-no-number",
        "small-numbers",
    ],
)
def test_numbers_are_masked_however_they_are_written(line: str, masked: str) -> None:
    assert RedactingFilter([]).redact(line) == masked
