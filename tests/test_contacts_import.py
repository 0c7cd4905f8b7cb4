"""`contacts import`: a CSV file becomes contacts, row by row, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bridge.domain.contacts import ContactDetails, LabelledNumber
from bridge.domain.values import PhoneNumber
from bridge.errors import InvalidInput
from bridge.routing.contacts_import import ImportReport, Refusal, import_contacts
from bridge.store.contacts import SqlContacts
from bridge.store.db import Database
from bridge.store.models import Contact
from bridge.store.unit import Store

BOB, BOB_WORK, ALICE, CAROL, DAN = (
    "+447400123401",
    "+442079460001",
    "+447400123402",
    "+447400123403",
    "+447400123404",
)


def csv(*lines: str, bom: bool = False) -> bytes:
    return ("\ufeff" if bom else "").encode() + "\r\n".join(lines).encode() + b"\r\n"


async def directory(db: Database) -> list[dict[str, Any]]:
    """Every stored contact, as plain values in id order."""
    async with db.reading() as session:
        contacts = (await session.scalars(select(Contact).order_by(Contact.id))).all()
        return [
            {
                "name": c.name,
                "email": c.email,
                "notes": c.notes,
                "properties": c.properties,
                "numbers": [(n.number, n.label) for n in c.numbers],
            }
            for c in contacts
        ]


async def add_contact(db: Database, name: str, *numbers: str) -> None:
    async with db.transaction() as session:
        await SqlContacts(session).upsert(
            ContactDetails(
                numbers=[LabelledNumber(PhoneNumber(n)) for n in numbers],
                name=name,
                email=f"{name.lower()}@example.org",
            )
        )


async def test_new_rows_become_contacts(db: Database) -> None:
    report = await import_contacts(
        Store(db),
        csv(
            "name,number,label,email,notes,Company,Tier",
            "Bob Smith,07400 123401,mobile,bob@example.org,Prefers texts,Acme,gold",
            'Alice,+44 7400 123402,Desk phone,,"Night shift, call after 6",,',
            "Carol,(07400) 123-403,,,,Initech,",
        ),
        default_region="GB",
    )

    assert report == ImportReport(imported=[2, 3, 4])
    assert await directory(db) == [
        {
            "name": "Bob Smith",
            "email": "bob@example.org",
            "notes": "Prefers texts",
            "properties": {"Company": "Acme", "Tier": "gold"},
            "numbers": [(BOB, "Mobile")],
        },
        {
            "name": "Alice",
            "email": None,
            "notes": "Night shift, call after 6",
            "properties": {},
            "numbers": [(ALICE, "Desk phone")],
        },
        {
            "name": "Carol",
            "email": None,
            "notes": None,
            "properties": {"Company": "Initech"},
            "numbers": [(CAROL, "Mobile")],
        },
    ]


async def test_a_row_matching_any_number_updates_that_contact(db: Database) -> None:
    await import_contacts(
        Store(db),
        csv(
            "number,label,number2,label2,name,email,notes,Company,Tier",
            f"{BOB},Mobile,{BOB_WORK},Work,Bob,bob@example.org,Old note,Acme,silver",
        ),
        default_region=None,
    )

    # Matched by his second number; a new third number; empty cells keep what is stored.
    report = await import_contacts(
        Store(db),
        csv(
            "phone,label,phone2,name,email,notes,Tier,Since",
            f"{BOB_WORK},Office,{DAN},Robert Smith,,New note,gold,2019",
        ),
        default_region=None,
    )

    assert report == ImportReport(updated=[2])
    assert await directory(db) == [
        {
            "name": "Robert Smith",
            "email": "bob@example.org",
            "notes": "New note",
            "properties": {"Company": "Acme", "Tier": "gold", "Since": "2019"},
            "numbers": [(BOB, "Mobile"), (BOB_WORK, "Office"), (DAN, "Mobile")],
        }
    ]


async def test_a_number_seen_first_by_sms_is_named_by_the_import(db: Database) -> None:
    async with Store(db).unit() as unit:
        await unit.contacts.holder(PhoneNumber(ALICE))

    report = await import_contacts(
        Store(db), csv("number,label,name", f"{ALICE},Home,Alice"), default_region=None
    )

    assert report == ImportReport(updated=[2])
    [alice] = await directory(db)
    assert (alice["name"], alice["numbers"]) == ("Alice", [(ALICE, "Home")])


async def test_rows_repeating_a_number_in_one_file_update_the_first(db: Database) -> None:
    report = await import_contacts(
        Store(db),
        csv("number;name;email", f"{CAROL};Carol;", f"{CAROL};;carol@example.org"),
        default_region=None,
    )

    assert report == ImportReport(imported=[2], updated=[3])
    [carol] = await directory(db)
    assert (carol["name"], carol["email"]) == ("Carol", "carol@example.org")


async def test_a_number_held_by_another_contact_refuses_the_row(db: Database) -> None:
    await add_contact(db, "Bob", BOB)
    await add_contact(db, "Alice", ALICE)
    before = await directory(db)

    report = await import_contacts(
        Store(db),
        csv(
            "number,number2,number3,name",
            # Bob's number, a new one, and Alice's: none of it may be stored.
            f"{BOB},{DAN},{ALICE},Bob and Alice",
            f"{CAROL},,,Carol",
        ),
        default_region=None,
    )

    assert report.imported == [3]
    assert report.refused == [
        Refusal(2, f"{ALICE} already belongs to another contact (#2 Alice)"),
    ]
    after = await directory(db)
    assert after[:2] == before
    assert [c["name"] for c in after] == ["Bob", "Alice", "Carol"]
    async with db.reading() as session:
        assert await SqlContacts(session).find_by_number(PhoneNumber(DAN)) is None


async def test_bad_numbers_and_emails_refuse_their_rows_only(db: Database) -> None:
    report = await import_contacts(
        Store(db),
        csv(
            "number,name,email",
            "07400 123401,Bob,bob@example.org",
            "12,Tiny,",
            "0800 FLOWERS,Florist,",
            "07400 123402,Alice,alice(at)example.org",
            "+44 7400 123403,Carol,carol@example",
            "+999 1234 5678,Nowhere,",
            "07400 123404,Dan,dan@example.org",
        ),
        default_region="GB",
    )

    assert report.imported == [2, 8]
    assert report.updated == []
    assert report.refused == [
        Refusal(3, "number: '12' is too short to be a phone number"),
        Refusal(4, "number: '0800 FLOWERS' is not a phone number: it contains letters"),
        Refusal(5, "email 'alice(at)example.org' does not look like an email address"),
        Refusal(6, "email 'carol@example' does not look like an email address"),
        Refusal(7, "number: '+999 1234 5678' starts with an unknown country code"),
    ]
    assert [c["name"] for c in await directory(db)] == ["Bob", "Dan"]


REFUSED_ROWS = [
    # (label, header, row, reason)
    ("no number", "number,name", ",Nobody", "no phone number"),
    (
        "national number without a region",
        "number,name",
        "07400 123401,Bob",
        "number: '07400 123401' has no country code",
    ),
    ("name too long", "number,name", f"{BOB},{'x' * 201}", "name is longer than 200 characters"),
    (
        "label too long",
        "number,label",
        f"{BOB},{'x' * 41}",
        "label is longer than 40 characters",
    ),
    (
        "label without its number",
        "number,number2,label2",
        f"{BOB},,Work",
        "label2 is given but number2 is empty",
    ),
    (
        "the same number twice",
        "number,number2",
        f"{BOB},+44 (0)7400 123401",
        f"number2 repeats {BOB} of number",
    ),
    ("more cells than columns", "number,name", f"{BOB},Bob,extra", "has 3 cells where"),
    (
        "every reason at once",
        "Phone,Name,E-mail,Email",
        f"+44 7400,{'x' * 201},,bob@",
        "Phone: '+44 7400' is too short to be a phone number; Name is longer than 200 characters; "
        "Email 'bob@' does not look like an email address",
    ),
]


@pytest.mark.parametrize(
    ("header", "row", "reason"),
    [case[1:] for case in REFUSED_ROWS],
    ids=[case[0] for case in REFUSED_ROWS],
)
async def test_refused_rows(db: Database, header: str, row: str, reason: str) -> None:
    report = await import_contacts(Store(db), csv(header, row), default_region=None)

    assert report.imported == report.updated == []
    [refusal] = report.refused
    assert refusal.row == 2
    assert reason in refusal.reason
    assert await directory(db) == []


REFUSED_FILES = [
    # (label, file, reason)
    (
        "no number column",
        csv("name,mobile,email", f"Bob,{BOB},bob@example.org"),
        "has no 'number' (or 'phone') column; its header row names: 'name', 'mobile', 'email'",
    ),
    ("number and phone", csv("number,phone", f"{BOB},{ALICE}"), "'number' and 'phone'"),
    ("a column twice", csv("number,Name,name", f"{BOB},Bob,Bobby"), "'Name' and 'name'"),
    ("a label for no number", csv("number,label3", f"{BOB},Work"), "'label3' column without"),
    ("empty", b"", "is empty"),
    ("blank lines only", b"\r\n  \r\n", "is empty"),
    ("not UTF-8", "number,name\n+447400123401,Zoë\n".encode("latin-1"), "is not UTF-8"),
    ("UTF-16", "number,name\n+447400123401,Bob\n".encode("utf-16-le"), "NUL characters"),
    ("a NUL byte", b"number,name\n+447400123401,Bo\x00b\n", "NUL characters"),
]


@pytest.mark.parametrize(
    ("data", "reason"),
    [case[1:] for case in REFUSED_FILES],
    ids=[case[0] for case in REFUSED_FILES],
)
async def test_a_file_refused_as_a_whole_stores_nothing(
    db: Database, data: bytes, reason: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await import_contacts(Store(db), data, default_region="GB")

    assert reason in caught.value.reason
    assert await directory(db) == []


@pytest.mark.parametrize("bom", [False, True], ids=["plain", "BOM"])
@pytest.mark.parametrize("delimiter", [",", ";"], ids=["comma", "semicolon"])
async def test_delimiter_and_byte_order_mark(db: Database, delimiter: str, bom: bool) -> None:
    lines = [
        ["Number", "Name", "Notes", "City"],
        ["07400 123401", "Bob", '"Smith; Bob, Jr."', "Leeds"],
    ]
    data = csv(*(delimiter.join(cells) for cells in lines), bom=bom)

    report = await import_contacts(Store(db), data, default_region="GB")

    assert report == ImportReport(imported=[2])
    assert await directory(db) == [
        {
            "name": "Bob",
            "email": None,
            "notes": "Smith; Bob, Jr.",
            "properties": {"City": "Leeds"},
            "numbers": [(BOB, "Mobile")],
        }
    ]


async def test_several_numbers_in_one_row(db: Database) -> None:
    report = await import_contacts(
        Store(db),
        csv(
            "name;phone;label;phone 2;label 2;number_3;label_3;number4",
            "Bob;07400 123401;HOME;020 7946 0001;Work;+44 7400 123404;Boat;",
        ),
        default_region="GB",
    )

    assert report == ImportReport(imported=[2])
    [bob] = await directory(db)
    assert bob["numbers"] == [(BOB, "Home"), (BOB_WORK, "Work"), (DAN, "Boat")]


async def test_row_numbers_are_the_lines_a_spreadsheet_shows(db: Database) -> None:
    data = csv(
        "number,notes",
        f"{BOB},",
        "",
        f'{ALICE},"two',
        'lines"',
        "12,",
    )

    report = await import_contacts(Store(db), data, default_region=None)

    assert report.imported == [2, 4]
    assert [r.row for r in report.refused] == [6]


# -- the command ---------------------------------------------------------------------------


def run_import(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m bridge contacts import ...` with no Slack or Vonage settings at all."""
    return subprocess.run(
        [sys.executable, "-m", "bridge", "contacts", "import", *args],
        env={
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'contacts.db'}",
            **env,
        },
        cwd=tmp_path,  # no stray .env
        capture_output=True,
        text=True,
        timeout=60,
    )


