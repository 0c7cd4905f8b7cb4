"""Generated input at every endpoint of a running bridge: never a 5xx, never a side effect.

Three families of requests, against a bridge whose Slack and Vonage secrets are set:

* noise: any method, path, headers, query string and body, unsigned;
* signed noise: bodies built of Slack's or Vonage's field names with generated values,
  correctly signed (Slack v0, Vonage `sig` and JWT);
* half-valid: a genuine payload, as the fakes build it, with one thing broken that a real
  request never lacks (a required field gone, a field of the wrong type, an id longer than
  its column, a number that is none), then signed.

After each request: its answer is below 500; no case or message was stored; no record at
ERROR was written; no line at INFO or above holds a number or a word of the input; no
job that posts in a channel or sends an SMS was queued, and none was made; the bridge
still answers /healthz. `BRIDGE_FUZZ_EXAMPLES` sets the examples per test
(default 40, enough for CI); `BRIDGE_FUZZ_REPORT=file.json` writes what was tried.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bridge.fakes.slack_payloads import (
    block_actions_payload,
    event_callback_body,
    interaction_form,
    message_event,
    slack_signature_headers,
    slash_command_form,
    view_submission_payload,
)
from bridge.fakes.views import home_opened_event
from bridge.fakes.vonage_payloads import (
    messages_inbound_json,
    messages_status_json,
    messages_webhook_authorization,
    sign_params,
    sms_inbound_params,
    sms_receipt_params,
)
from bridge.logs import configure_logging
from bridge.store.models import Case, Message, OutboxJob
from tests.conftest import INBOX, OUR_NUMBER, SIGNING_SECRET, STAFF, LiveBridge

SIGNATURE_SECRET = "fuzz-signature-secret-0123456789abcdef"
EXAMPLES = int(os.environ.get("BRIDGE_FUZZ_EXAMPLES", "40"))
# A word and numbers that only generated input holds: finding them in the log is a leak.
WORD = "Quetzalcoatl"
NUMBERS = ("447400118811", "14155550123", "33612345678")
US = OUR_NUMBER.removeprefix("+")
TRIED: Counter[str] = Counter()

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,  # examples are not replayed across runs: each run explores afresh
)

# -- what generated input is made of ---------------------------------------------------------

texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from([WORD, f"{WORD} call +{NUMBERS[0]}", "\x00", "\ud83d", "%ff", "#1", ""]),
    st.text(alphabet="0123456789+ ()-%2B", max_size=20),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    texts,
    st.sampled_from([*NUMBERS, "+" + NUMBERS[1], US, "9" * 40, "x" * 300]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
SLACK_KEYS = [
    "type", "event", "user", "user_id", "channel", "channel_id", "team", "team_id", "text",
    "ts", "thread_ts", "subtype", "actions", "action_id", "value", "block_id", "view",
    "state", "values", "callback_id", "private_metadata", "trigger_id", "command",
    "message", "previous_message", "tab", "files", "container", "authorizations",
]  # fmt: skip
VONAGE_KEYS = [
    "msisdn", "to", "from", "messageId", "message_uuid", "text", "type", "message_type",
    "channel", "timestamp", "message-timestamp", "concat", "concat-ref", "concat-total",
    "concat-part", "status", "err-code", "client-ref", "client_ref", "error", "sig",
]  # fmt: skip


def fields(keys: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict]:
    # Names without surrogates: urlencode cannot write those (values are written raw).
    names = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
    return st.dictionaries(st.sampled_from(keys) | names, values, max_size=8)


# Those that take what the outside sends, and answer nothing unsigned.
SIGNED_ENDPOINTS = [
    "/slack/events",
    "/vonage/inbound",
    "/vonage/status",
    "/vonage/voice/event",
    "/email/inbound",
    "/email/inbound/mailgun",
]
ENDPOINTS = [*SIGNED_ENDPOINTS, "/media/x.y.z", "/healthz", "/metrics"]
EMAIL_TOKEN = "fuzz-email-token-0123456789"
CONTENT_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=undefined",
    "application/json; charset=latin-1",
    "text/plain",
    "multipart/form-data; boundary=x",
    "",
]


@st.composite
def noise(draw: st.DrawFn) -> dict[str, Any]:
    """Any request at all, unsigned."""
    body = draw(
        st.one_of(
            st.binary(max_size=600),
            json_values.map(lambda v: json.dumps(v).encode()),
            fields(SLACK_KEYS + VONAGE_KEYS, texts).map(
                lambda f: urlencode(f, errors="surrogatepass").encode()
            ),
        )
    )
    headers = {"Content-Type": draw(st.sampled_from(CONTENT_TYPES) | texts)}
    for name in ("X-Slack-Request-Timestamp", "X-Slack-Signature", "Authorization"):
        if draw(st.booleans()):
            headers[name] = draw(texts | st.sampled_from([str(int(time.time())), "Bearer a.b.c"]))
    return {
        "method": draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"])),
        "path": draw(st.sampled_from(ENDPOINTS) | texts.map(lambda t: "/" + t.strip("/?#"))),
        "query": draw(fields(VONAGE_KEYS, texts)),
        "headers": {k: _header(v) for k, v in headers.items()},
        "body": body,
    }


def _header(value: str) -> str:
    # What HTTP can carry in a header at all: one line of Latin-1.
    return "".join(c for c in value if 32 <= ord(c) < 256 and c != "\x7f")[:200]


def slack_signed(body: bytes, content_type: str) -> dict[str, Any]:
    headers = {"Content-Type": content_type, **slack_signature_headers(SIGNING_SECRET, body)}
    return {
        "method": "POST",
        "path": "/slack/events",
        "query": {},
        "headers": headers,
        "body": body,
    }


def vonage_signed(path: str, params: dict[str, Any], *, as_jwt: bool) -> dict[str, Any]:
    if as_jwt:
        body = json.dumps(params).encode()
        authorization = messages_webhook_authorization(body, signature_secret=SIGNATURE_SECRET)
        headers = {"Content-Type": "application/json", "Authorization": authorization}
        return {"method": "POST", "path": path, "query": {}, "headers": headers, "body": body}
    signed = sign_params(
        {k: _signable("" if v is None else str(v)) for k, v in params.items()},
        secret=SIGNATURE_SECRET,
        method="md5hash",
    )
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return {
        "method": "POST",
        "path": path,
        "query": {},
        "headers": form,
        "body": urlencode(signed, errors="surrogatepass").encode(),
    }


def _signable(value: str) -> str:
    # Vonage signs UTF-8: a lone surrogate cannot be in what it signed.
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


@st.composite
def signed_noise(draw: st.DrawFn) -> dict[str, Any]:
    """Generated fields with a correct signature."""
    kind = draw(st.sampled_from(["slack-json", "slack-form", "slack-payload", "vonage"]))
    if kind == "slack-json":
        envelope = draw(fields(SLACK_KEYS, json_values))
        if draw(st.booleans()):
            envelope |= {"type": "event_callback", "event": draw(fields(SLACK_KEYS, json_values))}
        return slack_signed(json.dumps(envelope).encode(), "application/json")
    if kind == "slack-form":
        form = draw(fields(SLACK_KEYS, texts)) | {"command": "/smschat"}
        form["text"] = draw(
            st.sampled_from(
                ["", "help", "list", "search", "close", "assign", "usage", "forward"]
            ).flatmap(lambda verb: texts.map(lambda rest: f"{verb} {rest}"))
        )
        return slack_signed(
            urlencode(form, errors="surrogatepass").encode(), "application/x-www-form-urlencoded"
        )
    if kind == "slack-payload":
        payload = draw(fields(SLACK_KEYS, json_values))
        payload["type"] = draw(st.sampled_from(["block_actions", "view_submission", "shortcut"]))
        body = urlencode({"payload": json.dumps(payload)}, errors="surrogatepass").encode()
        return slack_signed(body, "application/x-www-form-urlencoded")
    params = draw(fields(VONAGE_KEYS, scalars))
    for key in ("messageId", "message_uuid"):
        params.pop(key, None)  # both APIs name every text and receipt: never a whole one
    path = draw(st.sampled_from(["/vonage/inbound", "/vonage/status"]))
    return vonage_signed(path, params, as_jwt=draw(st.booleans()))


# -- half-valid: a genuine payload with one thing broken --------------------------------------

# Values no real request holds where they stand: structures where text belongs (JSON only:
# a form turns everything into text), ids past their columns, numbers that are none.
structures = st.one_of(
    st.lists(texts, max_size=2), st.dictionaries(texts, texts, max_size=2), st.booleans()
)
too_long = st.sampled_from(["9" * 80, "U" * 300, "1712345678." + "0" * 60])
# Neither a sender (a number, a short code or a name) nor one of our numbers.
not_numbers = st.sampled_from(["<script>", "+12", "4" * 19, "U" * 300])
FORM_SPOILERS = {"number": not_numbers, "id": too_long, "code": st.just("9" * 20)}
JSON_SPOILERS = {kind: spoiler | structures for kind, spoiler in FORM_SPOILERS.items()}
JSON_SPOILERS["time"] = st.sampled_from(["yesterday", "9" * 40]) | structures
JSON_SPOILERS["slack"] = too_long | structures | st.integers(min_value=10)


def broken(genuine: dict[str, Any], required: dict[str, str], spoilers: dict) -> st.SearchStrategy:
    """`genuine` with one of `required` (field: kind) removed or given a value it never has."""

    def one(key: str) -> st.SearchStrategy[dict]:
        removed = st.just({k: v for k, v in genuine.items() if k != key})
        spoiled = spoilers[required[key]].map(lambda value: {**genuine, key: value})
        return removed | spoiled

    return st.sampled_from(sorted(required)).flatmap(one)


def _inbound() -> dict[str, Any]:
    return sms_inbound_params(msisdn=NUMBERS[0], to=US, text=f"{WORD} hi", message_id="F1")


def _reply_event() -> dict[str, Any]:
    return message_event(
        INBOX, STAFF, f"{WORD} reply", "1712345678.000200", thread_ts="1712345678.000100"
    )


SMS_FIELDS = {"msisdn": "number", "to": "number", "messageId": "id"}
MESSAGES_FIELDS = {"from": "number", "to": "number", "message_uuid": "id", "timestamp": "time"}
EVENT_FIELDS = {"channel": "slack", "ts": "slack", "text": "slack"}
COMMAND_FIELDS = {"user_id": "id", "channel_id": "id"}


@st.composite
def half_valid(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            ["sms-inbound", "messages-inbound", "receipt", "event", "home", "command", "button"]
        )
    )
    TRIED[f"half-valid {kind}"] += 1
    if kind == "sms-inbound":
        params = draw(broken(_inbound(), SMS_FIELDS, FORM_SPOILERS))
        concat = {"concat": "true", "concat-ref": "R1", "concat-total": "300", "concat-part": "1"}
        params |= draw(st.sampled_from([{}, concat]))
        return vonage_signed("/vonage/inbound", params, as_jwt=False)
    if kind == "messages-inbound":
        genuine = messages_inbound_json(from_=NUMBERS[1], to=US, text=f"{WORD} hi")
        params = draw(broken(genuine, MESSAGES_FIELDS, JSON_SPOILERS))
        return vonage_signed("/vonage/inbound", params, as_jwt=True)
    if kind == "receipt":
        genuine = sms_receipt_params(message_id="0C00", msisdn=NUMBERS[0], to=US, status="failed")
        genuine["err-code"] = "7"
        receipt_fields = {"messageId": "id", "err-code": "code"}
        params = draw(broken(genuine, receipt_fields, FORM_SPOILERS))
        status = messages_status_json(message_uuid="u1", to=NUMBERS[0], from_=US, status="read")
        if draw(st.booleans()):
            return vonage_signed("/vonage/status", params, as_jwt=False)
        spoiled = draw(broken(status, {"message_uuid": "id"}, JSON_SPOILERS))
        return vonage_signed("/vonage/status", spoiled, as_jwt=True)
    if kind in ("event", "home"):
        genuine = _reply_event() if kind == "event" else home_opened_event(STAFF)
        required = EVENT_FIELDS if kind == "event" else {"user": "slack"}
        event = draw(broken(genuine, required, JSON_SPOILERS))
        if kind == "home" and "user" not in event:
            event["user"] = draw(structures)
        body = json.dumps(event_callback_body(event)).encode()
        return slack_signed(body, "application/json")
    if kind == "command":
        form = slash_command_form("/smschat", f"new +{NUMBERS[0]} {WORD}", STAFF, INBOX)
        spoiled = draw(broken(form, COMMAND_FIELDS, FORM_SPOILERS))
        body = urlencode(spoiled, errors="surrogatepass").encode()
        return slack_signed(body, "application/x-www-form-urlencoded")
    message = {"ts": "1712345678.000100", "text": f"Case #1 {WORD}"}
    action = {"action_id": "case_close", "block_id": "case:1", "value": "1", "type": "button"}
    genuine = block_actions_payload(user=STAFF, channel=INBOX, message=message, action=action)
    payload = draw(
        broken(genuine, {"user": "slack", "actions": "slack"}, JSON_SPOILERS)
        | st.just({**genuine, "actions": [action | {"value": "x", "block_id": "x"}]})
        | st.just(view_submission_payload(user=STAFF, view={"callback_id": "x"}, values={}))
    )
    body = urlencode(interaction_form(payload), errors="surrogatepass").encode()
    return slack_signed(body, "application/x-www-form-urlencoded")


# -- the running bridge and what each request may do -----------------------------------------


@pytest.fixture
async def fuzzed(start_live) -> AsyncIterator[tuple[LiveBridge, io.StringIO]]:
    """A bridge with its secrets set, logging as `run` sets it up at INFO, into a buffer."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    live = await start_live(
        VONAGE_SIGNATURE_SECRET=SIGNATURE_SECRET,
        LOG_LEVEL="INFO",
        EMAIL_ADDRESS="help@example.org",
        EMAIL_INBOUND_TOKEN=EMAIL_TOKEN,
        MAILGUN_SIGNING_KEY=SIGNATURE_SECRET,
    )
    configure_logging("INFO", [SIGNING_SECRET, SIGNATURE_SECRET, EMAIL_TOKEN])
    buffer = io.StringIO()
    [handler] = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    yield live, buffer
    root.handlers[:] = handlers
    root.setLevel(level)


