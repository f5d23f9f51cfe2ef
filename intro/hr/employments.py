"""Employments from the HR systems: the one write path that both the CSV import and
the HR API go through, so a row means the same whichever way it arrives.

An employment is matched on its stable key: the municipality plus the HR system's own
reference (`external_ref`). Sending the same data again changes nothing and writes no
log line; a changed field updates the row and logs what changed. The person is found
by e-mail address, or created without a password (HR data does not give anyone a
sign-in); a current employment gives the person the participant role in the
municipality, so the coordinator and the chief can enrol them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from intro import audit, clock
from intro.db import any_of, insert_many, update_many
from intro.errors import Conflict, Invalid
from intro.i18n import _
from intro.inputs import employment_window, outside_window, text_problem
from intro.people import account_links
from intro.people.accounts import EMAIL_PATTERN, normalise_email
from intro.tables import (
    Employment,
    EndReason,
    Municipality,
    Person,
    Profile,
    Role,
    RoleGrant,
)

# What a reason is called in Danish, and which Danish words HR exports use for it.
END_REASON_NAMES = {
    EndReason.resigned.value: _("Sagt op"),
    EndReason.dismissed.value: _("Afskediget"),
    EndReason.contract_ended.value: _("Tidsbegrænset ansættelse udløbet"),
    EndReason.retired.value: _("Pension"),
    EndReason.moved.value: _("Skiftet til anden kommune"),
    EndReason.other.value: _("Andet"),
}
END_REASON_WORDS = {
    "opsagt": EndReason.resigned.value,
    "egen opsigelse": EndReason.resigned.value,
    "afsked": EndReason.dismissed.value,
    "afskediget": EndReason.dismissed.value,
    "bortvist": EndReason.dismissed.value,
    "udløbet": EndReason.contract_ended.value,
    "tidsbegrænset": EndReason.contract_ended.value,
    "tidsbegrænset ansættelse udløbet": EndReason.contract_ended.value,
    "skiftet til anden kommune": EndReason.moved.value,
    "sagt op": EndReason.resigned.value,
    "pension": EndReason.retired.value,
    "efterløn": EndReason.retired.value,
    "flyttet": EndReason.moved.value,
    "skiftet kommune": EndReason.moved.value,
    "andet": EndReason.other.value,
    **{reason.value: reason.value for reason in EndReason},
}

# The one answer when an e-mail matches someone HR data may not be attached to. It
# names nothing stored (no name, no municipality), so it cannot be used to find out
# who works where.
EMAIL_TAKEN = _(
    "E-mailadressen tilhører en person i Intro, som ansættelser fra denne kommune ikke kan "
    "knyttes til. Ret e-mailadressen i HR-systemet, eller kontakt en administrator."
)

# The one-line text fields of a record and their columns' lengths.
TEXT_LIMITS = {
    "external_ref": 100,
    "full_name": 200,
    "email": 254,
    "municipality_code": 10,
    "job_function": 120,
    "profile_code": 40,
}

FIELDS = (
    "external_ref",
    "full_name",
    "email",
    "municipality_code",
    "job_function",
    "profile_code",
    "start_date",
    "end_date",
    "end_reason",
)


@dataclass(frozen=True)
class EmploymentRecord:
    """One employment as an HR system states it."""

    external_ref: str
    full_name: str
    email: str
    municipality_code: str
    job_function: str
    start_date: date
    profile_code: str | None = None
    end_date: date | None = None
    end_reason: str | None = None


@dataclass
class Applied:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
        }


def parse_end_reason(text: str | None) -> str | None:
    """The reason code for an HR system's word; None for blank. Raises ValueError."""
    word = (text or "").strip().lower()
    if not word:
        return None
    if word in END_REASON_WORDS:
        return END_REASON_WORDS[word]
    raise ValueError(word)


async def known_profile_codes() -> set[str]:
    rows = await Profile.select(Profile.code).distinct()
    return {r["code"] for r in rows}


async def municipality_ids_by_code() -> dict[str, int]:
    return {r["code"]: r["id"] for r in await Municipality.select(Municipality.id, Municipality.code)}


