"""Block Kit for a broadcast's post in the inbox channel: its text, live figures, Cancel."""

from __future__ import annotations

from typing import Any

from bridge import texts
from bridge.domain.broadcasts import BroadcastStatus, BroadcastView
from bridge.domain.numbers import format_number
from bridge.slack.mrkdwn import escape_for_slack

# The action id of the post's Cancel button; bridge/slack/broadcasts.py listens for it.
CANCEL_BROADCAST = "broadcast_cancel"


def broadcast_text(view: BroadcastView) -> str:
    """The post's text (shown where blocks are not, and read by its blocks)."""
    broadcast = view.broadcast
    return texts.BROADCAST_POST.format(
        ref=f"#{broadcast.id}",
        number=format_number(broadcast.our_number),
        author=f"<@{broadcast.author}>" if broadcast.author else texts.BROADCAST_CLI_AUTHOR,
        quoted="\n".join(f"> {line}" for line in escape_for_slack(broadcast.text).splitlines()),
    )


def counts_text(view: BroadcastView) -> str:
    counts = view.counts
    return texts.BROADCAST_COUNTS.format(
        state=texts.BROADCAST_STATES[view.broadcast.status],
        recipients=counts.recipients,
        queued=counts.queued,
        sent=counts.sent,
        delivered=counts.delivered,
        failed=counts.failed,
        not_sent=counts.not_sent,
        replied=counts.replied,
        opted_out=counts.opted_out,
        skipped=counts.skipped,
    )


def broadcast_blocks(view: BroadcastView) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": broadcast_text(view)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": counts_text(view)}]},
    ]
    if view.broadcast.status != BroadcastStatus.CANCELLED and view.counts.queued + (
        view.broadcast.status == BroadcastStatus.SENDING
    ):
        blocks.append(
            {
                "type": "actions",
                "block_id": f"broadcast:{view.broadcast.id}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": CANCEL_BROADCAST,
                        "text": {"type": "plain_text", "text": "Cancel"},
                        "style": "danger",
                        "value": str(view.broadcast.id),
                    }
                ],
            }
        )
    return blocks
