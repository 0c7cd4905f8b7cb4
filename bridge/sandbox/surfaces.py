"""The Slack surfaces besides the inbox channel: modals (a stack, as Slack keeps them), each
person's Home tab and direct messages, all drawn from what the bridge sent the fake Slack."""

from __future__ import annotations

import uuid
from typing import Any

from bridge.sandbox import views
from bridge.sandbox.scene import PEOPLE, Person

# FakeSlack's listener kinds for views (bridge.fakes.slack_methods.LISTENED).
VIEW_EVENTS = ("view_opened", "view_pushed", "view_updated", "home_published")


class Surfaces:
    """Mixed into `Sandbox`: keeps track of the open modals, Home tabs and DMs."""

    @property
    def modal(self) -> dict[str, Any] | None:
        """The dialog in front of the page (the top of the stack), as the page draws it."""
        if not self.modals:
            return None
        return views.emojize(self.slack.views[self.modals[-1]])

    def person(self, user: str) -> Person:
        found = next((p for p in PEOPLE if p.id == user), None)
        if found is None:
            raise ValueError(f"nobody called {user!r} works here")
        return found

    def sign_in(self, user: str) -> None:
        """The page is now `user`'s Slack: another person has no dialog of theirs open."""
        self.me = self.person(user).id
        self.modals.clear()
        self._emit("me", {"id": self.me})

    def homes(self) -> dict[str, Any]:
        """Each person's Home tab as last published, by user id."""
        return {
            user: views.emojize(self.slack.views[view_id])
            for user, view_id in self.slack.homes.items()
        }

    def direct_messages(self) -> list[dict[str, Any]]:
        """The bot's DMs, each with `to`: the person it went to."""
        found = []
        for channel, info in self.slack.channels.items():
            if info.get("is_im"):
                found += [self.dm_view(m) for m in self.slack.messages(channel)]
        return found

    def dm_view(self, message: dict[str, Any]) -> dict[str, Any]:
        info = self.slack.channels[message["channel"]]
        return self.slack_view(message) | {"channel": message["channel"], "to": info["user"]}

    def is_dm(self, channel: str | None) -> bool:
        return bool(self.slack.channels.get(str(channel), {}).get("is_im"))

    def view_changed(self, kind: str, view: dict[str, Any]) -> None:
        """A view the bridge opened, pushed, updated or published (a Home tab)."""
        if view.get("type") == "home":
            user = next((u for u, v in self.slack.homes.items() if v == view["id"]), None)
            self._emit("home", {"user": user, "view": views.emojize(view)})
            return
        if kind in ("view_opened", "view_pushed"):
            self.modals.append(view["id"])
        if view["id"] in self.modals:
            self._show_modals()

    def answered_submission(self, view_id: str, reply: dict[str, Any]) -> None:
        """What Slack does with a modal after the app's answer to its submission.
        https://docs.slack.dev/surfaces/modals#updating_response"""
        action = reply.get("response_action")
        if action == "update":
            self.slack.views[view_id] = self.slack.views[view_id] | reply["view"]
        elif action == "push":
            pushed = "V" + uuid.uuid4().hex[:10].upper()
            self.slack.views[pushed] = self.slack.views[view_id] | reply["view"] | {"id": pushed}
            self.modals.append(pushed)
        elif action == "clear":
            self.modals.clear()
        else:  # no answer: this view closes, the one under it shows again
            self.close_view(view_id)
            return
        self._show_modals()

    def close_view(self, view_id: str) -> None:
        """Sam cancels a modal (the bridge asks for no `view_closed`, so Slack sends none)."""
        if view_id in self.modals:
            del self.modals[self.modals.index(view_id) :]
            self._show_modals()

    def _show_modals(self) -> None:
        self._emit("modal", {"view": self.modal})
