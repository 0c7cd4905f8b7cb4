"""`smschat-bridge demo` end to end: its JSON endpoints and event stream, through the bridge."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bridge.sandbox.server import Demo, DemoOptions
from bridge.sandbox.wire import split_sms
from bridge.sandbox.world import INBOX_CHANNEL, Sandbox
from bridge.store.models import Case
from tests.bridge_process import until

CONTACT = "+447400900555"
REF_TAG = r"( \(#\d+\))?"  # the bridge may end a reply with its case's #ref
Event = tuple[str, dict[str, Any]]


class EventStream:
    """Reads the demo's Server-Sent Events as the page's EventSource would."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        kind, data = None, []
        async for raw in self.response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif not line and kind:
                async with self._changed:
                    self.events.append((kind, json.loads("\n".join(data))))
                    self._changed.notify_all()
                kind, data = None, []

    async def wait_for(self, predicate: Callable[[str, dict[str, Any]], bool]) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((d for k, d in self.events if predicate(k, d)), None)

        async with asyncio.timeout(10), self._changed:
            await self._changed.wait_for(lambda: found() is not None)
        result = found()
        assert result is not None
        return result

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        self.response.close()


@pytest.fixture
async def demo() -> AsyncIterator[Demo]:
    running = Demo(DemoOptions(port=0, empty=True))
    await running.start()
    yield running
    await running.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        yield session


@pytest.fixture
async def stream(demo: Demo, http: aiohttp.ClientSession) -> AsyncIterator[EventStream]:
    response = await http.get(f"{demo.url}api/events")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    events = EventStream(response)
    yield events
    await events.close()


async def call(http: aiohttp.ClientSession, demo: Demo, path: str, body: Any) -> tuple[int, Any]:
    async with http.post(f"{demo.url}api/{path}", json=body) as response:
        return response.status, await response.json()


async def test_the_page_and_its_files_are_served(demo: Demo, http: aiohttp.ClientSession) -> None:
    async with http.get(demo.url) as page:
        html = await page.text()
    assert page.status == 200 and 'id="phone-feed"' in html and 'id="inbox-feed"' in html
    for name, needle in [("app.js", "EventSource"), ("style.css", ".bubble")]:
        async with http.get(f"{demo.url}static/{name}") as response:
            assert response.status == 200 and needle in await response.text()


async def thread_recorded(demo: Demo) -> bool:
    assert demo.sandbox.bridge is not None
    async with demo.sandbox.bridge.db.reading() as session:
        return await session.scalar(select(Case.thread_ts)) is not None


