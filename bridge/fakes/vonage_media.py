"""The fake Vonage's media server: where an inbound message's file waits to be fetched
(`GET /v3/media/{id}`, https://developer.vonage.com/en/messages/concepts/secure-inbound-media).

A file put with `secure=True` is served only to `Authorization: Bearer <JWT>` of the
application (as with "Secure inbound media" on); others to anyone holding the URL.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from bridge.fakes.vonage_wire import jwt_claims


@dataclass(slots=True)
class _Kept:
    data: bytes
    content_type: str
    secure: bool
    redirect: str | None = None


class VonageMediaServer:
    """Files by id, and every GET of them in `fetches` (id, whether it was let through)."""

    def __init__(self, host: Callable[[], str], application_id: str) -> None:
        self._host = host
        self.application_id = application_id
        self._kept: dict[str, _Kept] = {}
        self.fetches: list[tuple[str, bool]] = []

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v3/media/{media_id}", self._get)

    def put(self, data: bytes, content_type: str, *, secure: bool = False) -> str:
        """Keep a file; the URL an inbound webhook names it by."""
        media_id = str(uuid.uuid4())
        self._kept[media_id] = _Kept(data, content_type, secure)
        return f"https://{self._host()}/v3/media/{media_id}"

    def redirect(self, location: str) -> str:
        """A URL that answers 302 to `location`."""
        media_id = str(uuid.uuid4())
        self._kept[media_id] = _Kept(b"", "", secure=False, redirect=location)
        return f"https://{self._host()}/v3/media/{media_id}"

    async def _get(self, request: web.Request) -> web.Response:
        media_id = request.match_info["media_id"]
        kept = self._kept.get(media_id)
        allowed = kept is not None and (not kept.secure or self._authorized(request))
        self.fetches.append((media_id, allowed))
        if kept is None:
            return web.json_response({"title": "Not Found"}, status=404)
        if not allowed:
            return web.json_response({"title": "Unauthorized"}, status=401)
        if kept.redirect is not None:
            raise web.HTTPFound(kept.redirect)
        return web.Response(body=kept.data, headers={"Content-Type": kept.content_type})

    def _authorized(self, request: web.Request) -> bool:
        auth = request.headers.get("Authorization", "")
        claims = jwt_claims(auth[7:]) if auth.startswith("Bearer ") else None
        if claims is None or claims.get("application_id") != self.application_id:
            return False
        return float(claims.get("exp", math.inf)) > time.time()
