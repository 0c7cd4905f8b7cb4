"""The demo's staff in Slack: posts in threads, slash commands, buttons, shortcuts, modals
and the Home tab, each reaching the bridge signed, as Slack sends it, from the person the
page is signed in as."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from bridge.fakes.slack_payloads import (
    block_actions_payload,
    event_callback_body,
    interaction_form,
    message_action_payload,
    message_event,
    slack_signature_headers,
    slash_command_form,
    view_block_actions_payload,
    view_submission_payload,
)
from bridge.fakes.views import home_opened_event
from bridge.sandbox import views, wire
from bridge.sandbox.relay import FORM
from bridge.sandbox.scene import COMMAND, INBOX_CHANNEL, INBOX_NAME, Notice


class StaffActions:
    """What the staff member does; mixed into `Sandbox`, whose fakes and relay it uses."""

    async def staff_post(self, text: str, *, thread_ts: str | None = None) -> dict[str, Any]:
        """Sam types in the channel (or a thread): Slack stores it and sends the event."""
        if not text.strip():
            raise ValueError("type a message first")
        self._check_thread(thread_ts)
        return await self._post_message(text, thread_ts)

    async def staff_share_file(
        self, *, name: str, mimetype: str, data: bytes, text: str, thread_ts: str
    ) -> dict[str, Any]:
        """Sam uploads a file into a thread, with what is typed as its message: Slack keeps
        the file and sends a `file_share` message event naming it."""
        if not name.strip() or not data:
            raise ValueError("pick a file first")
        if len(data) > wire.MOST_FILE_BYTES:
            raise ValueError(f"files up to {wire.MOST_FILE_BYTES // 1_000_000} MB, please")
        self._check_thread(thread_ts)
        shared = self.slack.add_user_file(self.me, name.strip(), data, mimetype or wire.UNTYPED)
        return await self._post_message(text, thread_ts, file_id=shared["id"])

    def _check_thread(self, thread_ts: str | None) -> None:
        if thread_ts is not None and self.slack.message(INBOX_CHANNEL, thread_ts) is None:
            raise ValueError("no such thread")

    async def _post_message(
        self, text: str, thread_ts: str | None, *, file_id: str | None = None
    ) -> dict[str, Any]:
        text = wire.typed_in_slack(text, self._handles(), labelled=False)
        if file_id is None:
            posted = await self.slack.post_as_user(INBOX_CHANNEL, self.me, text, thread_ts)
        else:
            posted = await self.slack.share_as_user(
                INBOX_CHANNEL, self.me, text, file_id, thread_ts=thread_ts
            )
        # The event carries what Slack stored of a file share: its subtype and files.
        shared = {k: posted[k] for k in ("subtype", "files", "upload") if k in posted}
        event = message_event(
            INBOX_CHANNEL, self.me, text, posted["ts"], thread_ts=thread_ts, **shared
        )
        event["team"] = self.slack.team_id
        status, answer = await self._send_event(event)
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
            # The manifest's should_escape: true turns a picked @person into <@U…|handle>.
            wire.typed_in_slack(text.strip(), self._handles(), labelled=True),
            self.me,
            INBOX_CHANNEL,
            team_id=self.slack.team_id,
            team_domain=self.slack.team_domain,
            channel_name=INBOX_NAME,
            user_name=self.person(self.me).handle,
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
            user=self.me,
            channel=INBOX_CHANNEL,
            message={k: v for k, v in msg.items() if k != "channel"},
            action=wire.action_for(*found, chosen),
            team_id=self.slack.team_id,
        )
        payload["response_url"] = self.relay.response_url()
        if msg.get("thread_ts") and msg["thread_ts"] != message_ts:
            payload["container"]["thread_ts"] = msg["thread_ts"]
        status, answer = await self._post_interaction(payload)
        if status != 200:
            text = f"That did not work: the app answered HTTP {status}."
            await self._notice("error", text, thread_ts=msg.get("thread_ts"))
        return {"status": status, "answer": answer}

    async def click_in_view(
        self,
        view_id: str,
        action_id: str,
        *,
        block_id: str | None = None,
        chosen: Any = None,
        values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A button or menu in a modal or on the Home tab; `values`: what the modal's
        fields hold now (Slack sends a view's state with every action in it)."""
        view = self.slack.views.get(view_id)
        if view is None:
            raise ValueError("that view is no longer open")
        found = wire.find_element(view.get("blocks") or [], action_id, block_id)
        if found is None:
            raise ValueError("no such button in that view")
        state = {"values": wire.view_state(view, values or {})}
        payload = view_block_actions_payload(
            user=self.me,
            view=view | {"state": state},
            action=wire.action_for(*found, chosen),
            team_id=self.slack.team_id,
        )
        status, answer = await self._post_interaction(payload)
        if status != 200:
            await self._notice("error", f"That did not work: the app answered HTTP {status}.")
        return {"status": status, "answer": answer}

    async def shortcut(self, message_ts: str, callback_id: str) -> dict[str, Any]:
        """Sam picks a message shortcut from a message's ⋯ menu."""
        msg = self.slack.message(INBOX_CHANNEL, message_ts)
        if msg is None:
            raise ValueError("no such message")
        if callback_id not in {s["callback_id"] for s in views.message_shortcuts()}:
            raise ValueError("the app has no such shortcut")
        payload = message_action_payload(
            callback_id=callback_id,
            user=self.me,
            channel=INBOX_CHANNEL,
            message={k: v for k, v in msg.items() if k != "channel"},
            team_id=self.slack.team_id,
        )
        payload["response_url"] = self.relay.response_url()
        status, answer = await self._post_interaction(payload)
        if status != 200:
            text = f"That did not work: the app answered HTTP {status}."
            await self._notice("error", text, thread_ts=msg.get("thread_ts"))
        return {"status": status, "answer": answer}

    async def open_home(self) -> dict[str, Any]:
        """Sam opens the app's Home tab: Slack sends `app_home_opened`."""
        home_id = self.slack.homes.get(self.me)
        event = home_opened_event(self.me, view=self.slack.views.get(home_id) if home_id else None)
        status, _answer = await self._send_event(event)
        return {"status": status}

    async def submit_view(self, view_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Sam presses a modal's submit button: Slack posts a signed `view_submission`."""
        view = self.slack.views.get(view_id)
        if view is None or not self.modals or self.modals[-1] != view_id:
            raise ValueError("that dialog is no longer open")
        shown = {k: v for k, v in view.items() if k != "state"}
        payload = view_submission_payload(
            user=self.me,
            view=shown,
            values=wire.view_state(view, values),
            team_id=self.slack.team_id,
        )
        status, answer = await self._post_interaction(payload)
        if status != 200:
            return {"status": status, "errors": {"": f"the app answered HTTP {status}"}}
        reply = json.loads(answer) if answer.startswith("{") else {}
        if reply.get("response_action") == "errors":
            return {"status": status, "errors": reply.get("errors", {})}
        self.answered_submission(view_id, reply)
        return {"status": status, "errors": {}}

    def _handles(self) -> dict[str, str]:
        """@handle -> user id of everyone in the workspace but the bot."""
        return {u["name"]: uid for uid, u in self.slack.users.items() if not u.get("is_bot")}

    async def _send_event(self, event: dict[str, Any]) -> tuple[int, str]:
        envelope = event_callback_body(
            event, team_id=self.slack.team_id, api_app_id=self.slack.app_id
        )
        return await self._post_slack(json.dumps(envelope).encode(), "application/json")

    async def _post_interaction(self, payload: dict[str, Any]) -> tuple[int, str]:
        return await self._post_slack(urlencode(interaction_form(payload)).encode(), FORM)

    async def _post_slack(self, body: bytes, content_type: str) -> tuple[int, str]:
        headers = {"Content-Type": content_type}
        headers |= slack_signature_headers(self.signing_secret, body)
        return await self._post("/slack/events", body, headers)
