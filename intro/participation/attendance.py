"""Attendance on course days, catch-up needs, and booking a missed module in another
cohort.

Who is on a day's sheet (one rule, `expected_on`): a participant of the cohort from the
day they got their place (the local date of `enrolled_at`) on, and anyone booked in
to catch up on that day. `mark` refuses anyone else, so no mark for a day before a
person's enrolment is stored, and no rate built on the marks can count one."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from intro import audit, clock
from intro.db import write_transaction
from intro.errors import Invalid
from intro.i18n import _
from intro.participation import plan
from intro.people import privacy
from intro.planning.rows import CohortRow, SessionRow
from intro.tables import (
    ENROLMENT_ON_COHORT,
    Attendance,
    AttendanceStatus,
    CatchUpBooking,
    Enrolment,
    EnrolmentStatus,
    Session,
    SessionStatus,
)
from intro.timefmt import COPENHAGEN, local

ON_COHORT = ENROLMENT_ON_COHORT
STATUS_NAMES = {
    AttendanceStatus.present.value: _("Til stede"),
    AttendanceStatus.absent.value: _("Fraværende"),
    AttendanceStatus.excused.value: _("Afbud"),
}




def expected_on(day: date, enrolled_at: datetime | None) -> bool:
    """Pure: is a participant enrolled at `enrolled_at` (an instant; None: never given a
    place) on the sheet of a course day on local date `day`? Only from the local date
    they got their place."""
    return enrolled_at is not None and day >= local(enrolled_at).date()


async def sheet(session: SessionRow) -> list[dict]:
    """Everyone expected on the day: the cohort's participants enrolled by that day and
    those booked in to catch up, with what has been recorded."""
    day = local(session.starts_at).date()
    people = [
        p
        for p in await Enrolment.select(
            Enrolment.person,
            Enrolment.enrolled_at,
            Enrolment.person.full_name.as_alias("full_name"),
            Enrolment.municipality.name.as_alias("municipality_name"),
        ).where((Enrolment.cohort == session.cohort) & Enrolment.status.is_in(ON_COHORT))
        if expected_on(day, p.pop("enrolled_at"))
    ]
    for p in people:
        p["catch_up"] = False
    guests = await CatchUpBooking.select(
        CatchUpBooking.person,
        CatchUpBooking.person.full_name.as_alias("full_name"),
    ).where((CatchUpBooking.session == session.id) & CatchUpBooking.cancelled_at.is_null())
    known = {p["person"] for p in people}
    for g in guests:
        if g["person"] not in known:
            people.append({**g, "municipality_name": "", "catch_up": True})
    marks = {
        a["person"]: a["status"]
        for a in await Attendance.select(Attendance.person, Attendance.status).where(
            Attendance.session == session.id
        )
    }
    for p in people:
        p["status"] = marks.get(p["person"])
    people.sort(key=lambda p: p["full_name"])
    return people


def may_record_on(session: SessionRow, now: datetime | None = None) -> bool:
    """Attendance is taken on the day or afterwards, never ahead."""
    now = now or clock.now()
    return local(session.starts_at).date() <= now.astimezone(COPENHAGEN).date()


async def mark(actor_id: int, session: SessionRow, person_id: int, status: str) -> None:
    if status not in STATUS_NAMES:
        raise Invalid({"status": _("Vælg til stede, fraværende eller afbud.")})
    if not session.is_scheduled:
        raise Invalid({"status": _("Der tages kun fremmøde på planlagte kursusdage.")})
    if not may_record_on(session):
        raise Invalid({"status": _("Fremmøde kan først registreres på selve dagen.")})
    if person_id not in {p["person"] for p in await sheet(session)}:
        late = await Enrolment.select(Enrolment.enrolled_at, Enrolment.person.full_name.as_alias("name")).where(
            (Enrolment.cohort == session.cohort) & (Enrolment.person == person_id)
            & Enrolment.status.is_in(ON_COHORT)
        ).first()
        if late and late["enrolled_at"] is not None:
            raise Invalid({"person": _(
                "{name} blev tilmeldt holdet {date}; der registreres ikke fremmøde for dage før tilmeldingen."
            ).format(name=late["name"], date=local(late["enrolled_at"]).strftime("%d.%m.%Y"))})
        raise Invalid({"person": _("Personen er ikke på holdet eller booket ind på dagen.")})
    await privacy.check_processing_allowed([person_id])
    async with write_transaction(Attendance._meta.db):
        existing = await Attendance.select(Attendance.id, Attendance.status).where(
            (Attendance.session == session.id) & (Attendance.person == person_id)
        ).first()
        if existing and existing["status"] == status:
            return
        if existing:
            await Attendance.update(
                {Attendance.status: status, Attendance.recorded_by: actor_id, Attendance.recorded_at: clock.now()}
            ).where(Attendance.id == existing["id"])
        else:
            await Attendance.insert(
                Attendance(session=session.id, person=person_id, status=status, recorded_by=actor_id)
            )
        await audit.record(
            actor_id, "attendance.mark", "session", session.id, person=person_id, status=status,
            previous=existing["status"] if existing else None,  # shown as old → new in the log
        )


async def catch_up_needs(cohort_id: int) -> list[dict]:
    """Missed modules not yet made up: a participant was absent or excused (or nobody
    recorded them) on a course day that has passed, and has not attended — nor been
    booked into — the same module elsewhere."""
    people = await Enrolment.select(
        Enrolment.person, Enrolment.person.full_name.as_alias("full_name")
    ).where((Enrolment.cohort == cohort_id) & (Enrolment.status == EnrolmentStatus.enrolled.value))
    if not people:
        return []
    person_ids = [p["person"] for p in people]
    past = await Session.select(
        Session.id, Session.module, Session.starts_at, Session.part,
        Session.module.code.as_alias("code"), Session.module.title.as_alias("title"),
    ).where(
        (Session.cohort == cohort_id)
        & (Session.status == SessionStatus.scheduled.value)
        & (Session.ends_at < clock.now())
    ).order_by(Session.starts_at)
    if not past:
        return []
    marks = {
        (a["session"], a["person"]): a["status"]
        for a in await Attendance.select(Attendance.session, Attendance.person, Attendance.status).where(
            Attendance.session.is_in([s["id"] for s in past]) & Attendance.person.is_in(person_ids)
        )
    }
    # Made up elsewhere: present at, or booked into, a session of the same module code.
    made_up: dict[int, set[str]] = defaultdict(set)
    for a in await Attendance.select(
        Attendance.person, Attendance.session.module.code.as_alias("code")
    ).where(
        Attendance.person.is_in(person_ids)
        & (Attendance.status == AttendanceStatus.present.value)
        & (Attendance.session.cohort != cohort_id)
    ):
        made_up[a["person"]].add(a["code"])
    bookings: dict[tuple[int, str], dict] = {}
    for b in await CatchUpBooking.select(
        CatchUpBooking.person,
        CatchUpBooking.session,
        CatchUpBooking.session.starts_at.as_alias("starts_at"),
        CatchUpBooking.session.module.code.as_alias("code"),
        CatchUpBooking.session.cohort.name.as_alias("cohort_name"),
    ).where(CatchUpBooking.person.is_in(person_ids) & CatchUpBooking.cancelled_at.is_null()):
        bookings[(b["person"], b["code"])] = b
    needs = []
    for p in people:
        for s in past:
            status = marks.get((s["id"], p["person"]))
            if status == AttendanceStatus.present.value or s["code"] in made_up[p["person"]]:
                continue
            needs.append(
                {
                    "person": p["person"],
                    "full_name": p["full_name"],
                    "session": s,
                    "status": status,
                    "booking": bookings.get((p["person"], s["code"])),
                }
            )
    return needs


async def catch_up_options(cohort: CohortRow, module_codes: set[str]) -> dict[str, list[dict]]:
    """Future course days of these modules in the partnership's other cohorts."""
    if not module_codes:
        return {}
    rows = await Session.select(
        Session.id, Session.starts_at, Session.ends_at,
        Session.module.code.as_alias("code"), Session.cohort.name.as_alias("cohort_name"),
        Session.venue.city.as_alias("city"),
    ).where(
        (Session.cohort.partnership == cohort.partnership)
        & (Session.cohort != cohort.id)
        & (Session.status == SessionStatus.scheduled.value)
        & (Session.starts_at > clock.now())
        & Session.module.code.is_in(sorted(module_codes))
    ).order_by(Session.starts_at)
    options: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        options[r["code"]].append(r)
    return options


