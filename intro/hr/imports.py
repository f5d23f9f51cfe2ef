"""Employments from a CSV file exported from the payroll/HR system.

A chief (for their own municipality) or an administrator (for any) uploads the file;
Intro reads and checks it, keeps it as an `EmploymentImport` in status "previewed" and
shows what it would do — new, changed, unchanged — without writing anything. Only a
file with no problems can be committed, and then every row goes in one transaction
through `employments.apply_records`, the same write path as the HR API: all rows or
none.

Reading the file is `intro.hr.csv_reader` (pure); this module checks the rows against the
database and keeps the import: store, preview, commit, discard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date

from intro import audit, clock
from intro.db import any_of, write_transaction
from intro.errors import Invalid, NotFound
from intro.hr import employments
from intro.hr.csv_reader import (
    ParsedFile,
    Problem,
    encoding_of,
    problem_order,
    read_csv,
    read_text,
    sha256,
    without_records_naming,
)
from intro.hr.employments import END_REASON_NAMES, EmploymentRecord
from intro.i18n import _
from intro.people.accounts import normalise_email
from intro.tables import (
    Employment,
    EmploymentImport,
    EmploymentImportStatus,
    Profile,
)
from intro.timefmt import da_short_date

# Rows shown in the preview's table; the counts and the problems cover every row.
SHOWN_ROWS = 200
STATUS_NAMES = {
    EmploymentImportStatus.previewed.value: _("Afventer indlæsning"),
    EmploymentImportStatus.committed.value: _("Indlæst"),
    EmploymentImportStatus.discarded.value: _("Kasseret"),
}
ACTION_NAMES = {"new": _("Ny ansættelse"), "changed": _("Ændres"), "unchanged": _("Uændret")}
# What the preview calls a changed value.
CHANGE_LABELS = {
    "person": _("e-mail"),
    "full_name": _("navn"),
    "job_function": _("stilling"),
    "profile_code": _("fagprofil"),
    "start_date": _("startdato"),
    "end_date": _("slutdato"),
    "end_reason": _("fratrædelsesårsag"),
}


# --------------------------------------------------------------------------------------
# Checking against the database, and what a commit would do


@dataclass
class RowPreview:
    line: int
    values: dict[str, str]
    problems: list[Problem]
    action: str | None = None  # "new", "changed", "unchanged"; None with problems
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (what, before, after)
    new_person: bool = False

    @property
    def action_name(self) -> str:
        return ACTION_NAMES.get(self.action or "", "")


@dataclass
class Preview:
    parsed: ParsedFile
    problems: list[Problem]
    rows: list[RowPreview]
    records: list[EmploymentRecord]  # what a commit writes, when there are no problems
    new_people: int

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def rows_with_problems(self) -> int:
        return sum(1 for r in self.rows if r.problems)

    def shown_rows(self, limit: int = SHOWN_ROWS) -> list[RowPreview]:
        """Rows worth a look first: problems, changes, new ones, then the unchanged."""
        rank = {"changed": 1, "new": 2, "unchanged": 3}
        ordered = sorted(
            self.rows, key=lambda r: (0 if r.problems else rank[r.action or "new"], r.line)
        )
        return ordered[:limit]


async def _profile_codes_by_spelling() -> dict[str, str]:
    rows = await Profile.select(Profile.code, Profile.name)
    spellings = {r["name"].strip().lower(): r["code"] for r in rows}
    spellings.update({r["code"].lower(): r["code"] for r in rows})
    return spellings




async def check(parsed: ParsedFile, municipality_id: int) -> Preview:
    """Every problem of the file, and what a commit would do to each row, read from
    the database without writing to it."""
    codes = await employments.municipality_ids_by_code()
    profiles = await employments.known_profile_codes()
    spellings = await _profile_codes_by_spelling()
    problems = list(parsed.problems)
    by_line: dict[int, list[Problem]] = {}
    for problem in problems:
        by_line.setdefault(problem.line, []).append(problem)
    previews: list[RowPreview] = []
    good: list[tuple[RowPreview, EmploymentRecord]] = []
    today = clock.today()
    for row in parsed.rows:
        preview = RowPreview(row.line, row.values, by_line.get(row.line, []))
        previews.append(preview)
        if row.record is None:
            continue
        record = _spelled(row.record, spellings)
        errors = employments.check_record(
            record, codes=codes, profiles=profiles, allowed={municipality_id}, today=today
        )
        for name, message in errors.items():
            if name in row.unreadable:
                continue
            if name == "external_ref" and parsed.key_derived:
                continue  # a derived key is never blank or too long
            problem = Problem(row.line, parsed.columns[name], message)
            preview.problems.append(problem)
            problems.append(problem)
        if not preview.problems:
            good.append((preview, record))
    # The same rule as the API's: an e-mail of someone outside the municipality's reach.
    known = await employments.known_people([record for _p, record in good])
    refused = employments.refused_by_reach([record for _p, record in good], codes, known)
    for index in sorted(refused):
        preview = good[index][0]
        problem = Problem(preview.line, parsed.columns["email"], employments.EMAIL_TAKEN)
        preview.problems.append(problem)
        problems.append(problem)
    good = [pair for index, pair in enumerate(good) if index not in refused]
    await _plan(good, codes, known)
    return Preview(
        parsed=parsed,
        problems=sorted(problems, key=problem_order(parsed.columns)),
        rows=previews,
        records=[record for _preview, record in good],
        new_people=len({normalise_email(r.email) for p, r in good if p.new_person}),
    )


def _spelled(record: EmploymentRecord, spellings: dict[str, str]) -> EmploymentRecord:
    """The record with its profile as the code it is spelled for (a name or any case)."""
    if not record.profile_code:
        return record
    return replace(record, profile_code=spellings.get(record.profile_code.lower(), record.profile_code))


async def _plan(
    good: list[tuple[RowPreview, EmploymentRecord]], codes: dict[str, int], known: employments.Known
) -> None:
    """What `employments.apply_records` would do with each record: the same values,
    compared the same way."""
    if not good:
        return
    people = known.people
    names = {email: known.names[person] for email, person in people.items()}
    existing = {
        (r["municipality"], r["external_ref"]): r
        for r in await Employment.select(
            *Employment.all_columns(), Employment.person.email.as_alias("person_email")
        ).where(any_of(Employment.external_ref, sorted({record.external_ref.strip() for _p, record in good})))
    }
    for preview, record in good:
        email = normalise_email(record.email)
        preview.new_person = email not in people
        values = {
            "person": people.get(email),
            "job_function": record.job_function.strip(),
            "profile_code": record.profile_code or None,
            "start_date": record.start_date,
            "end_date": record.end_date,
            "end_reason": record.end_reason,
        }
        current = existing.get(
            (codes[record.municipality_code.strip()], record.external_ref.strip())
        )
        if current is None:
            preview.action = "new"
            continue
        renamed = email in names and names[email] != record.full_name.strip()
        preview.changes = [
            (CHANGE_LABELS["full_name"], names[email], record.full_name.strip())
        ] if renamed else []
        preview.changes += [
            (
                CHANGE_LABELS[name],
                current["person_email"] if name == "person" else _shown(current[name]),
                email if name == "person" else _shown(value),
            )
            for name, value in values.items()
            if current[name] != value
        ]
        preview.action = "changed" if preview.changes else "unchanged"


def _shown(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, date):
        return da_short_date(value)
    return END_REASON_NAMES.get(value, str(value))


# --------------------------------------------------------------------------------------
# Imports: store, preview, commit, discard


class AlreadyDone(Exception):
    """The import has been committed or discarded; the message says which."""


async def store_upload(actor_id: int, municipality_id: int, filename: str, data: bytes) -> int:
    """Keep a readable file as a previewed import; FileRefused if it cannot be read."""
    parsed = read_csv(data)
    row = await EmploymentImport.insert(
        EmploymentImport(
            uploaded_by=actor_id,
            municipality=municipality_id,
            filename=_safe_filename(filename),
            content=parsed.text,
            content_sha256=sha256(data),
            status=EmploymentImportStatus.previewed.value,
            rows=len(parsed.rows),
        )
    ).returning(EmploymentImport.id)
    return row[0]["id"]


def _safe_filename(filename: str) -> str:
    # Some browsers send the whole path of the file on the user's machine.
    name = re.split(r"[\\/]", filename or "")[-1].strip()
    return "".join(c for c in name if c.isprintable())[:255]


async def import_of(municipality_id: int, import_id: int) -> dict:
    """An import of this municipality; NotFound for any other."""
    row = (
        await EmploymentImport.select(
            *EmploymentImport.all_columns(),
            EmploymentImport.uploaded_by.full_name.as_alias("uploaded_by_name"),
        )
        .where(
            (EmploymentImport.id == import_id) & (EmploymentImport.municipality == municipality_id)
        )
        .first()
    )
    if row is None:
        raise NotFound()
    row["status_name"] = STATUS_NAMES[row["status"]]
    return row


async def imports_of(municipality_id: int, limit: int = 20) -> list[dict]:
    rows = (
        await EmploymentImport.select(
            EmploymentImport.id,
            EmploymentImport.filename,
            EmploymentImport.status,
            EmploymentImport.rows,
            EmploymentImport.created,
            EmploymentImport.updated,
            EmploymentImport.unchanged,
            EmploymentImport.uploaded_at,
            EmploymentImport.committed_at,
            EmploymentImport.uploaded_by.full_name.as_alias("uploaded_by_name"),
        )
        .where(EmploymentImport.municipality == municipality_id)
        .order_by(EmploymentImport.uploaded_at, EmploymentImport.id, ascending=False)
        .limit(limit)
    )
    for row in rows:
        row["status_name"] = STATUS_NAMES[row["status"]]
    return rows


async def preview_of(stored: dict) -> Preview:
    """Read a stored import again and check it against the database as it is now."""
    text = stored["content"]
    return await check(
        read_text(text, encoding_of(text, stored["content_sha256"])), stored["municipality"]
    )


async def earlier_commit_of_same_file(stored: dict) -> dict | None:
    return (
        await EmploymentImport.select(EmploymentImport.id, EmploymentImport.committed_at)
        .where(
            (EmploymentImport.municipality == stored["municipality"])
            & (EmploymentImport.content_sha256 == stored["content_sha256"])
            & (EmploymentImport.status == EmploymentImportStatus.committed.value)
            & (EmploymentImport.id != stored["id"])
        )
        .order_by(EmploymentImport.committed_at, ascending=False)
        .first()
    )


def _refusal(status: str) -> AlreadyDone:
    if status == EmploymentImportStatus.committed.value:
        return AlreadyDone(_("Filen er allerede indlæst. Den bliver ikke indlæst to gange."))
    return AlreadyDone(_("Filen er kasseret. Upload den igen for at indlæse den."))


async def commit(actor_id: int, municipality_id: int, import_id: int) -> employments.Applied:
    """Write every row of a previewed import, or nothing. Raises AlreadyDone when it is
    no longer previewed, Invalid (by line) when the file has problems now."""
    stored = await import_of(municipality_id, import_id)
    if stored["status"] != EmploymentImportStatus.previewed.value:
        raise _refusal(stored["status"])
    text = stored["content"]
    parsed = read_text(text, encoding_of(text, stored["content_sha256"]))
    if parsed.problems:
        raise Invalid({str(p.line or 0): p.text for p in parsed.problems})
    # The rows are checked against the database once, by `apply_records` inside the
    # transaction that writes them (the preview's check is the same rules on the same
    # records: spellings of profiles made codes, then `check_record` and `out_of_reach`
    # for each, with the file's own doubled keys found in reading it).
    spellings = await _profile_codes_by_spelling()
    records = [_spelled(row.record, spellings) for row in parsed.rows]
    async with write_transaction(EmploymentImport._meta.db):
        # Claim the import first: of two commits at once, the second finds it taken.
        claimed = (
            await EmploymentImport.update(
                {
                    EmploymentImport.status: EmploymentImportStatus.committed.value,
                    EmploymentImport.committed_at: clock.now(),
                }
            )
            .where(
                (EmploymentImport.id == import_id)
                & (EmploymentImport.status == EmploymentImportStatus.previewed.value)
            )
            .returning(EmploymentImport.id)
        )
        if not claimed:
            raise _refusal(EmploymentImportStatus.committed.value)
        applied = await employments.apply_records(
            records, actor_id, allowed={municipality_id}, source="csv"
        )
        counts = applied.counts
        await EmploymentImport.update(
            {
                EmploymentImport.created: counts["created"],
                EmploymentImport.updated: counts["updated"],
                EmploymentImport.unchanged: counts["unchanged"],
                # What was committed is in the employments and the log now; the copy
                # of the file is not kept.
                EmploymentImport.content: "",
            }
        ).where(EmploymentImport.id == import_id)
        await audit.record(
            actor_id,
            "employment_import.commit",
            "employment_import",
            import_id,
            municipality=municipality_id,
            filename=stored["filename"],
            rows=len(records),
            content_sha256=stored["content_sha256"],
            **counts,
        )
    return applied


async def discard(municipality_id: int, import_id: int) -> None:
    """Drop a previewed import and its copy of the file; AlreadyDone otherwise."""
    stored = await import_of(municipality_id, import_id)
    done = (
        await EmploymentImport.update(
            {
                EmploymentImport.status: EmploymentImportStatus.discarded.value,
                EmploymentImport.content: "",
            }
        )
        .where(
            (EmploymentImport.id == import_id)
            & (EmploymentImport.status == EmploymentImportStatus.previewed.value)
        )
        .returning(EmploymentImport.id)
    )
    if not done:
        raise _refusal(stored["status"])


async def forget_person_in_imports(texts: list[str]) -> list[int]:
    """Anonymisation's part in the stored HR files (GDPR art. 17): every stored import
    whose file or file name holds one of `texts` (a person's name, e-mail, HR ids) loses
    them. A previewed file keeps everyone else's rows (still committable, the hash made
    again for the new text in the file's own encoding); a file name has the texts
    replaced by "[anonymiseret]". Committed and discarded imports keep no file already.
    Joins the caller's transaction. Returns the ids of the imports changed."""
    wanted = [t for t in texts if t]
    if not wanted:
        return []
    lowered = [t.lower() for t in wanted]
    changed = []
    for stored in await EmploymentImport.select(
        EmploymentImport.id, EmploymentImport.filename, EmploymentImport.content, EmploymentImport.content_sha256
    ):
        values = {}
        if any(w in (stored["content"] or "").lower() for w in lowered):
            text, kept = without_records_naming(stored["content"], wanted)
            encoding = encoding_of(stored["content"], stored["content_sha256"])
            values = {
                EmploymentImport.content: text,
                EmploymentImport.rows: kept,
                EmploymentImport.content_sha256: sha256(text.encode(encoding)),
            }
        filename = stored["filename"] or ""
        for text in wanted:
            filename = re.sub(re.escape(text), "[anonymiseret]", filename, flags=re.IGNORECASE)
        if filename != stored["filename"]:
            values[EmploymentImport.filename] = filename
        if values:
            await EmploymentImport.update(values).where(EmploymentImport.id == stored["id"])
            changed.append(stored["id"])
    return changed


async def employment_counts(municipality_id: int, today: date | None = None) -> dict[str, int]:
    today = today or clock.today()
    total = await Employment.count().where(Employment.municipality == municipality_id)
    ended = await Employment.count().where(
        (Employment.municipality == municipality_id)
        & Employment.end_date.is_not_null()
        & (Employment.end_date < today)
    )
    return {"total": total, "current": total - ended, "ended": ended}