async def test_a_text_from_the_phone_opens_a_case_and_a_thread_reply_reaches_the_phone(
    demo: Demo, http: aiohttp.ClientSession, stream: EventStream
) -> None:
    status, body = await call(
        http,
        demo,
        "phone/send",
        {"contact": "+44 7400 900555", "text": "Is my prescription ready?"},
    )
    assert status == 200
    assert body["message"] | {"id": "", "at": 0} == {
        "id": "",
        "at": 0,
        "contact": CONTACT,
        "direction": "sent",
        "text": "Is my prescription ready?",
        "state": "sent",
        "detail": "",
        "parts": [],
        "part_states": {},
        "file_type": "",
        "file_size": 0,
        "file_link": "",
    }

    # The bridge posts a case header with Block Kit, showing the text below its buttons.
    header = (await stream.wait_for(lambda k, d: k == "slack" and d["message"]["top"]))["message"]
    assert header["author"] == "SMS Chat" and header["is_bot"]
    kinds = [block["type"] for block in header["blocks"]]
    assert kinds[:2] == ["header", "section"]
    assert header["blocks"][0]["text"]["text"] == "#1 · +44 7400 900555"
    fields = " ".join(f["text"] for f in header["blocks"][1]["fields"])
    assert "+44 7400 900000" in fields and "🟢 open" in fields
    assert kinds[-2:] == ["divider", "section"] and header["via_sms"] is True
    assert header["blocks"][-1]["text"]["text"] == "Is my prescription ready?"
    assert demo.sandbox.thread_of("Is my prescription ready?") == header["ts"]
    await until(lambda: thread_recorded(demo))  # staff can answer once the bridge knows it

    # Sam replies in the thread: Slack stores it, the bridge gets the event and texts it.
    status, body = await call(
        http,
        demo,
        "slack/post",
        {"thread_ts": header["ts"], "text": "Yes, *ready* after 2pm & bring <your card>"},
    )
    assert status == 200 and body["status"] == 200
    stored = demo.sandbox.slack.message(INBOX_CHANNEL, body["ts"])
    assert stored is not None
    assert stored["text"] == "Yes, *ready* after 2pm &amp; bring &lt;your card&gt;"
    sends = await demo.sandbox.vonage.wait_for_sends(1)
    assert (sends[0].to, sends[0].from_) == ("447400900555", "447400900000")
    assert re.fullmatch("Yes, ready after 2pm & bring <your card>" + REF_TAG, sends[0].text)

    # It arrives on the phone, and the delivery receipt reaches the bridge, which shows it.
    delivered = await stream.wait_for(
        lambda k, d: k == "phone" and d["direction"] == "received" and d["state"] == "delivered"
    )
    assert delivered["contact"] == CONTACT
    assert delivered["text"] == sends[0].text
    assert delivered["parts"] == sends[0].message_ids
    reacted = await stream.wait_for(lambda k, d: k == "slack" and d["kind"] == "reaction_added")
    assert reacted["message"]["ts"] == body["ts"]
    assert reacted["message"]["reactions"][0]["emoji"] == "✅"

    # The page's snapshot agrees with the stream.
    async with http.get(f"{demo.url}api/state") as response:
        state = await response.json()
    assert [m["text"] for m in state["slack"] if not m["top"]] == [
        "Yes, *ready* after 2pm &amp; bring &lt;your card&gt;",
    ]
    assert [(m["direction"], m["state"]) for m in state["phone"]] == [
        ("sent", "sent"),
        ("received", "delivered"),
    ]
    assert state["contacts"] == [] and state["our_number"] == "+447400900000"


async def test_a_staff_note_stays_in_slack(
    demo: Demo, http: aiohttp.ClientSession, stream: EventStream
) -> None:
    await call(http, demo, "phone/send", {"contact": CONTACT, "text": "Hello?"})
    thread_ts = await demo.sandbox.wait_for_thread("Hello?")
    prefix = demo.sandbox.settings.notes_prefix
    status, body = await call(
        http, demo, "slack/post", {"thread_ts": thread_ts, "text": f"{prefix} called her back"}
    )
    assert status == 200 and body["status"] == 200
    await stream.wait_for(lambda k, d: k == "slack" and d["kind"] == "reaction_added")
    assert demo.sandbox.vonage.sends == []
    assert not [m for m in demo.sandbox.phone if m.direction == "received"]


async def test_a_command_reaches_the_bridge_signed_and_its_answer_is_shown(
    demo: Demo, http: aiohttp.ClientSession, stream: EventStream
) -> None:
    status, body = await call(http, demo, "slack/command", {"text": "/smschat help"})
    assert status == 200
    notice = body["notice"]
    assert (notice["kind"], notice["command"]) == ("command", "/smschat help")
    assert "/smschat close #12" in notice["text"]
    assert (await stream.wait_for(lambda k, d: k == "notice"))["id"] == notice["id"]


