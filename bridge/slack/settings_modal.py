"""`/smschat settings`: the chat settings modal for admins, and its change log."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bridge import texts
from bridge.domain.rules import DAY_NAMES
from bridge.routing.chat_settings import ChatSettings, SettingsBook, SettingsRefused
from bridge.slack.access import Gatekeeper
from bridge.slack.mrkdwn import escape_for_slack
from bridge.slack.payloads import FormState, Interaction, read

SETTINGS_VIEW = "chat_settings"

_AUTOMATED_CHOICES = {
    "all": "Show all automated texts",
    "hide": "Hide automated texts (they stay in the messaging log)",
    "failed": "Show only automated texts that were not delivered",
}
_READ_CHOICES = {
    "shared": "when anyone reads it",
    "per_user": "only for the person who reads it",
}


def register_settings(app: AsyncApp, *, book: SettingsBook, gatekeeper: Gatekeeper) -> None:
    @app.view(SETTINGS_VIEW)
    async def on_settings_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        submitted = read(Interaction, body)
        user = submitted.user.id
        refusal = await gatekeeper.settings_refusal(user, book.current.settings.settings_admins)
        if refusal is not None:
            await ack(response_action="errors", errors={"case_title": refusal})
            return
        try:
            values = submitted_settings(submitted.form)
            changed = await book.change(values, by=user)
        except SettingsRefused as refused:
            await ack(response_action="errors", errors=_on_blocks(refused.errors))
            return
        await ack(response_action="update", view=saved_view(changed))


async def open_settings(
    client: AsyncWebClient,
    trigger_id: str,
    *,
    user: str,
    book: SettingsBook,
    gatekeeper: Gatekeeper,
) -> str | None:
    """Open the modal for an admin; for anyone else, the refusal to answer with."""
    refusal = await gatekeeper.settings_refusal(user, book.current.settings.settings_admins)
    if refusal is not None:
        return refusal
    await client.views_open(trigger_id=trigger_id, view=settings_view(book.current.settings))
    return None


async def settings_log(book: SettingsBook, *, user: str, gatekeeper: Gatekeeper) -> str:
    """`/smschat settings log`: the latest changes, for admins."""
    refusal = await gatekeeper.settings_refusal(user, book.current.settings.settings_admins)
    if refusal is not None:
        return refusal
    changes = await book.history()
    if not changes:
        return texts.SETTINGS_LOG_EMPTY
    lines = [
        texts.SETTINGS_LOG_LINE.format(
            when=f"{c.at:%Y-%m-%d %H:%M} UTC",
            user=c.by,
            key=c.key,
            old=_shown(c.old),
            new=_shown(c.new),
        )
        for c in changes
    ]
    return "\n".join([texts.SETTINGS_LOG_HEADER, *lines])


def _shown(value: Any) -> str:
    text = "nothing" if value in (None, "", [], {}) else str(value)
    return f"`{escape_for_slack(text)[:200]}`"


# -- the view --------------------------------------------------------------------------


def settings_view(current: ChatSettings) -> dict[str, Any]:
    c = current
    blocks = [
        _section("*Cases*"),
        _text_input(
            "case_title",
            "Case name shows the contact's",
            c.case_title,
            hint="`name`, or another contact property such as `case_number`",
        ),
        _text_input(
            "case_ref_suffix",
            "Reference tag added to replies",
            c.case_ref_suffix,
            optional=True,
            hint="Must hold #{ref}, e.g. ` (#{ref})`; empty turns it off",
        ),
        _text_input(
            "notes_prefix",
            "Notes prefix",
            c.notes_prefix,
            hint="Thread messages starting with this stay internal",
        ),
        _number_input("max_segments", "Most SMS segments a reply may use", c.max_segments, 1, 30),
        _radio("read_mode", "A text is read…", _READ_CHOICES, c.read_mode),
        _section("*Message counter*"),
        _checkboxes(
            "counter_enabled",
            "Counter",
            {"on": "Count each person's replies per day"},
            ["on"] if c.counter_enabled else [],
        ),
        _number_input(
            "counter_threshold", "Warn at this many replies a day", c.counter_threshold, 1, 10_000
        ),
        _section("*Business hours and auto-responses*"),
        _text_input(
            "time_zone", "Time zone", c.time_zone, hint="An IANA name such as Europe/London"
        ),
        _days("business_days", "Business days", c.business_days),
        _time("business_start", "Opens at", c.business_start),
        _time("business_end", "Closes at (that minute included)", c.business_end),
        _text_input(
            "auto_reply_first",
            "Reply to the first text of a new case",
            c.auto_reply_first,
            optional=True,
            multiline=True,
            max_length=640,
        ),
        _text_input(
            "auto_reply_after_hours",
            "Reply to texts outside business hours",
            c.auto_reply_after_hours,
            optional=True,
            multiline=True,
            max_length=640,
            hint="Sent once per case for each closed period",
        ),
        _section("*Automated texts*"),
        _radio(
            "automated_in_threads", "In case threads", _AUTOMATED_CHOICES, c.automated_in_threads
        ),
        _days("delay_days", "Hold auto-responses on these days", c.delay_days),
        _time("delay_start", "Hold from", c.delay_start),
        _time("delay_end", "Hold until (that minute included)", c.delay_end),
        _number_input(
            "quiet_minutes",
            "Hold them this many minutes after staff wrote in the case",
            c.quiet_minutes,
            0,
            1440,
        ),
        _section("*Routing and access*"),
        _text_input(
            "number_channels",
            "Numbers with their own channel",
            ",".join(f"{n}={ch}" for n, ch in c.number_channels.items()),
            optional=True,
            hint="+447700900000=C0123456789, one pair per number",
        ),
        _text_input(
            "default_region",
            "Region of numbers typed without +",
            c.default_region or "",
            optional=True,
            hint="ISO code such as GB or US",
        ),
        _users("settings_admins", "Also allowed to change these settings", c.settings_admins),
    ]
    return {
        "type": "modal",
        "callback_id": SETTINGS_VIEW,
        "title": {"type": "plain_text", "text": "SMS chat settings"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def saved_view(changed: list[str]) -> dict[str, Any]:
    text = (
        texts.SETTINGS_SAVED.format(keys=", ".join(f"`{k}`" for k in changed))
        if changed
        else texts.SETTINGS_UNCHANGED
    )
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "SMS chat settings"},
        "close": {"type": "plain_text", "text": "Done"},
        "blocks": [_section(text)],
    }


def submitted_settings(form: FormState) -> dict[str, Any]:
    """The settings as typed in the modal (view_submission `state.values`), unvalidated."""

    def text(key: str) -> str:
        return (form.text(key) or "").strip()

    found: dict[str, Any] = {}
    for key in (
        "case_title",
        "notes_prefix",
        "time_zone",
        "default_region",
        "auto_reply_first",
        "auto_reply_after_hours",
        "number_channels",
    ):
        if form.has(key):
            found[key] = text(key)
    if form.has("case_ref_suffix"):
        # Its leading space is part of it: ' (#12)' after the reply's last word.
        found["case_ref_suffix"] = form.text("case_ref_suffix") or ""
    for key in ("max_segments", "counter_threshold", "quiet_minutes"):
        if form.has(key):
            found[key] = text(key) or None
    for key in ("read_mode", "automated_in_threads"):
        option = form.option(key)
        if option:
            found[key] = option
    if form.has("counter_enabled"):
        found["counter_enabled"] = "on" in form.options("counter_enabled")
    for key in ("business_days", "delay_days"):
        if form.has(key):
            found[key] = [int(v) for v in form.options(key) if v.isdigit() and len(v) == 1]
    for key in ("business_start", "business_end", "delay_start", "delay_end"):
        if form.has(key):
            found[key] = form.time(key)
    if form.has("settings_admins"):
        found["settings_admins"] = form.users("settings_admins")
    return found


def _on_blocks(errors: dict[str, str]) -> dict[str, str]:
    """Errors keyed by block id; a setting the modal does not show goes on the first block."""
    shown = {b["block_id"] for b in settings_view(ChatSettings())["blocks"] if "block_id" in b}
    placed: dict[str, str] = {}
    for key, reason in errors.items():
        block = key if key in shown else "case_title"
        placed[block] = f"{placed[block]}; {reason}" if block in placed else reason
    return placed


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _input(
    key: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    block = {
        "type": "input",
        "block_id": key,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": {"action_id": key, **element},
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _text_input(
    key: str,
    label: str,
    value: str,
    *,
    optional: bool = False,
    multiline: bool = False,
    max_length: int = 200,
    hint: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "max_length": max_length}
    if multiline:
        element["multiline"] = True
    if value:
        element["initial_value"] = value
    return _input(key, label, element, optional=optional, hint=hint)


def _number_input(key: str, label: str, value: int, low: int, high: int) -> dict[str, Any]:
    element = {
        "type": "number_input",
        "is_decimal_allowed": False,
        "initial_value": str(value),
        "min_value": str(low),
        "max_value": str(high),
    }
    return _input(key, label, element)


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label}, "value": value}


def _radio(key: str, label: str, choices: dict[str, str], value: str) -> dict[str, Any]:
    options = [_option(v, text) for v, text in choices.items()]
    element = {
        "type": "radio_buttons",
        "options": options,
        "initial_option": _option(value, choices[value]),
    }
    return _input(key, label, element)


def _checkboxes(key: str, label: str, choices: dict[str, str], chosen: list[str]) -> dict:
    element: dict[str, Any] = {
        "type": "checkboxes",
        "options": [_option(v, text) for v, text in choices.items()],
    }
    if chosen:
        element["initial_options"] = [_option(v, choices[v]) for v in chosen]
    return _input(key, label, element, optional=True)


def _days(key: str, label: str, days: list[int]) -> dict[str, Any]:
    choices = {str(i): name for i, name in enumerate(DAY_NAMES)}
    return _checkboxes(key, label, choices, [str(d) for d in days])


def _time(key: str, label: str, value: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "timepicker"}
    if value:
        element["initial_time"] = value
    return _input(key, label, element, optional=True)


def _users(key: str, label: str, users: list[str]) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "multi_users_select"}
    if users:
        element["initial_users"] = users
    return _input(key, label, element, optional=True)
