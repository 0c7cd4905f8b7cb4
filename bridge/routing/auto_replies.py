"""Auto-responses: to the first text of a new case, and to texts outside business hours.

Each is sent at most once per case per window: once for the case's first text, once for
each closed period (named by the moment business hours open again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bridge.domain.records import CaseRecord
from bridge.domain.rules import ChatRules, Window, keyword

FIRST_TEXT = "first_text"
AFTER_HOURS = "after_hours"


@dataclass(frozen=True, slots=True)
class AutoReply:
    kind: str
    window: str
    text: str


def auto_reply_for(text: str, *, opened: bool, rules: ChatRules, now: datetime) -> AutoReply | None:
    """The auto-response an inbound text calls for, before checking it was given already."""
    if keyword(text) is not None:
        return None  # STOP, START and HELP have answers of their own
    local = rules.local(now)
    hours = rules.business_hours
    if hours is not None and rules.auto_reply_after_hours and not hours.contains(local):
        # Outside hours this reply stands in for the first-text one.
        opening = next_opening(hours, local)
        return AutoReply(AFTER_HOURS, opening.isoformat(), rules.auto_reply_after_hours)
    if opened and rules.auto_reply_first:
        return AutoReply(FIRST_TEXT, "case", rules.auto_reply_first)
    return None


def next_opening(hours: Window, local: datetime) -> datetime:
    """When business hours next begin after `local` (a moment outside them)."""
    for days_ahead in range(8):
        day = local.date() + timedelta(days=days_ahead)
        opening = datetime.combine(day, hours.start, local.tzinfo)
        if day.weekday() in hours.days and opening > local:
            return opening
    raise ValueError("business hours without days")  # ChatSettings never allows it


def hold_until(cases: list[CaseRecord], rules: ChatRules, now: datetime) -> datetime:
    """When an auto-response may go: after staff's quiet period and outside the hold window."""
    moment = now
    for case in cases:
        if case.last_staff_activity_at is not None and rules.quiet_period:
            moment = max(moment, case.last_staff_activity_at + rules.quiet_period)
    if rules.automated_hold is not None:
        moment = rules.automated_hold.next_outside(rules.local(moment))
    return moment
