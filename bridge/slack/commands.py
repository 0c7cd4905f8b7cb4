"""`/smschat <verb> ...` typed: the answer, shown only to the person who typed it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bridge import texts
from bridge.domain.records import CaseRecord
from bridge.domain.values import UserId
from bridge.routing import cases, search
from bridge.routing.cases import CaseActionRefused, CaseChange
from bridge.routing.ports import Unit
from bridge.routing.threads import contact_address
from bridge.routing.usage import usage_answer
from bridge.slack.broadcasts import broadcast_from_command
from bridge.slack.controls import (
    call_command,
    delete_command,
    erase_command,
    me_command,
    mute_command,
    unmute_command,
)
from bridge.slack.desk import Desk
from bridge.slack.home_blocks import thread_link
from bridge.slack.mrkdwn import escape_for_slack
from bridge.slack.new_conversation import start_from_command
from bridge.slack.settings_modal import settings_log

# A verb acting on cases: (unit, desk, the words after the verb, who typed them) → what changed.
CaseCommand = Callable[[Unit, Desk, str, UserId], Awaitable[CaseChange]]


async def run_command(desk: Desk, text: str, *, user: str) -> str:
    """The answer to `/smschat <text>`, shown only to the person who typed it."""
    verb, _, rest = text.strip().partition(" ")
    actions: dict[str, CaseCommand] = {
        "close": _close,
        "reopen": _reopen,
        "assign": _assign,
        "new": start_from_command,
        "mute": mute_command,
        "unmute": unmute_command,
        "call": call_command,
    }
    if verb.lower() in ("search", "list"):
        return await find(desk, verb.lower(), rest, user=UserId(user))
    if verb.lower() == "settings":
        if rest.strip().lower() != "log":
            return texts.SETTINGS_USAGE
        return await settings_log(desk.book, user=user, gatekeeper=desk.gatekeeper)
    if verb.lower() == "broadcast":
        return await broadcast_from_command(desk, rest, user=user)
    if verb.lower() == "me":
        return await me_command(desk, rest, UserId(user))
    if verb.lower() == "delete":
        return await delete_command(desk, rest, UserId(user))
    if verb.lower() == "erase":
        return await erase_command(desk, rest, UserId(user))
    if verb.lower() == "usage":
        return await usage_answer(desk.units, rest, now=desk.clock.now(), time_zone=desk.time_zone)
    action = actions.get(verb.lower())
    if action is None:
        return (
            texts.HELP
            if verb.lower() in ("", "help")
            else texts.UNKNOWN_COMMAND.format(verb=verb) + "\n" + texts.HELP
        )
    async with desk.units.unit() as unit:
        try:
            done = await action(unit, desk, rest, UserId(user))
        except CaseActionRefused as refused:
            return str(refused)
    return done.message


async def find(desk: Desk, verb: str, rest: str, *, user: UserId) -> str:
    """`search <text> [filters]` or `list [open|closed|mine|unassigned] [page:N]`."""
    if verb == "list":
        # `list closed` reads as a filter, not as a search for the word "closed".
        words = [f"status:{w}" if w in ("open", "closed", "all") else w for w in rest.split()]
        rest, default_status = " ".join(words), "open"
    else:
        default_status = "all"
        if not rest.strip():
            return texts.SEARCH_USAGE
    try:
        query, case_filter, page = search.parse_query(
            rest,
            user=user,
            default_status=default_status,
            per_user_reading=desk.book.rules.read_mode == "per_user",
        )
    except CaseActionRefused as refused:
        return str(refused)
    async with desk.units.reading() as unit:
        found = await search.find_cases(unit.cases, query, case_filter, page)
        lines = [
            _found_line(case, name or await contact_address(unit, case.contact_number))
            for case, name in found.cases
        ]
    if not lines:
        return texts.NOTHING_FOUND
    header = texts.FOUND_HEADER.format(total=found.total, page=found.page, pages=found.pages)
    more = [texts.FOUND_MORE.format(next=found.page + 1)] if found.page < found.pages else []
    return "\n".join([header, *lines, *more])


def _found_line(case: CaseRecord, contact: str) -> str:
    link = thread_link(case.channel, case.thread_ts) if case.thread_ts else "#"
    return texts.FOUND_LINE.format(
        link=link,
        ref=case.id,
        contact=escape_for_slack(contact),
        status=case.status,
        assignee=f"<@{case.assignee}>" if case.assignee else "unassigned",
        when=f"{case.last_activity_at:%Y-%m-%d %H:%M} UTC",
    )


async def _close(unit: Unit, desk: Desk, rest: str, user: UserId) -> CaseChange:
    return await cases.close_case(unit, cases.parse_ref(rest), by=user, now=desk.clock.now())


async def _reopen(unit: Unit, desk: Desk, rest: str, user: UserId) -> CaseChange:
    return await cases.reopen_case(unit, cases.parse_ref(rest), by=user)


async def _assign(unit: Unit, desk: Desk, rest: str, user: UserId) -> CaseChange:
    ref, _, who = rest.strip().partition(" ")
    return await cases.assign_case(unit, cases.parse_ref(ref), to=_assignee(who, user), by=user)


def _assignee(who: str, user: UserId) -> UserId | None:
    """`me`, `nobody`, or a mention as Slack sends it in commands (`<@U123|dana>`).

    A plain `@dana` means the command reached us unescaped (a manifest without
    `should_escape: true`): no id is in it, so the answer says how to fix that.
    """
    who = who.strip()
    if who.lower() == "me":
        return user
    if who.lower() in ("nobody", "none"):
        return None
    mention = _MENTION.fullmatch(who)
    if mention:
        return UserId(mention.group(1))
    if who.startswith("@"):
        raise CaseActionRefused(texts.UNESCAPED_MENTION.format(given=who[:40]))
    raise CaseActionRefused(texts.BAD_ASSIGNEE.format(given=who[:40] or "nobody named"))


# A person as Slack writes them in an escaped command: `<@U123>` or `<@U123|dana>`.
_MENTION = re.compile(r"<@([UW][A-Z0-9]{1,31})(?:\|[^<>]*)?>")
