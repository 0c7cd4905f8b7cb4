"""The contacts' phones in the demo: what each texts our number (as Vonage's inbound
webhooks, one per SMS part) and what it receives (every text the fake Vonage accepted),
with each received text's delivery state as its receipts pass by. A received MMS's picture,
or the file a text links to on the bridge, is fetched as a phone would (a link preview)
and kept for the page to draw."""

from __future__ import annotations

import io
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from PIL import Image, ImageDraw

from bridge.fakes import FakeVonage, VonageSend
from bridge.fakes.vonage_payloads import (
    messages_inbound_media_json,
    messages_webhook_authorization,
    sms_inbound_params,
)
from bridge.sandbox import wire
from bridge.sandbox.feed import Emit, Feed
from bridge.sandbox.relay import FORM, PostToBridge
from bridge.sandbox.scene import OUR_NUMBER, VONAGE_API_KEY, PhoneMessage

# url → (HTTP status, content type, body)
Fetch = Callable[[str], Awaitable[tuple[int, str, bytes]]]
PICTURE_TYPE = "image/png"  # of the picture a phone sends


class Phones(Feed[PhoneMessage]):
    def __init__(
        self,
        *,
        vonage: FakeVonage,
        post: PostToBridge,
        fetch: Fetch,
        emit: Emit,
        signature_secret: str | None,
        signature_method: str,
    ) -> None:
        super().__init__(kind="phone", emit=emit)
        self.vonage = vonage
        self.post = post
        self.fetch = fetch
        self.signature_secret = signature_secret
        self.signature_method = signature_method
        # Where the bridge's links to files start: its public address, once it listens.
        self.bridge_url = ""
        self.files: dict[str, tuple[bytes, str]] = {}  # bubble id → (bytes, content type)

    async def send(self, contact: str, text: str) -> PhoneMessage:
        """The phone `contact` texts our number: one inbound webhook per SMS part."""
        number = wire.contact_number(contact, ours=OUR_NUMBER)
        if not text.strip():
            raise ValueError("type a message first")
        msg = PhoneMessage(self._next_id(), number, "sent", text, time.time(), "sending")
        await self._update(msg, new=True)
        parts = wire.split_sms(text)
        ref = f"{secrets.randbelow(0xFFFF):04X}"
        for number_in_series, part in enumerate(parts, start=1):
            params = sms_inbound_params(
                msisdn=number.removeprefix("+"),
                to=OUR_NUMBER.removeprefix("+"),
                text=part,
                concat=(ref, len(parts), number_in_series) if len(parts) > 1 else None,
                api_key=VONAGE_API_KEY,
                signature_secret=self.signature_secret,
                signature_method=self.signature_method,
            )
            body = urlencode(params).encode()
            status, answer = await self.post("/vonage/inbound", body, {"Content-Type": FORM})
            if status != 200:
                msg.state, msg.detail = "refused", f"the bridge answered HTTP {status} {answer}"
                break
        else:
            msg.state = "sent"
            msg.detail = f"{len(parts)} SMS parts" if len(parts) > 1 else ""
        await self._update(msg)
        return msg

    async def send_picture(self, contact: str, caption: str, picture: bytes) -> PhoneMessage:
        """The phone `contact` sends a picture (MMS): Vonage keeps it on its media server and
        tells the bridge with a Messages API inbound webhook."""
        number = wire.contact_number(contact, ours=OUR_NUMBER)
        msg = PhoneMessage(self._next_id(), number, "sent", caption, time.time(), "sending")
        self._keep_file(msg, picture, PICTURE_TYPE)
        await self._update(msg, new=True)
        url = self.vonage.media.put(picture, PICTURE_TYPE)
        body = messages_inbound_media_json(
            from_=number.removeprefix("+"),
            to=OUR_NUMBER.removeprefix("+"),
            kind="image",
            url=url,
            caption=caption or None,
        )
        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.signature_secret:
            headers["Authorization"] = messages_webhook_authorization(
                raw, signature_secret=self.signature_secret, api_key=VONAGE_API_KEY
            )
        status, answer = await self.post("/vonage/inbound", raw, headers)
        await self._answered(msg, status, answer)
        return msg

    async def watch_sends(self) -> None:
        """Every text Vonage accepted arrives on the phone it was sent to (runs until
        cancelled)."""
        seen = 0
        while True:
            try:
                sends = await self.vonage.wait_for_sends(seen + 1, timeout=3600)
            except TimeoutError:
                continue
            for send in sends[seen:]:
                await self._receive(send)
            seen = len(sends)

    async def _receive(self, send: VonageSend) -> None:
        msg = PhoneMessage(
            self._next_id(),
            "+" + send.to.removeprefix("+"),
            "received",
            send.text,
            send.at,
            "submitted",
            parts=list(send.message_ids),
            part_states=dict.fromkeys(send.message_ids, "submitted"),
        )
        link = send.image_url or wire.media_link(send.text, bridge_url=self.bridge_url)
        if link is not None:
            status, content_type, data = await self.fetch(link)
            if status == 200:
                self._keep_file(msg, data, content_type, link=link)
            else:
                msg.detail = f"its file did not open: HTTP {status}"
        await self._update(msg, new=True)

    def _keep_file(
        self, msg: PhoneMessage, data: bytes, content_type: str, *, link: str = ""
    ) -> None:
        self.files[msg.id] = (data, content_type)
        msg.file_type, msg.file_size, msg.file_link = content_type, len(data), link

    async def receipt_arrived(self, params: dict[str, str], status: int, answer: str) -> None:
        """A receipt reached the bridge (or was refused): the received text's bubble shows it."""
        part_id, state = params.get("messageId", ""), params.get("status", "unknown")
        for msg in self.messages:
            if part_id in msg.part_states:
                msg.part_states[part_id] = state
                if status != 200:
                    msg.state = "receipt refused"
                    msg.detail = f"the bridge answered HTTP {status} {answer}"
                else:
                    msg.state = wire.overall_receipt_state(msg.part_states.values())
                await self._update(msg)


def sample_picture() -> bytes:
    """A picture a phone might send: a little landscape, drawn here."""
    image = Image.new("RGB", (320, 200), (135, 190, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 140, 320, 200), fill=(90, 160, 80))
    draw.ellipse((230, 25, 290, 85), fill=(250, 215, 80))
    draw.polygon([(40, 140), (120, 60), (200, 140)], fill=(120, 110, 100))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
