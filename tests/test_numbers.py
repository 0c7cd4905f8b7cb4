"""Phone numbers as people write them become E.164, or are refused with a reason naming them."""

from __future__ import annotations

import pytest

from bridge.domain.numbers import known_region, normalize_number
from bridge.errors import InvalidInput

ACCEPTED = [
    # (label, written, default region, E.164)
    ("national with region", "07400 123456", "GB", "+447400123456"),
    ("national, region in lower case", "07400123456", "gb", "+447400123456"),
    ("international", "+447400123456", None, "+447400123456"),
    ("international ignores the region", "+33 6 12 34 56 78", "GB", "+33612345678"),
    ("spaces, dashes, parentheses", "(020) 7946-0018", "GB", "+442079460018"),
    ("international with punctuation", "+1 (201) 555-0123", None, "+12015550123"),
    ("dots", "+44.20.7946.0018", None, "+442079460018"),
    ("surrounding whitespace", "  +44 7400 123456\t", None, "+447400123456"),
    ("00 prefix without region", "0044 7400 123456", None, "+447400123456"),
    ("00 prefix with region", "00 33 6 12 34 56 78", "GB", "+33612345678"),
    ("region's own international prefix", "011 44 7400 123456", "US", "+447400123456"),
]

REFUSED = [
    # (label, written, default region, words the reason must hold)
    ("empty", "", "GB", "no phone number"),
    ("blank", "   ", "GB", "no phone number"),
    ("national without region", "07400 123456", None, "'07400 123456' has no country code"),
    ("letters", "0800 FLOWERS", "GB", "'0800 FLOWERS' is not a phone number: it contains letters"),
    ("a word", "unknown", "GB", "'unknown' is not a phone number"),
    ("extension", "+44 20 7946 0018 ext. 5", None, "contains letters"),
    ("too short", "+44 7400", None, "'+44 7400' is too short"),
    ("too short national", "12", "GB", "'12' is too short"),
    ("too long", "+44 7400 123456 7890", None, "too long"),
    ("unknown country code", "+999 1234 5678", None, "'+999 1234 5678' starts with an unknown"),
    ("not a valid range", "+44 7700 900123", None, "not a valid phone number for country code +44"),
    ("punctuation only", "--", "GB", "'--' is not a phone number"),
]


@pytest.mark.parametrize(
    ("written", "region", "expected"),
    [case[1:] for case in ACCEPTED],
    ids=[case[0] for case in ACCEPTED],
)
def test_accepted(written: str, region: str | None, expected: str) -> None:
    assert normalize_number(written, default_region=region) == expected


@pytest.mark.parametrize(
    ("written", "region", "reason"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_refused(written: str, region: str | None, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_number(written, default_region=region)
    assert reason in caught.value.reason
    assert caught.value.status == 400


def test_a_long_value_is_shortened_in_the_reason() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_number("call me on the landline after six " * 5, default_region="GB")
    assert len(caught.value.reason) < 120
    assert "'call me on the landline after six call…'" in caught.value.reason


@pytest.mark.parametrize(
    ("given", "expected"),
    [("GB", "GB"), ("us", "US"), (" de ", "DE")],
    ids=["upper", "lower", "spaced"],
)
def test_known_region(given: str, expected: str) -> None:
    assert known_region(given) == expected


@pytest.mark.parametrize("given", ["UK", "XX", "GBR", ""], ids=["UK", "XX", "alpha-3", "empty"])
def test_unknown_region(given: str) -> None:
    with pytest.raises(InvalidInput, match="is not a region code such as GB"):
        known_region(given)


def test_an_unknown_default_region_is_refused() -> None:
    with pytest.raises(InvalidInput, match="'UK' is not a region code"):
        normalize_number("07400 123456", default_region="UK")
