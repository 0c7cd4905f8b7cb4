"""Importing a contacts directory from a CSV file (`smschat-bridge contacts import FILE`).

The file
    UTF-8 text, with or without a byte-order mark (Excel's "CSV UTF-8" is fine), values
    separated by commas or by semicolons: whichever splits the header row into more
    columns. Cells may be quoted the usual CSV way ("Smith, Bob").

The header row (first line) names the columns, in any order and any letter case:
    number (or phone)   required: a phone number of the contact
    label               what kind of number: Mobile, Home, Work, Other (any case), or
                        any text up to 40 characters; a new number without one is Mobile
    number2, label2,    more numbers of the same contact, numbered from 2 (`phone2`,
    number3, ...        `number 2` and `number_2` also work)
    name                up to 200 characters
    email               an address such as bob@example.org
    notes               free text
    anything else       becomes a property of the contact, named after its column
    Columns with an empty header are ignored. A file without a `number` (or `phone`)
    column, or naming a column twice, is refused as a whole before anything is stored.

    number,label,number2,label2,name,email,company
    07400 123456,Mobile,+44 20 7946 0018,Work,Bob Smith,bob@example.org,Acme

Each further line is a contact. Numbers are stored in E.164 (`+447400123456`); a number
written without a country code is read in the default region (`--default-region GB` or
the DEFAULT_REGION setting). Rows are applied one at a time, each in its own transaction:
    - no stored contact holds any of the row's numbers: a new contact (imported);
    - one contact holds one or more of them: that contact is updated (updated): the
      numbers it lacks are added, labels given are set, non-empty cells replace its name,
      email and notes, and property cells are added to or replace its properties. An empty
      cell never clears what is stored;
    - the numbers belong to two different contacts, a number is invalid, the email does
      not look like one, a text is too long: the row is refused with its row number and
      the reasons, and nothing of it is stored.
Row numbers are the file's line numbers, as a spreadsheet shows them (the header is row 1).
Lines with only empty cells are skipped.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bridge.domain.contacts import ContactDetails, LabelledNumber, NumberTaken
from bridge.domain.numbers import normalize_number
from bridge.domain.values import PhoneNumber
from bridge.errors import InvalidInput
from bridge.routing.ports import Units

log = logging.getLogger(__name__)

STANDARD_LABELS = ("Mobile", "Home", "Work", "Other")
MAX_NAME, MAX_LABEL, MAX_EMAIL = 200, 40, 320
DELIMITERS = (",", ";")

# Texts for people: refusals of the whole file, then of one row, then the report.
NOT_UTF8 = "is not UTF-8 text (save it as 'CSV UTF-8'): {detail}"
HAS_NUL = (
    "holds NUL characters, so it is not a CSV text file (UTF-16? a spreadsheet?): "
    "save it as 'CSV UTF-8'"
)
NOT_CSV = "cannot be read as CSV (line {line}): {detail}"
EMPTY_FILE = "is empty: expected a header row naming the columns, such as number,name,label"
NO_NUMBER_COLUMN = "has no 'number' (or 'phone') column; its header row names: {columns}"
TWICE = "names the same column twice: {first!r} and {second!r}"
LABEL_ALONE = "has a {label!r} column without a {number!r} column"
EXTRA_CELLS = "has {cells} cells where the header names {columns} columns"
NO_NUMBER = "no phone number"
LABEL_WITHOUT_NUMBER = "{label} is given but {number} is empty"
SAME_NUMBER = "{column} repeats {number} of {first}"
TOO_LONG = "{column} is longer than {limit} characters"
BAD_EMAIL = "{column} {value!r} does not look like an email address"
SUMMARY = "{imported} imported (new contacts), {updated} updated, {refused} refused"
REFUSED_ROW = "row {row}: {reason}"

_NUMBER_COLUMN = re.compile(r"(?:number|phone)[\s_]*([1-9]\d*)?")
_LABEL_COLUMN = re.compile(r"label[\s_]*([1-9]\d*)?")
_FIELDS = ("name", "email", "notes")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


@dataclass(frozen=True, slots=True)
class Refusal:
    row: int
    reason: str


@dataclass(frozen=True, slots=True)
class ContactRow:
    row: int
    details: ContactDetails


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """Rows that passed validation, ready to store, and those refused already."""

    rows: list[ContactRow]
    refused: list[Refusal]


@dataclass(slots=True)
class ImportReport:
    imported: list[int] = field(default_factory=list)  # row numbers that made a new contact
    updated: list[int] = field(default_factory=list)  # row numbers that changed a contact
    refused: list[Refusal] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every row was stored."""
        return not self.refused

    def lines(self) -> list[str]:
        """The report for a person: the counts, then one line per refused row."""
        summary = SUMMARY.format(
            imported=len(self.imported), updated=len(self.updated), refused=len(self.refused)
        )
        return [summary] + [REFUSED_ROW.format(row=r.row, reason=r.reason) for r in self.refused]


