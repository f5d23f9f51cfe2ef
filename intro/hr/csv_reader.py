"""Reading an HR system's CSV export: pure, no database and no `await`.

Bytes in, a `ParsedFile` out: the rows as `EmploymentRecord`s and every problem with its line
and column. `intro.hr.imports` checks the rows against the database, stores, previews and
commits them.

How a file is read (`read_csv`):
- Encoding: UTF-8 with or without a byte-order mark, else Windows-1252 (what Excel on
  a Danish Windows saves as "CSV (semikolonsepareret)"). Excel workbooks (.xlsx/.xls),
  UTF-16 text and other binary files are refused with a message saying how to save as
  CSV. The stored import keeps the decoded text and the SHA-256 of the bytes as
  uploaded; the encoding is found again from that hash (`encoding_of`).
- Separator: semicolon, tab or comma, whichever the header line has most of (outside
  quotes; a tie goes in that order). An Excel "sep=;" first line is honoured.
- Header: the first non-blank line. Column names are matched without regard to case,
  spaces, hyphens or Danish letters (`Fratrådt`, `fratraadt` and `fratradt` are one
  name); see COLUMNS. Unknown columns are ignored and listed in the preview.
- Line numbers are the physical lines of the file, the header being line 1 when the
  file starts with it. Blank lines (also lines of separators only) are skipped.
- Dates: `åååå-mm-dd` (ISO) or day first, `dd-mm-åååå`, `dd.mm.åååå` or
  `dd/mm/åååå`, with one- or two-digit day and month (`1.3.2026`). A time after the
  date is ignored. Two-digit years, month-first dates and Excel date serial numbers
  are refused: each could mean something else than the file's author meant.
- The key: an employment is the HR system's employment id (`external_ref`) within its
  municipality. A file without an id column gets a key derived from the e-mail address
  and the start date ("auto-" and the first 32 hex digits of their SHA-256), so the
  same file read again matches the same employments. Correcting a start date in such a
  file therefore makes a new employment instead of changing the old one; files with an
  id column do not have that weakness.
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date

from intro.hr import employments
from intro.hr.employments import EmploymentRecord
from intro.i18n import _
from intro.people.accounts import normalise_email
from intro.timefmt import MONTHS

MAX_BYTES = 5 * 1024 * 1024
# A job centre has hundreds of staff, a large one a few thousand. The commit writes row by
# row through `employments.apply_records` (about 3 ms a new row, 0.1 ms an unchanged
# one), so 10,000 new rows take half a minute in one request and one transaction.
MAX_ROWS = 10_000

ENCODING_NAMES = {
    "utf-8-sig": _("UTF-8 med BOM"),
    "utf-8": _("UTF-8"),
    "cp1252": _("Windows-1252 (Excel)"),
}
SEPARATOR_NAMES = {";": _("semikolon"), "\t": _("tabulator"), ",": _("komma")}


class FileRefused(Exception):
    """The file as a whole cannot be read; the message says why, in Danish."""


@dataclass(frozen=True)
class Column:
    field: str  # EmploymentRecord's field
    label: str  # shown on the page
    names: tuple[str, ...]  # what the column may be called in a file
    required: bool
    form: str  # what goes in it


COLUMNS = (
    Column(
        field="full_name",
        label=_("Navn"),
        names=("navn", "name", "fulde navn", "full_name"),
        required=True,
        form=_("Personens fulde navn."),
    ),
    Column(
        field="email",
        label=_("E-mail"),
        names=("e-mail", "email", "mail", "e-mailadresse"),
        required=True,
        form=_("Arbejdsmail. Personen findes ud fra den eller oprettes uden adgangskode."),
    ),
    Column(
        field="municipality_code",
        label=_("Kommunekode"),
        names=("kommunekode", "municipality_code", "kommune", "kommunenummer", "kommunenr"),
        required=True,
        form=_("Kommunens tre cifre, fx 330."),
    ),
    Column(
        field="job_function",
        label=_("Stilling"),
        names=("stilling", "jobfunktion", "job_function", "stillingsbetegnelse"),
        required=True,
        form=_("Fx Jobkonsulent. Højst 120 tegn."),
    ),
    Column(
        field="profile_code",
        label=_("Fagprofil"),
        names=("fagprofil", "profil", "profile", "profile_code"),
        required=False,
        form=_("Profilens kode eller navn, fx virksomhed eller Virksomhedsprofil. Kan være tom."),
    ),
    Column(
        field="start_date",
        label=_("Startdato"),
        names=("startdato", "ansat fra", "start_date", "ansættelsesdato", "tiltrådt"),
        required=True,
        form=_("dd-mm-åååå, dd.mm.åååå, dd/mm/åååå eller åååå-mm-dd."),
    ),
    Column(
        field="end_date",
        label=_("Slutdato"),
        names=("slutdato", "fratrådt", "end_date", "fratrædelsesdato", "ansat til"),
        required=False,
        form=_("Samme formater som startdatoen. Tom, hvis personen stadig er ansat."),
    ),
    Column(
        field="end_reason",
        label=_("Fratrædelsesårsag"),
        names=("fratrædelsesårsag", "årsag", "end_reason"),
        required=False,
        form=_("Fx opsagt, afskediget, udløbet, pension, flyttet eller andet. Kræver en slutdato."),
    ),
    Column(
        field="external_ref",
        label=_("Ansættelses-id"),
        names=("ansættelses-id", "medarbejdernummer", "løbenummer", "id", "external_ref"),
        required=False,
        form=_("HR-systemets nøgle for ansættelsen. Uden den bruges e-mail og startdato."),
    ),
)
COLUMN_BY_FIELD = {c.field: c for c in COLUMNS}


# --------------------------------------------------------------------------------------
# Reading a file (pure)


@dataclass(frozen=True)
class Problem:
    line: int | None  # physical line in the file; None: the file as a whole
    column: str | None  # the column's name as the file has it
    message: str

    @property
    def text(self) -> str:
        if self.line is None:
            return self.message
        if self.column is None:
            return _("Linje {line}: {message}").format(line=self.line, message=self.message)
        return _("Linje {line}, kolonne '{column}': {message}").format(
            line=self.line, column=self.column, message=self.message
        )


@dataclass
class Row:
    line: int
    values: dict[str, str]  # by field, as written in the file (stripped)
    # None when the line could not be split into the header's columns.
    record: EmploymentRecord | None
    # Fields whose text could not be read (a bad date, an unknown reason): their
    # value in `record` is a stand-in, and other checks of them are left out.
    unreadable: set[str] = field(default_factory=set)


@dataclass
class ParsedFile:
    text: str
    encoding: str  # a key of ENCODING_NAMES
    separator: str
    columns: dict[str, str]  # field -> the column's name in the file
    ignored_columns: list[str]
    key_derived: bool
    rows: list[Row]
    problems: list[Problem]

    @property
    def encoding_name(self) -> str:
        return ENCODING_NAMES[self.encoding]

    @property
    def separator_name(self) -> str:
        return SEPARATOR_NAMES[self.separator]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_csv(data: bytes) -> ParsedFile:
    """Read an uploaded file. Raises FileRefused when it cannot be read at all;
    problems with single rows are in the result's `problems`."""
    return read_text(*decode(data))


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read with."""
    if len(data) > MAX_BYTES:
        raise FileRefused(
            _(
                "Filen fylder {size} MB; den må højst fylde {limit} MB. Del den op i flere filer."
            ).format(size=_megabytes(len(data)), limit=MAX_BYTES // (1024 * 1024))
        )
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise FileRefused(
            _(
                "Filen er et Excel-regneark, ikke en CSV-fil. Åbn den i Excel, vælg Filer › "
                "Gem som, og vælg filtypen «CSV (semikolonsepareret)» eller «CSV UTF-8»."
            )
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRefused(
            _(
                "Filen er gemt som Unicode-tekst (UTF-16). Gem den i stedet som "
                "«CSV UTF-8» eller «CSV (semikolonsepareret)»."
            )
        )
    if b"\x00" in data:
        raise FileRefused(
            _(
                "Filen er ikke en tekstfil. Gem udtrækket fra HR-systemet som CSV "
                "(i Excel: Filer › Gem som › «CSV (semikolonsepareret)»)."
            )
        )
    try:
        text = data.decode("utf-8-sig")
        encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    except UnicodeDecodeError:
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError as error:
            raise FileRefused(
                _(
                    "Filen kunne hverken læses som UTF-8 eller Windows-1252 (byte {position}). "
                    "Gem den som «CSV UTF-8»."
                ).format(position=error.start + 1)
            ) from None
    if not text.strip():
        raise FileRefused(_("Filen er tom."))
    return text, encoding


def encoding_of(text: str, content_sha256: str) -> str:
    """Which encoding turns the stored text back into the bytes that were uploaded."""
    for encoding in ENCODING_NAMES:
        try:
            if sha256(text.encode(encoding)) == content_sha256:
                return encoding
        except UnicodeEncodeError:
            continue
    return "utf-8"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".replace(".", ",")


def _plain(name: str) -> str:
    """A column name for matching: lower case, no marks, spaces or punctuation."""
    name = name.strip().lstrip("\ufeff").lower()
    name = name.replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    name = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]", "", name)


def _spellings(name: str) -> set[str]:
    """A Danish name as people type it with and without the Danish letters."""
    lower = name.lower()
    return {
        _plain(lower),
        _plain(lower.replace("å", "a").replace("ø", "o")),
        _plain(lower.replace("å", "a").replace("ø", "o").replace("æ", "a")),
    }


NAME_TO_FIELD = {spelling: c.field for c in COLUMNS for n in c.names for spelling in _spellings(n)}


def _separator(header_line: str) -> str | None:
    outside_quotes = re.sub(r'"[^"]*"', "", header_line)
    counts = {sep: outside_quotes.count(sep) for sep in SEPARATOR_NAMES}
    best = max(counts, key=lambda sep: counts[sep])  # ties: the first, in SEPARATOR_NAMES order
    return best if counts[best] else None


def _is_blank(fields: list[str]) -> bool:
    return all(not f.strip() for f in fields)


def read_text(text: str, encoding: str) -> ParsedFile:
    """Read a file's text (see the module's docstring for the rules)."""
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise FileRefused(_("Filen er tom."))
    skip = first
    declared = re.fullmatch(r'"?sep=(.)"?[;,\t]*', lines[first].strip(), flags=re.IGNORECASE)
    if declared and declared.group(1) in SEPARATOR_NAMES:
        separator = declared.group(1)
        skip = first + 1
    else:
        separator = _separator(lines[first])
        if separator is None:
            raise FileRefused(
                _(
                    "Første linje skal være en overskrift med kolonnernes navne adskilt af "
                    "semikolon, komma eller tabulator; linje {line} har ingen af dem."
                ).format(line=first + 1)
            )

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, quotechar='"')
    header: list[str] | None = None
    columns: dict[str, str] = {}
    ignored: list[str] = []
    rows: list[Row] = []
    problems: list[Problem] = []
    start = read = 0
    try:
        for fields in reader:
            # A quoted field may hold line breaks: a row starts after the last one read.
            start, read = read + 1, reader.line_num
            if start <= skip:
                continue
            if header is None:
                if _is_blank(fields):
                    continue
                header = [f.strip().lstrip("\ufeff") for f in fields]
                columns, ignored = _columns(header, start)
                continue
            if _is_blank(fields):
                continue
            if len(rows) >= MAX_ROWS:
                raise FileRefused(
                    _("Filen har mere end {limit} rækker. Del den op i flere filer.").format(
                        limit=f"{MAX_ROWS:,}".replace(",", ".")
                    )
                )
            rows.append(_row(start, fields, header, columns, separator, problems))
    except csv.Error:
        raise FileRefused(
            _(
                "Filen kunne ikke læses fra linje {line}: et felt er for langt, eller et "
                'anførselstegn (") er ikke lukket. Tjek linjen.'
            ).format(line=read + 1)
        ) from None
    if header is None:
        raise FileRefused(_("Filen er tom."))
    if not rows:
        raise FileRefused(_("Filen har en overskrift, men ingen rækker med ansættelser."))

    key_derived = "external_ref" not in columns
    for row in rows:
        if row.record is not None and key_derived:
            row.record = replace(row.record, external_ref=derived_key(row.record))
    problems.extend(_duplicates(rows, columns, key_derived))
    return ParsedFile(
        text=text,
        encoding=encoding,
        separator=separator,
        columns=columns,
        ignored_columns=ignored,
        key_derived=key_derived,
        rows=rows,
        problems=sorted(problems, key=problem_order(columns)),
    )


def _columns(header: list[str], line: int) -> tuple[dict[str, str], list[str]]:
    columns: dict[str, str] = {}
    ignored: list[str] = []
    for name in header:
        found = NAME_TO_FIELD.get(_plain(name))
        if found is None:
            if name:
                ignored.append(name)
        elif found in columns:
            raise FileRefused(
                _(
                    "Kolonnerne '{first}' og '{second}' betyder begge «{label}». Slet den ene, "
                    "og indlæs filen igen."
                ).format(first=columns[found], second=name, label=COLUMN_BY_FIELD[found].label)
            )
        else:
            columns[found] = name
    missing = [c for c in COLUMNS if c.required and c.field not in columns]
    if missing:
        raise FileRefused(
            _("Overskriften (linje {line}) mangler {what}: {names}.").format(
                line=line,
                what=_("en kolonne") if len(missing) == 1 else _("kolonner"),
                names="; ".join(
                    _("{label} (kan hedde {names})").format(
                        label=c.label, names=", ".join(f"'{n}'" for n in c.names)
                    )
                    for c in missing
                ),
            )
        )
    return columns, ignored


def _row(
    line: int,
    fields: list[str],
    header: list[str],
    columns: dict[str, str],
    separator: str,
    problems: list[Problem],
) -> Row:
    if len(fields) > len(header) and _is_blank(fields[len(header) :]):
        fields = fields[: len(header)]  # Excel writes empty cells after the last column
    if len(fields) != len(header):
        problems.append(
            Problem(
                line,
                None,
                _(
                    "Linjen har {found} felter, men overskriften har {expected}. Tjek, om et "
                    "felt indeholder {separator} uden anførselstegn om, eller om et "
                    "anførselstegn ikke er lukket."
                ).format(
                    found=len(fields), expected=len(header), separator=SEPARATOR_NAMES[separator]
                ),
            )
        )
        return Row(line, {}, None)
    by_name = dict(zip(header, fields, strict=True))
    values = {f: by_name[name].strip() for f, name in columns.items()}
    unreadable: set[str] = set()

    def problem(name: str, message: str) -> None:
        unreadable.add(name)
        problems.append(Problem(line, columns[name], message))

    start = end = None
    for name in ("start_date", "end_date"):
        text = values.get(name, "")
        if not text:
            continue
        try:
            parsed = parse_date(text)
        except ValueError as error:
            problem(name, str(error))
            continue
        if name == "start_date":
            start = parsed
        else:
            end = parsed
    if not values.get("start_date"):
        problem("start_date", _("Startdatoen mangler."))
    reason = None
    try:
        reason = employments.parse_end_reason(values.get("end_reason"))
    except ValueError:
        problem(
            "end_reason",
            _("Ukendt fratrædelsesårsag '{value}'. Brug fx {known}.").format(
                value=values["end_reason"], known=", ".join(KNOWN_REASON_WORDS)
            ),
        )
    # Stand-ins for what could not be read, chosen so that no other check trips on them.
    if start is None:
        start = end or date(2000, 1, 1)
    if "end_date" in unreadable:
        end = start
    record = EmploymentRecord(
        external_ref=values.get("external_ref", ""),
        full_name=values["full_name"],
        email=values["email"],
        municipality_code=values["municipality_code"],
        job_function=values["job_function"],
        start_date=start,
        profile_code=values.get("profile_code") or None,
        end_date=end,
        end_reason=reason,
    )
    return Row(line, values, record, unreadable)


KNOWN_REASON_WORDS = ("opsagt", "afskediget", "udløbet", "pension", "flyttet", "andet")

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY_FIRST = re.compile(r"(\d{1,2})([-./])(\d{1,2})\2(\d+)")
_TIME = re.compile(r"(?:[ T]\d{1,2}[:.]\d{2}(?:[:.]\d{2}(?:\.\d+)?)?)?")
DATE_HINT = _("brug dd-mm-åååå eller åååå-mm-dd")


# Compiled once: an import of 10,000 rows reads 10,000 to 20,000 dates.
_ISO_WITH_TIME = re.compile(_ISO.pattern + _TIME.pattern)
_DAY_FIRST_WITH_TIME = re.compile(_DAY_FIRST.pattern + _TIME.pattern)


def parse_date(text: str) -> date:
    """A date as HR exports write it; ValueError with a Danish message otherwise."""
    value = text.strip()
    iso = _ISO_WITH_TIME.fullmatch(value)
    day_first = None if iso else _DAY_FIRST_WITH_TIME.fullmatch(value)
    if iso:
        year, month, day = (int(iso.group(i)) for i in (1, 2, 3))
    elif day_first:
        day, month, year_text = int(day_first.group(1)), int(day_first.group(3)), day_first.group(4)
        if len(year_text) != 4:
            raise ValueError(
                _("'{value}' har ikke et firecifret årstal ({hint})").format(
                    value=text, hint=DATE_HINT
                )
            )
        year = int(year_text)
        if month > 12 and day <= 12:
            raise ValueError(
                _("'{value}' har vist måneden før dagen ({hint})").format(
                    value=text, hint=DATE_HINT
                )
            )
    elif re.fullmatch(r"\d{5}", value):
        raise ValueError(
            _(
                "'{value}' ligner et Excel-datotal, ikke en dato. Formatér kolonnen som dato i "
                "Excel, og gem filen igen ({hint})"
            ).format(value=text, hint=DATE_HINT)
        )
    else:
        raise ValueError(_("'{value}' er ikke en dato ({hint})").format(value=text, hint=DATE_HINT))
    try:
        parsed = date(year, month, day)
    except ValueError:
        # The form was right; the day is not in the calendar. Say which part is wrong.
        if not 1 <= month <= 12:
            message = _("'{value}' findes ikke: der er ingen måned {month}").format(value=text, month=month)
        elif day < 1 or not 1 <= year <= 9999:
            message = _("'{value}' er ikke en dato ({hint})").format(value=text, hint=DATE_HINT)
        else:
            last = calendar.monthrange(year, month)[1]
            message = _("'{value}' findes ikke: {month} {year} har kun {days} dage").format(
                value=text, month=MONTHS[month - 1], year=year, days=last
            )
        raise ValueError(message) from None
    if not 1950 <= parsed.year <= 2100:
        raise ValueError(
            _("'{value}': årstallet {year} kan ikke passe for en ansættelse").format(
                value=text, year=parsed.year
            )
        )
    return parsed


def derived_key(record: EmploymentRecord) -> str:
    """The key of an employment in a file without an id column (see the docstring)."""
    source = f"{normalise_email(record.email)}|{record.start_date.isoformat()}"
    return "auto-" + hashlib.sha256(source.encode()).hexdigest()[:32]


def _duplicates(rows: list[Row], columns: dict[str, str], key_derived: bool) -> list[Problem]:
    """The same employment twice in the file: the key as `check_records` sees it."""
    found = []
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        record = row.record
        if record is None or {"start_date", "external_ref"} & row.unreadable:
            continue
        if not record.external_ref.strip() or (key_derived and not record.email.strip()):
            continue
        key = (record.municipality_code.strip(), record.external_ref.strip())
        if key not in seen:
            seen[key] = row.line
            continue
        if key_derived:
            column = columns["email"]
            message = _("Samme e-mail og startdato står allerede på linje {first}.")
        else:
            column = columns["external_ref"]
            message = _("Ansættelses-id '{ref}' står allerede på linje {first}.")
        found.append(
            Problem(row.line, column, message.format(first=seen[key], ref=record.external_ref))
        )
    return found


def problem_order(columns: dict[str, str]):
    """A sort key for problems: by line (file-level problems first), then by the column's
    place in the file's header (`columns`: field -> header name as written)."""
    position = {name: i for i, name in enumerate(columns.values())}

    def order(problem: Problem) -> tuple:
        return (
            -1 if problem.line is None else problem.line,
            -1 if problem.column is None else position.get(problem.column, 99),
        )

    return order


