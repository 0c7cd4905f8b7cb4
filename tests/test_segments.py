"""SMS length rules: encoding choice, unit counts, segment packing, typography clean-up."""

from __future__ import annotations

import math
import string

import pytest

from bridge.domain.segments import (
    GSM7_BASIC_CHARS,
    GSM7_EXTENSION_CHARS,
    SmsMeasure,
    measure,
    normalize_typography,
)

CYR = "д"  # one UTF-16 unit, not GSM-7
EMOJI = "😀"  # outside the BMP: two UTF-16 units (a surrogate pair)

# (id, text, encoding, units, segments)
MEASURE_CASES = [
    ("empty-is-zero-segments", "", "GSM-7", 0, 0),
    ("one-char", "a", "GSM-7", 1, 1),
    ("ascii-160-one-segment", "a" * 160, "GSM-7", 160, 1),
    ("ascii-161-two-segments", "a" * 161, "GSM-7", 161, 2),
    ("ascii-306-two-segments", "a" * 306, "GSM-7", 306, 2),
    ("ascii-307-three-segments", "a" * 307, "GSM-7", 307, 3),
    ("crlf-is-two-septets", "a\r\nb", "GSM-7", 4, 1),
    ("euro-is-two-septets", "€", "GSM-7", 2, 1),
    ("form-feed-is-two-septets", "\f", "GSM-7", 2, 1),
    ("extension-fills-160-exactly", "a" * 158 + "€", "GSM-7", 160, 1),
    ("extension-tips-over-160", "a" * 159 + "€", "GSM-7", 161, 2),
    ("80-braces-fit-one", "{" * 80, "GSM-7", 160, 1),
    ("81-braces-need-two", "{" * 81, "GSM-7", 162, 2),
    # 306 septets would be two parts by division, but the escape pair at septet 153
    # cannot be split, so it moves whole to part two and a third part is needed.
    ("escape-pair-not-split", "a" * 152 + "{" + "a" * 152, "GSM-7", 306, 3),
    ("escape-pair-ends-part-exactly", "a" * 151 + "{" + "a" * 153, "GSM-7", 306, 2),
    ("greek-capitals-are-gsm", "ΔΦΓΛΩΠΨΣΘΞ", "GSM-7", 10, 1),
    ("greek-small-is-not", "α", "UCS-2", 1, 1),
    ("e-acute-is-gsm", "café", "GSM-7", 4, 1),
    ("a-acute-is-not", "olá", "UCS-2", 3, 1),
    ("capital-c-cedilla-is-gsm", "Ç", "GSM-7", 1, 1),
    ("small-c-cedilla-is-not", "ç", "UCS-2", 1, 1),
    ("backtick-is-not-gsm", "`", "UCS-2", 1, 1),
    ("mac-apostrophe-is-not-gsm", "it’s", "UCS-2", 4, 1),
    ("emoji-is-two-units", "Thanks " + EMOJI, "UCS-2", 9, 1),
    ("ucs2-70-one-segment", CYR * 70, "UCS-2", 70, 1),
    ("ucs2-71-two-segments", CYR * 71, "UCS-2", 71, 2),
    ("ucs2-134-two-segments", CYR * 134, "UCS-2", 134, 2),
    ("ucs2-135-three-segments", CYR * 135, "UCS-2", 135, 3),
    ("35-emoji-fill-70", EMOJI * 35, "UCS-2", 70, 1),
    ("36-emoji-two-segments", EMOJI * 36, "UCS-2", 72, 2),
    # The emoji would straddle units 67/68; its surrogate pair moves whole to part two.
    ("emoji-straddles-boundary", CYR * 66 + EMOJI + CYR * 66, "UCS-2", 134, 3),
    ("emoji-ends-part-exactly", CYR * 65 + EMOJI + CYR * 67, "UCS-2", 134, 2),
    ("extension-char-in-ucs2-is-one-unit", CYR + "€" * 69, "UCS-2", 70, 1),
    ("gsm-1600", "a" * 1600, "GSM-7", 1600, 11),
    ("ucs2-1600", CYR * 1600, "UCS-2", 1600, 24),
    ("emoji-800-packs-33-per-part", EMOJI * 800, "UCS-2", 1600, 25),
]


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [case[1:] for case in MEASURE_CASES],
    ids=[case[0] for case in MEASURE_CASES],
)
def test_measure(text: str, encoding: str, units: int, segments: int) -> None:
    result = measure(text)
    assert (result.encoding, result.units, result.segments) == (encoding, units, segments)


