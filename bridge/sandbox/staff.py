"""The demo's staff member in Slack: posts in threads, slash commands, buttons and modals,
each reaching the bridge signed, as Slack sends it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from bridge.fakes.slack_payloads import (
    block_actions_payload,
    event_callback_body,
    interaction_form,
    message_event,
    slack_signature_headers,
    slash_command_form,
    view_submission_payload,
)
from bridge.sandbox import views, wire
from bridge.sandbox.relay import FORM
from bridge.sandbox.scene import COMMAND, INBOX_CHANNEL, INBOX_NAME, STAFF_ID, STAFF_NAME, Notice


class StaffActions:
    """What the staff member does; mixed into `Sandbox`, whose fakes and relay it uses."""

    async def staff_post(self, text: str, *, thread_ts: str | None = None) -> dict[str, Any]:
        """Sam types in the channel (or a thread): Slack stores it and sends the event."""
        if not text.strip():
            raise ValueError("type a message first")
        if thread_ts is not None and self.slack.message(INBOX_CHANNEL, thread_ts) is None:
            raise ValueError("no such thread")
        text = wire.typed_in_slack(text)
        posted = await self.slack.post_as_user(INBOX_CHANNEL, STAFF_ID, text, thread_ts=thread_ts)
        event = message_event(INBOX_CHANNEL, STAFF_ID, text, posted["ts"], thread_ts=thread_ts)
        event["team"] = self.slack.team_id
        envelope = event_callback_body(
            event, team_id=self.slack.team_id, api_app_id=self.slack.app_id
        )
        status, answer = await self._post_slack(json.dumps(envelope).encode(), "application/json")
        if status != 200:
            text = f"Slack could not deliver this message to the app (HTTP {status} {answer})"
            await self._notice("error", text, thread_ts=thread_ts)
        return {"ts": posted["ts"], "status": status}

    async def run_command(self, line: str) -> Notice:
        """Sam runs a slash command: Slack posts the signed form to the request URL."""
        line = line.strip()
        if not line.startswith("/"):
            line = f"{COMMAND} {line}"
        command, _, text = line.partition(" ")
        form = slash_command_form(
            command,
            wire.typed_in_slack(text.strip()),
            STAFF_ID,
            INBOX_CHANNEL,
            team_id=self.slack.team_id,
            team_domain=self.slack.team_domain,
            channel_name=INBOX_NAME,
            user_name=STAFF_NAME,
            api_app_id=self.slack.app_id,
            response_url=self.relay.response_url(),
        )
        status, answer = await self._post_slack(urlencode(form).encode(), FORM)
        if status != 200:
            return await self._notice(
                "error", f"{command} failed: the app answered HTTP {status}.", command=line
            )
        text_out, blocks = wire.answer_content(answer)
        return await self._notice(
            "command", views.emojize(text_out), blocks=views.emojize(blocks), command=line
        )

    async def click(
        self,
        message_ts: str,
        action_id: str,
        *,
        block_id: str | None = None,
        chosen: str | None = None,
    ) -> dict[str, Any]:
        """Sam presses a button or picks in a menu: Slack posts a signed `block_actions`."""
        msg = self.slack.message(INBOX_CHANNEL, message_ts)
        if msg is None:
            raise ValueError("no such message")
        found = wire.find_element(msg.get("blocks") or [], action_id, block_id)
        if found is None:
            raise ValueError("no such button on that message")
        payload = block_actions_payload(
            user=STAFF_ID,
            channel=INBOX_CHANNEL,
            message={k: v for k, v in msg.items() if k != "channel"},
            action=wire.action_for(*found, chosen),
            team_id=self.slack.team_id,
        )
        payload["response_url"] = self.relay.response_url()
        if msg.get("thread_ts") and msg["thread_ts"] != message_ts:
            payload["container"]["thread_ts"] = msg["thread_ts"]
        opened = set(self.slack.views)
        status, answer = await self._post_interaction(payload)
        if status != 200:
            text = f"That did not work: the app answered HTTP {status}."
            await self._notice("error", text, thread_ts=msg.get("thread_ts"))
        # An app answers a click with views.open (a modal) inside the request, if at all.
        for view_id in set(self.slack.views) - opened:
            self._show_modal(self.slack.views[view_id])
        return {"status": status, "answer": answer}

    async def submit_view(self, view_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Sam presses a modal's submit button: Slack posts a signed `view_submission`."""
        view = self.slack.views.get(view_id)
        if view is None or self.modal is None or self.modal["id"] != view_id:
            raise ValueError("that dialog is no longer open")
        shown = {k: v for k, v in view.items() if k != "state"}
        payload = view_submission_payload(
            user=STAFF_ID,
            view=shown,
            values=wire.view_state(view, values),
            team_id=self.slack.team_id,
        )
        status, answer = await self._post_interaction(payload)
        if status != 200:
            return {"status": status, "errors": {"": f"the app answered HTTP {status}"}}
        reply = json.loads(answer) if answer.startswith("{") else {}
        action = reply.get("response_action")
        if action == "errors":
            return {"status": status, "errors": reply.get("errors", {})}
        if action in ("update", "push"):
            self._show_modal(self.slack.views[view_id] | reply["view"])
        else:  # no answer, or "clear": the modal closes
            self._show_modal(None)
        return {"status": status, "errors": {}}

    def close_view(self, view_id: str) -> None:
        """Sam cancels a modal (the bridge asks for no `view_closed`, so Slack sends none)."""
        if self.modal is not None and self.modal["id"] == view_id:
            self._show_modal(None)

    def _show_modal(self, view: dict[str, Any] | None) -> None:
        self.modal = views.emojize(view) if view is not None else None
        self._emit("modal", {"view": self.modal})

    async def _post_interaction(self, payload: dict[str, Any]) -> tuple[int, str]:
        return await self._post_slack(urlencode(interaction_form(payload)).encode(), FORM)

    async def _post_slack(self, body: bytes, content_type: str) -> tuple[int, str]:
        headers = {"Content-Type": content_type}
        headers |= slack_signature_headers(self.signing_secret, body)
        return await self._post("/slack/events", body, headers)
