"""Who may act: inbox channel members and admins; never guests; nobody else."""

from __future__ import annotations

import pytest

from bridge.fakes.slack_payloads import interaction_form, view_submission_payload
from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.slack import blocks
from tests.conftest import INBOX, OUR_NUMBER, STAFF, LiveBridge

GUEST, OUTSIDER, ADMIN = "U0GUEST", "U0OUTSIDE", "U0ADMIN"


@pytest.fixture
def people(live: LiveBridge) -> LiveBridge:
    live.slack.add_user(GUEST, "gus", is_restricted=True)
    live.slack.add_user(OUTSIDER, "olga")
    live.slack.add_user(ADMIN, "ada", is_admin=True)
    live.slack.set_members(INBOX, [live.slack.bot_user_id, STAFF, GUEST])
    return live


@pytest.mark.parametrize(
    "user, allowed, refusal",
    [
        (STAFF, True, None),
        (ADMIN, True, None),
        (GUEST, False, "workspace guests cannot use SMS Chat"),
        (OUTSIDER, False, "Only members of the SMS inbox channels"),
    ],
    ids=["inbox-member", "admin", "guest-even-in-the-channel", "not-a-member"],
)
async def test_commands_answer_only_those_who_may_act(people, user, allowed, refusal) -> None:
    await people.vonage_webhook(
        "/vonage/inbound",
        sms_inbound_params(
            msisdn="447400123456", to=OUR_NUMBER.removeprefix("+"), text="Hello", message_id="A1"
        ),
    )
    await people.drained()
    answer = await people.command("close #1", user=user)
    if allowed:
        assert answer == "Closed case #1."
    else:
        assert refusal in answer and "+44" not in answer
        await people.drained()
        assert people.slack.calls("chat.update") == []


async def test_a_button_pressed_by_an_outsider_changes_nothing(people: LiveBridge) -> None:
    await people.vonage_webhook(
        "/vonage/inbound",
        sms_inbound_params(
            msisdn="447400123456", to=OUR_NUMBER.removeprefix("+"), text="Hello", message_id="B1"
        ),
    )
    await people.drained()
    assert (await people.press(blocks.CLOSE, 1, user=OUTSIDER)).status == 200
    told = await people.slack.wait_for("chat.postEphemeral")
    assert told[0].params["user"] == OUTSIDER
    assert "Only members of the SMS inbox channels" in told[0].params["text"]
    await people.drained()
    assert people.slack.calls("chat.update") == []


async def test_a_form_submitted_by_a_guest_is_refused(people: LiveBridge) -> None:
    view = {
        "type": "modal",
        "callback_id": "new_conversation",
        "blocks": [
            {
                "type": "input",
                "block_id": "to",
                "label": {"type": "plain_text", "text": "To"},
                "element": {"type": "plain_text_input", "action_id": "to"},
            }
        ],
    }
    submitted = view_submission_payload(
        user=GUEST,
        view=view,
        values={"to": {"to": {"type": "plain_text_input", "value": "+44 7400 123456"}}},
    )
    response = await people.signed_form(interaction_form(submitted))
    assert (await response.json())["errors"]["to"].startswith("SMS conversations hold")
    await people.drained()
    assert people.vonage.sends == []


async def test_membership_is_asked_of_slack_once_a_minute(people: LiveBridge) -> None:
    for _ in range(3):
        assert (await people.command("help")).startswith("*`/smschat` commands*")
    assert len(people.slack.calls("conversations.members")) == 1
    assert len(people.slack.calls("users.info")) == 1