def without_records_naming(text: str, texts: list[str]) -> tuple[str, int]:
    """Pure: the stored file's text without the records (rows) in which any field holds
    one of `texts` (case-insensitive), and how many records are left. The header, a
    "sep=" line and the separator are kept, so the rest of the file reads as before;
    fields are written back quoted where the CSV rules need it. Unreadable text (no
    header) comes back empty."""
    wanted = [t.lower() for t in texts if t]
    lines = text.splitlines(keepends=True)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return "", 0
    declared = re.fullmatch(r'"?sep=(.)"?[;,\t]*', lines[first].strip(), flags=re.IGNORECASE)
    if declared and declared.group(1) in SEPARATOR_NAMES:
        separator, skip = declared.group(1), first + 1
    else:
        separator, skip = _separator(lines[first]), first
        if separator is None:
            return "", 0
    out = io.StringIO()
    out.write("".join(lines[:skip]))
    writer = csv.writer(out, delimiter=separator, quotechar='"', lineterminator="\n")
    reader = csv.reader(io.StringIO("".join(lines[skip:]), newline=""), delimiter=separator, quotechar='"')
    header_done, kept = False, 0
    for fields in reader:
        if _is_blank(fields):
            continue
        if header_done and any(w in "\n".join(fields).lower() for w in wanted):
            continue
        writer.writerow(fields)
        kept += 1 if header_done else 0
        header_done = True
    return out.getvalue(), kept