async def send(live: LiveBridge, request: dict[str, Any]) -> int:
    query = urlencode({k: str(v) for k, v in request["query"].items()}, errors="surrogatepass")
    url = f"{live.url}{request['path']}" + (f"?{query}" if query else "")
    async with live.http.request(
        request["method"], url, data=request["body"], headers=request["headers"]
    ) as response:
        await response.read()
        return response.status


async def assert_harmless(
    live: LiveBridge, buffer: io.StringIO, request: dict, status: int
) -> None:
    TRIED[request["path"] if request["path"] in ENDPOINTS else "other paths"] += 1
    assert status < 500, request
    async with live.bridge.db.reading() as session:
        stored = [
            await session.scalar(select(func.count()).select_from(table))
            for table in (Case, Message)
        ]
        # Posts and texts leave only through these jobs; a word to the author may.
        going_out = await session.scalar(
            select(func.count()).where(OutboxJob.kind.in_(["slack.post_header", "sms.send"]))
        )
    assert stored == [0, 0] and going_out == 0, request
    assert live.slack.calls("chat.postMessage") == [] and live.vonage.sends == []
    log = buffer.getvalue()
    assert " ERROR " not in log, log
    assert leaked(log) == [], request
    async with live.http.get(f"{live.url}/healthz") as health:
        assert health.status == 200


