"""`/smschat` and the case header's buttons and modal: Slack payloads in, case actions out.

Answers go back in the acknowledgement (the request's own response) or through the outbox;
the one call made inside a request is `views.open`, whose trigger id lives three seconds.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bridge import texts
from bridge.clock import Clock
from bridge.domain import limits
from bridge.domain.numbers import format_number
from bridge.domain.rules import Inbox
from bridge.domain.values import UserId
from bridge.errors import InvalidInput
from bridge.routing import cases, search
from bridge.routing.cases import CaseActionRefused, CaseChange
from bridge.routing.chat_settings import SettingsBook
from bridge.routing.conversations import REOPEN_AND_SEND, TELL_USER, tell
from bridge.routing.usage import usage_answer
from bridge.slack import blocks
from bridge.slack.access import Gatekeeper
from bridge.slack.forwarding import open_forwarding, register_forwarding
from bridge.slack.home_blocks import thread_link
from bridge.slack.mrkdwn import escape_for_slack
from bridge.slack.new_conversation import (
    new_view,
    register_new_conversation,
    start_from_command,
)
from bridge.slack.payloads import Action, Interaction, SlashCommand, read
from bridge.slack.settings_modal import open_settings, settings_log
from bridge.store.outbox import Outbox
from bridge.store.repo import Repository, Store

log = logging.getLogger(__name__)

COMMAND = "/smschat"
MOVE_SHORTCUT = "move_to_new_case"
ADD_CONTACT_VIEW = "add_contact"
MOVE_VIEW = "move_message"


@dataclass(frozen=True, slots=True)
class Desk:
    """What the command and modal handlers work with."""

    store: Store
    outbox: Outbox
    book: SettingsBook
    clock: Clock
    gatekeeper: Gatekeeper

    @property
    def inbox(self) -> Inbox:
        return self.book.inbox

    @property
    def default_region(self) -> str | None:
        return self.book.current.settings.default_region

    @property
    def time_zone(self) -> str:
        return self.book.rules.time_zone

    async def is_admin(self, user: str) -> bool:
        """Whether `user` may change the chat settings (and so look after the bridge)."""
        named = self.book.current.settings.settings_admins
        return await self.gatekeeper.settings_refusal(user, named) is None


def register_interactions(app: AsyncApp, *, desk: Desk) -> None:
    store = desk.store

    @app.command(COMMAND)
    async def on_command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        slash = read(SlashCommand, command)
        text = slash.text.strip()
        if text.lower() == "new":
            await ack()
            await client.views_open(trigger_id=slash.trigger_id, view=new_view(desk.inbox))
            return
        if text.lower() == "settings":
            refusal = await open_settings(
                client,
                slash.trigger_id,
                user=slash.user_id,
                book=desk.book,
                gatekeeper=desk.gatekeeper,
            )
            await ack(refusal or "")
            return
        if text.lower() == "forward":
            await ack()
            await open_forwarding(client, trigger_id=slash.trigger_id, desk=desk)
            return
        await ack(await run_command(desk, text, user=slash.user_id))

    register_new_conversation(app, desk=desk)
    register_forwarding(app, desk=desk)

    async def change(body: dict[str, Any], action: Any) -> None:
        """Apply a header button; a refusal is told to the presser in the thread."""
        pressed = read(Interaction, body)
        user, case_id = UserId(pressed.user.id), case_of(pressed.action)
        async with store.unit() as repo:
            try:
                await action(repo, user, case_id)
            except CaseActionRefused as refused:
                case = await repo.case(case_id)
                if case is not None:
                    await tell(repo, case, user, str(refused))

    @app.action(blocks.ASSIGN_ME)
    async def on_assign_me(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await change(
            body, lambda repo, user, case_id: cases.assign_case(repo, case_id, to=user, by=user)
        )

    @app.action(blocks.ASSIGN_TO)
    async def on_assign_to(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        chosen = read(Interaction, body).action.selected_user
        await change(
            body,
            lambda repo, user, case_id: cases.assign_case(
                repo, case_id, to=UserId(chosen) if chosen else None, by=user
            ),
        )

    @app.action(blocks.CLOSE)
    async def on_close(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await change(body, lambda repo, user, case_id: cases.close_case(repo, case_id, by=user))

    @app.action(blocks.REOPEN)
    async def on_reopen(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await change(body, lambda repo, user, case_id: cases.reopen_case(repo, case_id, by=user))

    @app.action(blocks.MARK_READ)
    async def on_mark_read(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await change(
            body,
            lambda repo, user, case_id: cases.mark_case_read(
                repo, case_id, by=user, at=desk.clock.now()
            ),
        )

    @app.action(REOPEN_AND_SEND)
    async def on_reopen_and_send(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        pressed = read(Interaction, body)
        [message_id] = record_ids(pressed.action.value, count=1)
        user = UserId(pressed.user.id)
        async with store.unit() as repo:
            try:
                done = await cases.reopen_and_send(repo, message_id, by=user)
            except CaseActionRefused as refused:
                text, case = str(refused), None
            else:
                text, case = done.message, await repo.case(done.case_id)
            channel = case.channel if case else pressed.channel.id if pressed.channel else None
            if channel is not None:
                await repo.enqueue(
                    TELL_USER,
                    queue=f"slack:user:{user}",
                    channel=channel,
                    user=user,
                    text=text,
                    thread_ts=case.thread_ts if case else None,
                )

    @app.action(blocks.ADD_CONTACT)
    async def on_add_contact(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        pressed = read(Interaction, body)
        await client.views_open(
            trigger_id=pressed.trigger_id, view=add_contact_view(case_of(pressed.action))
        )

    @app.shortcut(MOVE_SHORTCUT)
    async def on_move(ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        chosen = read(Interaction, shortcut)
        if chosen.channel is None or chosen.message is None:
            raise InvalidInput("message_action: no channel or message")
        channel, user, message = chosen.channel.id, UserId(chosen.user.id), chosen.message
        async with store.unit() as repo:
            try:
                case_id, message_id = await cases.movable_message(
                    repo, channel=channel, ts=message.ts
                )
            except CaseActionRefused as refused:
                await repo.enqueue(
                    TELL_USER,
                    queue=f"slack:user:{user}",
                    channel=channel,
                    user=user,
                    text=str(refused),
                    thread_ts=message.thread_ts,
                )
                return
        await client.views_open(trigger_id=chosen.trigger_id, view=move_view(case_id, message_id))

    @app.view(MOVE_VIEW)
    async def on_move_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        submitted = read(Interaction, body)
        assert submitted.view is not None  # a view_submission always has one (Envelope)
        case_id, message_id = record_ids(submitted.view.private_metadata, count=2)
        comment = submitted.form.text("comment") or ""
        async with store.unit() as repo:
            try:
                await cases.move_message(
                    repo,
                    case_id=case_id,
                    message_id=message_id,
                    comment=comment,
                    by=UserId(submitted.user.id),
                    inbox=desk.inbox,
                )
            except CaseActionRefused as refused:
                await ack(response_action="errors", errors={"comment": str(refused)})
                return
        await ack()

    @app.view(ADD_CONTACT_VIEW)
    async def on_add_contact_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        submitted = read(Interaction, body)
        assert submitted.view is not None
        [case_id] = record_ids(submitted.view.private_metadata, count=1)
        name = (submitted.form.text("name") or "").strip()
        label = submitted.form.option("label") or "Mobile"
        if not name:
            await ack(response_action="errors", errors={"name": texts.CONTACT_NAME_REQUIRED})
            return
        async with store.unit() as repo:
            case = await repo.case(case_id)
            if case is not None:
                await repo.name_number(
                    case.contact_number, name=name[: limits.NAME], label=label[:40]
                )
                await cases.refresh_contact_headers(repo, case.contact_number)
        await ack()


async def run_command(desk: Desk, text: str, *, user: str) -> str:
    """The answer to `/smschat <text>`, shown only to the person who typed it."""
    verb, _, rest = text.strip().partition(" ")
    actions = {
        "close": _close,
        "reopen": _reopen,
        "assign": _assign,
        "new": lambda repo, rest, user: start_from_command(repo, desk, rest, user),
    }
    if verb.lower() in ("search", "list"):
        return await find(desk, verb.lower(), rest, user=UserId(user))
    if verb.lower() == "settings":
        if rest.strip().lower() != "log":
            return texts.SETTINGS_USAGE
        return await settings_log(desk.book, user=user, gatekeeper=desk.gatekeeper)
    if verb.lower() == "usage":
        return await usage_answer(desk.store, rest, now=desk.clock.now(), time_zone=desk.time_zone)
    action = actions.get(verb.lower())
    if action is None:
        return (
            texts.HELP
            if verb.lower() in ("", "help")
            else texts.UNKNOWN_COMMAND.format(verb=verb) + "\n" + texts.HELP
        )
    async with desk.store.unit() as repo:
        try:
            done = await action(repo, rest, UserId(user))
        except CaseActionRefused as refused:
            return str(refused)
    return done.message


async def find(desk: Desk, verb: str, rest: str, *, user: UserId) -> str:
    """`search <text> [filters]` or `list [open|closed|mine|unassigned] [page:N]`."""
    if verb == "list":
        # `list closed` reads as a filter, not as a search for the word "closed".
        words = [f"status:{w}" if w in ("open", "closed", "all") else w for w in rest.split()]
        rest, default_status = " ".join(words), "open"
    else:
        default_status = "all"
        if not rest.strip():
            return texts.SEARCH_USAGE
    try:
        query, case_filter, page = search.parse_query(
            rest,
            user=user,
            default_status=default_status,
            per_user_reading=desk.book.rules.read_mode == "per_user",
        )
    except CaseActionRefused as refused:
        return str(refused)
    async with desk.store.reading() as repo:
        found = await search.find_cases(repo, query, case_filter, page)
        lines = [await _found_line(repo, case, name) for case, name in found.cases]
    if not lines:
        return texts.NOTHING_FOUND
    header = texts.FOUND_HEADER.format(total=found.total, page=found.page, pages=found.pages)
    more = [texts.FOUND_MORE.format(next=found.page + 1)] if found.page < found.pages else []
    return "\n".join([header, *lines, *more])


async def _found_line(repo: Repository, case: Any, name: str | None) -> str:
    link = thread_link(case.channel, case.thread_ts) if case.thread_ts else "#"
    return texts.FOUND_LINE.format(
        link=link,
        ref=case.id,
        contact=escape_for_slack(name or format_number(case.contact_number)),
        status=case.status,
        assignee=f"<@{case.assignee}>" if case.assignee else "unassigned",
        when=f"{case.last_activity_at:%Y-%m-%d %H:%M} UTC",
    )


async def _close(repo: Repository, rest: str, user: UserId) -> CaseChange:
    return await cases.close_case(repo, cases.parse_ref(rest), by=user)


async def _reopen(repo: Repository, rest: str, user: UserId) -> CaseChange:
    return await cases.reopen_case(repo, cases.parse_ref(rest), by=user)


async def _assign(repo: Repository, rest: str, user: UserId) -> CaseChange:
    ref, _, who = rest.strip().partition(" ")
    return await cases.assign_case(repo, cases.parse_ref(ref), to=_assignee(who, user), by=user)


def _assignee(who: str, user: UserId) -> UserId | None:
    """`me`, `nobody`, or a mention as Slack sends it in commands (`<@U123|dana>`).

    A plain `@dana` means the command reached us unescaped (a manifest without
    `should_escape: true`): no id is in it, so the answer says how to fix that.
    """
    who = who.strip()
    if who.lower() == "me":
        return user
    if who.lower() in ("nobody", "none"):
        return None
    mention = _MENTION.fullmatch(who)
    if mention:
        return UserId(mention.group(1))
    if who.startswith("@"):
        raise CaseActionRefused(texts.UNESCAPED_MENTION.format(given=who[:40]))
    raise CaseActionRefused(texts.BAD_ASSIGNEE.format(given=who[:40] or "nobody named"))


# A person as Slack writes them in an escaped command: `<@U123>` or `<@U123|dana>`.
_MENTION = re.compile(r"<@([UW][A-Z0-9]{1,31})(?:\|[^<>]*)?>")


def case_of(action: Action) -> int:
    """The case a header button acts on: its value, or its block's `case:N`."""
    for written in (action.value, action.block_id.removeprefix("case:")):
        if written.isdigit() and 0 < int(written) <= limits.RECORD_ID:
            return int(written)
    raise InvalidInput("block_actions: the button names no case")


