"""`smschat-bridge export`: the messaging log of a store filled through a live bridge,
written by the command as a child process and read back as CSV and JSON Lines."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bridge.fakes.vonage_payloads import sms_inbound_params
from tests.conftest import INBOX, OUR_NUMBER, STAFF, LiveBridge

CHECKOUT = Path(__file__).resolve().parents[1]
BOB, CAROL = "447400123456", "447400555000"
ZONE = "America/New_York"
COLUMNS = [
    "id",
    "created_at",
    "direction",
    "status",
    "our_number",
    "contact_number",
    "contact_name",
    "cases",
    "author",
    "text",
    "source_text",
    "segments",
    "encoding",
    "error",
    "provider_message_id",
    "forwarded_from_id",
    "media_file",
    "media_type",
    "broadcast_id",
    "channel",
    "contact_email",
]
LONG_UNICODE = "Привет 👋🏽, ça va? 日本語のテキスト “quoted”, ok\n" * 40
QUOTED = 'He said "yes, at 10", then\r\nhung up'


async def export(
    database_url: str, *args: str, cwd: Path, time_zone: str = ZONE
) -> tuple[int, bytes, str]:
    """`python -m bridge export ARGS` with only DATABASE_URL and TIME_ZONE set."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bridge",
        "export",
        *args,
        env={
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(CHECKOUT),  # this checkout's code, from a folder with no .env
            "DATABASE_URL": database_url,
            "TIME_ZONE": time_zone,
        },
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out, err.decode()


async def inbound(live: LiveBridge, sender: str, words: str, *, at: datetime | None = None):
    params = sms_inbound_params(
        msisdn=sender, to=OUR_NUMBER.removeprefix("+"), text=words, timestamp=at
    )
    assert (await live.vonage_webhook("/vonage/inbound", params)).status == 200


def today() -> str:
    return f"{datetime.now(ZoneInfo(ZONE)):%Y-%m-%d}"


async def test_the_whole_log_comes_out_as_csv_and_json_lines(
    live: LiveBridge, database_url: str, tmp_path: Path
) -> None:
    await inbound(live, BOB, "Hi, is the clinic open?")
    await live.drained()
    async with live.bridge.store.unit() as unit:
        await unit.contacts.name(
            "+" + BOB, name='=HYPERLINK("http://evil.example")', label="Mobile"
        )
    thread = live.slack.messages(INBOX)[0]["ts"]
    await live.staff_reply(thread, "-5% if you come today")
    await live.vonage.wait_for_sends(1)
    await live.staff_reply(thread, "// @here he is a regular")
    await inbound(live, BOB, "=1+2")
    await inbound(live, BOB, LONG_UNICODE)
    await inbound(live, BOB, QUOTED)
    await inbound(live, CAROL, "HELP")
    await live.drained()

    output = tmp_path / "log.csv"
    (status, stdout, stderr), as_json = await asyncio.gather(
        export(database_url, "--since", today(), "--output", str(output), cwd=tmp_path),
        export(database_url, "--since", today(), "--format", "jsonl", cwd=tmp_path),
    )
    assert (status, stdout) == (0, b""), stderr
    assert "exported 8 message(s)" in stderr
    with output.open(encoding="utf-8", newline="") as file:
        assert file.readline() == ",".join(COLUMNS) + "\r\n"  # RFC 4180: CRLF, a header
        file.seek(0)
        rows = list(csv.DictReader(file))
    # Oldest first; a carrier's timestamp has whole seconds, the bridge's own have more.
    order = [(datetime.fromisoformat(r["created_at"]), int(r["id"])) for r in rows]
    assert order == sorted(order)
    assert sorted((r["direction"], r["contact_number"], r["cases"]) for r in rows) == sorted(
        [
            *[("inbound", "+" + BOB, "1")] * 4,
            ("outbound", "+" + BOB, "1"),
            ("note", "+" + BOB, "1"),
            ("inbound", "+" + CAROL, "2"),
            ("automated", "+" + CAROL, "2"),
        ]
    )
    by_kind = {(r["direction"], r["text"] or r["source_text"]): r for r in rows}
    hi = by_kind["inbound", "Hi, is the clinic open?"]
    reply = by_kind["outbound", "'-5% if you come today (#1)"]
    note = by_kind["note", "// @here he is a regular"]
    automated = next(r for r in rows if r["direction"] == "automated")
    # Free text that a spreadsheet would run as a formula is defused; numbers are not.
    assert hi["contact_name"] == '\'=HYPERLINK("http://evil.example")'
    assert reply["source_text"] == "'-5% if you come today"
    assert (reply["author"], reply["segments"], reply["encoding"]) == (STAFF, "1", "GSM-7")
    assert reply["status"] == "submitted" and reply["provider_message_id"]
    assert (note["status"], note["text"], note["author"]) == ("internal", "", STAFF)
    assert ("inbound", "'=1+2") in by_kind
    assert ("inbound", LONG_UNICODE) in by_kind and ("inbound", QUOTED) in by_kind
    assert automated["our_number"] == OUR_NUMBER and automated["status"] == "submitted"
    for row in rows:
        created = datetime.fromisoformat(row["created_at"].replace("Z", "+00:00"))
        assert row["created_at"].endswith("Z") and created.utcoffset().total_seconds() == 0

    status, stdout, stderr = as_json
    assert status == 0, stderr
    records = [json.loads(line) for line in stdout.decode("utf-8").split("\n")[:-1]]
    assert [r["id"] for r in records] == [int(r["id"]) for r in rows]
    assert all(list(r) == COLUMNS for r in records)
    texts = [r["text"] for r in records]
    assert "=1+2" in texts and LONG_UNICODE in texts and QUOTED in texts
    sent = next(r for r in records if r["direction"] == "outbound")
    assert sent["text"] == "-5% if you come today (#1)" and sent["segments"] == 1
    assert sent["cases"] == [1] and sent["forwarded_from_id"] is None
    assert sent["contact_name"] == '=HYPERLINK("http://evil.example")'
    assert next(r for r in records if r["direction"] == "note")["segments"] is None
    assert "👋🏽" in stdout.decode("utf-8")  # written as UTF-8, not as \u escapes


