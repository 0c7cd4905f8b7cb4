"""Logging set-up: secrets never written, phone numbers masked, other libraries kept quiet.

The rules hold at the handler, for every record whatever logger wrote it: a library that
resets its loggers' levels (Bolt copies the root's) or logs a request body still cannot
put a number, a text or a secret into the log at INFO and above.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

# A phone number in free text: '+' (or its URL escape), then 7 to 15 digits, which people
# and forms group with spaces (or their URL escapes), dashes and parentheses. Not inside
# a word, a decimal or an identifier.
_NUMBER = re.compile(r"(?<![\w.%])(?:\+|%2[Bb]|\()?\d(?:[\d() -]|%20|\+(?=\d))*\d(?![\w.])")
_URL_ESCAPES = re.compile(r"%2[Bb]|%20")
_DATE = re.compile(r"\d{4}-\d\d-\d\d(?: \d\d)?")
_DIGITS_KEPT = 4

# Loggers of the bridge's own: they never write numbers or texts at INFO and above. Every
# other library's records (request bodies at DEBUG, Bolt's notes at INFO) are kept only
# when LOG_LEVEL=DEBUG asks for everything.
OWN = "bridge"
# The chattiest of them, told to stay quiet at the source too, so their records below
# WARNING are not even made (the filter would only throw them away).
_NOISY = ("vonage", "vonage_http_client", "slack_bolt", "slack_sdk", "aiosqlite", "alembic")


class RedactingFilter(logging.Filter):
    """Rewrites every record: secrets become '***', phone numbers keep their last 4 digits;
    drops other libraries' records below WARNING unless the log asks for DEBUG."""

    def __init__(self, secrets: Iterable[str], *, foreign_floor: int = logging.WARNING) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)
        self.foreign_floor = foreign_floor

    def filter(self, record: logging.LogRecord) -> bool:
        own = record.name == OWN or record.name.startswith(OWN + ".")
        if not own and record.levelno < self.foreign_floor:
            return False
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        record.msg, record.args = self.redact(record.getMessage()), None
        return True

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return _NUMBER.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    shown = _URL_ESCAPES.sub(lambda m: "+" if m.group(0).lower() == "%2b" else " ", match.group(0))
    digits = sum(c.isdigit() for c in shown)
    if not 7 <= digits <= 15 or _DATE.fullmatch(shown):
        return match.group(0)
    hidden = digits - _DIGITS_KEPT
    out = []
    for char in shown:
        if char.isdigit() and hidden > 0:
            out.append("*")
            hidden -= 1
        else:
            out.append(char)
    return "".join(out)


def configure_logging(level: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    numeric = logging.getLevelName(level)
    floor = logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING
    handler.addFilter(RedactingFilter(secrets, foreign_floor=floor))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(max(floor, numeric))
