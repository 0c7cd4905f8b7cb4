"""Slack mrkdwn to plain SMS text, and SMS text made inert for Slack."""

from __future__ import annotations

import random
import re

import pytest

from bridge.slack.mrkdwn import (
    escape_for_slack,
    mentioned_channel_ids,
    mentioned_user_ids,
    slack_to_plain,
)

USERS = {"U111": "alice", "U222": "@bob.smith"}
CHANNELS = {"C111": "support", "C222": "renamed-sales"}

# (id, Slack event text, expected plain text)
MENTION_CASES = [
    ("user-from-names", "hi <@U111>", "hi @alice"),
    ("user-name-with-leading-at", "hi <@U222>", "hi @bob.smith"),
    ("user-names-beat-stale-label", "hi <@U111|alicia>", "hi @alice"),
    ("user-label-when-unknown", "hi <@U999|carol>", "hi @carol"),
    ("user-unknown-no-label", "hi <@U999>", "hi @someone"),
    ("enterprise-user", "hi <@W999|dan>", "hi @dan"),
    ("channel-label", "see <#C999|general>", "see #general"),
    ("channel-names-when-no-label", "see <#C111>", "see #support"),
    ("channel-names-when-empty-label", "see <#C111|>", "see #support"),
    ("channel-names-beat-stale-label", "see <#C222|sales>", "see #renamed-sales"),
    ("channel-unknown", "see <#C999>", "see #channel"),
    ("here", "<!here> ping", "@here ping"),
    ("here-with-label", "<!here|@here> ping", "@here ping"),
    ("channel-broadcast", "<!channel> ping", "@channel ping"),
    ("everyone", "<!everyone> ping", "@everyone ping"),
    ("user-group-label", "<!subteam^S123|@team> ping", "@team ping"),
    ("user-group-no-label", "<!subteam^S123> ping", "@group ping"),
    ("date-fallback", "due <!date^1392734382^{date_short}|Feb 18, 2014>", "due Feb 18, 2014"),
    (
        "date-with-link-fallback",
        "<!date^1392734382^{date} at {time}^https://x.org|Feb 18th>",
        "Feb 18th",
    ),
    ("date-no-fallback-is-utc", "due <!date^1392734382^{date}>", "due 2014-02-18 14:39 UTC"),
    ("unknown-command-label", "<!foo^bar|shown>", "shown"),
]

LINK_CASES = [
    ("labelled", "<https://x.org|label>", "label (https://x.org)"),
    ("bare", "<https://x.org>", "https://x.org"),
    ("mailto-same-label", "<mailto:a@b.org|a@b.org>", "a@b.org"),
    ("mailto-other-label", "<mailto:a@b.org|write to us>", "write to us (a@b.org)"),
    ("mailto-no-label", "<mailto:a@b.org>", "a@b.org"),
    ("label-is-url-minus-scheme", "<http://x.org|x.org>", "x.org"),
    ("label-is-url-minus-slash", "<https://x.org/|x.org>", "x.org"),
    ("label-equals-url", "<https://x.org|https://x.org>", "https://x.org"),
    ("phone-typed-with-spaces", "<tel:+15551234|+1 555 1234>", "+1 555 1234"),
    ("phone-other-label", "<tel:+15551234|front desk>", "front desk (tel:+15551234)"),
    ("empty-target", "<|x> ok", "x ok"),
    ("ampersand-in-url", "<https://x.org/?a=1&amp;b=2>", "https://x.org/?a=1&b=2"),
    ("ampersand-in-label", "<https://x.org|Q&amp;A>", "Q&A (https://x.org)"),
    ("url-markers-intact", "<https://x.org/a_b_c/*d*>", "https://x.org/a_b_c/*d*"),
    ("bold-around-link", "*see <https://x.org/a_b|docs>*", "see docs (https://x.org/a_b)"),
    ("bare-url-not-wrapped", "go https://x.org/_a_/~b~ now", "go https://x.org/_a_/~b~ now"),
]

ENTITY_CASES = [
    ("amp", "Tom &amp; Jerry", "Tom & Jerry"),
    ("lt-gt", "5 &lt; 6 &gt; 4", "5 < 6 > 4"),
    ("decoded-once", "&amp;lt; stays", "&lt; stays"),
    ("typed-mention-is-text", "&lt;@U111&gt;", "<@U111>"),
    ("typed-link-is-text", "&lt;http://x|y&gt;", "<http://x|y>"),
    ("other-entities-untouched", "&quot;hi&quot; &#39;", "&quot;hi&quot; &#39;"),
]

