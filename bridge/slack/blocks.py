"""Block Kit for what the bridge posts: case headers."""

from __future__ import annotations

from typing import Any

from bridge import texts
from bridge.routing.conversations import format_number
from bridge.routing.ports import CaseView
from bridge.slack.mrkdwn import escape_for_slack

_STATUS_ICON = {"open": ":large_green_circle: open", "closed": ":white_circle: closed"}


def header_text(view: CaseView) -> str:
    """The notification text of a header (shown where blocks are not)."""
    return f"Case #{view.case_id}: SMS from {view.contact_label}"


def header_blocks(view: CaseView) -> list[dict[str, Any]]:
    fields = [
        f"*Contact*\n{escape_for_slack(view.contact_label)}",
        f"*Our number*\n{format_number(view.our_number)}",
        f"*Status*\n{_STATUS_ICON.get(view.status, view.status)}",
        f"*Assignee*\n{f'<@{view.assignee}>' if view.assignee else 'nobody'}",
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"#{view.case_id} · {view.contact_label}"},
        },
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    context = []
    if not view.our_number_configured:
        context.append(texts.NUMBER_NOT_CONFIGURED.format(number=format_number(view.our_number)))
    if view.previous_case_id is not None:
        link = view.previous_case_link
        target = f"<{link}|#{view.previous_case_id}>" if link else f"#{view.previous_case_id}"
        context.append(texts.PREVIOUS_CASE.format(link=target))
    if context:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": c} for c in context]}
        )
    return blocks