async def test_closing_a_case_with_its_header_button(
    demo: Demo, http: aiohttp.ClientSession, stream: EventStream
) -> None:
    await call(http, demo, "phone/send", {"contact": CONTACT, "text": "Thanks, all sorted"})
    header_ts = await demo.sandbox.wait_for_thread("Thanks, all sorted")
    header = demo.sandbox.slack.message(INBOX_CHANNEL, header_ts)
    block_id, action_id = next(
        (block["block_id"], element["action_id"])
        for block in header["blocks"]
        for element in block.get("elements", [])
        if element.get("text", {}).get("text") == "Close"
    )
    pressed = {"message_ts": header_ts, "block_id": block_id, "action_id": action_id}
    status, body = await call(http, demo, "slack/action", pressed)
    assert (status, body["status"]) == (200, 200)
    updated = await stream.wait_for(
        lambda k, d: k == "slack" and d["kind"] == "updated" and "closed" in json.dumps(d)
    )
    assert updated["message"]["ts"] == header_ts
    fields = " ".join(f["text"] for f in updated["message"]["blocks"][1]["fields"])
    assert "⚪ closed" in fields


async def test_a_button_click_reaches_the_bridge_as_a_signed_block_actions_payload(
    demo: Demo, http: aiohttp.ClientSession
) -> None:
    """A message with a button of its own, posted by the bot through the Web API."""
    slack = demo.sandbox.slack
    blocks = [
        {
            "type": "actions",
            "block_id": "case_actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "close_case",
                    "value": "1",
                    "text": {"type": "plain_text", "text": "Close"},
                }
            ],
        }
    ]
    async with http.post(
        f"{slack.base_url}chat.postMessage",
        json={"channel": INBOX_CHANNEL, "text": "buttons", "blocks": blocks},
        headers={"Authorization": f"Bearer {demo.sandbox.bot_token}"},
    ) as response:
        ts = (await response.json())["ts"]

    status, body = await call(
        http, demo, "slack/action", {"message_ts": ts, "action_id": "close_case"}
    )
    assert status == 200 and body["status"] != 401

    status, body = await call(
        http, demo, "slack/action", {"message_ts": ts, "action_id": "no_such_button"}
    )
    assert (status, body) == (400, {"error": "no such button on that message"})


@pytest.mark.parametrize(
    "path, body, error",
    [
        ("phone/send", {"contact": "12", "text": "hi"}, "international form"),
        ("phone/send", {"contact": "+447400900000", "text": "hi"}, "bridge's own number"),
        ("phone/send", {"contact": CONTACT, "text": "  "}, "type a message"),
        ("slack/post", {"thread_ts": "1.000001", "text": "hi"}, "no such thread"),
        ("slack/post", ["not", "an", "object"], "JSON object"),
        ("slack/file", {"thread_ts": "1.000001", "name": "a.txt", "data": "aGk="}, "no such"),
        ("slack/file", {"thread_ts": "1.000001", "name": "a.txt", "data": "h!"}, "base64"),
        ("mail/send", {"from": "alice at example.com", "text": "hi"}, "email address"),
        ("mail/send", {"from": "a@example.com", "text": "hi", "answering": "m9"}, "no such"),
    ],
    ids=[
        "short-number",
        "our-own-number",
        "empty-text",
        "unknown-thread",
        "not-an-object",
        "file-to-unknown-thread",
        "file-not-base64",
        "mail-from-no-address",
        "mail-answering-nothing",
    ],
)
async def test_bad_input_is_refused_with_a_reason(
    demo: Demo, http: aiohttp.ClientSession, path: str, body: Any, error: str
) -> None:
    status, answer = await call(http, demo, path, body)
    assert status == 400 and error in answer["error"]


async def test_a_long_text_reaches_the_bridge_in_parts_and_is_posted_whole(
    demo: Demo, http: aiohttp.ClientSession
) -> None:
    text = "Could you tell me more about the appointment? " * 5
    assert len(split_sms(text)) == 2
    status, body = await call(http, demo, "phone/send", {"contact": CONTACT, "text": text})
    assert status == 200 and body["message"]["detail"] == "2 SMS parts"
    await demo.sandbox.wait_for_thread(text)


