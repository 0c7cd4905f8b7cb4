"""The modals a case's header and messages open: add a contact, move a text to a new case."""

from __future__ import annotations

from typing import Any

ADD_CONTACT_VIEW = "add_contact"
MOVE_VIEW = "move_message"


def add_contact_view(case_id: int) -> dict[str, Any]:
    labels = ["Mobile", "Home", "Work", "Other"]
    return {
        "type": "modal",
        "callback_id": ADD_CONTACT_VIEW,
        "private_metadata": str(case_id),
        "title": {"type": "plain_text", "text": "Add contact"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {
                "type": "input",
                "block_id": "name",
                "label": {"type": "plain_text", "text": "Name"},
                "element": {"type": "plain_text_input", "action_id": "name", "max_length": 200},
            },
            {
                "type": "input",
                "block_id": "label",
                "label": {"type": "plain_text", "text": "This number is their"},
                "element": {
                    "type": "static_select",
                    "action_id": "label",
                    "initial_option": _option(labels[0]),
                    "options": [_option(label) for label in labels],
                },
            },
        ],
    }


def move_view(case_id: int, message_id: int) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": MOVE_VIEW,
        "private_metadata": f"{case_id}:{message_id}",
        "title": {"type": "plain_text", "text": "Move to new case"},
        "submit": {"type": "plain_text", "text": "Move"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"This text leaves case #{case_id} and opens a case of its own.",
                },
            },
            {
                "type": "input",
                "block_id": "comment",
                "optional": True,
                "label": {"type": "plain_text", "text": "Comment (a staff note in the new case)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "comment",
                    "multiline": True,
                    "max_length": 2000,
                },
            },
        ],
    }


def _option(label: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label}, "value": label}