FORMATTING_CASES = [
    ("bold", "*bold*", "bold"),
    ("italic", "_italic_", "italic"),
    ("strike", "~strike~", "strike"),
    ("nested", "*_both_*", "both"),
    ("in-sentence", "this is *very* good, _really_.", "this is very good, really."),
    ("in-parentheses", "(*note*)", "(note)"),
    ("two-on-a-line", "*a* and *b c*", "a and b c"),
    ("multiplication", "2*3*4", "2*3*4"),
    ("spaced-asterisks", "a * b * c", "a * b * c"),
    ("snake-case", "use snake_case_names", "use snake_case_names"),
    ("dunder", "__init__", "__init__"),
    ("glued-to-word", "*bold*text", "*bold*text"),
    ("not-across-lines", "*a\nb*", "*a\nb*"),
    ("tilde-path", "~/notes.txt", "~/notes.txt"),
    ("inline-code", "run `make test` now", "run make test now"),
    ("code-keeps-markers", "`*x* _y_ :smile:`", "*x* _y_ :smile:"),
    ("code-decodes-entities", "`a &lt; b &amp;&amp; c`", "a < b && c"),
    (
        "code-block-own-lines",
        "before\n```\nx = 1\ny = 2\n```\nafter",
        "before\nx = 1\ny = 2\nafter",
    ),
    ("code-block-inline", "try ```ls -la``` ok", "try ls -la ok"),
    ("code-block-with-link", "```see <https://x.org>```", "see https://x.org"),
    ("lone-backtick", "it`s", "it`s"),
    ("quote", "&gt; quoted text", "quoted text"),
    ("quote-lines", "said:\n&gt; one\n&gt; two", "said:\none\ntwo"),
    ("quote-empty-line", "&gt; a\n&gt;\n&gt; b", "a\n\nb"),
    ("quote-rest", "&gt;&gt;&gt; all\nof this", "all\nof this"),
    ("gt-mid-line", "5 &gt; 3", "5 > 3"),
    ("gt-no-space", "&gt;5 left", ">5 left"),
]

EMOJI_CASES = [
    ("smile", "hi :smile:", "hi 😄"),
    ("plus-one", ":+1:", "👍"),
    ("thumbsup-skin-tone-3", ":thumbsup::skin-tone-3:", "👍🏼"),
    ("skin-tone-6", ":wave::skin-tone-6:", "👋🏿"),
    ("skin-tone-on-toneless-emoji", ":rocket::skin-tone-2:", "🚀"),
    ("two-in-a-row", ":tada::tada:", "🎉🎉"),
    ("unknown-left", "so :partyparrot:", "so :partyparrot:"),
    ("time-not-emoji", "at 10:100:00", "at 10:100:00"),
    ("clock-time", "at 10:30:45", "at 10:30:45"),
    ("italic-around-emoji", "_:smile:_", "😄"),
]

ALL_CASES = [
    *[(f"mention/{c[0]}", *c[1:]) for c in MENTION_CASES],
    *[(f"link/{c[0]}", *c[1:]) for c in LINK_CASES],
    *[(f"entity/{c[0]}", *c[1:]) for c in ENTITY_CASES],
    *[(f"format/{c[0]}", *c[1:]) for c in FORMATTING_CASES],
    *[(f"emoji/{c[0]}", *c[1:]) for c in EMOJI_CASES],
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in ALL_CASES], ids=[c[0] for c in ALL_CASES]
)
def test_slack_to_plain(text: str, expected: str) -> None:
    assert slack_to_plain(text, user_names=USERS, channel_names=CHANNELS) == expected


def test_slack_to_plain_without_names() -> None:
    text = "<@U111|alice> in <#C111|support>: <@U999> <#C999>"
    assert slack_to_plain(text) == "@alice in #support: @someone #channel"


def test_private_use_characters_survive() -> None:
    # The converter parks finished pieces in the private use planes; text already using
    # them must come through unchanged.
    text = "\U000f0000 *x* \U0010fffd <@U111>"
    assert slack_to_plain(text, user_names=USERS) == "\U000f0000 x \U0010fffd @alice"


