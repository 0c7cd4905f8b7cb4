"""`/smschat settings`: only admins open and save it; values are checked, applied, audited."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge.fakes.slack_payloads import interaction_form, view_submission_payload
from bridge.fakes.views import submitted_state
from bridge.fakes.vonage_payloads import sms_inbound_params
from tests.conftest import INBOX, OUR_NUMBER, STAFF, LiveBridge

ADMIN = "U0ADMIN"
NAMED = "U0NAMED"
GUEST = "U0GUEST"
CONTACT = "447700900123"


@pytest.fixture
async def desk(start_live) -> LiveBridge:
    live = await start_live(SETTINGS_ADMINS=NAMED, NOTES_PREFIX="##")
    live.slack.add_user(ADMIN, "ada", is_admin=True)
    live.slack.add_user(NAMED, "ned")
    live.slack.add_user(GUEST, "gus", is_restricted=True)
    live.slack.add_channel(
        INBOX, "sms-inbox", members=[live.slack.bot_user_id, STAFF, GUEST, NAMED]
    )
    return live


async def open_modal(live: LiveBridge, user: str) -> dict[str, Any]:
    before = len(live.slack.calls("views.open"))
    answer = await live.command("settings", user=user)
    assert answer == ""
    opened = await live.slack.wait_for("views.open", count=before + 1)
    view = opened[-1].params["view"]
    return json.loads(view) if isinstance(view, str) else view


async def submit(live: LiveBridge, view: dict[str, Any], user: str = ADMIN, **changes: Any):
    payload = view_submission_payload(user=user, view=view, values=submitted_state(view, **changes))
    response = await live.signed_form(interaction_form(payload))
    assert response.status == 200
    return await response.json()


def initial(view: dict[str, Any], block_id: str) -> Any:
    element = next(b for b in view["blocks"] if b.get("block_id") == block_id)["element"]
    return element.get("initial_value", element.get("initial_option", {}).get("value"))


async def test_only_admins_and_named_people_open_the_settings(desk: LiveBridge) -> None:
    assert "Only workspace admins" in await desk.command("settings", user=STAFF)
    assert "guests" in await desk.command("settings", user=GUEST)
    assert desk.slack.calls("views.open") == []

    for admin in (ADMIN, NAMED):
        view = await open_modal(desk, admin)
        assert view["callback_id"] == "chat_settings"
        # The modal starts from what is in force: here NOTES_PREFIX from the environment.
        assert initial(view, "notes_prefix") == "##"
        assert initial(view, "read_mode") == "shared"


async def test_saved_settings_apply_at_once_and_are_logged(desk: LiveBridge) -> None:
    view = await open_modal(desk, ADMIN)
    answer = await submit(
        desk,
        view,
        notes_prefix="!!",
        case_ref_suffix="",
        max_segments="2",
        settings_admins=[STAFF],
    )
    assert answer["response_action"] == "update"
    assert "notes_prefix" in json.dumps(answer["view"])

    params = sms_inbound_params(msisdn=CONTACT, to=OUR_NUMBER[1:], text="Hi", message_id="M1")
    await desk.vonage_webhook("/vonage/inbound", params)
    await desk.drained()
    thread = desk.slack.messages(INBOX)[0]["ts"]
    await desk.staff_reply(thread, "!! internal only")
    await desk.staff_reply(thread, "On my way")
    await desk.drained()
    sent = [s.text for s in desk.vonage.sends]
    assert sent == ["On my way"]  # no reference tag any more; the note stayed in Slack
    await desk.staff_reply(thread, "x" * 400)  # three segments: over the new cap of two
    await desk.drained()
    assert len(desk.vonage.sends) == 1

    log = await desk.command("settings log", user=ADMIN)
    assert f"<@{ADMIN}> `notes_prefix`: `##` → `!!`" in log
    assert "`max_segments`: `6` → `2`" in log
    # The person the settings now name may open them.
    assert (await open_modal(desk, STAFF))["callback_id"] == "chat_settings"


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        (
            {"business_days": ["0"], "business_start": "17:00", "business_end": "09:00"},
            "business_end",
            "after the start",
        ),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not a time zone"),
        ({"max_segments": "0"}, "max_segments", "greater than or equal to 1"),
        ({"counter_threshold": ""}, "counter_threshold", "integer"),
        ({"auto_reply_after_hours": "We are closed"}, "business_days", "business hours"),
        ({"number_channels": "+447700900000=general"}, "number_channels", "channel id"),
        ({"case_ref_suffix": "(ref)"}, "case_ref_suffix", "#{ref}"),
        ({"default_region": "XX"}, "default_region", "XX"),
        ({"delay_days": ["5"]}, "delay_start", "start and an end"),
    ],
)
async def test_bad_values_are_shown_on_their_field_and_nothing_is_saved(
    desk: LiveBridge, changes: dict[str, Any], field: str, reason: str
) -> None:
    view = await open_modal(desk, ADMIN)
    answer = await submit(desk, view, notes_prefix="!!", **changes)
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [field]
    assert reason in answer["errors"][field]
    # The valid change made in the same submission was not saved either.
    assert "have not been changed" in await desk.command("settings log", user=ADMIN)


async def test_a_stale_modal_submitted_by_someone_no_longer_allowed_is_refused(
    desk: LiveBridge,
) -> None:
    view = await open_modal(desk, NAMED)
    await submit(desk, await open_modal(desk, ADMIN), settings_admins=[])
    answer = await submit(desk, view, user=NAMED, notes_prefix="!!")
    assert answer["response_action"] == "errors"
    log = await desk.command("settings log", user=ADMIN)
    assert "notes_prefix" not in log and "settings_admins" in log


async def test_the_log_and_its_usage_are_for_admins(desk: LiveBridge) -> None:
    assert "Only workspace admins" in await desk.command("settings log", user=STAFF)
    assert "Usage" in await desk.command("settings logs", user=ADMIN)


async def test_settings_are_shared_by_instances_of_one_store(desk: LiveBridge, start_live) -> None:
    other = await start_live(SETTINGS_ADMINS=NAMED, NOTES_PREFIX="##")
    await submit(desk, await open_modal(desk, ADMIN), notes_prefix="!!")
    await other.bridge.book.reload()  # what its background task does every few seconds
    assert other.bridge.book.rules.notes_prefix == "!!"
    assert OUR_NUMBER in other.bridge.book.inbox.numbers
