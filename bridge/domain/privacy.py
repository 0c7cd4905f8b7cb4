"""Erasing what the store holds about a case or a person: what went, and the keyed hash
an erased number's opt-out is kept under."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, fields

# Why a case was erased, as its audit row says.
DELETED, ERASED, RETENTION = "deleted", "erased", "retention"


@dataclass(frozen=True, slots=True)
class Erased:
    """How many of each kind of record an erasure removed (or, dry, would remove)."""

    cases: int = 0
    messages: int = 0
    receipts: int = 0
    parts: int = 0
    jobs: int = 0
    contacts: int = 0
    numbers: int = 0
    opt_outs_hashed: int = 0

    def __add__(self, other: Erased) -> Erased:
        return Erased(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def counts(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def line(self) -> str:
        """`cases 2, messages 9, ...`: the kinds that had any."""
        shown = [f"{name.replace('_', ' ')} {n}" for name, n in self.counts().items() if n]
        return ", ".join(shown) or "nothing"


def number_hash(key: bytes, number: str) -> str:
    """HMAC-SHA256 of an E.164 number: the same number always gives the same hash, and
    without the key no list of possible numbers can be hashed to find it."""
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()
