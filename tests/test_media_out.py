"""A file staff share in a case thread reaches the contact: fetched from Slack with the bot
token, kept, and served under PUBLIC_URL at a signed, expiring link; a picture to a US or
Canadian number goes as MMS through the Messages API, anything else as a link in an SMS."""

from __future__ import annotations

import io
import json
import random
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from PIL import Image

from bridge import texts
from bridge.fakes.clock import ShiftedClock
from bridge.fakes.vonage_api import VonageSend
from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.routing.export import LogRange, write_log
from bridge.store.dispatcher import RetryPolicy
from tests.bridge_process import until
from tests.conftest import INBOX, OUR_NUMBER, STAFF, LiveBridge

US_CONTACT, UK_CONTACT = "+14155550123", "+447700900123"
PUBLIC = "https://sms.example.org"
FAST_RETRIES = RetryPolicy(max_attempts=4, base_delay=0.02, max_delay=0.1)


def picture(side: int = 40, *, noisy: bool = False) -> bytes:
    if noisy:  # does not compress: about 3 bytes a pixel
        image = Image.frombytes("RGB", (side, side), random.Random(side).randbytes(side * side * 3))
    else:
        image = Image.new("RGB", (side, side), (20, 120, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
async def mms_live(start_live, private_key_pem: str, clock: ShiftedClock) -> LiveBridge:
    return await start_live(
        retry_policy=FAST_RETRIES,
        clock=clock,
        PUBLIC_URL=PUBLIC,
        VONAGE_APPLICATION_ID="fake-app-id",
        VONAGE_PRIVATE_KEY=private_key_pem,
    )


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (30, 30), 3).save(out, "GIF")
    return out.getvalue()


async def share_files_in_case(
    live: LiveBridge, contact: str, text: str, files: list[tuple[bytes, str]], *, sends: int
) -> tuple[list[VonageSend], dict]:
    """The contact texts in; staff answer in the case thread with files (bytes, type); the
    `sends` that go out, and the case's header."""
    inbound = sms_inbound_params(
        msisdn=contact.removeprefix("+"), to=OUR_NUMBER.removeprefix("+"), text="Where is it?"
    )
    assert (await live.vonage_webhook("/vonage/inbound", inbound)).status == 200
    await live.drained()
    header = live.slack.messages(INBOX)[0]
    shared = [
        live.slack.add_user_file(STAFF, f"shared-{n}", data, mimetype)
        for n, (data, mimetype) in enumerate(files)
    ]
    response = await live.staff_reply(
        header["ts"], text, subtype="file_share", files=shared, upload=True
    )
    assert response.status == 200
    await live.vonage.wait_for_sends(sends)
    await live.drained()
    return list(live.vonage.sends), header


async def share_in_case(live: LiveBridge, contact: str, text: str, data: bytes, mimetype: str):
    """The contact texts in; staff answer in the case thread with a file; the send."""
    [send], header = await share_files_in_case(live, contact, text, [(data, mimetype)], sends=1)
    return send, header


def notes(live: LiveBridge, header: dict) -> list[str]:
    replies = live.slack.thread(INBOX, header["ts"])[1:]
    return [m["text"] for m in replies if m.get("bot_id") and m["text"].startswith(":")]


async def fetch(live: LiveBridge, link: str) -> tuple[int, str, bytes]:
    async with live.http.get(live.url + urlsplit(link).path) as response:
        return response.status, response.content_type, await response.read()


async def test_a_picture_to_a_us_number_goes_as_mms_and_its_link_expires(
    mms_live: LiveBridge, clock: ShiftedClock
) -> None:
    live, data = mms_live, picture()
    live.vonage.send_receipts_to(f"{live.url}/vonage/status", status="rejected")
    send, header = await share_in_case(live, US_CONTACT, "Here is the map", data, "image/png")
    assert send.api == "messages" and send.text == "Here is the map (#1)"
    # The carrier's word shows on the message that carried the file, as for a text.
    await live.slack.wait_for("reactions.add")
    [reaction] = live.slack.calls("reactions.add")
    staff_post = next(m for m in live.slack.thread(INBOX, header["ts"]) if m.get("user") == STAFF)
    assert (reaction.params["timestamp"], reaction.params["name"]) == (
        staff_post["ts"],
        "no_entry_sign",
    )

    def failure_noted() -> bool:
        thread = live.slack.thread(INBOX, header["ts"])
        return any("This reply was not delivered" in m["text"] for m in thread)

    await live.slack.wait_until(failure_noted, what="a note saying the MMS failed")
    assert send.image_url is not None and send.image_url.startswith(f"{PUBLIC}/media/")
    assert await fetch(live, send.image_url) == (200, "image/png", data)
    assert notes(live, header) == []
    # Unguessable: a token changed by one character is nobody's.
    forged = send.image_url[:-1] + ("0" if send.image_url[-1] != "0" else "1")
    assert (await fetch(live, forged))[0] == 404
    # Carriers fetch late, but not forever.
    clock.advance(timedelta(hours=23))
    assert (await fetch(live, send.image_url))[0] == 200
    clock.advance(timedelta(hours=2))
    assert (await fetch(live, send.image_url))[0] == 404


async def test_a_large_picture_is_scaled_down_for_mms(mms_live: LiveBridge) -> None:
    data = picture(600, noisy=True)
    assert len(data) > 600 * 1024
    send, _header = await share_in_case(mms_live, US_CONTACT, "", data, "image/png")
    assert send.text == ""  # a picture alone: no caption, no reference to add one to
    status, content_type, served = await fetch(mms_live, send.image_url)
    assert (status, content_type) == (200, "image/jpeg")
    assert len(served) <= 600 * 1024
    assert Image.open(io.BytesIO(served)).size[0] < 600


async def test_a_picture_to_another_country_goes_as_a_link_with_a_note(
    mms_live: LiveBridge,
) -> None:
    live, data = mms_live, picture()
    send, header = await share_in_case(live, UK_CONTACT, "Here is the map", data, "image/png")
    assert send.image_url is None
    text, link = send.text.split("\n")
    assert text == "Here is the map (#1)" and link.startswith(f"{PUBLIC}/media/")
    assert await fetch(live, link) == (200, "image/png", data)
    [shown] = notes(live, header)
    assert "as a link in an SMS (MMS reaches only US and Canadian numbers)" in shown


async def test_without_the_messages_api_a_picture_goes_as_a_link(start_live) -> None:
    live = await start_live(retry_policy=FAST_RETRIES, PUBLIC_URL=PUBLIC)
    send, header = await share_in_case(live, US_CONTACT, "Map", picture(), "image/png")
    assert send.api == "sms" and f"\n{PUBLIC}/media/" in send.text
    [shown] = notes(live, header)
    assert "MMS needs a Messages API application" in shown


async def test_slacks_sign_in_page_is_not_sent_as_the_file(mms_live: LiveBridge) -> None:
    live = mms_live
    live.slack.scopes.remove("files:read")
    send, header = await share_in_case(live, US_CONTACT, "Here is the map", picture(), "image/png")
    assert send.image_url is None and send.text == "Here is the map (#1)"
    [shown] = notes(live, header)
    assert "not sent to the contact: Slack answered with its sign-in page" in shown


async def test_without_a_public_address_the_text_goes_alone(start_live, private_key_pem) -> None:
    live = await start_live(
        retry_policy=FAST_RETRIES,
        VONAGE_APPLICATION_ID="fake-app-id",
        VONAGE_PRIVATE_KEY=private_key_pem,
    )
    send, header = await share_in_case(live, US_CONTACT, "Map", picture(), "image/png")
    assert send.image_url is None and send.text == "Map (#1)"
    [shown] = notes(live, header)
    assert "PUBLIC_URL" in shown


async def staff_sends(live: LiveBridge) -> list[tuple[str, str | None]]:
    """Each staff send in the messaging log, in order: its state and the files it carried."""
    out = io.StringIO()
    now = live.bridge.clock.now()
    span = LogRange(now - timedelta(days=1), now + timedelta(days=1))
    await write_log(live.bridge.store, span, file_format="jsonl", out=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    return [(r["status"], r["media_file"]) for r in rows if r["direction"] == "outbound"]


async def test_several_files_go_one_mms_per_picture_then_their_links_in_one_sms(
    mms_live: LiveBridge,
) -> None:
    live = mms_live
    live.vonage.send_receipts_to(f"{live.url}/vonage/status")
    files = [(pdf(), "application/pdf"), (picture(), "image/png"), (gif(), "image/gif")]
    files.append((pdf() + b"%more\n", "application/pdf"))
    sends, header = await share_files_in_case(live, US_CONTACT, "Here they are", files, sends=3)
    first, second, links = sends
    # The Messages API takes one image a message: the first picture carries the text.
    assert (first.text, second.text) == ("Here they are (#1)", "")
    assert await fetch(live, first.image_url) == (200, "image/png", files[1][0])
    assert await fetch(live, second.image_url) == (200, "image/gif", files[2][0])
    # The other files: their links in one SMS, in the order they were shared.
    assert links.image_url is None
    served = [await fetch(live, link) for link in links.text.split("\n")]
    assert served == [(200, "application/pdf", files[0][0]), (200, "application/pdf", files[3][0])]
    assert len({send.client_ref for send in sends}) == 3  # each send its own
    [shown] = notes(live, header)
    assert "as a link in an SMS (only JPEG, PNG and GIF pictures go as MMS)" in shown

    # Each send has its own receipts, and the messaging log names what each carried.
    async def all_delivered() -> bool:
        return [state for state, _files in await staff_sends(live)] == ["delivered"] * 3

    await until(all_delivered)
    carried = [files for _state, files in await staff_sends(live)]
    assert carried[:2] == ["image-2.png", "image-3.gif"]
    assert sorted(carried[2].split(";")) == ["file-1.pdf", "file-4.pdf"]
    staff_post = next(m for m in live.slack.thread(INBOX, header["ts"]) if m.get("user") == STAFF)
    delivered = [c.params for c in live.slack.calls("reactions.add")]
    assert {(d["timestamp"], d["name"]) for d in delivered} == {
        (staff_post["ts"], "white_check_mark")
    }


async def test_several_files_to_another_country_go_as_links_in_one_sms(
    mms_live: LiveBridge,
) -> None:
    live = mms_live
    files = [(picture(), "image/png"), (pdf(), "application/pdf")]
    [send], header = await share_files_in_case(live, UK_CONTACT, "Here they are", files, sends=1)
    text, *links = send.text.split("\n")
    assert text == "Here they are (#1)" and send.image_url is None
    assert [await fetch(live, link) for link in links] == [
        (200, "image/png", files[0][0]),
        (200, "application/pdf", files[1][0]),
    ]
    [shown] = notes(live, header)  # one note, a line for each reason
    assert shown.splitlines() == [
        texts.FILE_AS_LINK.format(why=texts.FILE_AS_LINK_WHY[why], hours=live.bridge.links.hours)
        for why in ("country", "type")
    ]


async def test_several_files_to_a_contact_who_opted_out_go_nowhere(mms_live: LiveBridge) -> None:
    live = mms_live
    stop = sms_inbound_params(
        msisdn=US_CONTACT.removeprefix("+"), to=OUR_NUMBER.removeprefix("+"), text="STOP"
    )
    assert (await live.vonage_webhook("/vonage/inbound", stop)).status == 200
    await live.drained()
    sent_before = len(live.vonage.sends)  # the opt-out's confirmation, if any
    files = [(picture(), "image/png"), (gif(), "image/gif")]
    await share_files_in_case(live, US_CONTACT, "Here they are", files, sends=sent_before)
    assert len(live.vonage.sends) == sent_before
    # What stops the text stops its files; its author is told once.
    assert [state for state, _files in await staff_sends(live)] == ["not_sent", "not_sent"]
    told = [c.params["text"] for c in live.slack.calls("chat.postEphemeral")]
    assert sum("has opted out of texts" in text for text in told) == 1