# (id, text, user ids, channel ids)
ID_CASES = [
    ("none", "hello &lt;@U111&gt;", [], []),
    (
        "plain-and-labelled",
        "<@U111> <@U222|bob> <#C111> <#C222|sales>",
        ["U111", "U222"],
        ["C111", "C222"],
    ),
    ("deduplicated-in-order", "<@U2> <@U1> <@U2|x> <#C2> <#C1|> <#C2>", ["U2", "U1"], ["C2", "C1"]),
    ("not-broadcasts-or-groups", "<!here> <!subteam^S1|@t> <https://x.org>", [], []),
]


@pytest.mark.parametrize(
    ("text", "users", "channels"), [c[1:] for c in ID_CASES], ids=[c[0] for c in ID_CASES]
)
def test_mentioned_ids(text: str, users: list[str], channels: list[str]) -> None:
    assert mentioned_user_ids(text) == users
    assert mentioned_channel_ids(text) == channels


WJ = "\u2060"

# (id, SMS text, text to post to Slack)
ESCAPE_CASES = [
    ("plain", "See you at 5", "See you at 5"),
    ("ampersand", "Tom & Jerry", "Tom &amp; Jerry"),
    ("angles", "1 < 2 > 0", "1 &lt; 2 &gt; 0"),
    ("broadcast-markup", "<!channel> hi", "&lt;!channel&gt; hi"),
    ("user-markup", "<@U123>", "&lt;@U123&gt;"),
    ("disguised-link", "<http://evil.example|your bank>", "&lt;http://evil.example|your bank&gt;"),
    ("entity-typed-literally", "&amp;", "&amp;amp;"),
    ("here", "@here help", f"@{WJ}here help"),
    ("channel-mixed-case", "@Channel!", f"@{WJ}Channel!"),
    ("everyone-in-parentheses", "(@everyone)", f"(@{WJ}everyone)"),
    ("legacy-group", "@group", f"@{WJ}group"),
    ("two-broadcasts", "@here @here", f"@{WJ}here @{WJ}here"),
    ("email-left-intact", "mail me@here.com", "mail me@here.com"),
    ("longer-word-left", "@heretic @channels", "@heretic @channels"),
    ("other-mentions-left", "@alice #general", "@alice #general"),
    ("markers-left", "*really* _so_ :smile:", "*really* _so_ :smile:"),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in ESCAPE_CASES], ids=[c[0] for c in ESCAPE_CASES]
)
def test_escape_for_slack(text: str, expected: str) -> None:
    assert escape_for_slack(text) == expected


# Texts a phone might send; none uses mrkdwn markers, shortcodes or a leading '> '.
PLAIN_SMS = [
    "",
    "Hi, is the shop open today?",
    "Tom & Jerry <3 >:(",
    "<!channel> <@U123> <#C1|x> <http://evil.example|bank> <!date^1^x|y>",
    "&amp; &lt; &gt; &lt;b&gt; &#39;",
    "5 > 3\n2 < 4\n-> arrow",
    "Total: 2*3*4 = 24, file snake_case_name.txt",
    "café olá 👍 €5 {x} [y] ~ | \\ ^",
    "Call 555-1234 at 10:30 or mail a_b@c.org",
    "https://x.org/a_b_c?x=1&y=2",
    "@here can someone help? @channel @EVERYONE",
    "\U000f0001 private use",
]


@pytest.mark.parametrize("text", PLAIN_SMS, ids=[f"sms-{i}" for i in range(len(PLAIN_SMS))])
def test_round_trip_of_plain_sms(text: str) -> None:
    escaped = escape_for_slack(text)
    assert "<" not in escaped and ">" not in escaped
    assert mentioned_user_ids(escaped) == [] and mentioned_channel_ids(escaped) == []
    assert not re.search(r"(?<!\w)@(?:here|channel|everyone)\b", escaped, re.IGNORECASE)
    assert slack_to_plain(escaped) == text


def _random_texts(count: int) -> list[str]:
    # Seeded, so a failure names a reproducible input; the alphabet leans on the
    # characters that matter at this border.
    rng = random.Random(20240601)
    alphabet = [*"ab Z09&<>|!@#^.,?'\"-/\n\t€é😀", "&amp;", "&lt;", "@here", "<!", "<@U1>"]
    texts = []
    while len(texts) < count:
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        if re.search(r"(?m)^> ?", text):
            continue  # a leading '> ' is a quote in Slack, by design not round-tripped
        texts.append(text)
    return texts


@pytest.mark.parametrize("text", _random_texts(300), ids=lambda _: "random")
def test_round_trip_property(text: str) -> None:
    escaped = escape_for_slack(text)
    assert "<" not in escaped and ">" not in escaped
    assert slack_to_plain(escaped) == text
