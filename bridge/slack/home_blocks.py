"""Block Kit for the App Home tab: the viewer's unread and assigned cases, the open ones."""

from __future__ import annotations

from typing import Any

from bridge import texts
from bridge.domain.views import CaseLine, CaseList, HomeView
from bridge.slack.mrkdwn import escape_for_slack

# Action ids of the Home tab's buttons; the listeners in bridge/slack/home.py match them.
HOME_OPEN_CASE = "home_open_case"
HOME_NEW_TEXT = "home_new_text"
HOME_REFRESH = "home_refresh"
HOME_FORWARDING = "home_forwarding"
HOME_RETRY_JOBS = "home_retry_jobs"


def home_tab(home: HomeView) -> dict[str, Any]:
    if home.refusal:
        return {"type": "home", "blocks": [_section(home.refusal)]}
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "SMS cases"}},
        {
            "type": "actions",
            "block_id": "home_actions",
            "elements": [
                _button("New text", HOME_NEW_TEXT, "new", style="primary"),
                _button("Forwarding schedules", HOME_FORWARDING, "forwarding"),
                _button("Refresh", HOME_REFRESH, "refresh"),
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": texts.HOME_TIP}]},
    ]
    if home.dead_jobs:
        notice = _section(texts.HOME_DEAD_JOBS.format(count=home.dead_jobs))
        notice["accessory"] = _button("Retry", HOME_RETRY_JOBS, "dead", style="danger")
        blocks.append(notice)
    for title, cases in (
        ("Unread", home.unread),
        ("Assigned to you", home.assigned),
        ("Open cases", home.open),
    ):
        blocks.extend(_case_section(title, cases))
    return {"type": "home", "blocks": blocks}


def _case_section(title: str, cases: CaseList) -> list[dict[str, Any]]:
    more = f" (latest {len(cases.cases)} shown)" if cases.total > len(cases.cases) else ""
    blocks: list[dict[str, Any]] = [
        {"type": "divider"},
        _section(f"*{title}: {cases.total}*{more}"),
    ]
    if not cases.cases:
        blocks.append(_section(texts.HOME_NONE))
    blocks.extend(_case_line(line) for line in cases.cases)
    return blocks


def _case_line(line: CaseLine) -> dict[str, Any]:
    assignee = f"<@{line.assignee}>" if line.assignee else "unassigned"
    unread = f" · *{line.unread} unread*" if line.unread else ""
    when = (
        f"<!date^{int(line.last_activity.timestamp())}^{{date_short_pretty}} {{time}}|"
        f"{line.last_activity:%Y-%m-%d %H:%M} UTC>"
    )
    block = _section(
        f"*#{line.case_id}* {escape_for_slack(line.label)} · {line.status} · {assignee}"
        f"{unread}\nLast activity {when}"
    )
    if line.thread_ts:
        button = _button("Open", HOME_OPEN_CASE, str(line.case_id))
        button["url"] = thread_link(line.channel, line.thread_ts)
        block["accessory"] = button
    return block


def thread_link(channel: str, ts: str) -> str:
    """A link that opens a case's thread (Slack's archive URL form, no API call needed)."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(label: str, action_id: str, value: str, *, style: str | None = None) -> dict:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }
    return button | ({"style": style} if style else {})