async def test_days_are_those_of_the_time_zone_and_until_is_included(
    live: LiveBridge, database_url: str, tmp_path: Path
) -> None:
    zone = ZoneInfo(ZONE)
    moments = {
        "before": datetime(2025, 3, 9, 23, 59, tzinfo=zone),
        "first": datetime(2025, 3, 10, 0, 0, tzinfo=zone),
        "last": datetime(2025, 3, 11, 23, 59, tzinfo=zone),
        "after": datetime(2025, 3, 12, 0, 0, tzinfo=zone),
    }
    for words, moment in moments.items():
        await inbound(live, BOB, words, at=moment.astimezone(UTC))
    await live.drained()

    async def exported(*args: str) -> list[str]:
        status, stdout, stderr = await export(database_url, *args, cwd=tmp_path)
        assert status == 0, stderr
        return [row["text"] for row in csv.DictReader(io.StringIO(stdout.decode(), newline=""))]

    inside, everything = await asyncio.gather(
        exported("--since", "2025-03-10", "--until", "2025-03-11"),
        exported("--since", "2025-03-09"),  # --until defaults to today
    )
    assert inside == ["first", "last"]
    assert everything == ["before", "first", "last", "after"]


# (label, arguments, TIME_ZONE, complaint): refused with one line, exit status 2, no file.
BAD_ARGUMENTS = [
    ("no-such-day", ["--since", "2026-02-30"], ZONE, "--since '2026-02-30' is not a date"),
    ("compact-date", ["--since", "2026-03-01", "--until", "20260302"], ZONE, "'20260302' is"),
    ("until-first", ["--since", "2026-03-05", "--until", "2026-03-04"], ZONE, "is before"),
    ("unknown-format", ["--since", "2026-03-01", "--format", "xlsx"], ZONE, "'xlsx' is not"),
    ("bad-zone-setting", ["--since", "2026-03-01"], "Mars/Base", "TIME_ZONE: 'Mars/Base' is"),
]


async def test_bad_arguments_write_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"
    output = str(tmp_path / "log.csv")
    answers = await asyncio.gather(
        *(
            export(url, *args, "--output", output, cwd=tmp_path, time_zone=zone)
            for _, args, zone, _ in BAD_ARGUMENTS
        )
    )
    for (label, _args, _zone, complaint), (status, stdout, stderr) in zip(
        BAD_ARGUMENTS, answers, strict=True
    ):
        assert (status, stdout) == (2, b""), label
        assert stderr.startswith("smschat-bridge: ") and len(stderr.splitlines()) == 1, label
        assert complaint in stderr, label
    assert os.listdir(tmp_path) == []  # no output, not even the database file


async def test_missing_since_answers_with_usage(tmp_path: Path) -> None:
    status, _stdout, stderr = await export("sqlite+aiosqlite:///x.db", cwd=tmp_path)
    assert status == 2 and "usage: smschat-bridge export" in stderr and "--since" in stderr


async def test_a_store_that_cannot_be_read_leaves_no_output_file(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()  # a database without the bridge's tables
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    answers = await asyncio.gather(
        export(url, "--since", "2026-03-01", "--output", str(tmp_path / "log.csv"), cwd=tmp_path),
        export(url, "--since", "2026-03-01", cwd=tmp_path),
    )
    for status, stdout, stderr in answers:
        assert (status, stdout) == (2, b"")  # not even the header row
        assert "database error" in stderr and "no such table: messages" in stderr
    assert sorted(os.listdir(tmp_path)) == ["empty.db"]