def stored(tmp_path: Path) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'contacts.db'}")
        try:
            return await directory(db)
        finally:
            await db.close()

    return asyncio.run(read())


def test_command_imports_then_updates(tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").write_bytes(
        csv("name;number;label", "Bob;07400 123401;Mobile", "Alice;07400 123402;Work", bom=True)
    )

    first = run_import(tmp_path, "contacts.csv", "--default-region", "GB")
    again = run_import(tmp_path, "contacts.csv", DEFAULT_REGION="gb")

    assert (first.returncode, first.stdout) == (
        0,
        "2 imported (new contacts), 0 updated, 0 refused\n",
    )
    assert (again.returncode, again.stdout) == (
        0,
        "0 imported (new contacts), 2 updated, 0 refused\n",
    )
    assert [(c["name"], c["numbers"]) for c in stored(tmp_path)] == [
        ("Bob", [(BOB, "Mobile")]),
        ("Alice", [(ALICE, "Work")]),
    ]


def test_command_reports_refused_rows(tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").write_bytes(
        csv("number,name,email", f"{BOB},Bob,", "12,Tiny,", f"{ALICE},Alice,alice@nowhere")
    )

    done = run_import(tmp_path, "contacts.csv", "--default-region", "GB")

    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "1 imported (new contacts), 0 updated, 2 refused",
        "row 3: number: '12' is too short to be a phone number",
        "row 4: email 'alice@nowhere' does not look like an email address",
    ]
    assert [c["name"] for c in stored(tmp_path)] == ["Bob"]


