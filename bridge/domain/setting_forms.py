"""Forms a setting's value takes, whether an operator sets it at start or an admin in Slack.

Each check returns the value (normalised) or raises ValueError saying what was expected.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridge.domain.values import PhoneNumber


def parse_routes(value: str) -> dict[str, str]:
    """'+447700900000=C0123,+14155550100=C0456' → {number: channel}."""
    routes: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        number, sep, channel = item.partition("=")
        if not sep:
            raise ValueError(
                f"expected NUMBER=CHANNEL pairs such as +447700900000=C0123, not {item!r}"
            )
        routes[number.strip()] = channel.strip()
    return routes


def check_routes(value: dict[str, str]) -> dict[PhoneNumber, str]:
    for number, channel in value.items():
        check_e164(number)
        check_channel(channel)
    return {PhoneNumber(n): c for n, c in value.items()}


def check_ref_suffix(value: str) -> str:
    if value and "#{ref}" not in value:
        raise ValueError("expected a text holding #{ref}, such as ' (#{ref})', or nothing")
    return value


def known_time_zone(name: str) -> str:
    """An IANA time zone name as given, or ValueError naming what was expected."""
    try:
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone; use a name such as Europe/London") from None
    return name.strip()


def check_e164(number: str) -> str:
    digits = number.removeprefix("+")
    if not number.startswith("+") or not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise ValueError(f"{number!r} is not an E.164 number such as +447700900000")
    return number


def check_channel(value: str) -> str:
    if not value or value[0] not in "CG" or not value.isalnum() or not value.isupper():
        raise ValueError(f"expected a channel id such as C0123456789 (not {value!r})")
    return value
