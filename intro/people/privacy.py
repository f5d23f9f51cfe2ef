"""Data subjects' rights, as a Danish public employer applies the GDPR to Intro: access
(art. 15: `export`), restriction (art. 18: `set_restricted`), erasure by anonymisation
(art. 17: `anonymise`) and the retention rule (`retention_sweep`, run nightly by
`python app.py anonymise-leavers`).

Anonymisation, not deletion: the employment, enrolment and attendance records stay, so
the partnership's figures (intake, completion, attendance, retention) are exactly the same
before and after, but nothing in them points to a person any more: the name, e-mail,
password, sessions, calendar feeds and busy calendars, notices, the HR system's id and
every free text the person wrote (reflections, transfer answers) or that was written about
them (attendance notes, withdrawal reasons) are gone, the stored HR import files lose the
person's rows and file names their name (`hr_import.forget_person_in_imports`), and the
audit log's lines about the person, their employments and those imports keep who did what
but lose the name, e-mail and HR ids.
Self-assessment scores stay, tied to the anonymous person, for the competence overview.

A restricted person (art. 18) is only stored: never anonymised (the data is kept, e.g. for
a legal claim) and left out of all processing until the restriction is lifted (the rule
below, `check_processing_allowed` / `unrestricted`). Every export, restriction and anonymisation is in the audit log.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from intro import audit, clock
from intro.db import write_transaction
from intro.errors import Invalid, NotFound
from intro.hr import imports as hr_import
from intro.i18n import _
from intro.insight.retention import add_months
from intro.settings import get_settings
from intro.tables import (
    Attendance,
    AuditLog,
    BusyCalendar,
    CalendarFeedToken,
    CatchUpBooking,
    Employment,
    Enrolment,
    LoginAttempt,
    LoginSession,
    Notice,
    Person,
    PlanItem,
    Reflection,
    Role,
    RoleGrant,
    SelfAssessment,
)

STAFF_ROLES = {Role.admin.value, Role.coordinator.value, Role.instructor.value, Role.chief.value}


def anonymous_name(person_id: int) -> str:
    return _("Anonymiseret person {id}").format(id=person_id)


def _anonymous_email(person_id: int) -> str:
    return f"anonymiseret-{person_id}@intro.invalid"


# --------------------------------------------------------------------------------------
# Access (art. 15)

# (key in the export, Danish heading, table, the column pointing to the person)
SECTIONS = (
    ("role_grants", _("Roller"), RoleGrant, RoleGrant.person),
    ("employments", _("Ansættelser"), Employment, Employment.person),
    ("enrolments", _("Tilmeldinger"), Enrolment, Enrolment.person),
    ("attendance", _("Fremmøde"), Attendance, Attendance.person),
    ("catch_up_bookings", _("Indhentninger"), CatchUpBooking, CatchUpBooking.person),
    ("plan_items", _("Introforløb"), PlanItem, PlanItem.person),
    ("reflections", _("Refleksioner"), Reflection, Reflection.person),
    ("self_assessments", _("Selvvurderinger"), SelfAssessment, SelfAssessment.person),
    ("calendar_feeds", _("Kalenderadresser"), CalendarFeedToken, CalendarFeedToken.owner),
    ("busy_calendars", _("Optaget-kalendere"), BusyCalendar, BusyCalendar.person),
    ("notices", _("Beskeder"), Notice, Notice.recipient),
    ("sign_ins", _("Aktive log-ind"), LoginSession, LoginSession.person),
)
SECTION_TITLES = {key: title for key, title, _t, _c in SECTIONS} | {
    "person": _("Personen"),
    "audit": _("Linjer i revisionsloggen om personen"),
}


def _plain(row: dict) -> dict:
    # Never a secret: token and password hashes are not the person's data to read, and
    # would let the file's reader sign in or read a feed.
    return {k: v for k, v in row.items() if "hash" not in k and k != "password"}


async def export(actor_id: int, person_id: int, record: bool = True) -> dict[str, Any]:
    """Everything Intro holds about one person, as plain data (JSON-ready except dates and
    datetimes): the person, then one list per kind of record (see SECTIONS), then the audit
    log lines about the person or their records. Recorded in the audit log (unless `record`
    is false: the page shown again with a refused request's errors, which changes nothing).
    Raises NotFound for an unknown person."""
    person = await Person.select().where(Person.id == person_id).first()
    if person is None:
        raise NotFound()
    data: dict[str, Any] = {"person": _plain(person)}
    owned: dict[str, list[str]] = {}
    for key, _title, table, column in SECTIONS:
        rows = await table.select().where(column == person_id).order_by(table.id)
        data[key] = [_plain(row) for row in rows]
        owned[key] = [str(row["id"]) for row in rows]
    about = (
        ((AuditLog.object_type == "person") & (AuditLog.object_id == str(person_id)))
        | (AuditLog.actor == person_id)
    )
    for object_type, key in (("employment", "employments"), ("enrolment", "enrolments"),
                             ("plan_item", "plan_items"), ("reflection", "reflections")):
        if owned[key]:
            about = about | ((AuditLog.object_type == object_type) & AuditLog.object_id.is_in(owned[key]))
    data["audit"] = await AuditLog.select().where(about).order_by(AuditLog.id)
    if record:
        await audit.record(actor_id, "person.export", "person", person_id)
    return data


# --------------------------------------------------------------------------------------
# Restriction (art. 18) and anonymisation (art. 17)


# THE restriction rule (art. 18). While a person's processing is restricted, their data is
# only stored: every write path about them asks `check_processing_allowed` (enrol,
# enrol_many, move, withdraw, completion, attendance marks, catch-up bookings) and every
# path that picks people by itself filters them out with `restricted_among` /
# `unrestricted` (the wait-list's fill_places, notices queued and sent, the intro plan's
# sync with new course days and local tasks). Nothing is deleted or anonymised.
#
# The wait-list: a restricted person keeps their place in the queue (their request and
# its time are stored data, and removing them would be processing to their detriment),
# but is passed over by fill_places: giving them a place is processing. When the
# restriction is lifted, the wait-lists they are on are filled again at once, so they get
# the first place that fits them ahead of anyone who queued after them.
#
# Not covered (on purpose): what the person does themselves while signed in (marking
# tasks, reflections, self-assessments: art. 18(2), their own consent), HR's employment
# records (the employer's own record, which the municipality must keep up to date) and
# ending access when employment ends (a security measure, not processing for a purpose).


def restricted_people():
    """A subquery of the ids of people whose processing is restricted (for `is_in`)."""
    return Person.select(Person.id).where(Person.restricted_at.is_not_null())


def unrestricted(person_column):
    """A where-clause keeping only rows whose `person_column` (a foreign key to Person)
    points to someone whose processing is not restricted."""
    return person_column.not_in(restricted_people())


async def restricted_among(person_ids) -> dict[int, str]:
    """Which of `person_ids` (any iterable of ints) are restricted: {id: full name}."""
    ids = sorted({int(i) for i in person_ids})
    if not ids:
        return {}
    rows = await Person.select(Person.id, Person.full_name).where(
        Person.id.is_in(ids) & Person.id.is_in(restricted_people())
    )
    return {row["id"]: row["full_name"] for row in rows}


async def check_processing_allowed(person_ids, field: str = "person") -> None:
    """Raise Invalid (on `field`) naming every restricted person among `person_ids`: their
    data may only be stored (GDPR art. 18), so nothing may be changed for them. Call it
    before writing anything, so a refusal changes nothing."""
    restricted = await restricted_among(person_ids)
    if restricted:
        names = _(" og ").join(sorted(restricted.values()))
        raise Invalid({field: _(
            "Behandlingen af data om {names} er begrænset (databeskyttelsesforordningens artikel 18): "
            "personen kan ikke tilmeldes, flyttes, afmeldes, få registreret fremmøde eller få beskeder, "
            "før en administrator ophæver begrænsningen."
        ).format(names=names)})


async def set_restricted(actor_id: int | None, person_id: int, restricted: bool) -> None:
    """Restrict (or lift the restriction on) processing of a person's data (see the rule
    above): while restricted, the person is only stored, and never anonymised, by hand or
    by the retention rule. Lifting it restores processing at once: the wait-lists the
    person is on are filled again and their intro plan is brought up to date.
    Raises NotFound for an unknown or anonymised person."""
    from intro.participation import (  # they ask the rule above: imported here, not at the top
        enrolment,
        plan,
    )

    person = await Person.select(Person.anonymised_at).where(Person.id == person_id).first()
    if person is None or person["anonymised_at"] is not None:
        raise NotFound()
    async with write_transaction(Person._meta.db):
        await Person.update({Person.restricted_at: clock.now() if restricted else None}).where(
            Person.id == person_id
        )
        await audit.record(actor_id, "person.restrict" if restricted else "person.unrestrict", "person", person_id)
    if not restricted:
        await enrolment.refill_waitlists_of(actor_id, person_id)
        await plan.sync_plan(person_id)


async def anonymise(actor_id: int | None, person_id: int, reason: str = "request") -> None:
    """Erase everything that identifies the person, keeping the records the figures rest
    on (see the module docstring), in one transaction with its audit line.

    `reason`: "request" (the person asked, art. 17) or "retention" (the retention rule).
    Raises NotFound for an unknown or already anonymised person, Invalid (field "person")
    for a restricted person, an administrator, oneself, or someone still employed."""
    person = await Person.select(Person.anonymised_at, Person.restricted_at).where(Person.id == person_id).first()
    if person is None or person["anonymised_at"] is not None:
        raise NotFound()
    if person["restricted_at"] is not None:
        raise Invalid({"person": _("Behandlingen af personens data er begrænset. Ophæv begrænsningen først.")})
    if actor_id is not None and actor_id == person_id:
        raise Invalid({"person": _("Du kan ikke anonymisere dig selv.")})
    if await RoleGrant.exists().where((RoleGrant.person == person_id) & (RoleGrant.role == Role.admin.value)):
        raise Invalid({"person": _("En administrator kan ikke anonymiseres. Fjern administratorrollen først.")})
    # While employed, the municipality still processes the employment (and HR keeps
    # sending it, which would bring the person back as a new, double-counted hire).
    if await Employment.exists().where(
        (Employment.person == person_id) & (Employment.end_date.is_null() | (Employment.end_date >= clock.today()))
    ):
        raise Invalid({"person": _("Personen er stadig ansat ifølge HR-data og kan først anonymiseres, når ansættelsen er slut.")})
    email = (await Person.select(Person.email).where(Person.id == person_id).first())["email"]
    identifying = await _identifying_texts(person_id)
    async with write_transaction(Person._meta.db):
        imports = await hr_import.forget_person_in_imports(identifying)
        await _scrub_audit_lines(person_id, identifying, imports)
        await Person.update({
            Person.full_name: anonymous_name(person_id),
            Person.email: _anonymous_email(person_id),
            Person.password_hash: None,
            Person.is_active: False,
            Person.last_login_at: None,
            Person.anonymised_at: clock.now(),
        }).where(Person.id == person_id)
        await LoginSession.delete().where(LoginSession.person == person_id)
        await LoginAttempt.delete().where(LoginAttempt.email == email)
        await CalendarFeedToken.delete().where(CalendarFeedToken.owner == person_id)
        await BusyCalendar.delete().where(BusyCalendar.person == person_id)
        await Notice.delete().where(Notice.recipient == person_id)
        await Reflection.delete().where(Reflection.person == person_id)
        await PlanItem.update({PlanItem.answer_tried: "", PlanItem.answer_outcome: ""}).where(
            PlanItem.person == person_id
        )
        await Attendance.update({Attendance.note: ""}).where(Attendance.person == person_id)
        await Enrolment.update({Enrolment.withdrawal_reason: ""}).where(Enrolment.person == person_id)
        await Employment.update({Employment.external_ref: None}).where(Employment.person == person_id)
        await RoleGrant.delete().where(RoleGrant.person == person_id)
        await audit.record(actor_id, "person.anonymise", "person", person_id, reason=reason)


async def _identifying_texts(person_id: int) -> list[str]:
    """The texts that name the person: e-mail, name and the HR system's ids, longest first
    (so a name inside an e-mail address is replaced as part of the address)."""
    person = await Person.select(Person.email, Person.full_name).where(Person.id == person_id).first()
    refs = [
        row["external_ref"]
        for row in await Employment.select(Employment.external_ref).where(Employment.person == person_id)
        if row["external_ref"]
    ]
    texts = {person["email"], person["full_name"], *refs}
    return sorted((t for t in texts if t and len(t) >= 3), key=len, reverse=True)


def _scrubbed(value: Any, texts: list[str]) -> Any:
    if isinstance(value, str):
        for text in texts:
            value = re.sub(re.escape(text), "[anonymiseret]", value, flags=re.IGNORECASE)
        return value
    if isinstance(value, list):
        return [_scrubbed(v, texts) for v in value]
    if isinstance(value, dict):
        return {k: _scrubbed(v, texts) for k, v in value.items()}
    return value


async def _scrub_audit_lines(person_id: int, texts: list[str], import_ids: list[int] = ()) -> None:
    """The audit log keeps who did what, but not the person's name, e-mail or HR ids in
    the lines about them, their employments (e.g. "Bruger oprettet" with the e-mail) or
    the HR imports that named them (`import_ids`: a file name with their name)."""
    employment_ids = [
        str(row["id"]) for row in await Employment.select(Employment.id).where(Employment.person == person_id)
    ]
    about = (AuditLog.object_type == "person") & (AuditLog.object_id == str(person_id))
    if employment_ids:
        about = about | ((AuditLog.object_type == "employment") & AuditLog.object_id.is_in(employment_ids))
    if import_ids:
        about = about | (
            (AuditLog.object_type == "employment_import") & AuditLog.object_id.is_in([str(i) for i in import_ids])
        )
    for line in await AuditLog.select(AuditLog.id, AuditLog.details).where(about):
        details = line["details"]
        if isinstance(details, str):
            try:
                details = json.loads(details or "{}")
            except ValueError:
                details = {"details": details}
        cleaned = _scrubbed(details, texts)
        if cleaned != details:
            await AuditLog.update({AuditLog.details: cleaned}).where(AuditLog.id == line["id"])


# --------------------------------------------------------------------------------------
# The retention rule


@dataclass(frozen=True)
class Due:
    person_id: int
    last_end: date


async def due_for_anonymisation(today: date, years: int) -> list[Due]:
    """People whose last employment ended more than `years` years before `today` and who
    have no employment still running or starting later, hold no staff role, are not
    restricted and not yet anonymised. Ordered by person id."""
    if years < 0:
        raise ValueError("years must not be negative")
    cutoff = add_months(today, -12 * years)
    rows = await Employment.select(Employment.person, Employment.end_date).where(
        Employment.person.is_in(
            Person.select(Person.id).where(Person.anonymised_at.is_null() & Person.restricted_at.is_null())
        )
    )
    last_end: dict[int, date | None] = {}
    for row in rows:
        person, end = row["person"], row["end_date"]
        if person in last_end and last_end[person] is None:
            continue
        last_end[person] = None if end is None else max(end, last_end.get(person) or end)
    staff = {
        row["person"]
        for row in await RoleGrant.select(RoleGrant.person).where(RoleGrant.role.is_in(sorted(STAFF_ROLES)))
    }
    return [
        Due(person, end)
        for person, end in sorted(last_end.items())
        if end is not None and end < cutoff and person not in staff
    ]


async def retention_sweep(today: date | None = None, years: int | None = None, *, dry_run: bool = False) -> list[Due]:
    """Anonymise everyone `due_for_anonymisation` (reason "retention"); with `dry_run`
    only say who would be. `years` defaults to the INTRO_RETENTION_YEARS setting."""
    today = today or clock.today()
    years = get_settings().retention_years if years is None else years
    due = await due_for_anonymisation(today, years)
    if not dry_run:
        for item in due:
            await anonymise(None, item.person_id, reason="retention")
    return due
