"""The rules the environment's settings give, before any admin changes them in Slack."""

from __future__ import annotations

from datetime import timedelta

from bridge.config import Settings
from bridge.domain.broadcasts import BroadcastRules, SendingHours
from bridge.domain.rules import ChatRules
from bridge.routing.chat_settings import ChatSettings


def broadcast_rules(settings: Settings) -> BroadcastRules:
    return BroadcastRules(
        opt_out_line=settings.broadcast_opt_out_line,
        hours=SendingHours.parse(settings.quiet_hours),
        requests_per_second=settings.vonage_requests_per_second,
        fallback_zone=settings.time_zone,
        redraw_every=timedelta(seconds=settings.broadcast_redraw_seconds),
    )


def chat_rules(settings: Settings) -> ChatRules:
    return ChatRules(
        max_segments=settings.sms_max_segments,
        normalize_typography=settings.sms_normalize_typography,
        notes_prefix=settings.notes_prefix,
        help_text=settings.sms_help_text,
        concat_timeout=timedelta(seconds=settings.concat_timeout_seconds),
        quiet_thread=timedelta(minutes=settings.quiet_thread_minutes),
        assignee_notice_every=timedelta(minutes=settings.assignee_notify_minutes),
        case_ref_suffix=settings.case_ref_suffix,
    )


def chat_settings_defaults(settings: Settings) -> ChatSettings:
    """The chat settings before any admin changed them: what the environment says."""
    return ChatSettings(
        case_title=settings.case_title,
        case_ref_suffix=settings.case_ref_suffix,
        max_segments=settings.sms_max_segments,
        notes_prefix=settings.notes_prefix,
        time_zone=settings.time_zone,
        number_channels=dict(settings.number_channels),
        default_region=settings.default_region,
        settings_admins=list(settings.settings_admins),
    )
