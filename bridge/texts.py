"""Every text the bridge shows to people, in one place so they read consistently."""

from __future__ import annotations

SEND_FAILED = "This reply was not delivered to {contact}: {reason}"
SEND_GAVE_UP = "This reply could not be sent to {contact} after several tries: {reason}"
POST_GAVE_UP = "A message for this case could not be shown here: {reason}"
FILES_NOT_SENT = "Files are not sent by SMS; only the text of a thread reply reaches the contact."
TOO_LONG = (
    "Not sent: this reply needs {segments} SMS segments ({encoding}), more than the limit "
    "of {cap}. {why}Shorten it and send again."
)
TOO_LONG_UCS2 = "These characters forced the longer UCS-2 encoding: {chars}. "
EMPTY_REPLY = "Not sent: the reply has no text."
NUMBER_NOT_CONFIGURED = (
    ":warning: {number} is not one of this bridge's numbers (VONAGE_NUMBERS); "
    "replies will still be sent from it."
)
PREVIOUS_CASE = "Previous case: {link}"
