"""Fetching the files contacts send, from Vonage's media servers only.

Vonage keeps an inbound message's file at a URL on its API hosts for 48 hours; with
"Secure inbound media" turned on for the application, the GET needs `Authorization: Bearer
<application JWT>` (https://developer.vonage.com/en/messages/concepts/secure-inbound-media).
The URL comes from a webhook, so it is checked before anything is fetched: https, one of
Vonage's hosts (no request to anywhere else on the bridge's network), redirects followed
only while they stay on those hosts, the whole fetch bounded in time and in size, and the
bytes checked to be what the message said they were.
"""

from __future__ import annotations

import io
import logging
from urllib.parse import urljoin, urlsplit

import aiohttp
import filetype
from PIL import Image, UnidentifiedImageError

from bridge.domain.media import FetchedMedia, InboundMedia, fits_kind
from bridge.errors import MediaRefused, SendError
from bridge.sms.client import RETRYABLE_HTTP, VonageClient

log = logging.getLogger(__name__)

# Where Vonage's Messages API keeps inbound media (`https://api-us.nexmo.com/v3/media/<id>`
# in the documentation's examples): its API hosts, global and regional, by both names.
VONAGE_MEDIA_HOSTS = frozenset(
    f"{name}.{domain}"
    for name in ("api", "api-us", "api-eu", "api-ap")
    for domain in ("nexmo.com", "vonage.com")
)
MOST_REDIRECTS = 3
CHUNK = 64 * 1024
# Names a server may give a type by, beside the one the bytes are found to be.
_ALIASES = {"image/jpg": "image/jpeg", "text/x-vcard": "text/vcard", "audio/mp3": "audio/mpeg"}
_UNDECLARED = {"", "application/octet-stream", "binary/octet-stream"}


def sniffed_type(data: bytes) -> str | None:
    """What the bytes are by their first bytes (a vCard by its opening line)."""
    if data.lstrip()[:11].upper() == b"BEGIN:VCARD":
        return "text/vcard"
    found = filetype.guess_mime(data)
    return _ALIASES.get(found, found) if found else None


def readable_image(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False
    return True


class VonageMedia:
    """Implements `MediaSource` over the Vonage client's session and credentials."""

    def __init__(self, client: VonageClient) -> None:
        self.client = client
        # The API host the client is pointed at (a region, or a stand-in) is Vonage's too.
        self.hosts = VONAGE_MEDIA_HOSTS | {client.api_host}

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme != "https" or parts.username or parts.password or not parts.hostname:
            return False
        return parts.hostname in self.hosts or parts.netloc in self.hosts

    async def fetch(self, media: InboundMedia, *, most: int) -> FetchedMedia:
        url = media.url
        for _hop in range(MOST_REDIRECTS + 1):
            if not self.allowed(url):
                raise MediaRefused("it is kept somewhere other than Vonage's media servers")
            status, declared, data, location = await self._get(url, most)
            if status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                continue
            if status in RETRYABLE_HTTP:
                raise SendError(f"Vonage media answered HTTP {status}", retryable=True)
            if status != 200:
                raise MediaRefused(f"Vonage's media server refused it (HTTP {status})")
            return checked_file(media.kind, declared, data)
        raise MediaRefused("Vonage's media server sent it round too many redirects")

    async def _get(self, url: str, most: int) -> tuple[int, str, bytes, str | None]:
        headers = {"User-Agent": "smschat-bridge"}
        if self.client.auth.application_id:
            headers["Authorization"] = self.client.bearer()
        try:
            async with self.client.session.get(
                url, headers=headers, allow_redirects=False
            ) as response:
                declared = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if response.status != 200:
                    return response.status, declared, b"", response.headers.get("Location")
                return 200, declared, await read_at_most(response, most), None
        except (aiohttp.ClientError, TimeoutError) as exc:
            why = f"Vonage media unreachable: {type(exc).__name__}"
            raise SendError(why, retryable=True) from None


async def read_at_most(response: aiohttp.ClientResponse, most: int) -> bytes:
    """A response's body, refused as soon as it is longer than `most` bytes."""
    if (response.content_length or 0) > most:
        raise MediaRefused(_too_large(most))
    data = bytearray()
    async for chunk in response.content.iter_chunked(CHUNK):
        data += chunk
        if len(data) > most:
            raise MediaRefused(_too_large(most))
    return bytes(data)


def _too_large(most: int) -> str:
    return f"it is larger than {most / 1_000_000:g} MB"


def checked_file(kind: str, declared: str, data: bytes) -> FetchedMedia:
    """The bytes, once they are what the message and the server said they were."""
    found = sniffed_type(data)
    if found is None:
        raise MediaRefused("its contents are not a file type the bridge can read")
    declared = _ALIASES.get(declared, declared)
    if not fits_kind(kind, found) or (declared not in _UNDECLARED and declared != found):
        raise MediaRefused(f"it was announced as {kind} ({declared or 'no type'}) but is {found}")
    if found.startswith("image/") and not readable_image(data):
        raise MediaRefused("the picture is damaged and cannot be read")
    return FetchedMedia(content_type=found, data=data)