def record_ids(metadata: str, *, count: int) -> list[int]:
    """`count` row ids that a view carries in its private metadata, as `12:34`."""
    parts = metadata.split(":")
    if len(parts) != count or not all(
        p.isdigit() and 0 < int(p) <= limits.RECORD_ID for p in parts
    ):
        raise InvalidInput("view_submission: private_metadata names no record")
    return [int(p) for p in parts]


def add_contact_view(case_id: int) -> dict[str, Any]:
    labels = ["Mobile", "Home", "Work", "Other"]
    return {
        "type": "modal",
        "callback_id": ADD_CONTACT_VIEW,
        "private_metadata": str(case_id),
        "title": {"type": "plain_text", "text": "Add contact"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {
                "type": "input",
                "block_id": "name",
                "label": {"type": "plain_text", "text": "Name"},
                "element": {"type": "plain_text_input", "action_id": "name", "max_length": 200},
            },
            {
                "type": "input",
                "block_id": "label",
                "label": {"type": "plain_text", "text": "This number is their"},
                "element": {
                    "type": "static_select",
                    "action_id": "label",
                    "initial_option": _option(labels[0]),
                    "options": [_option(label) for label in labels],
                },
            },
        ],
    }


def move_view(case_id: int, message_id: int) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": MOVE_VIEW,
        "private_metadata": f"{case_id}:{message_id}",
        "title": {"type": "plain_text", "text": "Move to new case"},
        "submit": {"type": "plain_text", "text": "Move"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"This text leaves case #{case_id} and opens a case of its own.",
                },
            },
            {
                "type": "input",
                "block_id": "comment",
                "optional": True,
                "label": {"type": "plain_text", "text": "Comment (a staff note in the new case)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "comment",
                    "multiline": True,
                    "max_length": 2000,
                },
            },
        ],
    }


def _option(label: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label}, "value": label}