# (id, text, non_gsm_chars)
NON_GSM_CASES = [
    ("gsm-text-has-none", "Hello {world} €5", ()),
    ("single-emoji-listed", "ok 👍", ("👍",)),
    ("distinct-in-order-of-appearance", "Olá, ça va? 👍 olá ça", ("á", "ç", "👍")),
    ("zwj-sequence-lists-its-parts", "👨‍👩‍👧", ("👨", "\u200d", "👩", "👧")),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [case[1:] for case in NON_GSM_CASES],
    ids=[case[0] for case in NON_GSM_CASES],
)
def test_non_gsm_chars(text: str, expected: tuple[str, ...]) -> None:
    assert measure(text).non_gsm_chars == expected


def test_measure_is_a_frozen_value() -> None:
    assert measure("hi") == SmsMeasure(encoding="GSM-7", units=2, segments=1)
    with pytest.raises(AttributeError):
        measure("hi").units = 3  # type: ignore[misc]


@pytest.mark.parametrize("length", range(0, 800, 7), ids=lambda n: f"len-{n}")
def test_single_septets_pack_like_division(length: int) -> None:
    # With no two-unit characters, packing and dividing must agree.
    expected = 0 if length == 0 else 1 if length <= 160 else math.ceil(length / 153)
    assert measure("x" * length).segments == expected


def test_default_alphabet_table() -> None:
    # 128 codes minus ESC; the only printable ASCII characters outside it are the
    # backtick and the nine that live in the extension table.
    assert len(GSM7_BASIC_CHARS) == 127
    printable_ascii = set(string.printable) - set("\t\x0b\x0c")
    assert printable_ascii - GSM7_BASIC_CHARS == set("`^{}\\[]~|")
    assert GSM7_EXTENSION_CHARS == set("\f^{}\\[~]|€")
    assert not GSM7_BASIC_CHARS & GSM7_EXTENSION_CHARS
    assert set("£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà") <= GSM7_BASIC_CHARS


# (id, text, expected)
TYPOGRAPHY_CASES = [
    ("mac-apostrophe", "it’s", "it's"),
    ("single-curly-quotes", "‘yes’", "'yes'"),
    ("double-curly-quotes", "“quoted”", '"quoted"'),
    ("german-low-quotes", "„Hallo“ ‚du‘", "\"Hallo\" 'du'"),
    ("reversed-quotes", "‛a‟", "'a\""),
    ("guillemets-with-narrow-nbsp", "«\u202fBonjour\u202f»", '" Bonjour "'),
    ("single-guillemets", "‹oui›", "'oui'"),
    ("en-dash", "9–5", "9-5"),
    ("em-dash", "wait—what", "wait-what"),
    ("figure-dash-and-bar", "555‒1234 ―", "555-1234 -"),
    ("ellipsis", "so…", "so..."),
    ("nbsp", "10\u00a0kg", "10 kg"),
    ("macos-time-narrow-nbsp", "10:30\u202fAM", "10:30 AM"),
    ("thin-and-ideographic-spaces", "a\u2009b\u3000c", "a b c"),
    ("tab", "a\tb", "a b"),
    ("bullets", "• one\n• two", "- one\n- two"),
    ("zero-width-space-dropped", "ab\u200bcd", "abcd"),
    ("soft-hyphen-dropped", "co\u00adop", "coop"),
    ("line-separator", "a\u2028b", "a\nb"),
    ("backtick", "`x`", "'x'"),
    ("accents-untouched", "olá ça", "olá ça"),
    ("emoji-and-zwj-untouched", "👨‍👩‍👧 👍", "👨‍👩‍👧 👍"),
    ("gsm-untouched", "Hello {world} €5 @ £3", "Hello {world} €5 @ £3"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [case[1:] for case in TYPOGRAPHY_CASES],
    ids=[case[0] for case in TYPOGRAPHY_CASES],
)
def test_normalize_typography(text: str, expected: str) -> None:
    assert normalize_typography(text) == expected


def test_every_typographic_character_becomes_gsm7() -> None:
    typographic = "‘’‚‛“”„‟«»‹›–—‒―…•\u00a0\u2002\u2003\u2009\u200a\u202f\u3000"
    assert measure(typographic).encoding == "UCS-2"
    assert measure(normalize_typography(typographic)).encoding == "GSM-7"


def test_reply_typed_on_a_mac_stays_one_gsm7_segment() -> None:
    reply = (
        "Hi Sam – we’ve got your parcel. It’ll be with you “tomorrow” between "
        "10:30\u202fAM and 2\u202fPM… Reply STOP to opt out."
    )
    before, after = measure(reply), measure(normalize_typography(reply))
    assert (before.encoding, before.segments) == ("UCS-2", 2)
    assert (after.encoding, after.segments) == ("GSM-7", 1)
