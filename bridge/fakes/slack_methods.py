"""The Web API methods the fake Slack answers (https://docs.slack.dev/reference/methods/),
by family: auth, chat, reactions, conversations, users, views. `FakeSlack` finds each by
name (chat.postMessage → `_api_chat_post_message`)."""

from __future__ import annotations

import base64
import json
import math
import time
import uuid
from typing import Any

Params = dict[str, Any]

# What each method changed, as told to `FakeSlack.on_message` listeners.
LISTENED = {
    "chat.postMessage": "posted",
    "chat.update": "updated",
    "chat.delete": "deleted",
    "chat.postEphemeral": "ephemeral",
    "reactions.add": "reaction_added",
    "reactions.remove": "reaction_removed",
    "views.open": "view_opened",  # the stored view: a modal, or a Home tab as published
    "views.push": "view_pushed",
    "views.update": "view_updated",
    "views.publish": "home_published",
    "files.completeUploadExternal": "posted",
}


class SlackApiError(Exception):
    """Raised by a method handler to answer {"ok": false, "error": <error>}."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class SlackMethods:
    """The method handlers, over the storage `FakeSlack` keeps."""

    def _api_auth_test(self, params: Params) -> Params:
        url, user = f"https://{self.team_domain}.slack.com/", self.users[self.bot_user_id]["name"]
        answer = {"url": url, "team": "Fake Workspace", "user": user, "team_id": self.team_id}
        answer |= {"user_id": self.bot_user_id, "bot_id": self.bot_id}
        return answer | {"is_enterprise_install": False}

    def _api_chat_post_message(self, params: Params) -> Params:
        channel = self._joined(params.get("channel"))
        msg = self._bot_message(params) | {"ts": self._next_ts()}
        if params.get("reply_broadcast") in (True, "true", "1", 1):
            msg["subtype"] = "thread_broadcast"
        self._store(channel, msg, str(params["thread_ts"]) if params.get("thread_ts") else None)
        return {"channel": channel, "ts": msg["ts"], "message": msg, "_stored": msg}

    def _api_chat_update(self, params: Params) -> Params:
        channel, msg = self._existing(params)
        if msg.get("user") != self.bot_user_id:
            raise SlackApiError("cant_update_message")
        new = self._bot_message(params)
        msg.update({k: v for k, v in new.items() if k in ("text", "blocks", "attachments")})
        msg["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        answer = {"channel": channel, "ts": msg["ts"], "text": msg["text"], "message": msg}
        return answer | {"_stored": msg}

    def _api_chat_delete(self, params: Params) -> Params:
        channel, msg = self._existing(params)
        if msg.get("user") != self.bot_user_id:
            raise SlackApiError("cant_delete_message")
        self._messages[channel].remove(msg)
        return {"channel": channel, "ts": msg["ts"], "_stored": msg}

    def _api_chat_post_ephemeral(self, params: Params) -> Params:
        channel = self._channel(params.get("channel"))
        if str(params.get("user")) not in self.users:
            raise SlackApiError("user_not_found")
        msg = self._bot_message(params) | {"ts": self._next_ts(), "channel": channel}
        msg["ephemeral_to"] = params["user"]  # only told to listeners, never stored
        if params.get("thread_ts"):  # shown in that thread, as Slack does
            msg["thread_ts"] = str(params["thread_ts"])
        return {"message_ts": msg["ts"], "_stored": msg}

    def _api_chat_get_permalink(self, params: Params) -> Params:
        channel, msg = self._existing(params, "message_ts")
        digits = msg["ts"].replace(".", "")
        url = f"https://{self.team_domain}.slack.com/archives/{channel}/p{digits}"
        if not _is_top_level(msg):
            url += f"?thread_ts={msg['thread_ts']}&cid={channel}"
        return {"channel": channel, "permalink": url}

    def _api_reactions_add(self, params: Params) -> Params:
        _, msg = self._existing(params, "timestamp")
        reactions = msg.setdefault("reactions", [])
        entry = next((r for r in reactions if r["name"] == params.get("name")), None)
        if entry is None:
            entry = {"name": params.get("name"), "users": [], "count": 0}
            reactions.append(entry)
        if self.bot_user_id in entry["users"]:
            raise SlackApiError("already_reacted")
        entry["users"].append(self.bot_user_id)
        entry["count"] = len(entry["users"])
        return {"_stored": msg}

    def _api_reactions_remove(self, params: Params) -> Params:
        _, msg = self._existing(params, "timestamp")
        reactions = msg.get("reactions", [])
        entry = next((r for r in reactions if r["name"] == params.get("name")), None)
        if entry is None or self.bot_user_id not in entry["users"]:
            raise SlackApiError("no_reaction")
        entry["users"].remove(self.bot_user_id)
        entry["count"] = len(entry["users"])
        if not entry["users"]:
            reactions.remove(entry)
        return {"_stored": msg}

    def _api_conversations_open(self, params: Params) -> Params:
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if not users:
            raise SlackApiError("users_list_not_supplied")
        if any(u not in self.users for u in users):
            raise SlackApiError("user_not_found")
        dm_id = "D" + "".join(u.lstrip("UW") for u in users)
        opened = dm_id in self.channels
        if not opened:
            info = self.add_channel(dm_id, dm_id.lower(), members=[self.bot_user_id, *users])
            info |= {"is_channel": False, "is_im": len(users) == 1, "is_mpim": len(users) > 1}
            info["user"] = users[0]
        return {"no_op": opened, "already_open": opened, "channel": {"id": dm_id}}

    def _api_conversations_history(self, params: Params) -> Params:
        """Top-level messages, newest first, paged by `cursor`: conversations.history."""
        channel = self._channel(params.get("channel"))
        found = [m for m in self.messages(channel) if _within(m["ts"], params)]
        return _page(list(reversed(found)), params)

    def _api_conversations_replies(self, params: Params) -> Params:
        """A thread, parent first then replies oldest first, paged by `cursor`."""
        channel = self._channel(params.get("channel"))
        parent = self.message(channel, str(params.get("ts") or ""))
        if parent is None:
            raise SlackApiError("thread_not_found")
        replies = self.thread(channel, parent["ts"])[1:]
        answer = _page([m for m in replies if _within(m["ts"], params)], params)
        if not params.get("cursor"):
            answer["messages"].insert(0, _shown(parent, params))
        return answer

    def _api_conversations_info(self, params: Params) -> Params:
        info = self.channels.get(str(params.get("channel")))
        if info is None:
            raise SlackApiError("channel_not_found")
        shown = {k: v for k, v in info.items() if k != "members"}
        return {"channel": shown | {"is_member": self.bot_user_id in info["members"]}}

    def _api_apps_connections_open(self, params: Params) -> Params:
        ticket = uuid.uuid4().hex
        return {"url": f"wss://wss-primary.slack.com/link/?ticket={ticket}&app_id={self.app_id}"}

    def _api_conversations_members(self, params: Params) -> Params:
        info = self.channels.get(str(params.get("channel")))
        if info is None:
            raise SlackApiError("channel_not_found")
        return {"members": list(info["members"]), "response_metadata": {"next_cursor": ""}}

    def _api_users_list(self, params: Params) -> Params:
        """Every member, paged by `cursor`: users.list."""
        page = _page(list(self.users.values()), params)
        return {"members": page.pop("messages"), **page}

    def _api_users_info(self, params: Params) -> Params:
        user = self.users.get(str(params.get("user")))
        if user is None:
            raise SlackApiError("user_not_found")
        return {"user": user}

    def _save_view(self, params: Params, view_id: str | None = None) -> Params:
        view = _decoded(params.get("view"))
        if not isinstance(view, dict):
            raise SlackApiError("invalid_arguments")
        view_id = view_id or "V" + uuid.uuid4().hex[:10].upper()
        stored = {"id": view_id, "team_id": self.team_id, "state": {"values": {}}}
        stored |= {"hash": f"{time.time():.6f}.{uuid.uuid4().hex[:8]}", "private_metadata": ""}
        stored |= {"callback_id": "", "external_id": "", "root_view_id": view_id}
        stored |= {"previous_view_id": None, "app_id": self.app_id, "bot_id": self.bot_id}
        self.views[view_id] = stored | view
        return {"view": self.views[view_id], "_stored": self.views[view_id]}

    def _api_views_open(self, params: Params) -> Params:
        if not params.get("trigger_id"):
            raise SlackApiError("invalid_arguments")
        return self._save_view(params)

    _api_views_push = _api_views_open

    def _api_views_update(self, params: Params) -> Params:
        external = params.get("external_id")
        by_external = [
            v["id"] for v in self.views.values() if external and v["external_id"] == external
        ]
        view_id = params.get("view_id") or next(iter(by_external), None)
        if view_id not in self.views:
            raise SlackApiError("not_found")
        return self._save_view(params, view_id)

    def _api_views_publish(self, params: Params) -> Params:
        user = str(params.get("user_id"))
        if user not in self.users:
            raise SlackApiError("user_not_found")
        # One Home tab per person: publishing again replaces it under the same id.
        answer = self._save_view(params, self.homes.get(user))
        self.homes[user] = answer["view"]["id"]
        return answer


def _within(ts: str, params: Params) -> bool:
    """`oldest`/`latest`/`inclusive` as conversations.history and .replies apply them."""
    oldest = float(params.get("oldest") or 0)
    latest = float(params.get("latest") or math.inf)
    if _truthy(params.get("inclusive")):
        return oldest <= float(ts) <= latest
    return oldest < float(ts) < latest


def _shown(message: Params, params: Params) -> Params:
    """Message metadata is returned only when asked for with `include_all_metadata`
    (https://docs.slack.dev/reference/methods/conversations.history)."""
    if _truthy(params.get("include_all_metadata")):
        return message
    return {k: v for k, v in message.items() if k != "metadata"}


def _page(messages: list[Params], params: Params) -> Params:
    """One page of a cursor-paginated answer (https://docs.slack.dev/apis/web-api/pagination)."""
    cursor = str(params.get("cursor") or "")
    start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
    limit = max(1, min(1000, int(params.get("limit") or 100)))
    more = start + limit < len(messages)
    next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
    return {
        "messages": [_shown(m, params) for m in messages[start : start + limit]],
        "has_more": more,
        "response_metadata": {"next_cursor": next_cursor},
    }


def _truthy(value: Any) -> bool:
    """Slack's boolean arguments: true/1 in a query or form, true in JSON."""
    return value in (True, 1, "1", "true", "True")


def _is_top_level(msg: Params) -> bool:
    return msg.get("thread_ts", msg["ts"]) == msg["ts"]


def _decoded(value: Any) -> Any:
    """Form bodies carry JSON fields (blocks, view) as strings; JSON bodies as objects."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