async def import_contacts(units: Units, data: bytes, *, default_region: str | None) -> ImportReport:
    """Read a CSV file's bytes and store its contacts; `InvalidInput` refuses the whole file."""
    return await store_contacts(units, parse_contacts(data, default_region=default_region))


def parse_contacts(data: bytes, *, default_region: str | None) -> ParsedFile:
    """Validate every row without touching the store.

    Raises `InvalidInput` (its reason completes "the file ...") when the file as a whole
    cannot be used: not UTF-8, not CSV, no header, no number column.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(NOT_UTF8.format(detail=exc.reason + f" at byte {exc.start}")) from None
    if "\0" in text:
        raise InvalidInput(HAS_NUL)
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    try:
        while True:
            start = reader.line_num + 1
            try:
                records.append((start, next(reader)))
            except StopIteration:
                break
    except csv.Error as exc:
        raise InvalidInput(NOT_CSV.format(line=reader.line_num, detail=exc)) from None
    records = [(row, cells) for row, cells in records if any(c.strip() for c in cells)]
    if not records:
        raise InvalidInput(EMPTY_FILE)
    columns = _Columns.from_header(records[0][1])
    parsed = ParsedFile(rows=[], refused=[])
    for row, cells in records[1:]:
        try:
            parsed.rows.append(ContactRow(row, columns.read(cells, default_region)))
        except InvalidInput as exc:
            parsed.refused.append(Refusal(row, exc.reason))
    return parsed


async def store_contacts(units: Units, parsed: ParsedFile) -> ImportReport:
    """Store each row in a transaction of its own: a refused row leaves nothing behind."""
    report = ImportReport(refused=list(parsed.refused))
    for entry in parsed.rows:
        try:
            async with units.unit() as unit:
                _, created = await unit.contacts.upsert(entry.details)
        except NumberTaken as exc:
            report.refused.append(Refusal(entry.row, exc.reason))
            continue
        (report.imported if created else report.updated).append(entry.row)
    report.refused.sort(key=lambda refusal: refusal.row)
    log.info(
        "contacts import: %s new, %s updated, %s refused",
        len(report.imported),
        len(report.updated),
        len(report.refused),
    )
    return report


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header row into more columns; a comma on a tie."""
    header = text.split("\n", 1)[0]
    widths = {d: len(next(csv.reader([header], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: widths[d])  # max keeps the first of equals


@dataclass(slots=True)
class _Columns:
    """Where each kind of value sits in a row, from the header."""

    headers: list[str]
    numbers: dict[int, int] = field(default_factory=dict)  # slot (1, 2, ...) → column
    labels: dict[int, int] = field(default_factory=dict)
    fields: dict[str, int] = field(default_factory=dict)  # name, email, notes → column
    properties: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_header(cls, cells: Sequence[str]) -> _Columns:
        headers = [cell.strip() for cell in cells]
        columns = cls(headers=headers)
        seen: dict[tuple[str, object], int] = {}
        for index, header in enumerate(headers):
            key = header.lower()
            if not key:
                continue
            number, label = _NUMBER_COLUMN.fullmatch(key), _LABEL_COLUMN.fullmatch(key)
            if number:
                kind, slot = ("number", int(number.group(1) or 1))
            elif label:
                kind, slot = ("label", int(label.group(1) or 1))
            elif key in _FIELDS:
                kind, slot = (key, key)
            else:
                kind, slot = ("property", key)
            if (kind, slot) in seen:
                raise InvalidInput(TWICE.format(first=headers[seen[kind, slot]], second=header))
            seen[kind, slot] = index
            if kind == "number":
                columns.numbers[slot] = index
            elif kind == "label":
                columns.labels[slot] = index
            elif kind == "property":
                columns.properties[header] = index
            else:
                columns.fields[key] = index
        if 1 not in columns.numbers:
            named = ", ".join(repr(h) for h in headers if h) or "nothing"
            raise InvalidInput(NO_NUMBER_COLUMN.format(columns=named))
        for slot, index in columns.labels.items():
            if slot not in columns.numbers:
                wanted = "number" if slot == 1 else f"number{slot}"
                raise InvalidInput(LABEL_ALONE.format(label=headers[index], number=wanted))
        return columns

    def read(self, cells: Sequence[str], default_region: str | None) -> ContactDetails:
        """One row's contact; `InvalidInput` gives every reason the row is refused."""
        if len(cells) > len(self.headers) and any(c.strip() for c in cells[len(self.headers) :]):
            raise InvalidInput(EXTRA_CELLS.format(cells=len(cells), columns=len(self.headers)))

        def cell(index: int) -> str:
            return cells[index].strip() if index < len(cells) else ""

        problems: list[str] = []
        numbers: list[LabelledNumber] = []
        first_column: dict[PhoneNumber, str] = {}
        for slot in sorted(self.numbers):
            column = self.headers[self.numbers[slot]]
            raw = cell(self.numbers[slot])
            label_index = self.labels.get(slot)
            label = cell(label_index) if label_index is not None else ""
            if not raw:
                if label:
                    problems.append(
                        LABEL_WITHOUT_NUMBER.format(label=self.headers[label_index], number=column)
                    )
                continue
            try:
                number = normalize_number(raw, default_region=default_region)
            except InvalidInput as exc:
                problems.append(f"{column}: {exc.reason}")
                continue
            if number in first_column:
                problems.append(
                    SAME_NUMBER.format(column=column, number=number, first=first_column[number])
                )
                continue
            first_column[number] = column
            if len(label) > MAX_LABEL:
                problems.append(TOO_LONG.format(column=self.headers[label_index], limit=MAX_LABEL))
            numbers.append(LabelledNumber(number, _canonical_label(label) if label else None))
        if not numbers and not problems:
            problems.append(NO_NUMBER)

        values = {name: cell(index) or None for name, index in self.fields.items()}
        name, email = values.get("name"), values.get("email")
        if name is not None and len(name) > MAX_NAME:
            problems.append(
                TOO_LONG.format(column=self.headers[self.fields["name"]], limit=MAX_NAME)
            )
        if email is not None and (len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email)):
            problems.append(
                BAD_EMAIL.format(column=self.headers[self.fields["email"]], value=email)
            )
        if problems:
            raise InvalidInput("; ".join(problems))
        properties = {key: cell(index) for key, index in self.properties.items() if cell(index)}
        return ContactDetails(
            numbers=numbers,
            name=name,
            email=email,
            notes=values.get("notes"),
            properties=properties,
        )


def _canonical_label(label: str) -> str:
    for standard in STANDARD_LABELS:
        if label.lower() == standard.lower():
            return standard
    return label
