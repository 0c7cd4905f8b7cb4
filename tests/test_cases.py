"""Case lifecycle, #ref routing, assignment and naming contacts, through Slack's wire format."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bridge.domain.contacts import ContactDetails, LabelledNumber
from bridge.domain.values import PhoneNumber
from bridge.fakes.clock import ShiftedClock
from bridge.fakes.reading import header_field, shown_texts
from bridge.fakes.slack_payloads import (
    block_actions_payload,
    interaction_form,
    message_action_payload,
    message_event,
    view_submission_payload,
)
from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.routing.threads import HEADER_REDRAW_EVERY
from bridge.slack import blocks
from bridge.store.models import Contact
from tests.conftest import INBOX, OUR_NUMBER, STAFF, LiveBridge

CONTACT = "447700900123"
US = OUR_NUMBER.removeprefix("+")
MANAGER = "U0MANAGER"


async def text(live: LiveBridge, words: str, mid: str) -> None:
    params = sms_inbound_params(msisdn=CONTACT, to=US, text=words, message_id=mid)
    assert (await live.vonage_webhook("/vonage/inbound", params)).status == 200


def headers(live: LiveBridge) -> list[dict]:
    return [m for m in live.slack.messages(INBOX) if m.get("blocks")]


def latest_header_blocks(live: LiveBridge, case_id: int) -> str:
    header = next(m for m in headers(live) if f"#{case_id}" in m["text"])
    return json.dumps(header["blocks"], ensure_ascii=False)


def thread_texts(live: LiveBridge, case_id: int) -> list[str]:
    """The texts a case's header shows, then each reply's text."""
    header = next(m for m in headers(live) if f"#{case_id}" in m["text"])
    replies = [m["text"] for m in live.slack.thread(INBOX, header["ts"]) if m is not header]
    return shown_texts([header]) + replies


async def test_close_by_command_then_the_next_text_opens_a_new_linked_case(live) -> None:
    await text(live, "First matter", "T1")
    await live.drained()
    assert await live.command("close #1") == "Closed case #1."
    await live.drained()
    assert any("Case closed by" in t for t in thread_texts(live, 1))
    assert "closed" in latest_header_blocks(live, 1)
    assert blocks.REOPEN in latest_header_blocks(live, 1)

    await text(live, "Something new", "T2")
    await live.drained()
    assert len(headers(live)) == 2
    assert "Previous case" in latest_header_blocks(live, 2)
    assert thread_texts(live, 2) == ["Something new"]
    assert "Something new" not in thread_texts(live, 1)


@pytest.mark.parametrize(
    "command, answer",
    [
        ("close #99", "There is no case #99."),
        ("close twelve", "Expected a case reference such as #12, not twelve."),
        ("reopen #1", "Case #1 is already open."),
        ("assign #1 someone", "Expected `me`, `nobody` or a person"),
        ("frobnicate", "`frobnicate` is not a `/smschat` command."),
        ("", "*`/smschat` commands*"),
    ],
    ids=["unknown-case", "bad-ref", "reopen-open", "bad-assignee", "unknown-verb", "help"],
)
async def test_bad_commands_are_answered_and_change_nothing(live, command, answer) -> None:
    await text(live, "Hello", "B1")
    await live.drained()
    assert (await live.command(command)).startswith(answer)
    await live.drained()
    assert live.slack.calls("chat.update") == []


async def test_closing_a_closed_case_by_button_tells_the_presser(live: LiveBridge) -> None:
    await text(live, "Hello", "C1")
    await live.drained()
    assert await live.command("close #1") == "Closed case #1."
    response = await live.press(blocks.CLOSE, 1)
    assert response.status == 200
    told = await live.slack.wait_for("chat.postEphemeral")
    assert (
        told[0].params["text"] == "Case #1 is already closed." and told[0].params["user"] == STAFF
    )


async def test_reopen_by_button_and_a_ref_routes_to_one_of_two_open_cases(live) -> None:
    await text(live, "First matter", "R1")
    await live.drained()
    await live.command("close #1")
    await text(live, "Second matter", "R2")
    await live.drained()
    assert (await live.press(blocks.REOPEN, 1)).status == 200
    await live.drained()
    assert any("reopened" in t for t in thread_texts(live, 1))

    await text(live, "About #1: all good", "R3")
    await text(live, "To everyone", "R4")
    await live.drained()
    assert "About #1: all good" in thread_texts(live, 1)
    assert "About #1: all good" not in thread_texts(live, 2)
    assert "To everyone" in thread_texts(live, 1) and "To everyone" in thread_texts(live, 2)


async def test_assignment_shows_in_the_header_and_tells_the_assignee(live) -> None:
    live.slack.add_user(MANAGER, "maria", display_name="Maria")
    await text(live, "Hello", "A1")
    await live.drained()
    response = await live.press(blocks.ASSIGN_TO, 1, type="users_select", selected_user=MANAGER)
    assert response.status == 200
    await live.drained()
    assert f"<@{MANAGER}>" in latest_header_blocks(live, 1)
    dm = [c for c in live.slack.calls("chat.postMessage") if c.params["channel"].startswith("D")]
    assert len(dm) == 1 and "assigned SMS case #1 to you" in dm[0].params["text"]

    assert await live.command("assign #1 me") == f"Case #1 is now assigned to <@{STAFF}>."
    assert await live.command("assign #1 nobody") == "Case #1 is now assigned to nobody."
    await live.drained()
    assert "nobody" in latest_header_blocks(live, 1)


def unread_in_header(live: LiveBridge, case_id: int) -> int:
    header = next(m for m in headers(live) if f"#{case_id}" in m["text"])
    return int(header_field(header, "Unread").removeprefix("*Unread*\n"))


async def test_a_burst_of_texts_redraws_the_header_once_and_holds_no_text_back(
    start_live,
) -> None:
    clock = ShiftedClock()
    live = await start_live(clock=clock)
    await text(live, "First", "B0")
    await live.drained()
    for n in range(1, 6):
        await text(live, f"More {n}", f"B{n}")
        await live.drained()

    assert thread_texts(live, 1) == ["First"] + [f"More {n}" for n in range(1, 6)]
    # Redrawn for the first text after the header, then not again within the spacing.
    assert len(live.slack.calls("chat.update")) == 1
    assert unread_in_header(live, 1) == 2

    clock.advance(HEADER_REDRAW_EVERY)
    await live.drained()
    assert len(live.slack.calls("chat.update")) == 2
    assert unread_in_header(live, 1) == 6


async def test_an_assignment_shows_at_once_while_a_redraw_for_texts_waits(start_live) -> None:
    clock = ShiftedClock()
    live = await start_live(clock=clock)
    live.slack.add_user(MANAGER, "maria", display_name="Maria")
    for n, words in enumerate(["First", "Second", "Third"]):
        await text(live, words, f"W{n}")
        await live.drained()
    assert unread_in_header(live, 1) == 2  # the third text's redraw waits

    response = await live.press(blocks.ASSIGN_TO, 1, type="users_select", selected_user=MANAGER)
    assert response.status == 200
    await live.drained()
    assert f"<@{MANAGER}>" in latest_header_blocks(live, 1)
    assert unread_in_header(live, 1) == 3  # the redraw that waited drew the text too
    assert len(live.slack.calls("chat.update")) == 2

    clock.advance(HEADER_REDRAW_EVERY)
    await live.drained()
    assert len(live.slack.calls("chat.update")) == 2  # nothing was left waiting


@pytest.mark.parametrize(
    "written",
    [f"<@{MANAGER}|maria>", f"<@{MANAGER}>"],
    ids=["escaped-with-name", "escaped-id-only"],
)
async def test_assign_takes_a_mention_as_an_escaped_command_carries_it(live, written) -> None:
    live.slack.add_user(MANAGER, "maria", display_name="Maria")
    await text(live, "Hello", "A2")
    await live.drained()
    answer = await live.command(f"assign #1 {written}")
    assert answer == f"Case #1 is now assigned to <@{MANAGER}>."


@pytest.mark.parametrize(
    "written", ["@maria", "<@U" + "X" * 40 + ">", "<@someone>"], ids=["plain", "too-long", "bad"]
)
async def test_assign_refuses_what_names_nobody_and_says_why(live, written) -> None:
    await text(live, "Hello", "A3")
    await live.drained()
    answer = await live.command(f"assign #1 {written}")
    expected = "should_escape: true" if written == "@maria" else "Expected `me`, `nobody`"
    assert expected in answer
    await live.drained()
    assert live.slack.calls("chat.update") == []


async def test_add_contact_names_the_number_in_every_header(live: LiveBridge) -> None:
    await text(live, "Hi, it's Bob", "N1")
    await live.drained()
    assert blocks.ADD_CONTACT in latest_header_blocks(live, 1)
    assert (await live.press(blocks.ADD_CONTACT, 1)).status == 200
    opened = await live.slack.wait_for("views.open")
    view = (
        json.loads(opened[0].params["view"])
        if isinstance(opened[0].params["view"], str)
        else opened[0].params["view"]
    )

    empty = view_submission_payload(
        user=STAFF,
        view=view,
        values={
            "name": {"name": {"type": "plain_text_input", "value": "  "}},
            "label": {"label": {"type": "static_select", "selected_option": None}},
        },
    )
    refused = await live.signed_form(interaction_form(empty))
    assert (await refused.json())["errors"] == {"name": "Give the contact a name."}

    filled = view_submission_payload(
        user=STAFF,
        view=view,
        values={
            "name": {"name": {"type": "plain_text_input", "value": "Bob Smith"}},
            "label": {
                "label": {
                    "type": "static_select",
                    "selected_option": {
                        "text": {"type": "plain_text", "text": "Work"},
                        "value": "Work",
                    },
                }
            },
        },
    )
    assert (await live.signed_form(interaction_form(filled))).status == 200
    await live.drained()
    assert "Bob Smith – Work" in latest_header_blocks(live, 1)
    assert blocks.ADD_CONTACT not in latest_header_blocks(live, 1)
    async with live.bridge.db.reading() as session:
        names = list(await session.scalars(select(Contact.name)))
    assert names == ["Bob Smith"]


def opened_view(call) -> dict:
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else view


async def test_moving_a_text_opens_a_case_of_its_own_with_the_comment(live) -> None:
    await text(live, "About my appointment", "V1")
    await live.drained()  # the header shows the first text; the second gets a post of its own
    await text(live, "Also, my neighbour needs help", "V2")
    await live.drained()
    header = headers(live)[0]
    unrelated = next(
        m
        for m in live.slack.thread(INBOX, header["ts"])
        if m["text"] == "Also, my neighbour needs help"
    )
    shortcut = message_action_payload(
        callback_id="move_to_new_case", user=STAFF, channel=INBOX, message=unrelated
    )
    assert (await live.signed_form(interaction_form(shortcut))).status == 200
    view = opened_view((await live.slack.wait_for("views.open"))[0])
    submitted = view_submission_payload(
        user=STAFF,
        view=view,
        values={
            "comment": {"comment": {"type": "plain_text_input", "value": "Neighbour: call back"}},
        },
    )
    assert (await live.signed_form(interaction_form(submitted))).status == 200
    await live.drained()
    assert len(headers(live)) == 2
    assert "Also, my neighbour needs help" in thread_texts(live, 2)
    assert any("Neighbour: call back" in t for t in thread_texts(live, 2))
    assert any("moved a text from this case to case #2" in t for t in thread_texts(live, 1))
    assert "Previous case" in latest_header_blocks(live, 2)


async def test_a_staff_message_cannot_be_moved(live: LiveBridge) -> None:
    await text(live, "Hello", "W1")
    await live.drained()
    header = headers(live)[0]
    await live.staff_reply(header["ts"], "Hi, how can we help?")
    await live.vonage.wait_for_sends(1)
    mine = next(m for m in live.slack.thread(INBOX, header["ts"]) if m.get("user") == STAFF)
    shortcut = message_action_payload(
        callback_id="move_to_new_case", user=STAFF, channel=INBOX, message=mine
    )
    assert (await live.signed_form(interaction_form(shortcut))).status == 200
    told = await live.slack.wait_for("chat.postEphemeral")
    assert "not a staff message" in told[0].params["text"]
    assert live.slack.calls("views.open") == []
    assert len(headers(live)) == 1


async def test_each_number_routes_to_its_channel_and_replies_go_from_it(start_live) -> None:
    second = "+447700900999"
    live = await start_live(
        VONAGE_NUMBERS=f"{OUR_NUMBER},{second}", NUMBER_CHANNELS=f"{second}=C0SECOND"
    )
    params = sms_inbound_params(
        msisdn=CONTACT, to=second.removeprefix("+"), text="Hi", message_id="X1"
    )
    await live.vonage_webhook("/vonage/inbound", params)
    await live.drained()
    posts = live.slack.calls("chat.postMessage")
    assert {p.params["channel"] for p in posts} == {"C0SECOND"}
    header = live.slack.messages("C0SECOND")[0]
    posted = await live.slack.post_as_user("C0SECOND", STAFF, "Hello", thread_ts=header["ts"])
    await live.slack_event(
        message_event("C0SECOND", STAFF, "Hello", posted["ts"], thread_ts=header["ts"])
    )
    sends = await live.vonage.wait_for_sends(1)
    assert sends[0].from_ == second.removeprefix("+") and sends[0].to == CONTACT


@pytest.mark.parametrize(
    "title, expected",
    [
        ("name", "Bob Smith – Mobile"),
        ("case_number", "CASE-0042 – Mobile"),
        ("missing", "+44 7700 900123"),
    ],
    ids=["name", "property", "property-absent"],
)
async def test_the_header_shows_the_chosen_contact_property(start_live, title, expected) -> None:
    live = await start_live(CASE_TITLE=title)
    async with live.bridge.store.unit() as unit:
        await unit.contacts.upsert(
            ContactDetails(
                numbers=[LabelledNumber(PhoneNumber("+" + CONTACT), "Mobile")],
                name="Bob Smith",
                properties={"case_number": "CASE-0042"},
            )
        )
    await text(live, "Hello", "Y1")
    await live.drained()
    assert latest_header_blocks(live, 1).count(expected) >= 1


@pytest.mark.parametrize(
    "command, to",
    [
        ("new +44 7400 123555 Your results are ready", "447400123555"),
        ("new 07400 123555 Your results are ready", "447400123555"),
        ("new Ada Lovelace Your results are ready", "447400123777"),
    ],
    ids=["international", "national-with-default-region", "contact-name"],
)
async def test_staff_can_start_a_conversation(start_live, command, to) -> None:
    live = await start_live(DEFAULT_REGION="GB")
    async with live.bridge.store.unit() as unit:
        await unit.contacts.name("+447400123777", name="Ada Lovelace", label="Mobile")
    answer = await live.command(command)
    assert answer == "Sending your text in case #1."
    sends = await live.vonage.wait_for_sends(1)
    assert (sends[0].to, sends[0].text) == (to, "Your results are ready (#1)")
    await live.drained()
    assert any("texted: Your results are ready" in t for t in thread_texts(live, 1))
    # The contact's answer lands in the same case.
    await live.vonage_webhook(
        "/vonage/inbound",
        sms_inbound_params(msisdn=to, to=US, text="Thanks!", message_id="Z1"),
    )
    await live.drained()
    assert "Thanks!" in thread_texts(live, 1) and len(headers(live)) == 1


async def test_from_picks_the_sending_number_and_the_case_is_that_numbers(start_live) -> None:
    live = await start_live(VONAGE_NUMBERS=f"{OUR_NUMBER},+447700900001")
    answer = await live.command("new from:+447700900001 +44 7400 123555 From the second")
    assert answer == "Sending your text in case #1."
    [sent] = await live.vonage.wait_for_sends(1)
    assert (sent.from_, sent.to) == ("447700900001", "447400123555")
    refused = await live.command("new from:+447700900999 +44 7400 123555 Not ours")
    assert refused.startswith("+447700900999 is not one of this bridge's numbers. Ours: +44")
    await live.drained()
    assert len(live.vonage.sends) == 1


async def test_a_possible_number_not_known_valid_is_texted_with_a_note(live) -> None:
    # +44 7700 900xxx is Ofcom's drama range: possible, never valid.
    answer = await live.command("new +44 7700 900123 Are you there?")
    assert answer.startswith("Sending your text in case #1. Note: '+44 7700 900123' is not a")
    assert "sent anyway" in answer
    [sent] = await live.vonage.wait_for_sends(1)
    assert sent.to == "447700900123"


async def test_a_number_that_texted_in_is_texted_back_without_a_doubt(live) -> None:
    await live.vonage_webhook(
        "/vonage/inbound",
        sms_inbound_params(msisdn="447700900123", to=US, text="Hello", message_id="K1"),
    )
    await live.drained()
    assert await live.command("new +44 7700 900123 Hi back") == "Sending your text in case #1."


@pytest.mark.parametrize(
    "command, answer",
    [
        ("new", None),
        ("new 12", "No contact matches"),
        ("new +44 7400 123555", "Usage: `/smschat new"),
        ("new +999 1234 5678 hi", "'+999 1234 5678' starts with an unknown country code"),
        ("new Nobody Known hello", "No contact matches"),
    ],
    ids=["form", "too-short", "no-text", "bad-number", "unknown-name"],
)
async def test_starting_a_conversation_refuses_bad_input(live, command, answer) -> None:
    result = await live.command(command)
    if answer is None:
        opened = await live.slack.wait_for("views.open")
        assert opened_view(opened[0])["callback_id"] == "new_conversation"
    else:
        assert answer in result
    await live.drained()
    assert live.vonage.sends == [] and headers(live) == []


async def test_the_new_conversation_form_counts_segments_and_sends(live: LiveBridge) -> None:
    assert await live.command("new") == ""
    await live.slack.wait_for("views.open")
    view = next(iter(live.slack.views.values()))  # as Slack holds it: with its id and hash
    typed = block_actions_payload(
        user=STAFF,
        channel=INBOX,
        message={"ts": "0"},
        action={
            "action_id": "new_message_typed",
            "block_id": "message",
            "type": "plain_text_input",
            "value": "Hello 😀",
        },
    ) | {"container": {"type": "view", "view_id": view["id"]}, "view": view}
    assert (await live.signed_form(interaction_form(typed))).status == 200
    updated = opened_view((await live.slack.wait_for("views.update"))[0])
    hint = next(b for b in updated["blocks"] if b["block_id"] == "message")["hint"]["text"]
    assert "1 SMS segment(s) · UCS-2" in hint and "😀" in hint

    submitted = view_submission_payload(
        user=STAFF,
        view=view,
        values={
            "to": {"to": {"type": "plain_text_input", "value": "+44 7400 123555"}},
            "from": {
                "from": {
                    "type": "static_select",
                    "selected_option": {
                        "text": {"type": "plain_text", "text": "x"},
                        "value": OUR_NUMBER,
                    },
                }
            },
            "message": {"new_message_typed": {"type": "plain_text_input", "value": "Hello 😀"}},
        },
    )
    assert (await live.signed_form(interaction_form(submitted))).status == 200
    sends = await live.vonage.wait_for_sends(1)
    assert sends[0].to == "447400123555" and sends[0].text == "Hello 😀 (#1)"
