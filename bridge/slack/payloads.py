"""What Slack sends the bridge, read into typed values before any listener acts on it.

Every field a listener uses is checked here against what Slack documents (ids, message
timestamps, texts within Slack's limits); a payload that does not fit raises
`InvalidInput`, whose reason names the fields, never their contents. Slack's shapes:
https://docs.slack.dev/interactivity/handling-user-interaction (block_actions,
view_submission, message_action), https://docs.slack.dev/interactivity/implementing-slash-commands,
https://docs.slack.dev/reference/events/message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from bridge.domain import limits
from bridge.errors import InvalidInput

# User (U…, W…), channel (C…, G…, D…), team (T…) and enterprise (E…) ids: upper-case letters
# and digits, as the store keeps them.
SlackId = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]+$", max_length=limits.SLACK_ID)]
# A message's ts: seconds, a dot, a sequence number ("1712345678.000100").
MessageTs = Annotated[str, StringConstraints(pattern=r"^[0-9.]+$", max_length=limits.SLACK_ID)]
Words = Annotated[str, StringConstraints(max_length=limits.SLACK_TEXT)]
# Action and block ids, values and view metadata are ours, at most 255 / 2000 / 3000 long.
Handle = Annotated[str, StringConstraints(max_length=255)]
Value = Annotated[str, StringConstraints(max_length=2000)]
Metadata = Annotated[str, StringConstraints(max_length=3000)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


ModelT = TypeVar("ModelT", bound=_Payload)


def read(model: type[ModelT], data: object) -> ModelT:
    """`data` as `model`, or `InvalidInput` naming each field that does not fit."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = sorted(
            {".".join(str(p) for p in error["loc"]) or "payload" for error in exc.errors()}
        )
        raise InvalidInput(f"{model.__name__}: unusable field(s) {', '.join(fields[:5])}") from None


class SlashCommand(_Payload):
    user_id: SlackId
    channel_id: SlackId
    text: Annotated[str, StringConstraints(max_length=4000)] = ""
    trigger_id: Handle = ""


class User(_Payload):
    id: SlackId


class Channel(_Payload):
    id: SlackId


class Option(_Payload):
    value: Value


class Action(_Payload):
    action_id: Handle
    block_id: Handle = ""
    value: Value = ""
    selected_user: SlackId | None = None
    selected_option: Option | None = None


class MessageRef(_Payload):
    ts: MessageTs
    thread_ts: MessageTs | None = None


class View(_Payload):
    id: Handle = ""
    hash: Handle = ""
    callback_id: Handle = ""
    private_metadata: Metadata = ""
    state: Mapping[str, Any] = Field(default_factory=dict)


class Interaction(_Payload):
    """A `block_actions`, `view_submission` or `message_action` payload."""

    type: Handle
    user: User
    trigger_id: Handle = ""
    channel: Channel | None = None
    message: MessageRef | None = None
    view: View | None = None
    actions: list[Action] = Field(default_factory=list)

    @property
    def action(self) -> Action:
        if not self.actions:
            raise InvalidInput("block_actions: no action")
        return self.actions[0]

    @property
    def form(self) -> FormState:
        if self.view is None:
            raise InvalidInput("view_submission: no view")
        return FormState(self.view.state.get("values", {}))


class EventMessage(_Payload):
    """The message inside a `message_changed` or `message_deleted` event."""

    user: SlackId | None = None
    ts: MessageTs | None = None
    text: Words | None = None
    bot_id: SlackId | None = None


class MessageEvent(_Payload):
    channel: SlackId
    ts: MessageTs
    subtype: Handle | None = None
    user: SlackId | None = None
    text: Words = ""
    thread_ts: MessageTs | None = None
    bot_id: SlackId | None = None
    files: list[Mapping[str, Any]] = Field(default_factory=list)
    message: EventMessage | None = None
    previous_message: EventMessage | None = None


class HomeOpened(_Payload):
    user: SlackId
    tab: Handle = "home"


def channel_of(body: Mapping[str, Any]) -> str | None:
    """The channel an interaction came from, if it names a valid one."""
    return _valid_id(body.get("channel"))


def user_of(body: Mapping[str, Any]) -> str | None:
    """The person an interaction came from, if it names a valid one."""
    return _valid_id(body.get("user"))


def _valid_id(ref: object) -> str | None:
    if isinstance(ref, Mapping):
        ref = ref.get("id")
    try:
        return read(User, {"id": ref}).id
    except InvalidInput:
        return None


class FormState:
    """`view.state.values` as Slack submits it: block id → action id → the element's state.

    Each getter reads one element and checks the shape Slack gives its type; a missing
    block reads as empty (an optional input left blank).
    """

    def __init__(self, values: object) -> None:
        if not isinstance(values, Mapping):
            raise InvalidInput("view_submission: state.values is not an object")
        self._values = values

    def has(self, block: str) -> bool:
        return block in self._values

    def _element(self, block: str, action: str | None) -> Mapping[str, Any]:
        actions = self._values.get(block) or {}
        element = actions.get(action or block) if isinstance(actions, Mapping) else None
        if element is None:
            return {}
        if not isinstance(element, Mapping):
            raise InvalidInput(f"view_submission: input {block[:40]!r} is not an object")
        return element

    def _typed(self, block: str, action: str | None, key: str, kind: type) -> Any:
        value = self._element(block, action).get(key)
        if value is not None and not isinstance(value, kind):
            raise InvalidInput(f"view_submission: {key} of {block[:40]!r} has the wrong type")
        return value

    def text(self, block: str, action: str | None = None) -> str | None:
        """A plain_text_input's value (None when left empty)."""
        value = self._typed(block, action, "value", str)
        if value is not None and len(value) > limits.SLACK_TEXT:
            raise InvalidInput(f"view_submission: {block[:40]!r} is too long")
        return value

    def option(self, block: str, action: str | None = None) -> str | None:
        """The value of a static select's or radio buttons' chosen option."""
        chosen = self._typed(block, action, "selected_option", Mapping)
        return read(Option, chosen).value if chosen is not None else None

    def options(self, block: str, action: str | None = None) -> list[str]:
        """The values of a multi-select's or checkboxes' chosen options."""
        chosen = self._typed(block, action, "selected_options", list) or []
        return [read(Option, option).value for option in chosen]

    def users(self, block: str, action: str | None = None) -> list[str]:
        """The ids a multi_users_select holds (whether each is a user id, the form decides)."""
        chosen = self._typed(block, action, "selected_users", list) or []
        if not all(isinstance(user, str) and len(user) <= 255 for user in chosen):
            raise InvalidInput(f"view_submission: {block[:40]!r} holds no user ids")
        return chosen

    def time(self, block: str, action: str | None = None) -> str | None:
        """A timepicker's `HH:MM`."""
        value = self._typed(block, action, "selected_time", str)
        if value is not None and len(value) > 5:
            raise InvalidInput(f"view_submission: {block[:40]!r} is not a time")
        return value


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