def test_command_refuses_a_file_without_a_number_column(tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").write_bytes(csv("name,mobile", f"Bob,{BOB}"))

    done = run_import(tmp_path, "contacts.csv")

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "smschat-bridge: contacts.csv has no 'number' (or 'phone') column; its header row "
        "names: 'name', 'mobile'; nothing was imported"
    ]
    assert not (tmp_path / "contacts.db").exists()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["missing.csv"], {}, "smschat-bridge: cannot read missing.csv: No such file or directory"),
        (["."], {}, "smschat-bridge: cannot read .: Is a directory"),
        (
            ["contacts.csv"],
            {"DEFAULT_REGION": "UK"},
            "smschat-bridge: configuration error: DEFAULT_REGION: 'UK' is not a region code "
            "such as GB or US (ISO 3166 alpha-2)",
        ),
        (
            ["contacts.csv"],
            {"DATABASE_URL": "mysql://db/contacts"},
            "smschat-bridge: configuration error: DATABASE_URL: expected "
            "sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db",
        ),
        (
            ["contacts.csv", "--default-region", "UK"],
            {},
            "smschat-bridge contacts import: error: argument --default-region: 'UK' is not a "
            "region code such as GB or US (ISO 3166 alpha-2)",
        ),
    ],
    ids=["missing file", "a directory", "bad DEFAULT_REGION", "bad DATABASE_URL", "bad option"],
)
def test_command_cannot_start(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    (tmp_path / "contacts.csv").write_bytes(csv("number", BOB))

    done = run_import(tmp_path, *args, **env)

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines()[-1] == message
    assert not (tmp_path / "contacts.db").exists()


async def test_a_number_taken_by_a_concurrent_writer_refuses_the_row(db: Database) -> None:
    """Between the look-up and the insert another instance stores the number (PostgreSQL;
    SQLite never gets there, as its writers run one at a time)."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE)")

    class Interleaved(SqlContacts):
        async def _add_number(self, contact_id: int, entry: LabelledNumber) -> None:
            if entry.number == ALICE:
                await add_contact(db, "Alice", ALICE)  # commits in a transaction of its own
            await super()._add_number(contact_id, entry)

    with pytest.raises(InvalidInput, match=re.escape(f"{ALICE} was given to another contact")):
        async with db.transaction() as session:
            await Interleaved(session).upsert(
                ContactDetails(
                    numbers=[LabelledNumber(PhoneNumber(BOB)), LabelledNumber(PhoneNumber(ALICE))],
                    name="Bob",
                )
            )

    assert [(c["name"], c["numbers"]) for c in await directory(db)] == [
        ("Alice", [(ALICE, "Mobile")])
    ]
