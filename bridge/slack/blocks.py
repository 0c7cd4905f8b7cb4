"""Block Kit for what the bridge posts: case headers with their buttons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bridge import texts
from bridge.domain.email import EMAIL_LINE, Channel, is_email_only
from bridge.domain.numbers import format_number
from bridge.domain.values import Offer
from bridge.domain.views import CaseView, ShownText
from bridge.routing.replies import REOPEN_AND_SEND
from bridge.routing.scheduled import CANCEL_SCHEDULED
from bridge.slack.mrkdwn import escape_for_slack

_STATUS_ICON = {"open": ":large_green_circle: open", "closed": ":white_circle: closed"}
_OPTED_OUT = ":no_bell: {status}, opted out of texts"

# Action ids of the header's buttons; the listeners in bridge/slack/interactions.py match them.
ASSIGN_ME = "case_assign_me"
ASSIGN_TO = "case_assign_to"
CLOSE = "case_close"
REOPEN = "case_reopen"
ADD_CONTACT = "case_add_contact"
MARK_READ = "case_mark_read"
# The conversation controls' buttons (bridge/slack/controls.py listens to them).
MUTE = "case_mute"
UNMUTE = "case_unmute"
DELETE = "case_delete"
CALL = "case_call"
# Which way staff replies go, in a case the contact can be reached both ways.
REPLY_BY_EMAIL = "case_reply_by_email"
REPLY_BY_SMS = "case_reply_by_sms"
_MUTED = " · :no_bell: muted"
# Buttons on a word told to one person; the action ids are the offers' names.
OFFER_LABELS = {REOPEN_AND_SEND: "Reopen and send", CANCEL_SCHEDULED: "Cancel"}

# Slack caps plain_text in a header block at 150 characters, in a section at 3000.
_HEADER_MAX = 150
_SECTION_MAX = 3000


def header_text(view: CaseView) -> str:
    """The notification text of a header (shown where blocks are not), with its texts."""
    by = "email" if is_email_only(view.contact_number) else "SMS"
    title = f"Case #{view.case_id}: {by} from {escape_for_slack(view.contact_label)}"
    return "\n".join([title, *(escape_for_slack(text.text) for text in view.texts)])


def header_blocks(view: CaseView) -> list[dict[str, Any]]:
    assignee = f"<@{view.assignee}>" if view.assignee else "nobody"
    ours = (
        texts.EMAIL_ONLY_LINE if view.our_number == EMAIL_LINE else format_number(view.our_number)
    )
    fields = [
        f"*Contact*\n{escape_for_slack(view.contact_label)}",
        f"*Our number*\n{ours}",
        f"*Status*\n{_status(view)}",
        f"*Assignee*\n{assignee}",
        f"*Unread*\n{view.unread}",
        f"*Last activity*\n<!date^{int(view.last_activity.timestamp())}^{{date_short_pretty}} "
        f"{{time}}|{view.last_activity:%Y-%m-%d %H:%M} UTC>",
    ]
    title = f"#{view.case_id} · {view.contact_label}"[:_HEADER_MAX]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    context = []
    if not view.our_number_configured:
        context.append(texts.NUMBER_NOT_CONFIGURED.format(number=format_number(view.our_number)))
    if view.previous_case_id is not None:
        link = view.previous_case_link
        target = f"<{link}|#{view.previous_case_id}>" if link else f"#{view.previous_case_id}"
        context.append(texts.PREVIOUS_CASE.format(link=target))
    if view.reply_route is not None:
        route = view.reply_route
        channel = texts.REPLY_CHANNEL_NAMES[route.channel]
        context.append(
            texts.REPLIES_GO.format(channel=channel, address=escape_for_slack(route.address))
        )
    if context:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": c} for c in context]}
        )
    blocks.append(
        {"type": "actions", "block_id": f"case:{view.case_id}", "elements": _buttons(view)}
    )
    if view.texts:
        blocks += [{"type": "divider"}, *texts_blocks(view.texts)]
    return blocks


def texts_blocks(shown: Sequence[ShownText]) -> list[dict[str, Any]]:
    """Contacts' texts as plain text (never parsed as mrkdwn), each with its time when a
    post shows several."""
    blocks: list[dict[str, Any]] = []
    for text in shown:
        if len(shown) > 1:
            when = f"<!date^{int(text.at.timestamp())}^{{time}}|{text.at:%H:%M} UTC>"
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": when}]})
        words = (text.text or texts.EMPTY_INBOUND)[:_SECTION_MAX]
        blocks.append(
            {"type": "section", "text": {"type": "plain_text", "text": words, "emoji": True}}
        )
    return blocks


def _status(view: CaseView) -> str:
    if view.opted_out:
        shown = _OPTED_OUT.format(status=view.status)
    else:
        shown = _STATUS_ICON.get(view.status, view.status)
    return shown + (_MUTED if view.muted else "")


def offer_blocks(text: str, offer: Offer) -> list[dict[str, Any]]:
    """An ephemeral word with the button for what its reader may do about it."""
    label = OFFER_LABELS[offer.action]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "elements": [_button(label, offer.action, str(offer.message_id), style="primary")],
        },
    ]


def _buttons(view: CaseView) -> list[dict[str, Any]]:
    value = str(view.case_id)
    buttons: list[dict[str, Any]] = [
        _button("Assign to me", ASSIGN_ME, value),
        {
            "type": "users_select",
            "action_id": ASSIGN_TO,
            "placeholder": {"type": "plain_text", "text": "Assign…"},
            **({"initial_user": view.assignee} if view.assignee else {}),
        },
    ]
    if view.status == "open":
        buttons.append(_button("Close", CLOSE, value, style="danger"))
    else:
        buttons.append(_button("Reopen", REOPEN, value, style="primary"))
    if not view.contact_named:
        buttons.append(_button("Add contact", ADD_CONTACT, value))
    buttons.append(_button("Mark read", MARK_READ, value))
    if view.reply_route is not None:
        buttons.append(
            _button("Reply by SMS", REPLY_BY_SMS, value)
            if view.reply_route.channel == Channel.EMAIL
            else _button("Reply by email", REPLY_BY_EMAIL, value)
        )
    return buttons + _control_buttons(view)


def _control_buttons(view: CaseView) -> list[dict[str, Any]]:
    """Call (rings the presser's phone), Mute or Unmute, and Delete case (for admins; Slack
    asks the presser to confirm)."""
    value = str(view.case_id)
    mute = _button("Unmute", UNMUTE, value) if view.muted else _button("Mute", MUTE, value)
    confirm = {
        "title": {"type": "plain_text", "text": texts.DELETE_CONFIRM_TITLE.format(ref=value)},
        "text": {"type": "plain_text", "text": texts.DELETE_CONFIRM_TEXT.format(ref=value)},
        "confirm": {"type": "plain_text", "text": "Delete"},
        "deny": {"type": "plain_text", "text": "Keep"},
        "style": "danger",
    }
    delete = _button("Delete case", DELETE, value, style="danger") | {"confirm": confirm}
    return [_button("Call", CALL, value), mute, delete]


def _button(label: str, action_id: str, value: str, *, style: str | None = None) -> dict:
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }
    return button | ({"style": style} if style else {})
