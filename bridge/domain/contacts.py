"""A contact as a directory change describes it: numbers with labels, name, email, notes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.domain.values import PhoneNumber
from bridge.errors import InvalidInput

DEFAULT_LABEL = "Mobile"


class NumberTaken(InvalidInput):
    """A number of the change is held by a different contact than the one being changed."""


@dataclass(frozen=True, slots=True)
class LabelledNumber:
    number: PhoneNumber
    label: str | None = None  # None: keep the label a held number has ("Mobile" if new)


@dataclass(frozen=True, slots=True)
class ContactDetails:
    """What to set on a contact; None (or a missing property) leaves a stored value as it is."""

    numbers: Sequence[LabelledNumber] = ()
    name: str | None = None
    email: str | None = None
    notes: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
