"""What `smschat-bridge doctor` reports: one line per check, and what to do when it failed."""

from __future__ import annotations

from dataclasses import dataclass

_MARKS = {True: "✓", False: "✗", None: "–"}


@dataclass(frozen=True, slots=True)
class Check:
    """One thing checked. `passed` is None when the check does not apply to this set-up."""

    passed: bool | None
    what: str
    fix: str = ""

    def line(self) -> str:
        shown = f"{_MARKS[self.passed]} {self.what}"
        return f"{shown}: {self.fix}" if self.fix and self.passed is not True else shown


def passed(what: str) -> Check:
    return Check(True, what)


def failed(what: str, fix: str) -> Check:
    return Check(False, what, fix)


def skipped(what: str, why: str) -> Check:
    return Check(None, what, why)