async def book_catch_up(actor_id: int, cohort: CohortRow, person_id: int, missed_session_id: int, session_id: int) -> None:
    needs = await catch_up_needs(cohort.id)
    need = next(
        (n for n in needs if n["person"] == person_id and n["session"]["id"] == missed_session_id), None
    )
    if need is None:
        raise Invalid({"session": _("Der er ikke noget at indhente for denne person og dag.")})
    options = (await catch_up_options(cohort, {need["session"]["code"]})).get(need["session"]["code"], [])
    if session_id not in {o["id"] for o in options}:
        raise Invalid({"session": _("Vælg en kommende kursusdag med samme modul på et andet hold.")})
    await privacy.check_processing_allowed([person_id], "session")
    async with write_transaction(CatchUpBooking._meta.db):
        existing = await CatchUpBooking.select(CatchUpBooking.id).where(
            (CatchUpBooking.person == person_id) & (CatchUpBooking.session == session_id)
        ).first()
        if existing:
            await CatchUpBooking.update(
                {CatchUpBooking.cancelled_at: None, CatchUpBooking.booked_by: actor_id}
            ).where(CatchUpBooking.id == existing["id"])
        else:
            await CatchUpBooking.insert(
                CatchUpBooking(
                    person=person_id, session=session_id, missed_session=missed_session_id, booked_by=actor_id
                )
            )
        await audit.record(
            actor_id, "catch_up.book", "session", session_id, person=person_id, missed_session=missed_session_id
        )
    await plan.sync_plan(person_id)

