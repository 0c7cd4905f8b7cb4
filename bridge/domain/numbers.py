"""Phone numbers as people write them, turned into E.164 (`+447400123456`) or refused.

`phonenumbers` (Google's libphonenumber metadata) decides what a valid number is. A number
written without a country code (`07400 123456`) needs a default region: the ISO 3166
alpha-2 code of the country it is dialled in (`GB`).
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult

from bridge.domain.values import PhoneNumber
from bridge.errors import InvalidInput

# Texts for people; `{value}` is the number as it was written.
NO_NUMBER = "no phone number given"
HAS_LETTERS = "{value} is not a phone number: it contains letters"
NOT_A_NUMBER = "{value} is not a phone number"
NO_COUNTRY_CODE = (
    "{value} has no country code: write it in international form (such as +44 7400 123456) "
    "or set a default region (such as GB)"
)
UNKNOWN_COUNTRY_CODE = "{value} starts with an unknown country code"
TOO_SHORT = "{value} is too short to be a phone number"
TOO_LONG = "{value} is too long to be a phone number"
WRONG_LENGTH = "{value} has the wrong number of digits for country code +{code}"
NOT_VALID = "{value} is not a valid phone number for country code +{code}"
HAS_EXTENSION = "{value} has an extension, which a text message cannot reach"
UNKNOWN_REGION = "{value} is not a region code such as GB or US (ISO 3166 alpha-2)"

_SHOWN_MAX = 40  # a whole paragraph pasted into a number cell is not worth repeating


def known_region(value: str) -> str:
    """An ISO 3166 alpha-2 code that phonenumbers knows, upper-cased (`gb` → `GB`)."""
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(UNKNOWN_REGION.format(value=_shown(value)))
    return region


def normalize_number(raw: str, *, default_region: str | None) -> PhoneNumber:
    """The E.164 form of a number as a person wrote it; `InvalidInput` says what is wrong.

    Spaces, dashes, dots and parentheses are ignored. `+` or the region's international
    prefix (`00` in most of the world, `011` from North America) start a country code;
    without a default region, `00` is read as `+`. Only numbers that phonenumbers holds
    for valid (a real range of their country) are accepted.
    """
    typed = typed_number(raw, default_region=default_region)
    if not typed.valid:
        raise InvalidInput(typed.doubt)
    return typed.number


@dataclass(frozen=True, slots=True)
class TypedNumber:
    """A number someone typed: possible (the right length for its country), maybe not
    valid (a range phonenumbers does not know to be in use); `doubt` says so."""

    number: PhoneNumber
    valid: bool
    doubt: str = ""


def typed_number(raw: str, *, default_region: str | None) -> TypedNumber:
    """The E.164 form of a possible number as written; `InvalidInput` when it is none.

    A number a person types to text someone may be in a range the library's metadata does
    not (yet) list; it is taken, with `valid` False, for the person to be told.
    """
    text = raw.strip()
    if not text:
        raise InvalidInput(NO_NUMBER)
    shown = _shown(text)
    if any(char.isalpha() for char in text):
        # phonenumbers would read 0800 FLOWERS as keypad digits; in a contact list,
        # letters are far more often a cell in the wrong column.
        raise InvalidInput(HAS_LETTERS.format(value=shown))
    region = known_region(default_region) if default_region else None
    if region is None and text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise InvalidInput(_parse_failure(exc, shown, international=text.startswith("+"))) from None
    if parsed.extension:
        raise InvalidInput(HAS_EXTENSION.format(value=shown))
    code = parsed.country_code
    possible = phonenumbers.is_possible_number_with_reason(parsed)
    if possible == ValidationResult.INVALID_COUNTRY_CODE:
        raise InvalidInput(UNKNOWN_COUNTRY_CODE.format(value=shown))
    # "Possible locally" means dialled without its area code: too short for a text.
    if possible in (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        raise InvalidInput(TOO_SHORT.format(value=shown))
    if possible == ValidationResult.TOO_LONG:
        raise InvalidInput(TOO_LONG.format(value=shown))
    if possible == ValidationResult.INVALID_LENGTH:
        raise InvalidInput(WRONG_LENGTH.format(value=shown, code=code))
    number = PhoneNumber(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    if not phonenumbers.is_valid_number(parsed):
        return TypedNumber(number, valid=False, doubt=NOT_VALID.format(value=shown, code=code))
    return TypedNumber(number, valid=True)


def _parse_failure(exc: NumberParseException, shown: str, *, international: bool) -> str:
    if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        return (UNKNOWN_COUNTRY_CODE if international else NO_COUNTRY_CODE).format(value=shown)
    if exc.error_type in (
        NumberParseException.TOO_SHORT_NSN,
        NumberParseException.TOO_SHORT_AFTER_IDD,
    ):
        return TOO_SHORT.format(value=shown)
    if exc.error_type == NumberParseException.TOO_LONG:
        return TOO_LONG.format(value=shown)
    return NOT_A_NUMBER.format(value=shown)


def _shown(value: str) -> str:
    value = value.strip()
    if len(value) > _SHOWN_MAX:
        value = value[: _SHOWN_MAX - 1].rstrip() + "…"
    return f"'{value}'"


def format_number(number: str) -> str:
    """'+447700900123' → '+44 7700 900123'; anything unparseable is shown as given."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def mask(number: str) -> str:
    """Phone numbers in logs keep only their last four digits."""
    return "*" * max(0, len(number) - 4) + number[-4:]