def check_record(
    record: EmploymentRecord,
    *,
    codes: dict[str, int],
    profiles: set[str],
    allowed: set[int] | None,
    today: date | None = None,
) -> dict[str, str]:
    """Every problem with one record, by field; empty when it can be written.
    `allowed` limits the municipalities the writer acts for (None: any); `today` (default
    the clock's) places the window of dates an employment may have."""
    errors: dict[str, str] = {}
    if not record.external_ref.strip():
        errors["external_ref"] = _("Ansættelsens id mangler.")
    elif len(record.external_ref) > 100:
        errors["external_ref"] = _("Ansættelsens id må højst være 100 tegn.")
    if not record.full_name.strip():
        errors["full_name"] = _("Navnet mangler.")
    elif len(record.full_name) > 200:
        errors["full_name"] = _("Navnet må højst være 200 tegn.")
    email = normalise_email(record.email)
    if not email:
        errors["email"] = _("E-mailadressen mangler.")
    elif not EMAIL_PATTERN.match(email) or len(email) > 254:
        errors["email"] = _("'{value}' er ikke en e-mailadresse.").format(value=record.email)
    municipality = codes.get(record.municipality_code.strip())
    if municipality is None:
        errors["municipality_code"] = _("Ukendt kommunekode '{value}'.").format(
            value=record.municipality_code
        )
    elif allowed is not None and municipality not in allowed:
        errors["municipality_code"] = _(
            "Kommunekode {value} er ikke en kommune, du kan indlæse ansættelser for."
        ).format(value=record.municipality_code)
    if not record.job_function.strip():
        errors["job_function"] = _("Stillingen mangler.")
    elif len(record.job_function) > 120:
        errors["job_function"] = _("Stillingen må højst være 120 tegn.")
    if record.profile_code and record.profile_code not in profiles:
        errors["profile_code"] = _("Ukendt fagprofil '{value}'. Kendte: {known}.").format(
            value=record.profile_code, known=", ".join(sorted(profiles))
        )
    window = employment_window(today or clock.today())
    for name in ("start_date", "end_date"):
        day = getattr(record, name)
        problem = outside_window(day, window) if day is not None else None
        if problem:
            errors.setdefault(name, problem)
    # Text goes in as sent or not at all: a line break, NUL or other control character
    # in a one-line field is refused, never stored (it would show as a separate job
    # function in the dashboard's filters, or break the exports).
    for name, limit in TEXT_LIMITS.items():
        value = getattr(record, name) or ""
        problem = text_problem(value.strip(), limit)
        if problem and not (name in errors and problem.startswith(_("Højst"))):
            errors[name] = problem
    if record.end_date is not None and record.end_date < record.start_date:
        errors["end_date"] = _("Slutdatoen ligger før startdatoen.")
    if record.end_reason is not None and record.end_reason not in END_REASON_NAMES:
        errors["end_reason"] = _("Ukendt fratrædelsesårsag '{value}'.").format(
            value=record.end_reason
        )
    if record.end_reason is not None and record.end_date is None:
        errors["end_reason"] = _("En fratrædelsesårsag kræver en slutdato.")
    return errors


@dataclass
class Known:
    """What Intro holds about the people a batch of records names, as the check reads it
    and the write then uses (read once: an import of 10,000 rows read it three times)."""

    people: dict[str, int] = field(default_factory=dict)  # normalised e-mail -> person id
    names: dict[int, str] = field(default_factory=dict)  # person id -> full name
    participant: set[tuple[int, int]] = field(default_factory=set)  # (person, municipality)
    staff: set[int] = field(default_factory=set)  # people with a role other than participant
    employed: set[tuple[int, int]] = field(default_factory=set)  # (person, municipality)


async def known_people(records: list[EmploymentRecord]) -> Known:
    """The people of `records` (by e-mail), their names, roles and employments."""
    known = Known()
    emails = sorted({normalise_email(r.email) for r in records})
    for row in await Person.select(Person.id, Person.email, Person.full_name).where(any_of(Person.email, emails)):
        known.people[row["email"]] = row["id"]
        known.names[row["id"]] = row["full_name"]
    ids = sorted(known.people.values())
    for grant in await RoleGrant.select(RoleGrant.person, RoleGrant.role, RoleGrant.municipality).where(
        any_of(RoleGrant.person, ids)
    ):
        if grant["role"] == Role.participant.value:
            known.participant.add((grant["person"], grant["municipality"]))
        else:
            known.staff.add(grant["person"])
    for row in await Employment.select(Employment.person, Employment.municipality).where(
        any_of(Employment.person, ids)
    ):
        known.employed.add((row["person"], row["municipality"]))
    return known


async def check_records(
    records: list[EmploymentRecord], *, allowed: set[int] | None
) -> dict[int, dict[str, str]]:
    """Problems by record index, including the same key twice in one batch and an
    e-mail out of the municipality's reach (`out_of_reach`)."""
    problems, _codes, _known = await _check(records, allowed, clock.today())
    return problems


