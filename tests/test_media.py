"""Pictures and files from contacts reach their case threads: fetched from the carrier's
media server (with the application's JWT when it asks for one), checked, kept, and uploaded
with Slack's external upload flow once, whatever interrupts it."""

from __future__ import annotations

import io
import json
import random
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import undefer

from bridge.errors import InvalidInput, MediaRefused
from bridge.fakes.slack_payloads import message_event
from bridge.fakes.vonage_payloads import messages_inbound_media_json
from bridge.routing.export import LogRange, write_log
from bridge.sms.media import checked_file
from bridge.sms.webhooks import parse_media
from bridge.store.dispatcher import RetryPolicy
from bridge.store.models_media import MediaFile
from tests.conftest import INBOX, OUR_NUMBER, LiveBridge

CONTACT = "+14155550123"
FAST_RETRIES = RetryPolicy(max_attempts=4, base_delay=0.02, max_delay=0.1)


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def media_webhook(url: str, *, kind: str = "image", caption: str | None = "My broken boiler"):
    return messages_inbound_media_json(
        from_=CONTACT.removeprefix("+"),
        to=OUR_NUMBER.removeprefix("+"),
        kind=kind,
        url=url,
        caption=caption,
    )


async def send_media(live: LiveBridge, body: dict) -> None:
    response = await live.vonage_webhook("/vonage/inbound", body, as_="json")
    assert response.status == 200, await response.text()
    await live.drained()


def thread_replies(live: LiveBridge) -> list[dict]:
    header = live.slack.messages(INBOX)[0]
    return live.slack.thread(INBOX, header["ts"])[1:]


async def stored_media(live: LiveBridge) -> MediaFile:
    async with live.bridge.db.reading() as session:
        return (await session.scalars(select(MediaFile).options(undefer(MediaFile.data)))).one()


@pytest.fixture
async def app_live(start_live, private_key_pem: str):
    """A bridge with a Messages API application: its JWT opens secured media."""
    return await start_live(
        retry_policy=FAST_RETRIES,
        VONAGE_APPLICATION_ID="fake-app-id",
        VONAGE_PRIVATE_KEY=private_key_pem,
    )


@pytest.mark.parametrize("secure", [False, True], ids=["open-media", "secure-inbound-media"])
async def test_a_picture_is_uploaded_into_the_case_thread_with_its_caption(
    app_live: LiveBridge, secure: bool
) -> None:
    live, picture = app_live, png()
    url = live.vonage.media.put(picture, "image/png", secure=secure)
    await send_media(live, media_webhook(url, caption="My <!channel> boiler"))

    header = live.slack.messages(INBOX)[0]
    [completed] = live.slack.calls("files.completeUploadExternal")
    assert completed.params["channel_id"] == INBOX
    assert completed.params["thread_ts"] == header["ts"]
    # The caption is the post's text, a contact's words: never a broadcast.
    assert completed.params["initial_comment"] == "My &lt;!channel&gt; boiler"
    [shared] = live.slack.shared_files()
    assert live.slack.uploaded_bytes(shared["id"]) == picture
    assert shared["title"] == "image-1.png" and shared["mimetype"] == "image/png"
    [reply] = thread_replies(live)
    assert reply["subtype"] == "file_share" and reply["files"][0]["id"] == shared["id"]
    # The carrier's URL is never shown in Slack, and the store forgets it once the file is kept.
    assert not any(url in json.dumps(call.params) for call in live.slack.calls())
    kept = await stored_media(live)
    assert (kept.state, kept.source_url, kept.name, kept.data) == (
        "stored",
        None,
        "image-1.png",
        picture,
    )
    assert live.vonage.media.fetches[-1][1] is True


async def test_the_bridges_own_file_share_is_not_sent_back_as_sms(app_live: LiveBridge) -> None:
    live = app_live
    await send_media(live, media_webhook(live.vonage.media.put(png(), "image/png")))
    [reply] = thread_replies(live)
    event = message_event(
        INBOX,
        live.slack.bot_user_id,
        reply["text"],
        reply["ts"],
        thread_ts=reply["thread_ts"],
        subtype="file_share",
        bot_id=live.slack.bot_id,
        files=reply["files"],
    )
    assert (await live.slack_event(event)).status == 200
    await live.drained()
    assert live.vonage.sends == []


async def test_a_repeated_webhook_uploads_the_picture_once(app_live: LiveBridge) -> None:
    live = app_live
    body = media_webhook(live.vonage.media.put(png(), "image/png"))
    await send_media(live, body)
    await send_media(live, body)
    assert len(live.slack.shared_files()) == 1
    assert len(live.vonage.media.fetches) == 1


