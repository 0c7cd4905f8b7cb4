"""SMS length rules: GSM-7 or UCS-2, how many units, how many segments.

Pure functions over text; no I/O, no carrier SDK. The carrier decides the encoding the same
way (Vonage's Messages API picks `unicode` as soon as one character is outside the GSM-7
tables; the SMS API expects `type=unicode` in that case), so measuring here tells routing
what a reply will cost before it is queued.

Sources for the tables and limits:
- 3GPP TS 23.038 §6.2.1 (default alphabet and its extension table), as laid out in
  https://developers.sinch.com/docs/sms/smpp/message-encoding and nyaruka/gocommon gsm7.go.
- https://developer.vonage.com/messaging/sms/guides/concatenation-and-encoding
  (160/153 GSM-7, 70/67 Unicode; extension characters take two).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The GSM 03.38 default alphabet, row by row as in TS 23.038 (code = row * 16 + column).
# 0x1B is ESC, the switch to the extension table, and stands for no character of its own.
_GSM7_DEFAULT_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅå"  # 0x00 (0x09 is capital Ç per ETSI; Unicode's old map said ç)
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"  # 0x10
    " !\"#¤%&'()*+,-./"  # 0x20 (0x24 is ¤, not $; $ is 0x02)
    "0123456789:;<=>?"  # 0x30
    "¡ABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZÄÖÑÜ§"  # 0x50
    "¿abcdefghijklmno"  # 0x60 (0x60 is ¿: the backtick ` is not GSM-7 at all)
    "pqrstuvwxyzäöñüà"  # 0x70
)

# The extension table: each is sent as ESC + code, so it costs two septets.
_GSM7_EXTENSION_TABLE: dict[int, str] = {
    0x0A: "\f",  # form feed (page break)
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

GSM7_BASIC_CHARS: frozenset[str] = frozenset(_GSM7_DEFAULT_ALPHABET) - {"\x1b"}
"""Characters of the GSM-7 default alphabet: one septet each."""

GSM7_EXTENSION_CHARS: frozenset[str] = frozenset(_GSM7_EXTENSION_TABLE.values())
"""Characters of the GSM-7 extension table: two septets each (ESC + code)."""

GSM7_SINGLE_LIMIT = 160  # septets in one SMS (140 octets * 8 / 7)
GSM7_PART_LIMIT = 153  # septets per part once a 6-octet concatenation header is added
UCS2_SINGLE_LIMIT = 70  # UTF-16 code units in one SMS (140 octets / 2)
UCS2_PART_LIMIT = 67  # UTF-16 code units per part with the concatenation header

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True, slots=True)
class SmsMeasure:
    """What a text costs as SMS.

    `units` are septets for GSM-7 and UTF-16 code units for UCS-2 (a character outside
    the Basic Multilingual Plane, such as most emoji, is two). `segments` is 0 for the
    empty text: there is nothing to send, and routing refuses empty replies anyway, so
    it should not be billed as one part. `non_gsm_chars` lists, once each and in order of
    first appearance, the characters that forced UCS-2 (empty for GSM-7), so a user can
    be told which character made their reply expensive.
    """

    encoding: Encoding
    units: int
    segments: int
    non_gsm_chars: tuple[str, ...] = ()


def _count_parts(costs: list[int], *, single_limit: int, part_limit: int) -> int:
    """Count segments by packing, so that a two-unit character never straddles a boundary.

    Plain division would undercount: a GSM escape pair or a surrogate pair that does not
    fit in the rest of a part moves whole to the next one, leaving a unit unused.
    """
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single_limit:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part_limit:
            parts += 1
            used = 0
        used += cost
    return parts


def measure(text: str) -> SmsMeasure:
    """Measure `text` as the carrier will encode it: GSM-7 when every character allows it."""
    non_gsm = tuple(
        dict.fromkeys(
            ch for ch in text if ch not in GSM7_BASIC_CHARS and ch not in GSM7_EXTENSION_CHARS
        )
    )
    if not non_gsm:
        costs = [2 if ch in GSM7_EXTENSION_CHARS else 1 for ch in text]
        return SmsMeasure(
            encoding="GSM-7",
            units=sum(costs),
            segments=_count_parts(
                costs, single_limit=GSM7_SINGLE_LIMIT, part_limit=GSM7_PART_LIMIT
            ),
        )
    costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return SmsMeasure(
        encoding="UCS-2",
        units=sum(costs),
        segments=_count_parts(costs, single_limit=UCS2_SINGLE_LIMIT, part_limit=UCS2_PART_LIMIT),
        non_gsm_chars=non_gsm,
    )


# Characters that editors (macOS and iOS "smart punctuation", Word, Google Docs) put in
# place of plain ones. Each alone turns a whole reply into UCS-2: 70 characters per SMS
# instead of 160. Accented letters are left alone on purpose: they are the writer's words,
# not typography, and dropping accents changes them.
_TYPOGRAPHY: dict[str, str] = {
    # single quotes, apostrophes and primes
    "\u2018": "'",  # ‘ left single quotation mark
    "\u2019": "'",  # ’ right single quotation mark (the macOS apostrophe)
    "\u201a": "'",  # ‚ single low-9 quotation mark
    "\u201b": "'",  # ‛ single high-reversed-9 quotation mark
    "\u2032": "'",  # ′ prime
    "\u02bc": "'",  # ʼ modifier letter apostrophe
    "\u2039": "'",  # ‹ single left-pointing angle quotation mark
    "\u203a": "'",  # › single right-pointing angle quotation mark
    "`": "'",  # grave accent: ASCII, yet not in GSM-7 (0x60 there is ¿)
    "\u00b4": "'",  # ´ acute accent used as an apostrophe
    # double quotes
    "\u201c": '"',  # “ left double quotation mark
    "\u201d": '"',  # ” right double quotation mark
    "\u201e": '"',  # „ double low-9 quotation mark
    "\u201f": '"',  # ‟ double high-reversed-9 quotation mark
    "\u2033": '"',  # ″ double prime
    "\u00ab": '"',  # « left-pointing double angle quotation mark
    "\u00bb": '"',  # » right-pointing double angle quotation mark
    # dashes and minus signs
    "\u2010": "-",  # ‐ hyphen
    "\u2011": "-",  # ‑ non-breaking hyphen
    "\u2012": "-",  # ‒ figure dash
    "\u2013": "-",  # – en dash
    "\u2014": "-",  # — em dash (macOS turns "--" into it)
    "\u2015": "-",  # ― horizontal bar
    "\u2212": "-",  # − minus sign
    # ellipsis and bullets
    "\u2026": "...",  # … horizontal ellipsis
    "\u2022": "-",  # • bullet
    "\u2023": "-",  # ‣ triangular bullet
    "\u2043": "-",  # ⁃ hyphen bullet
    "\u25e6": "-",  # ◦ white bullet
    # spaces: a tab is not GSM-7 either, and macOS puts U+202F before AM/PM in times
    "\t": " ",
    "\u00a0": " ",  # no-break space
    "\u1680": " ",  # ogham space mark
    **{chr(cp): " " for cp in range(0x2000, 0x200B)},  # en quad ... hair space
    "\u202f": " ",  # narrow no-break space
    "\u205f": " ",  # medium mathematical space
    "\u3000": " ",  # ideographic space
    # line and paragraph separators
    "\u2028": "\n",
    "\u2029": "\n",
    # invisible characters that carry no meaning in an SMS (zero-width joiners are kept:
    # they build emoji and some scripts, which are UCS-2 anyway)
    "\u00ad": "",  # soft hyphen
    "\u200b": "",  # zero-width space
    "\u2060": "",  # word joiner
    "\ufeff": "",  # zero-width no-break space (byte order mark)
}
_TYPOGRAPHY_TABLE = str.maketrans(_TYPOGRAPHY)


def normalize_typography(text: str) -> str:
    """Replace typographic quotes, dashes, ellipses, bullets and exotic spaces with GSM-7 ones.

    Only punctuation and spacing change; letters never do. The result may still be UCS-2
    (an emoji, an accented letter outside GSM-7): compare `measure()` before and after.
    """
    return text.translate(_TYPOGRAPHY_TABLE)
