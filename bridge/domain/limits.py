"""How large the values taken from outside may be.

The store's columns are this size, and each edge refuses a longer value with a clear 4xx,
never a database error: PostgreSQL refuses what does not fit, SQLite would keep it.
"""

from __future__ import annotations

SLACK_ID = 32  # a Slack user, channel, team or file id, or a message ts
PROVIDER_ID = 64  # a carrier's message id
CLIENT_REF = 40  # our reference on a send (the Messages API allows 40 characters)
ERROR_CODE = 16  # a carrier's error code
CONCAT_REF = 32  # the reference tying the parts of a long SMS together
# A concatenated SMS names its part count in one byte (3GPP TS 23.040, 9.2.3.24.1).
CONCAT_PARTS = 255
RECORD_ID = 2**31 - 1  # a row id or case reference (PostgreSQL `integer`)
NAME = 200  # a contact's name
SLACK_TEXT = 40_000  # Slack truncates longer message texts