def noisy_png(side: int) -> bytes:
    """A picture that does not compress: about 3 bytes a pixel."""
    pixels = random.Random(side).randbytes(side * side * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(out, "PNG")
    return out.getvalue()


def _truncated_png() -> bytes:
    return png(400, 400)[:60]


# (label, what the media server holds or the URL is, settings, the note's reason)
async def test_media_too_large_is_a_note_and_the_text_still_arrives(start_live) -> None:
    live = await start_live(retry_policy=FAST_RETRIES, MEDIA_MAX_BYTES="1024")
    await send_media(live, media_webhook(live.vonage.media.put(noisy_png(40), "image/png")))
    assert live.slack.calls("files.completeUploadExternal") == []
    [reply] = thread_replies(live)
    assert reply["text"] == (
        "My broken boiler\n:paperclip: The contact sent a picture, not shown here: "
        "it is larger than 0.001024 MB."
    )
    kept = await stored_media(live)
    assert kept.state == "refused" and kept.data is None


# (label, announced kind, the server's Content-Type, the bytes, why refused or None)
BYTES_CHECKED = [
    ("a-png-as-said", "image", "image/png", png(), None),
    ("a-type-left-undeclared", "image", "application/octet-stream", png(), None),
    ("a-vcard", "vcard", "text/x-vcard", b"BEGIN:VCARD\r\nFN:Bob\r\nEND:VCARD", None),
    ("bytes-not-the-kind", "image", "application/pdf", b"%PDF-1.4\n%...", "but is application/pdf"),
    ("header-not-the-bytes", "image", "image/gif", png(), "(image/gif) but is image/png"),
    ("damaged-picture", "image", "image/png", _truncated_png(), "damaged"),
    ("unknown-bytes", "file", "image/png", b"hello there, plain words", "not a file type"),
]


@pytest.mark.parametrize(
    ("label", "kind", "declared", "data", "refused"),
    BYTES_CHECKED,
    ids=[row[0] for row in BYTES_CHECKED],
)
def test_a_file_s_bytes_must_be_what_was_announced(
    label: str, kind: str, declared: str, data: bytes, refused: str | None
) -> None:
    if refused is None:
        assert checked_file(kind, declared, data).data == data
        return
    with pytest.raises(MediaRefused, match=re.escape(refused)):
        checked_file(kind, declared, data)


async def test_secured_media_without_an_application_is_a_note(live: LiveBridge) -> None:
    await send_media(live, media_webhook(live.vonage.media.put(png(), "image/png", secure=True)))
    [reply] = thread_replies(live)
    assert "refused it (HTTP 401)" in reply["text"]


async def test_media_off_vonages_hosts_is_never_fetched(app_live: LiveBridge) -> None:
    live = app_live
    elsewhere = f"https://127.0.0.1:{live.url.rsplit(':', 1)[1]}/healthz"
    await send_media(live, media_webhook(elsewhere))
    # A redirect off Vonage's hosts is not followed either.
    await send_media(live, media_webhook(live.vonage.media.redirect(elsewhere)))
    notes = [m["text"] for m in thread_replies(live)]
    assert len(notes) == 2
    assert all("kept somewhere other than Vonage's media servers" in n for n in notes)
    assert len(live.vonage.media.fetches) == 1  # the redirect itself, on Vonage's host


async def test_an_upload_interrupted_before_completion_shows_the_file_once(
    app_live: LiveBridge,
) -> None:
    live = app_live
    live.slack.fail_next("files.completeUploadExternal", error="internal_error")
    await send_media(live, media_webhook(live.vonage.media.put(png(), "image/png")))
    await live.slack.wait_until(lambda: live.slack.shared_files() != [], what="a shared file")
    await live.drained()
    assert live.slack.uploads_received == 2  # the first upload was never completed
    assert len(live.slack.shared_files()) == 1
    assert len(thread_replies(live)) == 1


async def test_an_upload_whose_completion_went_unrecorded_is_found_not_repeated(
    app_live: LiveBridge,
) -> None:
    live = app_live
    # Completed, then the bridge lost sight of it before recording the post.
    live.slack.fail_next("files.info", error="internal_error")
    await send_media(live, media_webhook(live.vonage.media.put(png(), "image/png")))
    await live.slack.wait_for("files.info", count=2)
    await live.drained()
    assert live.slack.uploads_received == 1
    assert len(live.slack.calls("files.completeUploadExternal")) == 1
    assert len(thread_replies(live)) == 1


BAD_MEDIA = [
    ("not-an-object", {"image": "https://api.nexmo.com/v3/media/x"}, "needs an object 'image'"),
    ("no-url", {"image": {"caption": "no url"}}, "'image.url' must be an https URL"),
    ("not-https", {"image": {"url": "http://api.nexmo.com/v3/media/x"}}, "must be an https URL"),
    ("url-not-text", {"image": {"url": ["https://x"]}}, "'url' must be text"),
]


@pytest.mark.parametrize(("label", "body", "reason"), BAD_MEDIA, ids=[b[0] for b in BAD_MEDIA])
def test_a_media_message_without_its_file_is_refused(label: str, body: dict, reason: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(reason)):
        parse_media(media_webhook("https://api.nexmo.com/v3/media/x") | body)


async def test_a_media_webhook_without_its_file_is_answered_400(live: LiveBridge) -> None:
    webhook = media_webhook("https://api.nexmo.com/v3/media/x") | {"image": "not an object"}
    response = await live.vonage_webhook("/vonage/inbound", webhook, as_="json")
    assert response.status == 400
    assert "needs an object 'image'" in (await response.json())["error"]
    assert live.slack.calls("chat.postMessage") == []


async def test_the_messaging_log_names_each_text_s_file(app_live: LiveBridge) -> None:
    live = app_live
    await send_media(live, media_webhook(live.vonage.media.put(png(), "image/png")))
    far = "https://files.example.org/x.png"
    await send_media(live, media_webhook(far, kind="video", caption="and this"))
    out = io.StringIO()
    now = live.bridge.clock.now()
    span = LogRange(now - timedelta(days=1), now + timedelta(days=1))
    assert await write_log(live.bridge.store, span, file_format="jsonl", out=out) == 2
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["text"], r["media_file"], r["media_type"]) for r in rows] == [
        ("My broken boiler", "image-1.png", "image/png"),
        ("and this", None, "video"),
    ]
    assert far not in out.getvalue()
