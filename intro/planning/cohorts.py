"""Cohorts and their timetables: the named operations a coordinator uses.

Each operation validates its input, writes in one transaction and logs to the audit
log. The planning itself is `intro.planning.scheduling`, pure; this module loads what the
planner needs (through `intro.planning.planner_input`) and stores what it proposes; pages
read cohorts and timetables through `intro.planning.timetables`.

Sessions people may have in their calendars are never deleted: a scheduled session is
moved (its revision goes up) or cancelled. Only proposals, which nobody has seen in a
calendar, are replaced when the coordinator asks for a new proposal.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, time
from typing import Any

from intro import audit, clock
from intro.db import write_transaction
from intro.errors import Invalid
from intro.i18n import _
from intro.inputs import checked_text, course_day_window, outside_window
from intro.participation import plan
from intro.people.organisation import in_force_on
from intro.planning import notices
from intro.planning.planner_input import (
    ACTIVE_SESSION,
    _bookings,
    _closed_spans,
    _instructor_options,
    _venue_options,
    build_plan_request,
    cohort_days,
    cohort_modules,
)
from intro.planning.rows import CohortRow, SessionRow
from intro.planning.scheduling import (
    Conflict,
    DayInOrder,
    PlannedSession,
    Proposal,
    Rhythm,
    danish_holidays,
    find_conflicts,
    order_conflicts,
    propose,
)
from intro.tables import (
    ENROLMENT_ON_COHORT,
    Cohort,
    CohortModule,
    CohortPreferredVenue,
    CohortSeats,
    CohortStatus,
    CurriculumVersion,
    Enrolment,
    Module,
    PartnershipMember,
    Role,
    RoleGrant,
    Session,
    SessionInstructor,
    SessionStatus,
    Venue,
)
from intro.timefmt import exists_locally, local_instant

WEEKDAY_NAMES = [_("Mandag"), _("Tirsdag"), _("Onsdag"), _("Torsdag"), _("Fredag")]


# --------------------------------------------------------------------------------------
# Reading forms


def parse_date(value: Any) -> date | None:
    """2027-02-01 (from <input type=date>) or 01.02.2027 / 1/2-2027 (typed by hand), as
    a course day: None when it cannot be read or lies outside
    inputs.course_day_window (years like 0001 or 9999 are typing errors, and the
    planner cannot work with them)."""
    text = str(value or "").strip() if not isinstance(value, list) else ""
    if not text:
        return None
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", text) or None
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = re.fullmatch(r"([0-9]{1,2})[./-]([0-9]{1,2})[./-]([0-9]{4})", text)
        if not match:
            return None
        day, month, year = (int(g) for g in match.groups())
    try:
        parsed = date(year, month, day)
    except ValueError:
        return None
    return None if outside_window(parsed, course_day_window(clock.today())) else parsed


def parse_time(value: Any) -> time | None:
    text = str(value or "").strip().replace(".", ":")
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _ids(value: Any) -> list[int]:
    out = []
    for v in _as_list(value):
        try:
            out.append(int(v))
        except ValueError:
            continue
    return out


# --------------------------------------------------------------------------------------
# Creating a cohort


async def form_options(partnership_id: int) -> dict:
    """What the new-cohort form offers: versions, member municipalities, their venues
    and their local modules."""
    members = await PartnershipMember.select(
        PartnershipMember.municipality.id.as_alias("id"),
        PartnershipMember.municipality.name.as_alias("name"),
    ).where((PartnershipMember.partnership == partnership_id) & in_force_on(clock.today())).order_by(
        PartnershipMember.municipality.name
    )  # a new cohort is planned with today's members
    member_ids = [m["id"] for m in members] or [0]
    versions = await CurriculumVersion.select(
        CurriculumVersion.id, CurriculumVersion.label, CurriculumVersion.revision, CurriculumVersion.title
    ).order_by(CurriculumVersion.id, ascending=False)
    venues = await Venue.select(
        Venue.id, Venue.name, Venue.capacity, Venue.municipality.name.as_alias("municipality_name")
    ).where(Venue.municipality.is_in(member_ids) & (Venue.is_active == True)).order_by(Venue.name)  # noqa: E712
    local_modules = await Module.select(
        Module.id, Module.code, Module.title, Module.curriculum_version,
        Module.municipality.name.as_alias("municipality_name"),
    ).where(Module.municipality.is_in(member_ids) & Module.retired_at.is_null()).order_by(Module.code)
    return {"members": members, "versions": versions, "venues": venues, "local_modules": local_modules}


@dataclass(frozen=True)
class CohortInput:
    name: str
    version_id: int
    start_date: date
    capacity: int
    seats: dict[int, int]
    rhythm: Rhythm
    day_start: time
    day_end: time
    preferred_venue_ids: list[int]
    local_module_ids: list[int]


async def read_cohort_form(partnership_id: int, form: dict[str, Any]) -> CohortInput:
    """Validate the new-cohort form; raise Invalid naming every bad field."""
    options = await form_options(partnership_id)
    errors: dict[str, str] = {}
    name = str(form.get("name", "")).strip()
    if not name:
        errors["name"] = _("Giv holdet et navn, fx «Hold forår 2027».")
    elif len(name) > 120:
        errors["name"] = _("Navnet må højst være 120 tegn.")
    elif await Cohort.exists().where((Cohort.partnership == partnership_id) & (Cohort.name == name)):
        errors["name"] = _("Samarbejdet har allerede et hold med dette navn.")
    version_ids = {v["id"] for v in options["versions"]}
    version_id = (_ids(form.get("curriculum_version")) or [0])[0]
    if version_id not in version_ids:
        errors["curriculum_version"] = _("Vælg en læreplansversion.")
    start = parse_date(form.get("start_date"))
    if start is None:
        errors["start_date"] = _("Skriv første kursusdag som en dato, fx 02.02.2027.")
    elif start < clock.today():
        errors["start_date"] = _("Første kursusdag kan ikke ligge i fortiden.")
    try:
        capacity = int(str(form.get("capacity", "")).strip())
        if not 1 <= capacity <= 200:
            raise ValueError
    except ValueError:
        errors["capacity"] = _("Antal pladser skal være et helt tal fra 1 til 200.")
        capacity = 0
    seats: dict[int, int] = {}
    for member in options["members"]:
        raw = str(form.get(f"seats_{member['id']}", "0")).strip() or "0"
        try:
            value = int(raw)
            if value < 0:
                raise ValueError
            seats[member["id"]] = value
        except ValueError:
            errors[f"seats_{member['id']}"] = _("Pladser til {name} skal være et helt tal, 0 eller flere.").format(name=member["name"])
    if capacity and sum(seats.values()) > capacity:
        errors["capacity"] = _("Kommunernes pladser ({sum}) er flere end holdets {cap} pladser.").format(sum=sum(seats.values()), cap=capacity)
    kind = str(form.get("rhythm", "weekdays"))
    rhythm = Rhythm()
    if kind == "dates":
        dates, bad = [], []
        for line in re.split(r"[\s,;]+", str(form.get("dates", "")).strip()):
            if not line:
                continue
            parsed = parse_date(line)
            (dates if parsed else bad).append(parsed or line)
        if bad:
            errors["dates"] = _("Disse datoer kan ikke læses: {bad}").format(bad=", ".join(bad))
        elif not dates:
            errors["dates"] = _("Skriv mindst én dato.")
        rhythm = Rhythm(dates=tuple(sorted(dates)))
    else:
        weekdays = sorted({d for d in _ids(form.get("weekdays")) if 0 <= d <= 4})
        if not weekdays:
            errors["weekdays"] = _("Vælg mindst én ugedag.")
        rhythm = Rhythm(weekdays=tuple(weekdays))
    day_start = parse_time(form.get("day_start") or "09:00")
    day_end = parse_time(form.get("day_end") or "15:00")
    if day_start is None:
        errors["day_start"] = _("Skriv starttidspunktet som tt:mm, fx 09:00.")
    if day_end is None:
        errors["day_end"] = _("Skriv sluttidspunktet som tt:mm, fx 15:00.")
    if day_start and day_end and day_end <= day_start:
        errors["day_end"] = _("Dagen skal slutte efter, den begynder.")
    venue_ids = {v["id"] for v in options["venues"]}
    preferred = _ids(form.get("preferred_venues"))
    if any(v not in venue_ids for v in preferred):
        errors["preferred_venues"] = _("En valgt lokation hører ikke til samarbejdets kommuner.")
    local_ids = _ids(form.get("local_modules"))
    allowed_local = {m["id"] for m in options["local_modules"] if m["curriculum_version"] == version_id}
    if any(m not in allowed_local for m in local_ids):
        errors["local_modules"] = _("Et valgt lokalt modul hører ikke til den valgte læreplan.")
    if errors:
        raise Invalid(errors)
    return CohortInput(
        name=name,
        version_id=version_id,
        start_date=start,
        capacity=capacity,
        seats=seats,
        rhythm=rhythm,
        day_start=day_start,
        day_end=day_end,
        preferred_venue_ids=preferred,
        local_module_ids=local_ids,
    )


async def create_cohort(actor_id: int, partnership_id: int, form: dict[str, Any]) -> int:
    data = await read_cohort_form(partnership_id, form)
    shared = await Module.select(Module.id).where(
        (Module.curriculum_version == data.version_id) & Module.municipality.is_null()
    )
    rhythm = (
        {"dates": [d.isoformat() for d in data.rhythm.dates]}
        if data.rhythm.dates
        else {"weekdays": list(data.rhythm.weekdays)}
    )
    async with write_transaction(Cohort._meta.db):
        cohort_id = (
            await Cohort.insert(
                Cohort(
                    partnership=partnership_id,
                    curriculum_version=data.version_id,
                    name=data.name,
                    status=CohortStatus.planning.value,
                    start_date=data.start_date,
                    capacity=data.capacity,
                    day_start=data.day_start,
                    day_end=data.day_end,
                    rhythm=rhythm,
                    created_by=actor_id,
                )
            ).returning(Cohort.id)
        )[0]["id"]
        seats = [CohortSeats(cohort=cohort_id, municipality=m, seats=n) for m, n in data.seats.items()]
        if seats:
            await CohortSeats.insert(*seats)
        module_ids = [m["id"] for m in shared] + data.local_module_ids
        await CohortModule.insert(*[CohortModule(cohort=cohort_id, module=m) for m in module_ids])
        if data.preferred_venue_ids:
            await CohortPreferredVenue.insert(
                *[CohortPreferredVenue(cohort=cohort_id, venue=v) for v in data.preferred_venue_ids]
            )
        await audit.record(
            actor_id, "cohort.create", "cohort", cohort_id,
            name=data.name, start_date=data.start_date.isoformat(), capacity=data.capacity,
        )
    return cohort_id


# --------------------------------------------------------------------------------------
# Proposing a timetable

async def propose_timetable(actor_id: int, cohort: CohortRow, from_date: date | None = None) -> Proposal:
    """Replace the cohort's proposed sessions (from a date on) with a new proposal.
    Only while the cohort is being planned: accepted sessions are moved one by one."""
    if not cohort.is_planning:
        raise Invalid({"from_date": _("Holdets plan er godkendt; flyt i stedet de enkelte kursusdage.")})
    from_date = from_date or cohort.start_date
    if from_date < cohort.start_date:
        from_date = cohort.start_date
    request, kept = await build_plan_request(cohort, from_date)
    proposal = propose(request)
    kept_ids = [s["id"] for s in kept]
    async with write_transaction(Session._meta.db):
        stale = Session.select(Session.id).where(
            (Session.cohort == cohort.id) & (Session.status == SessionStatus.proposed.value)
        )
        if kept_ids:
            stale = stale.where(Session.id.not_in(kept_ids))
        stale_ids = [r["id"] for r in await stale]
        if stale_ids:
            await SessionInstructor.delete().where(SessionInstructor.session.is_in(stale_ids))
            await Session.delete().where(Session.id.is_in(stale_ids))
        for planned in proposal.sessions:
            session_id = (
                await Session.insert(
                    Session(
                        cohort=cohort.id,
                        module=planned.module_id,
                        part=planned.part,
                        starts_at=planned.starts_at,
                        ends_at=planned.ends_at,
                        venue=planned.venue_id,
                        status=SessionStatus.proposed.value,
                        uid=f"{uuid.uuid4()}@intro",
                        change_reason="\n".join(planned.reasons),
                    )
                ).returning(Session.id)
            )[0]["id"]
            if planned.instructor_ids:
                await SessionInstructor.insert(
                    *[SessionInstructor(session=session_id, person=t) for t in planned.instructor_ids]
                )
        await audit.record(
            actor_id, "cohort.propose", "cohort", cohort.id,
            from_date=from_date.isoformat(), sessions=len(proposal.sessions),
            unplaced=[code for code, _why in proposal.unplaced],
        )
    return proposal


async def accept_timetable(actor_id: int, cohort: CohortRow) -> None:
    if not cohort.is_planning:
        raise Invalid({"cohort": _("Holdets plan er allerede godkendt.")})
    missing = await missing_modules(cohort.id)
    if missing:
        raise Invalid(
            {"cohort": _("Disse moduler mangler kursusdage: {codes}").format(codes=", ".join(m["code"] for m in missing))}
        )
    async with write_transaction(Session._meta.db):
        await Session.update(
            {Session.status: SessionStatus.scheduled.value, Session.updated_at: clock.now()}
        ).where((Session.cohort == cohort.id) & (Session.status == SessionStatus.proposed.value))
        await Cohort.update({Cohort.status: CohortStatus.active.value}).where(Cohort.id == cohort.id)
        await audit.record(actor_id, "cohort.accept", "cohort", cohort.id)
    await plan.sync_cohort(cohort.id)


async def missing_modules(cohort_id: int) -> list[dict]:
    """Modules of the cohort without all their course days."""
    modules = await cohort_modules(cohort_id)
    counts: dict[int, int] = defaultdict(int)
    for s in await Session.select(Session.module).where(
        (Session.cohort == cohort_id) & Session.status.is_in(ACTIVE_SESSION)
    ):
        counts[s["module"]] += 1
    return [m for m in modules if counts[m["id"]] < m["days"]]


# --------------------------------------------------------------------------------------
# Changing one session


@dataclass(frozen=True)
class SessionChange:
    day: date
    start: time
    end: time
    venue_id: int | None
    instructor_ids: tuple[int, ...]
    reason: str
    # A coordinator who saves despite hard conflicts says so and why (audited).
    override_reason: str = ""


async def read_session_form(session: SessionRow, cohort: CohortRow, form: dict[str, Any]) -> SessionChange:
    errors: dict[str, str] = {}
    day = parse_date(form.get("date"))
    if day is None:
        errors["date"] = _("Skriv datoen, fx 02.02.2027.")
    elif day < clock.today() and session.is_scheduled:
        errors["date"] = _("En kursusdag kan ikke flyttes til en dato i fortiden.")
    start, end = parse_time(form.get("start")), parse_time(form.get("end"))
    if start is None:
        errors["start"] = _("Skriv starttidspunktet som tt:mm, fx 09:00.")
    if end is None:
        errors["end"] = _("Skriv sluttidspunktet som tt:mm, fx 15:00.")
    if start and end and end <= start:
        errors["end"] = _("Sluttidspunktet skal ligge efter starttidspunktet.")
    if day:
        # A time in the hour skipped when summer time starts is refused, not shifted.
        for field_name, value in (("start", start), ("end", end)):
            if value and field_name not in errors and not exists_locally(day, value):
                errors[field_name] = _(
                    "Klokken {time} findes ikke den {day}, hvor uret stilles frem til sommertid. Vælg et andet tidspunkt."
                ).format(time=value.strftime("%H.%M"), day=day.strftime("%d.%m.%Y"))
    venue_ids = {v.id for v in await _venue_options(cohort.partnership)}
    raw_venue = str(form.get("venue", "")).strip()
    venue_id = None
    if raw_venue:
        try:
            venue_id = int(raw_venue)
        except ValueError:
            venue_id = -1
        if venue_id not in venue_ids:
            errors["venue"] = _("Vælg en lokation i samarbejdets kommuner.")
    instructor_ids = tuple(sorted(set(_ids(form.get("instructors")))))
    allowed = {
        g["person"]
        for g in await RoleGrant.select(RoleGrant.person).where(
            (RoleGrant.role == Role.instructor.value) & (RoleGrant.partnership == cohort.partnership)
        )
    }
    if any(i not in allowed for i in instructor_ids):
        errors["instructors"] = _("Vælg undervisere fra samarbejdet.")
    reason = checked_text(form.get("reason"), "reason", 500, multiline=True)
    if session.is_scheduled and not reason:
        errors["reason"] = _("Skriv kort, hvorfor kursusdagen ændres; deltagerne får besked.")
    override_reason = ""
    if str(form.get("override", "")) in ("1", "on", "true"):
        override_reason = str(form.get("override_reason", "")).strip()[:500]
        if not override_reason:
            errors["override_reason"] = _("Skriv, hvorfor ændringen skal gemmes trods konflikterne.")
    if errors:
        raise Invalid(errors)
    return SessionChange(day, start, end, venue_id, instructor_ids, reason, override_reason)



async def conflicts_for_change(session: SessionRow, cohort: CohortRow, change: SessionChange) -> list[Conflict]:
    """What would be wrong with the session after this change (the live check)."""
    starts, ends = local_instant(change.day, change.start), local_instant(change.day, change.end)
    others = await _bookings(None, starts, ends)
    module = await Module.select(Module.code).where(Module.id == session.module).first()
    venues = {v.id: v for v in await _venue_options(cohort.partnership)}
    instructors = {i.id: i for i in await _instructor_options(cohort.partnership, starts, ends)}
    enrolled = await Enrolment.count().where(
        (Enrolment.cohort == cohort.id) & Enrolment.status.is_in(ENROLMENT_ON_COHORT)
    )
    me = PlannedSession(
        id=session.id, cohort_id=cohort.id, module_id=session.module, module_code=module["code"],
        starts_at=starts, ends_at=ends, venue_id=change.venue_id,
        instructor_ids=frozenset(change.instructor_ids), participants=max(enrolled, cohort.capacity),
    )
    # Other sessions as bookings: only clashes with this one matter.
    found = find_conflicts(
        [me],
        venues=venues,
        instructors=instructors,
        holidays=danish_holidays(range(change.day.year, change.day.year + 1)),
        closed_by_cohort={cohort.id: await _closed_spans(cohort.partnership)},
    )
    # The order rules over the cohort's whole timetable: what this change would break.
    before = await cohort_days(cohort.id)
    after = [
        DayInOrder(d.id, d.module_id, d.module_code, d.part, starts, ends, d.prerequisites) if d.id == session.id else d
        for d in before
    ]
    already = {(c.session_id, c.kind, c.message) for c in order_conflicts(before)}
    found.extend(c for c in order_conflicts(after) if (c.session_id, c.kind, c.message) not in already)
    for b in others:
        if b.session_id == session.id:
            continue
        if change.venue_id is not None and b.venue_id == change.venue_id:
            found.append(Conflict(session.id, "venue_double", True, _("Lokationen er også booket til {what}").format(what=b.label)))
        for t in set(change.instructor_ids) & b.instructor_ids:
            name = instructors[t].name if t in instructors else str(t)
            found.append(Conflict(session.id, "instructor_double", True, _("{name} underviser også på {what}").format(name=name, what=b.label)))
    return found


async def change_session(actor_id: int, session: SessionRow, cohort: CohortRow, change: SessionChange) -> None:
    """Move a session (date, time, venue, instructors). A scheduled session's revision
    goes up, so calendars pick up the change; a proposal is simply edited."""
    starts, ends = local_instant(change.day, change.start), local_instant(change.day, change.end)
    if session.is_cancelled:
        raise Invalid({"date": _("En aflyst kursusdag kan ikke flyttes.")})
    current = {
        r["person"] for r in await SessionInstructor.select(SessionInstructor.person).where(
            SessionInstructor.session == session.id
        )
    }
    moved = (starts, ends, change.venue_id) != (session.starts_at, session.ends_at, session.venue)
    changed = moved or current != set(change.instructor_ids)
    if not changed:
        return
    scheduled = session.is_scheduled
    hard = [c for c in await conflicts_for_change(session, cohort, change) if c.hard]
    if hard and not change.override_reason:
        raise Invalid({"override": _(
            "Ændringen er ikke gemt, fordi: {problems}. Ret den, eller sæt kryds i «Gem trods konflikter» og skriv hvorfor."
        ).format(problems="; ".join(dict.fromkeys(c.message for c in hard)))})
    async with write_transaction(Session._meta.db):
        if hard:
            await audit.record(
                actor_id, "session.override", "session", session.id,
                conflicts=[c.message for c in hard], reason=change.override_reason,
            )
        await Session.update(
            {
                Session.override_reason: change.override_reason if hard else "",
                Session.starts_at: starts,
                Session.ends_at: ends,
                Session.venue: change.venue_id,
                Session.revision: session.revision + (1 if scheduled else 0),
                Session.change_reason: change.reason or session.change_reason,
                Session.updated_at: clock.now(),
            }
        ).where(Session.id == session.id)
        await SessionInstructor.delete().where(SessionInstructor.session == session.id)
        if change.instructor_ids:
            await SessionInstructor.insert(
                *[SessionInstructor(session=session.id, person=t) for t in change.instructor_ids]
            )
        await audit.record(
            actor_id, "session.move" if scheduled else "session.edit_proposal", "session", session.id,
            starts_at=starts.isoformat(), venue=change.venue_id, instructors=list(change.instructor_ids),
            reason=change.reason,
        )
        if scheduled:
            await notices.queue_session_change(
                session,
                replace(session, starts_at=starts, ends_at=ends, venue=change.venue_id),
                change.reason,
                instructors=(frozenset(current), frozenset(change.instructor_ids)),
            )
    if scheduled:
        await plan.sync_cohort(cohort.id)


async def cancel_session(actor_id: int, session: SessionRow, reason: str) -> None:
    reason = checked_text(reason, "reason", 500, multiline=True)
    if not reason:
        raise Invalid({"reason": _("Skriv kort, hvorfor kursusdagen aflyses; deltagerne får besked.")})
    if not session.is_scheduled:
        raise Invalid({"reason": _("Kun en planlagt kursusdag kan aflyses.")})
    async with write_transaction(Session._meta.db):
        await Session.update(
            {
                Session.status: SessionStatus.cancelled.value,
                Session.revision: session.revision + 1,
                Session.change_reason: reason,
                Session.updated_at: clock.now(),
            }
        ).where(Session.id == session.id)
        await audit.record(actor_id, "session.cancel", "session", session.id, reason=reason)
        await notices.queue_session_change(session, replace(session, status=SessionStatus.cancelled), reason)
    await plan.sync_cohort(session.cohort)

