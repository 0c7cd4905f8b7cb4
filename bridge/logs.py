"""Logging set-up: secrets never written, phone numbers masked, SDK chatter kept quiet."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

# A phone number in free text: '+' optional, 7 to 15 digits.
_PHONE = re.compile(r"(?<![\w.])\+?\d{3,11}(\d{4})(?![\w.])")

# The Vonage SDK logs request bodies (with api_secret) at DEBUG; Slack's logs payloads.
_NOISY = (
    "vonage",
    "vonage_http_client",
    "slack_bolt",
    "slack_sdk",
    "urllib3",
    "aiosqlite",
    "alembic",
)


class RedactingFilter(logging.Filter):
    """Rewrites every record: secrets become '***', phone numbers keep their last 4 digits."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        record.msg, record.args = self.redact(record.getMessage()), None
        return True

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return _PHONE.sub(lambda m: "*" * (len(m.group(0)) - 4) + m.group(1), text)


def configure_logging(level: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
