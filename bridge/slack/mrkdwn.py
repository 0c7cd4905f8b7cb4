"""Text crossing the border between Slack and SMS, both ways. Pure functions, no I/O.

Slack to SMS: message text as it arrives in events uses `&`, `<` and `>` as control
characters (`<@U123>`, `<#C123|general>`, `<!here>`, `<https://x.org|label>`) and has
literal ones escaped as `&amp;` `&lt;` `&gt;`; on top of that come mrkdwn markers
(`*bold*`, `_italic_`, `~strike~`, code, `&gt; ` quotes) and emoji shortcodes.
`slack_to_plain` turns all of that into what a phone should show.

SMS to Slack: `escape_for_slack` makes a texter's words inert, so that they can never
mention, broadcast or disguise a link.

Sources: https://docs.slack.dev/messaging/formatting-message-text/ ("Escaping text":
only `&`, `<` and `>` are control characters and only their three entities are decoded;
"Advanced formatting": user, channel, user-group, special mentions, dates, links), and
iamcal/emoji-data for Slack's `:name::skin-tone-N:` spelling of skin tones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

import emoji

_NO_NAMES: Mapping[str, str] = {}

_USER_MENTION_RE = re.compile(r"<@([A-Z0-9]+)(?:\|[^<>\n]*)?>")
_CHANNEL_MENTION_RE = re.compile(r"<#([A-Z0-9]+)(?:\|[^<>\n]*)?>")

# Any <...>: Slack escapes a literal '<', so in event text every bracket pair is markup.
_ANGLE_RE = re.compile(r"<([^<>\n]*)>")
_ENTITY_RE = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_BROADCASTS = ("here", "channel", "everyone", "group")  # <!group> is the legacy <!channel>

_CODE_BLOCK_RE = re.compile(r"```(.*?)```", re.DOTALL)
_INLINE_CODE_RE = re.compile(r"`([^`\n]+)`")
_BARE_URL_RE = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s<>\U000f0000-\U0010fffd]+")
# A quote is '&gt; ' at a line start ('&gt;&gt;&gt; ' quotes the rest of the message);
# without the space, '>5 left' is more likely an arrow or a comparison than a quote.
_QUOTE_RE = re.compile(r"^(?:&gt;){1,3}(?: |$)", re.MULTILINE)
# Shortcodes, optionally with Slack's skin tone suffix. A digit on either side means a
# time or a ratio ("10:100:00"), not an emoji.
_SHORTCODE_RE = re.compile(r"(?<![0-9]):([A-Za-z0-9_+'-]+):(?::skin-tone-([2-6]):)?(?![0-9])")


def _emphasis_re(marker: str) -> re.Pattern[str]:
    # Slack only formats when the markers sit at word edges: the opening one not after a
    # letter or digit and followed by a non-space, the closing one after a non-space and
    # not followed by a letter or digit. That keeps 2*3*4 and snake_case_names as they are.
    m = re.escape(marker)
    return re.compile(rf"(?<![\w{m}]){m}(?=[^\s{m}])([^{m}\n]*?[^\s{m}]){m}(?![\w{m}])")


_EMPHASIS_RES = tuple(_emphasis_re(marker) for marker in "*_~")

# Our own defusing of @here and friends (see escape_for_slack); undone on the way back.
_DEFUSER = "\u2060"  # WORD JOINER: invisible, and not a letter, so '@\u2060here' is no keyword
_BROADCAST_WORD_RE = re.compile(r"(?<!\w)@(?=(?:" + "|".join(_BROADCASTS) + r")\b)", re.IGNORECASE)

# Pieces already converted to their final text are parked in the Supplementary Private
# Use Area and put back at the end, so that later rules (emphasis, shortcodes, entities)
# cannot touch a URL or a code span. Private-use characters already in the text are
# parked too, which makes every such character in the working text one of ours.
_PARKING_START = 0xF0000
_PARKED_RE = re.compile(r"[\U000f0000-\U0010fffd]")


class _Parking:
    def __init__(self) -> None:
        self._items: list[str] = []

    def park(self, final_text: str) -> str:
        self._items.append(final_text)
        return chr(_PARKING_START + len(self._items) - 1)

    def restore(self, text: str) -> str:
        return _PARKED_RE.sub(lambda m: self._items[ord(m.group()) - _PARKING_START], text)


def _unescape(text: str) -> str:
    # One pass, so that '&amp;lt;' becomes the literal '&lt;' a person typed.
    return _ENTITY_RE.sub(lambda m: _ENTITIES[m.group(1)], text)


def _without_scheme(target: str) -> str:
    return re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*:(?://)?", "", target).rstrip("/").lower()


def _same_target(label: str, target: str) -> bool:
    if target.startswith("tel:"):
        # A typed phone number keeps its spacing in the label: <tel:+15551234|+1 555 1234>.
        return re.sub(r"[^\d+]", "", label) == target.removeprefix("tel:")
    return _without_scheme(label) == _without_scheme(target)


def _render_link(target: str, label: str) -> str:
    shown = target.removeprefix("mailto:")
    if not shown:
        return label
    if not label or _same_target(label, target):
        # Slack writes what someone typed as <http://x.org|x.org> or <mailto:a@b.org|a@b.org>.
        return label or shown
    return f"{label} ({shown})"


def _render_date(parts: list[str], label: str) -> str:
    if label:
        return label
    try:
        moment = datetime.fromtimestamp(int(parts[1]), tz=UTC)
    except (IndexError, ValueError, OverflowError, OSError):
        return ""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _render_angle(
    inner: str, user_names: Mapping[str, str], channel_names: Mapping[str, str]
) -> str:
    body, _, raw_label = inner.partition("|")
    label = _unescape(raw_label)
    if body.startswith("@"):
        # The looked-up name wins over the label: labels in user mentions are deprecated
        # and can be stale after a rename.
        name = (user_names.get(body[1:]) or label).lstrip("@")
        return f"@{name}" if name else "@someone"
    if body.startswith("#"):
        name = (channel_names.get(body[1:]) or label).lstrip("#")
        return f"#{name}" if name else "#channel"
    if body.startswith("!"):
        parts = body[1:].split("^")
        command = parts[0]
        if command in _BROADCASTS:
            return f"@{command}"
        if command == "subteam":
            name = label.lstrip("@")
            return f"@{name}" if name else "@group"
        if command == "date":
            return _render_date(parts, label)
        return label
    return _render_link(_unescape(body), label)


def _shortcode_to_emoji(match: re.Match[str]) -> str:
    name, tone = match.group(1), match.group(2)
    shortcode = f":{name}:"
    character = emoji.emojize(shortcode, language="alias")
    if character == shortcode:
        return match.group()  # unknown or a workspace's custom emoji: leave it readable
    if tone:
        # skin-tone-2 .. skin-tone-6 are the Fitzpatrick modifiers U+1F3FB .. U+1F3FF; a
        # modifier replaces the emoji presentation selector rather than following it.
        toned = character.removesuffix("\ufe0f") + chr(0x1F3FB + int(tone) - 2)
        if emoji.is_emoji(toned):
            return toned
    return character


def _strip_one_newline(code: str) -> str:
    return code.removeprefix("\n").removesuffix("\n")


def slack_to_plain(
    text: str,
    *,
    user_names: Mapping[str, str] = _NO_NAMES,
    channel_names: Mapping[str, str] = _NO_NAMES,
) -> str:
    """Turn Slack message text (as in events) into plain text for an SMS.

    Mentions become `@name` (from `user_names`, else the mention's label, else `@someone`)
    and `#channel` (from `channel_names`, else the label); links become `label (url)` or
    just the URL; mrkdwn markers, code fences and quote markers go, their content stays;
    known emoji shortcodes become characters (which makes the SMS UCS-2); `&amp;` `&lt;`
    `&gt;` are decoded last, once. Use `mentioned_user_ids` and `mentioned_channel_ids`
    to know which names to look up first.
    """
    parking = _Parking()
    text = _PARKED_RE.sub(lambda m: parking.park(m.group()), text)
    text = text.replace("@" + _DEFUSER, "@")
    text = _ANGLE_RE.sub(
        lambda m: parking.park(_render_angle(m.group(1), user_names, channel_names)), text
    )
    text = _CODE_BLOCK_RE.sub(
        lambda m: parking.park(_unescape(parking.restore(_strip_one_newline(m.group(1))))),
        text,
    )
    text = _INLINE_CODE_RE.sub(lambda m: parking.park(_unescape(parking.restore(m.group(1)))), text)
    text = _BARE_URL_RE.sub(lambda m: parking.park(_unescape(m.group())), text)
    text = _QUOTE_RE.sub("", text)
    text = _SHORTCODE_RE.sub(_shortcode_to_emoji, text)
    for emphasis in _EMPHASIS_RES:
        text = emphasis.sub(r"\1", text)
    return parking.restore(_unescape(text))


def mentioned_user_ids(text: str) -> list[str]:
    """User ids mentioned as `<@U123>` or `<@U123|name>`, once each, in order of appearance."""
    return list(dict.fromkeys(_USER_MENTION_RE.findall(text)))


def mentioned_channel_ids(text: str) -> list[str]:
    """Channel ids linked as `<#C123>` or `<#C123|name>`, once each, in order of appearance."""
    return list(dict.fromkeys(_CHANNEL_MENTION_RE.findall(text)))


def escape_for_slack(text: str) -> str:
    """Make an SMS text inert in Slack: it can show, never mention, broadcast or hide a link.

    `&`, `<` and `>` become entities, so no `<!channel>`, `<@U123>` or
    `<http://evil|bank>` can be formed. Plain `@here`, `@channel`, `@everyone` (and the
    legacy `@group`) also get an invisible word joiner after the '@'.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # Why the joiner: Slack broadcasts only for <!here>-style markup, which the escaping
    # above rules out, and plain "@here" from an app is text by default; but `link_names`
    # or `parse=full` (one option away in any caller) turn plain "@here" into a
    # broadcast. A joiner breaks the keyword whatever the options, stays invisible, and is
    # taken out again by slack_to_plain.
    return _BROADCAST_WORD_RE.sub("@" + _DEFUSER, text)
