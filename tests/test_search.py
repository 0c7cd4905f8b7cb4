"""`/smschat search` and `/smschat list` through signed slash commands."""

from __future__ import annotations

import pytest

from bridge.domain.contacts import ContactDetails, LabelledNumber
from bridge.domain.values import PhoneNumber
from bridge.fakes.vonage_payloads import sms_inbound_params
from tests.conftest import OUR_NUMBER, LiveBridge

BOB, ALICE, CAROL = "447400123456", "447400765432", "447400555000"


@pytest.fixture
async def desk(live: LiveBridge) -> LiveBridge:
    """Three contacts' cases: Bob (open, assigned to the staff member), Alice (closed), Carol."""
    async with live.bridge.store.unit() as unit:
        await unit.contacts.name("+" + BOB, name="Bob Smith", label="Mobile")
        await unit.contacts.upsert(
            ContactDetails(
                numbers=[LabelledNumber(PhoneNumber("+" + ALICE), "Work")],
                name="Alice Moreau",
                email="alice@example.org",
            )
        )
    for n, number in enumerate([BOB, ALICE, CAROL]):
        await live.vonage_webhook(
            "/vonage/inbound",
            sms_inbound_params(
                msisdn=number, to=OUR_NUMBER.removeprefix("+"), text="Hello", message_id=f"Q{n}"
            ),
        )
    await live.drained()
    assert await live.command("assign #1 me") == "Case #1 is now assigned to <@U0STAFF>."
    assert await live.command("close #2") == "Closed case #2."
    return live


# (command, cases it must find): one bridge answers them all, each a labelled case.
SEARCHES = [
    ("search bob", ["#1"]),
    ("search SMITH", ["#1"]),
    ("search alice@example", ["#2"]),
    ("search 7654", ["#2"]),
    ("search +44 7400 555", ["#3"]),
    ("search (0)7400-555000", ["#3"]),
    ("search #3", ["#3"]),
    ("search 7400 status:open", ["#1", "#3"]),
    ("search 7400 status:closed", ["#2"]),
    ("search 7400 mine", ["#1"]),
    ("search 7400 unassigned", ["#2", "#3"]),
    ("list", ["#1", "#3"]),
    ("list closed", ["#2"]),
    ("list mine", ["#1"]),
    ("list unassigned", ["#3"]),
    ("list all", ["#1", "#2", "#3"]),
]


async def test_search_and_list_find_the_right_cases(desk: LiveBridge) -> None:
    for command, found in SEARCHES:
        answer = await desk.command(command)
        shown = sorted(ref for ref in ("#1", "#2", "#3") if f"|{ref}>" in answer)
        assert shown == found, command
        assert f"*{len(found)} case(s)*" in answer, command
        assert "https://slack.com/archives/C0INBOX/p" in answer, command


async def test_results_come_in_pages(desk: LiveBridge) -> None:
    for n in range(10):
        await desk.vonage_webhook(
            "/vonage/inbound",
            sms_inbound_params(
                msisdn=f"4474001{n:05d}",
                to=OUR_NUMBER.removeprefix("+"),
                text="Hi",
                message_id=f"P{n}",
            ),
        )
    await desk.drained()
    first = await desk.command("list all")
    assert "*13 case(s)* — page 1 of 2" in first and "add `page:2`" in first
    second = await desk.command("list all page:2")
    assert "page 2 of 2" in second and second.count("• <") == 3
    # A search pages the same way: the ten new numbers and Bob's hold "4474001".
    found = await desk.command("search 4474001 page:2")
    assert "*11 case(s)* — page 2 of 2" in found and found.count("• <") == 1


@pytest.mark.parametrize(
    "command, answer",
    [
        ("search", "Usage: `/smschat search"),
        ("search nobody-like-this", "No case matches."),
        ("search #2 status:open", "No case matches."),
        ("list status:maybe", "`status:maybe` is not a filter"),
    ],
    ids=["no-query", "no-match", "ref-filtered-out", "bad-filter"],
)
async def test_bad_or_empty_searches_are_answered(desk, command, answer) -> None:
    assert (await desk.command(command)).startswith(answer)


async def test_the_search_index_follows_contacts_as_they_change(desk: LiveBridge) -> None:
    """On SQLite the search reads a full-text index kept up by triggers: after a rename or a
    new email, and for short or odd queries, it must find what the tables hold."""
    assert "|#2>" in await desk.command("search mo")  # under three letters: no trigram
    async with desk.bridge.store.unit() as unit:
        await unit.contacts.name("+" + BOB, name="Robert 100%_Smith", label="Mobile")
    assert "No case matches" in await desk.command("search bob")
    assert "|#1>" in await desk.command("search robert")
    assert "|#1>" in await desk.command("search 100%_")
    assert "No case matches" in await desk.command("search 100x")  # % and _ are not wildcards
    async with desk.bridge.store.unit() as unit:
        await unit.contacts.upsert(
            ContactDetails(
                numbers=[LabelledNumber(PhoneNumber("+" + CAROL))], email="carol@clinic.example"
            )
        )
    assert "|#3>" in await desk.command("search clinic")
