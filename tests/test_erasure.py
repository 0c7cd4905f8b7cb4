"""Deleting a case and erasing a person: the bot's posts go from Slack (the header left a
tombstone), the store forgets (an audit row keeps who, when and which case), an erased
number's STOP is still honoured, and the retention period erases old closed cases."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bridge import texts
from bridge.fakes.clock import ShiftedClock
from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.routing.erasure import export_person
from bridge.slack import blocks
from bridge.store.models import Case, CaseMessage, Contact, ContactNumber, Message, OptOut, SentPart
from bridge.store.models_controls import CaseErasure, ErasedOptOut
from tests.bridge_process import until
from tests.conftest import ADMIN, INBOX, OUR_NUMBER, STAFF, LiveBridge

CHECKOUT = Path(__file__).resolve().parents[1]
CONTACT = "+447700900123"
_ids = itertools.count(1)


async def text(live: LiveBridge, words: str, sender: str = CONTACT) -> None:
    params = sms_inbound_params(
        msisdn=sender[1:], to=OUR_NUMBER[1:], text=words, message_id=f"E{next(_ids):07d}"
    )
    assert (await live.vonage_webhook("/vonage/inbound", params)).status == 200
    await live.drained()


async def count(live: LiveBridge, table: type, *where: object) -> int:
    async with live.bridge.db.reading() as session:
        return await session.scalar(select(func.count()).select_from(table).where(*where))


def header_of(live: LiveBridge, case_id: int) -> dict:
    return next(m for m in live.slack.messages(INBOX) if f"#{case_id}" in m["text"])


async def test_an_admin_deletes_a_case_and_the_bots_posts_go(live: LiveBridge) -> None:
    await text(live, "Hello, my results?")
    header = header_of(live, 1)
    assert (await live.staff_reply(header["ts"], "They are ready")).status == 200
    assert await live.command("close #1") == "Closed case #1."
    await live.drained()
    bot_replies = [m["ts"] for m in live.slack.thread(INBOX, header["ts"])[1:] if m.get("bot_id")]
    assert len(bot_replies) == 1  # the closing note: the contact's text is in the header

    assert (await live.press(blocks.DELETE, 1, user=STAFF)).status == 200
    await live.drained()
    told = [c.params["text"] for c in live.slack.calls("chat.postEphemeral")]
    assert told[-1] == texts.DELETE_ADMINS_ONLY
    assert await count(live, Case) == 1 and not live.slack.calls("chat.delete")

    assert (await live.press(blocks.DELETE, 1, user=ADMIN)).status == 200
    await live.drained()
    deleted = [c.params["ts"] for c in live.slack.calls("chat.delete")]
    assert sorted(deleted) == sorted(bot_replies)
    thread = live.slack.thread(INBOX, header["ts"])
    assert [m["text"] for m in thread[1:]] == ["They are ready"]  # staff replies stay
    tombstone = thread[0]
    assert tombstone["text"].startswith(":wastebasket: Case #1 was deleted on")
    assert "Hello" not in json.dumps(tombstone) and "actions" not in json.dumps(tombstone)
    for table in (Case, Message, CaseMessage, SentPart):
        assert await count(live, table) == 0, table.__tablename__
    async with live.bridge.db.reading() as session:
        audit = (await session.scalars(select(CaseErasure))).one()
    assert (audit.case_id, audit.erased_by, audit.cause) == (1, ADMIN, "deleted")


async def test_an_erased_person_is_gone_and_their_stop_is_still_honoured(
    live: LiveBridge,
) -> None:
    await text(live, "Hello")
    await text(live, "STOP")
    preview = await live.command(f"erase {CONTACT}", user=ADMIN)
    assert preview.startswith("Erasing +44 7700 900123 would remove: cases 1, messages 3")
    assert await count(live, Case) == 1  # a preview changes nothing
    assert await live.command(f"erase {CONTACT} confirm") == texts.DELETE_ADMINS_ONLY

    done = await live.command("erase +44 7700 900123 confirm", user=ADMIN)
    assert done.startswith("Erased +44 7700 900123: cases 1, messages 3")
    assert "opt outs hashed 1" in done
    await live.drained()
    for table, where in (
        (Contact, ()),
        (ContactNumber, ()),
        (Case, ()),
        (Message, (Message.contact_number == CONTACT,)),
        (OptOut, ()),
    ):
        assert await count(live, table, *where) == 0, table.__tablename__
    async with live.bridge.db.reading() as session:
        kept = (await session.scalars(select(ErasedOptOut))).one()
    assert CONTACT not in kept.number_hash and CONTACT[1:] not in kept.number_hash
    assert await export_person(live.bridge.store, CONTACT) is None

    sends = len(live.vonage.sends)
    await text(live, "Hello again")
    assert ":no_bell: open, opted out of texts" in json.dumps(header_of(live, 2)["blocks"])
    assert (await live.staff_reply(header_of(live, 2)["ts"], "Welcome back")).status == 200
    await live.drained()
    assert len(live.vonage.sends) == sends  # STOP still honoured

    await text(live, "START")
    assert await count(live, ErasedOptOut) == 0  # opting back in lifts the kept opt-out too


async def contacts_command(database_url: str, *args: str, cwd: Path) -> tuple[int, str]:
    """`python -m bridge contacts ARGS` with only DATABASE_URL set."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bridge",
        "contacts",
        *args,
        env={
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(CHECKOUT),
            "DATABASE_URL": database_url,
        },
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


# The command line runs the erasure the Slack command runs (tested on both stores above):
# one store is enough to show the commands themselves.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_contacts_export_and_erase_on_the_command_line(
    live: LiveBridge, database_url: str, tmp_path: Path
) -> None:
    await text(live, "Please call me back")
    status, out = await contacts_command(database_url, "export", CONTACT, cwd=tmp_path)
    assert status == 0
    about = json.loads(out)
    assert about["contact"]["numbers"] == [{"number": CONTACT, "label": "Mobile"}]
    assert [m["text"] for m in about["messages"]] == ["Please call me back"]
    assert [c["id"] for c in about["cases"]] == [1]

    status, out = await contacts_command(database_url, "erase", CONTACT, cwd=tmp_path)
    # Jobs: the done ones too, which held what they posted.
    assert status == 0 and out.startswith(f"{CONTACT}: removed cases 1, messages 1, jobs")
    assert out.strip().endswith("contacts 1, numbers 1")
    # The running bridge's work: the header (which showed the text) becomes a tombstone.
    await until(
        lambda: any(":wastebasket:" in c.params["text"] for c in live.slack.calls("chat.update"))
    )
    assert await export_person(live.bridge.store, CONTACT) is None


async def test_closed_cases_past_the_retention_period_are_erased_daily(start_live) -> None:
    clock = ShiftedClock()
    live = await start_live(clock=clock, RETENTION_DAYS="30")
    await text(live, "Old business")
    assert await live.command("close #1") == "Closed case #1."
    await text(live, "Still talking", sender="+447700900456")
    await live.drained()
    clock.advance(timedelta(days=29))
    await live.drained()
    assert await count(live, Case) == 2  # not old enough yet

    clock.advance(timedelta(days=2))
    await live.drained()
    async with live.bridge.db.reading() as session:
        left = list(await session.scalars(select(Case.id)))
        audit = list(await session.scalars(select(CaseErasure.cause)))
    assert left == [2]  # the open case stays, however old
    assert audit == ["retention"]
    assert header_of(live, 1)["text"].startswith(":wastebasket: Case #1 was deleted")