async def test_the_example_conversation_is_there_at_start(tmp_path: Path) -> None:
    demo = Demo(DemoOptions(port=0, database=tmp_path / "demo.db"))
    await demo.start()
    try:
        state = demo.sandbox.snapshot()
    finally:
        await demo.close()
    assert (tmp_path / "demo.db").exists()  # --database keeps it
    tops = [m for m in state["slack"] if m["top"]]
    assert len(tops) == 1  # named through the header's "Add contact" dialog
    assert tops[0]["blocks"][0]["text"]["text"] == "#1 · Alice Moreau – Mobile"
    assert state["modal"] is None
    assert tops[0]["via_sms"]  # the header shows her first text
    assert "Hi, is the clinic open on Saturday morning?" in tops[0]["text"]
    thread = [(m["author"], m["text"]) for m in state["slack"] if not m["top"]]
    assert thread == [
        ("Sam Rivera", "Yes, from 9am to 1pm. Would you like an appointment?"),
        ("SMS Chat", "Yes please, 10am if you have one. Thanks!"),
    ]
    assert [(m["direction"], m["state"]) for m in state["phone"]] == [
        ("sent", "sent"),
        ("received", "delivered"),
        ("sent", "sent"),
    ]


async def test_signed_vonage_webhooks_are_accepted_when_a_secret_is_set() -> None:
    sandbox = Sandbox(vonage_signature_secret="demo-signature-secret-0123")
    await sandbox.start()
    try:
        sent = await sandbox.phone_send(CONTACT, "Signed hello")
        await sandbox.wait_for_thread("Signed hello")
    finally:
        await sandbox.close()
    assert sent.state == "sent"


def _start_cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"}
    return subprocess.Popen(
        [sys.executable, "-m", "bridge", "demo", *args],
        cwd=cwd,
        env=env | {"PYTHONPATH": str(Path(__file__).parents[1])},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_the_command_prints_one_url_ignores_dotenv_and_stops_on_ctrl_c(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    # A .env meant for a real deployment must not reach the demo (Socket Mode, PostgreSQL).
    (tmp_path / ".env").write_text(
        "SLACK_APP_TOKEN=xapp-1-real\nDATABASE_URL=postgresql+asyncpg://nobody@127.0.0.1:1/x\n"
    )
    process = _start_cli("--port", "0", cwd=tmp_path)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 60)
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, f"no URL in {line!r}; stderr: {process.stderr.read()}"
        async with http.get(f"{match.group()}api/state") as response:
            state = await response.json()
        assert len([m for m in state["slack"] if m["top"]]) == 1  # the example went through
        process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(asyncio.to_thread(process.wait), 30)
    finally:
        process.kill()
    out, err = process.communicate()
    assert code == 0, err
    assert out == "" and "demo: stopping" in err
    assert "Traceback" not in err


async def test_the_command_says_so_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = _start_cli("--port", str(taken.getsockname()[1]), "--empty", cwd=tmp_path)
        code = await asyncio.wait_for(asyncio.to_thread(process.wait), 60)
    _, err = process.communicate()
    assert code == 1
    assert "cannot listen on 127.0.0.1" in err and "--port" in err


async def test_a_picture_from_the_phone_is_shown_in_its_thread(
    demo: Demo, http: aiohttp.ClientSession, stream: EventStream
) -> None:
    body = {"contact": CONTACT, "text": "The view from here"}
    status, answer = await call(http, demo, "phone/picture", body)
    assert status == 200 and answer["message"]["state"] == "sent"
    event = await stream.wait_for(lambda kind, data: kind == "slack" and data["message"]["files"])
    shown = event["message"]
    assert shown["text"] == "The view from here" and shown["thread_ts"]
    async with http.get(f"{demo.url}api/slack/files/{shown['files'][0]['id']}") as response:
        assert response.status == 200 and response.content_type == "image/png"
        assert (await response.read()).startswith(b"\x89PNG")
    async with http.get(f"{demo.url}api/slack/files/F0NONE") as response:
        assert response.status == 404
