"""The fake Slack's file methods: the external upload flow and `files.info`
(https://docs.slack.dev/reference/methods/files.getUploadURLExternal,
https://docs.slack.dev/reference/methods/files.completeUploadExternal,
https://docs.slack.dev/reference/methods/files.info).

An upload is reserved, its bytes POSTed to the URL given, then completed into a channel or
thread, where a message with the file appears (the one Slack sends as a `file_share`
event). Until completed a file is nobody's to see.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import web

from bridge.fakes.slack_methods import Params, SlackApiError


class SlackFileMethods:
    """Mixed into `FakeSlack`: files by id, with their bytes and where they are shared."""

    files: dict[str, Params]
    uploads_received = 0

    def add_file_routes(self, app: web.Application) -> None:
        self.files = {}
        app.router.add_post("/upload/{file_id}", self._receive_upload)
        app.router.add_get("/files-pri/{file_id}/{tail:.+}", self._download)

    def add_user_file(self, user: str, name: str, data: bytes, mimetype: str) -> Params:
        """A file a person uploaded (what a `file_share` event's `files[]` holds)."""
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        base = self.base_url.removesuffix("/api/")  # type: ignore[attr-defined]
        found = {"id": file_id, "name": name, "title": name, "mimetype": mimetype}
        found |= {"size": len(data), "user": user, "shares": {}, "_data": data}
        found["url_private"] = f"{base}/files-pri/{file_id}/{name}"
        found["url_private_download"] = f"{base}/files-pri/{file_id}/download/{name}"
        self.files[file_id] = found
        return _shown(found)

    async def share_as_user(
        self, channel: str, user: str, text: str, file_id: str, *, thread_ts: str | None = None
    ) -> Params:
        """A person shares a file of theirs (`add_user_file`) with `text`: Slack stores the
        `file_share` message and tells listeners. The caller still delivers its event."""
        found = self.files[file_id]
        ts = self._next_ts()  # type: ignore[attr-defined]
        msg: Params = {"type": "message", "subtype": "file_share", "user": user, "text": text}
        msg |= {"ts": ts, "upload": True, "files": [_shown(found)]}
        self._store(channel, msg, thread_ts)  # type: ignore[attr-defined]
        _record_share(found, channel, ts, thread_ts)
        await self._notify("posted", msg)  # type: ignore[attr-defined]
        return msg

    async def _download(self, request: web.Request) -> web.Response:
        """A file's bytes for a token that may read files; Slack's sign-in page otherwise."""
        found = self.files.get(request.match_info["file_id"])
        auth = request.headers.get("Authorization", "")
        allowed = auth[7:] in self.tokens and "files:read" in self.scopes  # type: ignore[attr-defined]
        if not allowed:
            page = "<!DOCTYPE html><html><title>Sign in | Slack</title></html>"
            return web.Response(text=page, content_type="text/html")
        if found is None or found["_data"] is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=found["_data"], content_type=found["mimetype"])

    def uploaded_bytes(self, file_id: str) -> bytes | None:
        return self.files.get(file_id, {}).get("_data")

    def shared_files(self) -> list[Params]:
        return [f for f in self.files.values() if f["shares"]]

    async def _receive_upload(self, request: web.Request) -> web.Response:
        found = self.files.get(request.match_info["file_id"])
        if found is None or found["_data"] is not None:
            return web.Response(status=404, text="Not Found")
        data = await request.read()
        found["_data"], found["size"] = data, len(data)
        found["mimetype"] = request.content_type
        self.uploads_received += 1
        return web.Response(text=f"OK - {len(data)}")

    def _api_files_get_upload_urlexternal(self, params: Params) -> Params:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            raise SlackApiError("invalid_arguments")
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        self.files[file_id] = {
            "id": file_id,
            "name": str(params["filename"]),
            "title": str(params["filename"]),
            "size": int(params["length"]),
            "user": self.bot_user_id,  # type: ignore[attr-defined]
            "shares": {},
            "_data": None,
        }
        upload_url = f"{self.base_url.removesuffix('/api/')}/upload/{file_id}"  # type: ignore[attr-defined]
        return {"upload_url": upload_url, "file_id": file_id}

    def _api_files_complete_upload_external(self, params: Params) -> Params:
        listed = params.get("files")
        listed = json.loads(listed) if isinstance(listed, str) else listed
        if not isinstance(listed, list) or not listed:
            raise SlackApiError("invalid_arguments")
        picked = [self.files.get(str(f.get("id"))) for f in listed]
        if any(f is None or f["_data"] is None for f in picked):
            raise SlackApiError("file_not_found")
        channel = self._joined(params.get("channel_id"))  # type: ignore[attr-defined]
        thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
        for wanted, found in zip(listed, picked, strict=True):
            found["title"] = wanted.get("title") or found["name"]
        ts = self._next_ts()  # type: ignore[attr-defined]
        msg: Params = {"type": "message", "subtype": "file_share", "ts": ts, "upload": True}
        msg |= {"user": self.bot_user_id, "bot_id": self.bot_id}  # type: ignore[attr-defined]
        msg["text"] = params.get("initial_comment") or ""
        msg["files"] = [_shown(f) for f in picked]
        self._store(channel, msg, thread_ts)  # type: ignore[attr-defined]
        for found in picked:
            _record_share(found, channel, ts, thread_ts)
        return {"files": [{"id": f["id"], "title": f["title"]} for f in picked], "_stored": msg}

    def _api_files_info(self, params: Params) -> Params:
        found = self.files.get(str(params.get("file") or ""))
        if found is None:
            raise SlackApiError("file_not_found")
        return {"file": _shown(found)}


def _record_share(file: Params, channel: str, ts: str, thread_ts: str | None) -> None:
    """Where a file is shared, as files.info lists it in `shares`."""
    share = {"ts": ts, "channel_name": channel.lower(), "reply_count": 0}
    share |= {"thread_ts": thread_ts} if thread_ts else {}
    file["shares"].setdefault("public", {}).setdefault(channel, []).append(share)


def _shown(file: Params) -> dict[str, Any]:
    return {k: v for k, v in file.items() if not k.startswith("_")}