async def _check(
    records: list[EmploymentRecord], allowed: set[int] | None, today: date
) -> tuple[dict[int, dict[str, str]], dict[str, int], Known]:
    """`check_records`, with the municipality codes and the people it read."""
    codes = await municipality_ids_by_code()
    profiles = await known_profile_codes()
    problems: dict[int, dict[str, str]] = {}
    seen: dict[tuple[str, str], int] = {}
    for index, record in enumerate(records):
        errors = check_record(record, codes=codes, profiles=profiles, allowed=allowed, today=today)
        key = (record.municipality_code.strip(), record.external_ref.strip())
        if key in seen and "external_ref" not in errors:
            errors["external_ref"] = _(
                "Ansættelsen '{ref}' står der allerede (række {row})."
            ).format(ref=record.external_ref, row=seen[key] + 1)
        seen.setdefault(key, index)
        if errors:
            problems[index] = errors
    known = await known_people(records)
    for index in refused_by_reach(records, codes, known):
        problems.setdefault(index, {}).setdefault("email", EMAIL_TAKEN)
    return problems, codes, known


async def out_of_reach(records: list[EmploymentRecord], codes: dict[str, int]) -> set[int]:
    """Indices of the records whose e-mail an HR system of the record's municipality
    may not attach an employment to (`refused_by_reach`, reading the people first)."""
    return refused_by_reach(records, codes, await known_people(records))


def refused_by_reach(records: list[EmploymentRecord], codes: dict[str, int], known: Known) -> set[int]:
    """Indices of the records whose e-mail an HR system of the record's municipality
    may not attach an employment to.

    The rule (issue 13): HR data of municipality X attaches an employment to a new
    person, or to a person who already belongs to X (an employment or a participant
    role there) and holds no staff role (coordinator, instructor, chief, admin).
    Anyone else is out of reach, whoever writes: the token of X, X's chief or an
    administrator importing for X. Within one batch a new e-mail belongs to the first
    municipality it is given for. Records with an unknown municipality code are
    skipped (check_record reports them)."""
    new_in: dict[str, int] = {}
    refused: set[int] = set()
    for index, record in enumerate(records):
        municipality = codes.get(record.municipality_code.strip())
        if municipality is None:
            continue
        email = normalise_email(record.email)
        person = known.people.get(email)
        if person is None:
            if new_in.setdefault(email, municipality) != municipality:
                refused.add(index)
        elif person in known.staff or not (
            (person, municipality) in known.employed or (person, municipality) in known.participant
        ):
            refused.add(index)
    return refused


def _is_current(record: EmploymentRecord, today: date) -> bool:
    return record.end_date is None or record.end_date >= today