def leaked(log: str) -> list[str]:
    """Lines at INFO or above (this log holds no other) with a word or number of the input."""
    return [line for line in log.splitlines() if WORD in line or any(n in line for n in NUMBERS)]


@FUZZ
@given(request=noise())
async def test_noise_is_refused_without_a_trace(fuzzed, request: dict[str, Any]) -> None:
    live, buffer = fuzzed
    status = await send(live, request)
    await assert_harmless(live, buffer, request, status)
    if request["path"] in SIGNED_ENDPOINTS:
        assert 400 <= status < 500  # unsigned, whatever else it is


@FUZZ
@given(request=signed_noise())
async def test_signed_noise_is_answered_without_harm(fuzzed, request: dict[str, Any]) -> None:
    live, buffer = fuzzed
    await assert_harmless(live, buffer, request, await send(live, request))


@FUZZ
@given(request=half_valid())
async def test_half_valid_payloads_are_refused_without_harm(fuzzed, request: dict) -> None:
    live, buffer = fuzzed
    await assert_harmless(live, buffer, request, await send(live, request))


@st.composite
def raw_email(draw: st.DrawFn) -> dict[str, Any]:
    """What a mail relay may post with the right token: broken MIME, headers of any shape.
    No Message-ID line is ever whole, so nothing generated can become a contact's email."""
    header_names = st.sampled_from(
        ["From", "To", "Subject", "Content-Type", "Content-Transfer-Encoding", "MIME-Version",
         "In-Reply-To", "References", "Auto-Submitted", "Message-I"]
    )  # fmt: skip
    lines = st.lists(
        st.tuples(header_names, texts.map(lambda t: t.replace("\x00", ""))), max_size=8
    )
    head = "".join(f"{name}: {value}\r\n" for name, value in draw(lines))
    body = draw(st.binary(max_size=400) | texts.map(lambda t: t.encode("utf-8", "surrogatepass")))
    return {
        "method": "POST",
        "path": "/email/inbound",
        "query": {},
        "headers": {
            "Content-Type": "message/rfc822",
            "Authorization": f"Bearer {EMAIL_TOKEN}",
        },
        "body": head.encode("utf-8", "surrogatepass") + b"\r\n" + body,
    }


@FUZZ
@given(request=raw_email())
async def test_raw_email_of_any_shape_is_refused_without_harm(fuzzed, request: dict) -> None:
    live, buffer = fuzzed
    status = await send(live, request)
    await assert_harmless(live, buffer, request, status)
    assert 400 <= status < 500


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    path = os.environ.get("BRIDGE_FUZZ_REPORT")
    if path:
        Path(path).write_text(json.dumps(dict(sorted(TRIED.items())), indent=2) + "\n")
