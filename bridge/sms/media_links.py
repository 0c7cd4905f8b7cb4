"""Links carriers fetch a staff member's file by: `GET /media/{token}` under `PUBLIC_URL`.

A token names the file and when it stops working, signed with HMAC-SHA256: nobody can
guess one or make one last longer. Carriers fetch an MMS picture late, sometimes minutes
after the send; a link works for `MEDIA_LINK_HOURS` (at least an hour), then answers 404
like any unknown token. A picture over MMS's usual 600 KB is scaled down as it is served.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import re
from datetime import timedelta

from aiohttp import web
from PIL import Image

from bridge.clock import Clock
from bridge.domain.media import FetchedMedia
from bridge.routing.ports import Units

log = logging.getLogger(__name__)

# Carriers refuse or mangle larger MMS pictures (Vonage: "up to 600 KB for best delivery").
MMS_MOST_BYTES = 600 * 1024
_SCALED = frozenset({"image/jpeg", "image/png"})  # a GIF keeps its frames as it is
_TOKEN = re.compile(r"([0-9]{1,12})-([0-9]{1,12})-([0-9a-f]{32})")


class SignedMediaLinks:
    """Implements `MediaLinks`, and checks the tokens it made."""

    def __init__(self, *, key: bytes, public_url: str | None, hours: int, clock: Clock) -> None:
        self._key = hmac.new(key, b"smschat-bridge media links", hashlib.sha256).digest()
        self.public_url = public_url
        self.hours = hours
        self.lifetime = timedelta(hours=hours)
        self.clock = clock

    def _mac(self, media_id: int, expires: int) -> str:
        signed = f"{media_id}-{expires}".encode()
        return hmac.new(self._key, signed, hashlib.sha256).hexdigest()[:32]

    def token_for(self, media_id: int) -> str:
        expires = int((self.clock.now() + self.lifetime).timestamp())
        return f"{media_id}-{expires}-{self._mac(media_id, expires)}"

    def url_for(self, media_id: int) -> str | None:
        if self.public_url is None:
            return None
        return f"{self.public_url}/media/{self.token_for(media_id)}"

    def media_of(self, token: str) -> int | None:
        """The file a token names, None when it is not ours or has expired."""
        found = _TOKEN.fullmatch(token)
        if found is None:
            return None
        media_id, expires, mac = int(found[1]), int(found[2]), found[3]
        if not hmac.compare_digest(mac, self._mac(media_id, expires)):
            return None
        return media_id if self.clock.now().timestamp() < expires else None


def fit_for_mms(media: FetchedMedia) -> FetchedMedia:
    """A JPEG or PNG over `MMS_MOST_BYTES` made smaller (as a JPEG) until it fits."""
    if len(media.data) <= MMS_MOST_BYTES or media.content_type not in _SCALED:
        return media
    with Image.open(io.BytesIO(media.data)) as opened:
        image = opened.convert("RGB")
    data = media.data
    while len(data) > MMS_MOST_BYTES and min(image.size) > 16:
        scale = max(0.3, min(0.9, (MMS_MOST_BYTES / len(data)) ** 0.5))
        image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
        data = out.getvalue()
    return FetchedMedia(content_type="image/jpeg", data=data)


class MediaEndpoint:
    """`GET /media/{token}`: the file, with its type; 404 for anything else."""

    def __init__(self, links: SignedMediaLinks, units: Units) -> None:
        self.links = links
        self.units = units

    async def serve(self, request: web.Request) -> web.Response:
        media_id = self.links.media_of(request.match_info["token"])
        kept = None
        if media_id is not None:
            async with self.units.reading() as unit:
                kept = await unit.media.kept(media_id)
        if kept is None:
            return web.Response(status=404, text="no such file, or its link has expired")
        served = fit_for_mms(kept)
        return web.Response(
            body=served.data,
            content_type=served.content_type,
            headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )
