"""The chat rules the core applies, and the SMS keywords carriers expect us to honour."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class ChatRules:
    max_segments: int = 6
    normalize_typography: bool = True
    notes_prefix: str = "//"
    help_text: str = "Reply to this number to reach our team. Text STOP to opt out."
    concat_timeout: timedelta = timedelta(minutes=10)
    # Appended to staff replies so the contact's answer can name its case; "" turns it off.
    case_ref_suffix: str = " (#{ref})"

    def with_case_ref(self, text: str, case_id: int) -> str:
        if not self.case_ref_suffix or f"#{case_id}" in text:
            return text
        return text + self.case_ref_suffix.format(ref=case_id)

    def is_note(self, text: str) -> bool:
        return text.lstrip().startswith(self.notes_prefix)


class Keyword(enum.StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


# The industry-standard words (CTIA, and what carriers such as Vonage honour on US numbers):
# the whole message, any case, surrounding spaces ignored.
_KEYWORDS = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), Keyword.OPT_OUT),
    **dict.fromkeys(("START", "UNSTOP"), Keyword.OPT_IN),
    "HELP": Keyword.HELP,
}


def keyword(text: str) -> Keyword | None:
    """The keyword a whole inbound text is, if it is one."""
    return _KEYWORDS.get(text.strip().upper())