async def apply_records(
    records: list[EmploymentRecord],
    actor_id: int | None,
    *,
    allowed: set[int] | None,
    source: str,
    today: date | None = None,
) -> Applied:
    """Write checked records. Call inside a write transaction: the caller decides what
    else is written with them (the import's own row), and a failure anywhere leaves
    nothing. Raises Invalid if any record has a problem (checked again here, so no
    caller can skip it); Conflict (an Invalid) when the only problem of the first bad
    record is an e-mail out of reach (`out_of_reach`)."""
    today = today or clock.today()
    # Checked here, so no caller can skip it; what the check read about the people is
    # what the write goes on from (the caller's transaction holds it still).
    problems, codes, known = await _check(records, allowed, today)
    if problems:
        index, errors = min(problems.items())
        named = {f"{index + 1}.{name}": message for name, message in errors.items()}
        raise Conflict(named) if errors == {"email": EMAIL_TAKEN} else Invalid(named)
    people, names, participant_grants = known.people, known.names, known.participant
    refs = sorted({r.external_ref.strip() for r in records})
    existing = {
        (row["municipality"], row["external_ref"]): row
        for row in await Employment.select().where(any_of(Employment.external_ref, refs))
    }
    applied = Applied()
    now = clock.now()
    # New people first, in multi-row inserts (issue 19: 10,000 rows were ~100,000 single
    # queries), in the order the file names them, each with its audit line.
    new_people: dict[str, str] = {}
    for record in records:
        email = normalise_email(record.email)
        if email not in people and email not in new_people:
            new_people[email] = record.full_name.strip()
    created_people: set[int] = set()
    await insert_many(Person, [{"email": e, "full_name": n, "password_hash": None} for e, n in new_people.items()])
    for row in await Person.select(Person.id, Person.email).where(any_of(Person.email, list(new_people))):
        people[row["email"]] = row["id"]
        created_people.add(row["id"])
    await audit.record_many([
        (actor_id, "person.create", "person", people[e], {"email": e, "full_name": n, "password_set": False, "source": source})
        for e, n in new_people.items()
    ])
    names.update({people[e]: n for e, n in new_people.items()})
    lines: list[tuple] = []  # audit lines of what follows, in the order of the file
    new_employments: list[tuple[dict, int]] = []  # values, index of the audit line to fill in
    new_grants: list[dict] = []
    to_invite: dict[int, None] = {}  # in the order of the file
    renamed: dict[int, str] = {}
    updates: dict[tuple[str, ...], list[tuple]] = {}  # changed columns -> (values..., id)
    for record in records:
        email = normalise_email(record.email)
        municipality = codes[record.municipality_code.strip()]
        person_id = people[email]
        created = person_id in created_people
        if names[person_id] != record.full_name.strip():
            # HR is the source of a person's name (a new surname after marriage, a typo
            # corrected); out_of_reach has made sure the person is this municipality's.
            new_name = renamed[person_id] = record.full_name.strip()
            lines.append((
                actor_id, "person.update", "person", person_id,
                {"full_name": f"{names[person_id]} → {new_name}", "source": source},
            ))
            names[person_id] = new_name
        values = {
            "person": person_id,
            "municipality": municipality,
            "job_function": record.job_function.strip(),
            "profile_code": record.profile_code or None,
            "start_date": record.start_date,
            "end_date": record.end_date,
            "end_reason": record.end_reason,
            "external_ref": record.external_ref.strip(),
        }
        current = existing.get((municipality, values["external_ref"]))
        if current is None:
            new_employments.append((values, len(lines)))
            lines.append(None)  # filled in with the new employment's id below
            existing[(municipality, values["external_ref"])] = {"id": None, **values}
        elif current["id"] is None:
            raise Invalid({"external_ref": _("Ansættelses-id'et {ref} står flere gange i filen.").format(
                ref=values["external_ref"])})
        else:
            employment_id = current["id"]
            changed = {k: v for k, v in values.items() if current[k] != v}
            if not changed:
                applied.unchanged.append(employment_id)
            else:
                updates.setdefault((*changed, "updated_at"), []).append((*changed.values(), now, employment_id))
                applied.updated.append(employment_id)
                lines.append((
                    actor_id,
                    "employment.end" if "end_date" in changed and values["end_date"] else "employment.update",
                    "employment", employment_id,
                    {"source": source, **{k: f"{_shown_value(current[k])} → {_shown_value(v)}" for k, v in changed.items()}},
                ))
        if _is_current(record, today) and (person_id, municipality) not in participant_grants:
            new_grants.append({
                "person": person_id, "role": Role.participant.value, "municipality": municipality,
                "granted_by": actor_id,
            })
            participant_grants.add((person_id, municipality))
            lines.append((
                actor_id, "role.grant", "person", person_id,
                {"role": Role.participant.value, "municipality": municipality, "source": source},
            ))
        if created and _is_current(record, today) and person_id not in to_invite:
            # A new hire from HR data gets a link to set a password (issue 16).
            to_invite[person_id] = None
    # The changes in one prepared statement per kind of change (update_many), as the
    # inserts below: each row is written once, so the order of the writes is free.
    await update_many(Person, ["full_name"], [(name, person_id) for person_id, name in renamed.items()])
    for columns, rows in updates.items():
        await update_many(Employment, columns, rows)
    ids: dict[tuple[int, str], int] = {}
    await insert_many(Employment, [values for values, _line in new_employments])
    new_refs = sorted({values["external_ref"] for values, _line in new_employments})
    for row in await Employment.select(Employment.id, Employment.municipality, Employment.external_ref).where(
        any_of(Employment.external_ref, new_refs)
    ):
        ids[(row["municipality"], row["external_ref"])] = row["id"]
    for values, line in new_employments:
        employment_id = ids[(values["municipality"], values["external_ref"])]
        applied.created.append(employment_id)
        lines[line] = (actor_id, "employment.create", "employment", employment_id, {"source": source, **_shown(values)})
    await insert_many(RoleGrant, new_grants)
    await audit.record_many(lines)
    await account_links.invite_many(actor_id, list(to_invite))
    return applied


def _shown_value(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _shown(values: dict) -> dict:
    return {k: _shown_value(v) for k, v in values.items() if k != "person"}


def record_as_dict(record: EmploymentRecord) -> dict:
    return asdict(record)
