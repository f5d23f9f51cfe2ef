"""Cohorts and their timetables: the named operations a coordinator uses.

Each operation validates its input, writes in one transaction and logs to the audit
log. The planning itself is `intro.scheduling`, pure; this module loads what the
planner needs and stores what it proposes.

Sessions people may have in their calendars are never deleted: a scheduled session is
moved (its revision goes up) or cancelled. Only proposals, which nobody has seen in a
calendar, are replaced when the coordinator asks for a new proposal.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from intro import audit, clock, notices, plan
from intro.db import write_transaction
from intro.errors import Invalid
from intro.i18n import _
from intro.inputs import checked_text, course_day_window, outside_window
from intro.scheduling import (
    Booking,
    ClosedSpan,
    Conflict,
    DayInOrder,
    InstructorOption,
    ModuleToPlan,
    PlannedSession,
    PlanRequest,
    Proposal,
    Rhythm,
    VenueOption,
    danish_holidays,
    find_conflicts,
    order_conflicts,
    propose,
)
from intro.tables import (
    BusyTime,
    ClosedPeriod,
    Cohort,
    CohortModule,
    CohortPreferredVenue,
    CohortSeats,
    CohortStatus,
    CurriculumVersion,
    Enrolment,
    InstructorQualification,
    Module,
    ModulePrerequisite,
    Municipality,
    PartnershipMember,
    Role,
    RoleGrant,
    Session,
    SessionInstructor,
    SessionStatus,
    Venue,
)
from intro.timefmt import COPENHAGEN, exists_locally, local, local_instant

WEEKDAY_NAMES = [_("Mandag"), _("Tirsdag"), _("Onsdag"), _("Torsdag"), _("Fredag")]
ACTIVE_SESSION = [SessionStatus.proposed.value, SessionStatus.scheduled.value]




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
    ).where(PartnershipMember.partnership == partnership_id).order_by(
        PartnershipMember.municipality.name
    )
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


async def _instructor_options(partnership_id: int, start: datetime, end: datetime) -> list[InstructorOption]:
    grants = await RoleGrant.select(
        RoleGrant.person, RoleGrant.person.full_name.as_alias("name")
    ).where((RoleGrant.role == Role.instructor.value) & (RoleGrant.partnership == partnership_id))
    person_ids = sorted({g["person"] for g in grants})
    if not person_ids:
        return []
    qualifications: dict[int, set[str]] = defaultdict(set)
    for q in await InstructorQualification.select().where(InstructorQualification.person.is_in(person_ids)):
        qualifications[q["person"]].add(q["module_code"])
    busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for b in await BusyTime.select(
        BusyTime.starts_at, BusyTime.ends_at, BusyTime.calendar.person.as_alias("person")
    ).where(
        BusyTime.calendar.person.is_in(person_ids) & (BusyTime.ends_at > start) & (BusyTime.starts_at < end)
    ):
        busy[b["person"]].append((b["starts_at"], b["ends_at"]))
    names = {g["person"]: g["name"] for g in grants}
    return [
        InstructorOption(p, names[p], frozenset(qualifications[p]), tuple(busy[p]))
        for p in person_ids
    ]


async def _venue_options(partnership_id: int) -> list[VenueOption]:
    members = [
        r["municipality"]
        for r in await PartnershipMember.select(PartnershipMember.municipality).where(
            PartnershipMember.partnership == partnership_id
        )
    ]
    rows = await Venue.select(
        Venue.id, Venue.name, Venue.capacity, Venue.municipality,
        Venue.municipality.name.as_alias("municipality_name"),
    ).where(Venue.municipality.is_in(members or [0]) & (Venue.is_active == True))  # noqa: E712
    return [VenueOption(v["id"], v["name"], v["municipality"], v["municipality_name"], v["capacity"]) for v in rows]


async def _bookings(exclude_cohort: int | None, start: datetime, end: datetime) -> list[Booking]:
    """Every active session in the period (but the excluded cohort's), with its instructors."""
    rows = await Session.select(
        Session.id, Session.cohort, Session.starts_at, Session.ends_at, Session.venue,
        Session.module.code.as_alias("code"), Session.cohort.name.as_alias("cohort_name"),
    ).where(
        Session.status.is_in(ACTIVE_SESSION) & (Session.ends_at > start) & (Session.starts_at < end)
    )
    if exclude_cohort is not None:
        rows = [r for r in rows if r["cohort"] != exclude_cohort]
    teachers = await _instructors_of([r["id"] for r in rows])
    return [
        Booking(
            r["starts_at"], r["ends_at"], r["venue"], frozenset(teachers[r["id"]]),
            f"{r['cohort_name']} ({r['code']})", session_id=r["id"],
        )
        for r in rows
    ]


async def _instructors_of(session_ids: list[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    for chunk in range(0, len(session_ids), 500):
        ids = session_ids[chunk : chunk + 500]
        for r in await SessionInstructor.select(SessionInstructor.session, SessionInstructor.person).where(
            SessionInstructor.session.is_in(ids)
        ):
            out[r["session"]].add(r["person"])
    return out


async def _closed_spans(partnership_id: int) -> list[ClosedSpan]:
    rows = await ClosedPeriod.select().where(ClosedPeriod.partnership == partnership_id)
    return [ClosedSpan(r["name"], r["start_date"], r["end_date"]) for r in rows]


async def _hosted(partnership_id: int) -> dict[int, int]:
    rows = await Session.select(Session.venue.municipality.as_alias("municipality")).where(
        (Session.cohort.partnership == partnership_id)
        & Session.status.is_in(ACTIVE_SESSION)
        & Session.venue.is_not_null()
    )
    counts: dict[int, int] = defaultdict(int)
    for r in rows:
        counts[r["municipality"]] += 1
    return counts


async def cohort_modules(cohort_id: int) -> list[dict]:
    """The cohort's modules in curriculum order, local ones last, with prerequisites."""
    rows = await CohortModule.select(
        CohortModule.module.id.as_alias("id"),
        CohortModule.module.code.as_alias("code"),
        CohortModule.module.title.as_alias("title"),
        CohortModule.module.days.as_alias("days"),
        CohortModule.module.format.as_alias("format"),
        CohortModule.module.position.as_alias("position"),
        CohortModule.module.municipality.as_alias("municipality"),
    ).where(CohortModule.cohort == cohort_id)
    rows.sort(key=lambda m: (m["municipality"] is not None, m["position"], m["code"]))
    ids = [m["id"] for m in rows]
    requires: dict[int, set[int]] = defaultdict(set)
    if ids:
        for p in await ModulePrerequisite.select().where(ModulePrerequisite.module.is_in(ids)):
            requires[p["module"]].add(p["requires"])
    for m in rows:
        m["prerequisites"] = frozenset(requires[m["id"]])
    return rows


async def build_plan_request(cohort: dict, from_date: date) -> tuple[PlanRequest, list[dict]]:
    """The planner's input for a cohort, re-planning from `from_date`: the cohort's
    sessions before that day are kept. Returns the request and the kept sessions."""
    modules = await cohort_modules(cohort["id"])
    existing = await Session.select().where(
        (Session.cohort == cohort["id"]) & Session.status.is_in(ACTIVE_SESSION)
    )
    boundary = local_instant(from_date, time(0))
    kept = [s for s in existing if s["starts_at"] < boundary]
    parts_kept: dict[int, int] = defaultdict(int)
    last_day: dict[int, date] = {}
    for s in kept:
        parts_kept[s["module"]] += 1
        day = local(s["starts_at"]).date()
        last_day[s["module"]] = max(last_day.get(s["module"], day), day)
    # A module counts as placed only with all its days; else it is planned again whole.
    done = {m["id"] for m in modules if parts_kept.get(m["id"], 0) >= m["days"]}
    kept = [s for s in kept if s["module"] in done]
    horizon_end = local_instant(from_date + timedelta(days=560), time(0))
    window_start = min([boundary] + [s["starts_at"] for s in kept])
    bookings = await _bookings(cohort["id"], window_start, horizon_end)
    kept_teachers = await _instructors_of([s["id"] for s in kept])
    bookings += [
        Booking(s["starts_at"], s["ends_at"], s["venue"], frozenset(kept_teachers[s["id"]]), cohort["name"])
        for s in kept
    ]
    preferred = frozenset(
        r["venue"] for r in await CohortPreferredVenue.select(CohortPreferredVenue.venue).where(
            CohortPreferredVenue.cohort == cohort["id"]
        )
    )
    rhythm_data = cohort["rhythm"] or {}
    rhythm = (
        Rhythm(dates=tuple(date.fromisoformat(d) for d in rhythm_data["dates"]))
        if rhythm_data.get("dates")
        else Rhythm(weekdays=tuple(rhythm_data.get("weekdays") or (1,)))
    )
    first = max(cohort["start_date"], from_date)
    request = PlanRequest(
        first_day=first,
        rhythm=rhythm,
        day_start=cohort["day_start"],
        day_end=cohort["day_end"],
        participants=cohort["capacity"],
        modules=[
            ModuleToPlan(
                id=m["id"], code=m["code"], title=m["title"], days=m["days"],
                needs_venue=m["format"] == "classroom", prerequisites=m["prerequisites"],
            )
            for m in modules
            if m["id"] not in done
        ],
        venues=await _venue_options(cohort["partnership"]),
        instructors=await _instructor_options(cohort["partnership"], window_start, horizon_end),
        bookings=bookings,
        holidays=danish_holidays(range(first.year, first.year + 3)),
        closed=await _closed_spans(cohort["partnership"]),
        preferred_venue_ids=preferred,
        hosted=await _hosted(cohort["partnership"]),
        placed_last_day={m: d for m, d in last_day.items() if m in done},
        taken_days=frozenset(local(s["starts_at"]).date() for s in kept),
    )
    return request, kept


async def propose_timetable(actor_id: int, cohort: dict, from_date: date | None = None) -> Proposal:
    """Replace the cohort's proposed sessions (from a date on) with a new proposal.
    Only while the cohort is being planned: accepted sessions are moved one by one."""
    if cohort["status"] != CohortStatus.planning.value:
        raise Invalid({"from_date": _("Holdets plan er godkendt; flyt i stedet de enkelte kursusdage.")})
    from_date = from_date or cohort["start_date"]
    if from_date < cohort["start_date"]:
        from_date = cohort["start_date"]
    request, kept = await build_plan_request(cohort, from_date)
    proposal = propose(request)
    kept_ids = [s["id"] for s in kept]
    async with write_transaction(Session._meta.db):
        stale = Session.select(Session.id).where(
            (Session.cohort == cohort["id"]) & (Session.status == SessionStatus.proposed.value)
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
                        cohort=cohort["id"],
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
            actor_id, "cohort.propose", "cohort", cohort["id"],
            from_date=from_date.isoformat(), sessions=len(proposal.sessions),
            unplaced=[code for code, _why in proposal.unplaced],
        )
    return proposal


async def accept_timetable(actor_id: int, cohort: dict) -> None:
    if cohort["status"] != CohortStatus.planning.value:
        raise Invalid({"cohort": _("Holdets plan er allerede godkendt.")})
    missing = await missing_modules(cohort["id"])
    if missing:
        raise Invalid(
            {"cohort": _("Disse moduler mangler kursusdage: {codes}").format(codes=", ".join(m["code"] for m in missing))}
        )
    async with write_transaction(Session._meta.db):
        await Session.update(
            {Session.status: SessionStatus.scheduled.value, Session.updated_at: clock.now()}
        ).where((Session.cohort == cohort["id"]) & (Session.status == SessionStatus.proposed.value))
        await Cohort.update({Cohort.status: CohortStatus.active.value}).where(Cohort.id == cohort["id"])
        await audit.record(actor_id, "cohort.accept", "cohort", cohort["id"])
    await plan.sync_cohort(cohort["id"])


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


async def read_session_form(session: dict, cohort: dict, form: dict[str, Any]) -> SessionChange:
    errors: dict[str, str] = {}
    day = parse_date(form.get("date"))
    if day is None:
        errors["date"] = _("Skriv datoen, fx 02.02.2027.")
    elif day < clock.today() and session["status"] == SessionStatus.scheduled.value:
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
    venue_ids = {v.id for v in await _venue_options(cohort["partnership"])}
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
            (RoleGrant.role == Role.instructor.value) & (RoleGrant.partnership == cohort["partnership"])
        )
    }
    if any(i not in allowed for i in instructor_ids):
        errors["instructors"] = _("Vælg undervisere fra samarbejdet.")
    reason = checked_text(form.get("reason"), "reason", 500, multiline=True)
    if session["status"] == SessionStatus.scheduled.value and not reason:
        errors["reason"] = _("Skriv kort, hvorfor kursusdagen ændres; deltagerne får besked.")
    override_reason = ""
    if str(form.get("override", "")) in ("1", "on", "true"):
        override_reason = str(form.get("override_reason", "")).strip()[:500]
        if not override_reason:
            errors["override_reason"] = _("Skriv, hvorfor ændringen skal gemmes trods konflikterne.")
    if errors:
        raise Invalid(errors)
    return SessionChange(day, start, end, venue_id, instructor_ids, reason, override_reason)


async def cohort_days(cohort_id: int) -> list[DayInOrder]:
    """The cohort's course days (not cancelled), with each module's prerequisites, for
    the order rules."""
    return (await cohorts_days([cohort_id]))[cohort_id]


async def cohorts_days(cohort_ids: list[int]) -> dict[int, list[DayInOrder]]:
    """`cohort_days` for several cohorts in two queries, by cohort id."""
    rows = await Session.select(
        Session.id, Session.cohort, Session.module, Session.part, Session.starts_at, Session.ends_at,
        Session.module.code.as_alias("code"),
    ).where(Session.cohort.is_in(sorted(cohort_ids) or [0]) & Session.status.is_in(ACTIVE_SESSION))
    prerequisites: dict[int, set[int]] = defaultdict(set)
    for p in await ModulePrerequisite.select().where(ModulePrerequisite.module.is_in(sorted({r["module"] for r in rows}) or [0])):
        prerequisites[p["module"]].add(p["requires"])
    days: dict[int, list[DayInOrder]] = {c: [] for c in cohort_ids}
    for r in rows:
        days[r["cohort"]].append(
            DayInOrder(r["id"], r["module"], r["code"], r["part"], r["starts_at"], r["ends_at"], frozenset(prerequisites[r["module"]]))
        )
    return days


async def conflicts_for_change(session: dict, cohort: dict, change: SessionChange) -> list[Conflict]:
    """What would be wrong with the session after this change (the live check)."""
    starts, ends = local_instant(change.day, change.start), local_instant(change.day, change.end)
    others = await _bookings(None, starts, ends)
    module = await Module.select(Module.code).where(Module.id == session["module"]).first()
    venues = {v.id: v for v in await _venue_options(cohort["partnership"])}
    instructors = {i.id: i for i in await _instructor_options(cohort["partnership"], starts, ends)}
    enrolled = await Enrolment.count().where(
        (Enrolment.cohort == cohort["id"]) & Enrolment.status.is_in(["enrolled", "completed"])
    )
    me = PlannedSession(
        id=session["id"], cohort_id=cohort["id"], module_id=session["module"], module_code=module["code"],
        starts_at=starts, ends_at=ends, venue_id=change.venue_id,
        instructor_ids=frozenset(change.instructor_ids), participants=max(enrolled, cohort["capacity"]),
    )
    # Other sessions as bookings: only clashes with this one matter.
    found = find_conflicts(
        [me],
        venues=venues,
        instructors=instructors,
        holidays=danish_holidays(range(change.day.year, change.day.year + 1)),
        closed_by_cohort={cohort["id"]: await _closed_spans(cohort["partnership"])},
    )
    # The order rules over the cohort's whole timetable: what this change would break.
    before = await cohort_days(cohort["id"])
    after = [
        DayInOrder(d.id, d.module_id, d.module_code, d.part, starts, ends, d.prerequisites) if d.id == session["id"] else d
        for d in before
    ]
    already = {(c.session_id, c.kind, c.message) for c in order_conflicts(before)}
    found.extend(c for c in order_conflicts(after) if (c.session_id, c.kind, c.message) not in already)
    for b in others:
        if b.session_id == session["id"]:
            continue
        if change.venue_id is not None and b.venue_id == change.venue_id:
            found.append(Conflict(session["id"], "venue_double", True, _("Lokationen er også booket til {what}").format(what=b.label)))
        for t in set(change.instructor_ids) & b.instructor_ids:
            name = instructors[t].name if t in instructors else str(t)
            found.append(Conflict(session["id"], "instructor_double", True, _("{name} underviser også på {what}").format(name=name, what=b.label)))
    return found


async def change_session(actor_id: int, session: dict, cohort: dict, change: SessionChange) -> None:
    """Move a session (date, time, venue, instructors). A scheduled session's revision
    goes up, so calendars pick up the change; a proposal is simply edited."""
    starts, ends = local_instant(change.day, change.start), local_instant(change.day, change.end)
    if session["status"] == SessionStatus.cancelled.value:
        raise Invalid({"date": _("En aflyst kursusdag kan ikke flyttes.")})
    current = {
        r["person"] for r in await SessionInstructor.select(SessionInstructor.person).where(
            SessionInstructor.session == session["id"]
        )
    }
    moved = (starts, ends, change.venue_id) != (session["starts_at"], session["ends_at"], session["venue"])
    changed = moved or current != set(change.instructor_ids)
    if not changed:
        return
    scheduled = session["status"] == SessionStatus.scheduled.value
    hard = [c for c in await conflicts_for_change(session, cohort, change) if c.hard]
    if hard and not change.override_reason:
        raise Invalid({"override": _(
            "Ændringen er ikke gemt, fordi: {problems}. Ret den, eller sæt kryds i «Gem trods konflikter» og skriv hvorfor."
        ).format(problems="; ".join(dict.fromkeys(c.message for c in hard)))})
    async with write_transaction(Session._meta.db):
        if hard:
            await audit.record(
                actor_id, "session.override", "session", session["id"],
                conflicts=[c.message for c in hard], reason=change.override_reason,
            )
        await Session.update(
            {
                Session.override_reason: change.override_reason if hard else "",
                Session.starts_at: starts,
                Session.ends_at: ends,
                Session.venue: change.venue_id,
                Session.revision: session["revision"] + (1 if scheduled else 0),
                Session.change_reason: change.reason or session["change_reason"],
                Session.updated_at: clock.now(),
            }
        ).where(Session.id == session["id"])
        await SessionInstructor.delete().where(SessionInstructor.session == session["id"])
        if change.instructor_ids:
            await SessionInstructor.insert(
                *[SessionInstructor(session=session["id"], person=t) for t in change.instructor_ids]
            )
        await audit.record(
            actor_id, "session.move" if scheduled else "session.edit_proposal", "session", session["id"],
            starts_at=starts.isoformat(), venue=change.venue_id, instructors=list(change.instructor_ids),
            reason=change.reason,
        )
        if scheduled:
            await notices.queue_session_change(
                {**session, "instructor_ids": current},
                {**session, "starts_at": starts, "ends_at": ends, "venue": change.venue_id,
                 "instructor_ids": change.instructor_ids},
                change.reason,
            )
    if scheduled:
        await plan.sync_cohort(cohort["id"])


async def cancel_session(actor_id: int, session: dict, reason: str) -> None:
    reason = checked_text(reason, "reason", 500, multiline=True)
    if not reason:
        raise Invalid({"reason": _("Skriv kort, hvorfor kursusdagen aflyses; deltagerne får besked.")})
    if session["status"] != SessionStatus.scheduled.value:
        raise Invalid({"reason": _("Kun en planlagt kursusdag kan aflyses.")})
    async with write_transaction(Session._meta.db):
        await Session.update(
            {
                Session.status: SessionStatus.cancelled.value,
                Session.revision: session["revision"] + 1,
                Session.change_reason: reason,
                Session.updated_at: clock.now(),
            }
        ).where(Session.id == session["id"])
        await audit.record(actor_id, "session.cancel", "session", session["id"], reason=reason)
        await notices.queue_session_change(
            session, {**session, "status": SessionStatus.cancelled.value}, reason
        )
    await plan.sync_cohort(session["cohort"])


# --------------------------------------------------------------------------------------
# Reading for pages


async def timetable(cohort_id: int) -> list[dict]:
    rows = await Session.select(
        Session.id, Session.module, Session.part, Session.starts_at, Session.ends_at, Session.status,
        Session.revision, Session.change_reason, Session.venue,
        Session.module.code.as_alias("module_code"), Session.module.title.as_alias("module_title"),
        Session.module.days.as_alias("module_days"), Session.module.format.as_alias("module_format"),
        Session.venue.name.as_alias("venue_name"), Session.venue.city.as_alias("venue_city"),
    ).where(Session.cohort == cohort_id).order_by(Session.starts_at)
    teachers = await _instructors_of([r["id"] for r in rows])
    names = {}
    if teachers:
        ids = sorted({t for ts in teachers.values() for t in ts})
        for p in await RoleGrant.select(RoleGrant.person, RoleGrant.person.full_name.as_alias("name")).where(
            RoleGrant.person.is_in(ids or [0])
        ):
            names[p["person"]] = p["name"]
    for r in rows:
        r["instructors"] = sorted(names.get(t, "") for t in teachers[r["id"]])
        r["instructor_ids"] = sorted(teachers[r["id"]])
        r["reasons"] = [line for line in (r["change_reason"] or "").splitlines() if line]
    return rows


async def partnership_conflicts(partnership_id: int, since: date | None = None) -> list[dict]:
    """Every conflict in the partnership's active timetables from `since` (default
    today), including clashes with other partnerships' sessions in the same venues or
    with the same instructors."""
    since = since or clock.today()
    start = local_instant(since, time(0))
    rows = await Session.select(
        Session.id, Session.cohort, Session.module, Session.starts_at, Session.ends_at, Session.venue,
        Session.module.code.as_alias("code"), Session.cohort.partnership.as_alias("partnership"),
        Session.cohort.capacity.as_alias("capacity"), Session.cohort.name.as_alias("cohort_name"),
        Session.override_reason,
    ).where(
        Session.status.is_in(ACTIVE_SESSION)
        & (Session.ends_at > start)
        # A course day lasts at most a day: this lets the index on starts_at skip the
        # years of past days instead of reading every session in the country.
        & (Session.starts_at > start - timedelta(days=1))
    )
    ours = [r for r in rows if r["partnership"] == partnership_id]
    if not ours:
        return []
    teachers = await _instructors_of([r["id"] for r in rows])
    our_venues = {r["venue"] for r in ours if r["venue"]}
    our_teachers = {t for r in ours for t in teachers[r["id"]]}
    relevant = [
        r for r in rows
        if r["partnership"] == partnership_id or r["venue"] in our_venues or teachers[r["id"]] & our_teachers
    ]
    module_ids = sorted({r["module"] for r in relevant})
    prerequisites: dict[int, set[int]] = defaultdict(set)
    for p in await ModulePrerequisite.select().where(ModulePrerequisite.module.is_in(module_ids or [0])):
        prerequisites[p["module"]].add(p["requires"])
    cohort_ids = sorted({r["cohort"] for r in relevant})
    enrolled: dict[int, set[int]] = defaultdict(set)
    for e in await Enrolment.select(Enrolment.cohort, Enrolment.person).where(
        Enrolment.cohort.is_in(cohort_ids) & Enrolment.status.is_in(["enrolled"])
    ):
        enrolled[e["cohort"]].add(e["person"])
    all_venues = await Venue.select(
        Venue.id, Venue.name, Venue.capacity, Venue.municipality, Venue.municipality.name.as_alias("mname")
    )
    venues = {v["id"]: VenueOption(v["id"], v["name"], v["municipality"], v["mname"], v["capacity"]) for v in all_venues}
    last = max(r["ends_at"] for r in relevant)
    instructors = {i.id: i for i in await _instructor_options(partnership_id, start, last)}
    closed = await _closed_spans(partnership_id)
    planned = [
        PlannedSession(
            id=r["id"], cohort_id=r["cohort"], module_id=r["module"], module_code=r["code"],
            starts_at=r["starts_at"], ends_at=r["ends_at"], venue_id=r["venue"],
            instructor_ids=frozenset(teachers[r["id"]]),
            participants=max(len(enrolled[r["cohort"]]), r["capacity"]) if r["partnership"] == partnership_id else 0,
            prerequisites=frozenset(prerequisites[r["module"]]),
        )
        for r in relevant
    ]
    found = find_conflicts(
        planned,
        venues=venues,
        instructors=instructors,
        holidays=danish_holidays(range(since.year, local(last).year + 1)),
        closed_by_cohort={r["cohort"]: closed for r in ours},
        participants_by_cohort={c: frozenset(p) for c, p in enrolled.items()},
    )
    # Order rules over each of our cohorts' whole timetable (a prerequisite may lie
    # before `since`), instead of over the days from `since` only.
    found = [c for c in found if c.kind not in ("prerequisite_order", "day_order")]
    for days in (await cohorts_days(sorted({r["cohort"] for r in ours}))).values():
        found.extend(order_conflicts(days))
    by_id = {r["id"]: r for r in relevant}
    result = []
    for c in found:
        if c.session_id not in by_id:
            continue
        row = by_id[c.session_id]
        if row["partnership"] != partnership_id:
            continue
        result.append({"conflict": c, "session": row})
    result.sort(key=lambda x: (not x["conflict"].hard, x["session"]["starts_at"]))
    return result


PHASE_NAMES = {
    "planned": _("Planlagt"),
    "running": _("I gang"),
    "ended": _("Afsluttet"),
    "cancelled": _("Aflyst"),
}


def phase(status: str, first_day: date, last_day: date, today: date) -> str:
    """Pure: where a cohort is in its life, from its course days — "planned" until its
    first day (the start date when it has none yet), "running" from the first to the
    last day, "ended" after; "cancelled" when it is cancelled. The stored status says
    only whether the timetable is accepted; this is what every page shows people."""
    if status == CohortStatus.cancelled.value:
        return "cancelled"
    if today < first_day:
        return "planned"
    if today <= last_day and status != CohortStatus.completed.value:
        return "running"
    return "ended"


async def with_phases(cohorts: list[dict], today: date | None = None) -> list[dict]:
    """Add "phase" and "phase_name" to each cohort row (needs id, status, start_date),
    reading the first and last held course day of all of them in one query."""
    from piccolo.query import Max, Min

    today = today or clock.today()
    ids = [c["id"] for c in cohorts]
    spans = {
        r["cohort"]: r
        for r in await Session.select(
            Session.cohort, Min(Session.starts_at, alias="first"), Max(Session.starts_at, alias="last")
        ).where(Session.cohort.is_in(ids or [0]) & (Session.status != SessionStatus.cancelled.value)).group_by(Session.cohort)
    } if ids else {}
    for c in cohorts:
        span = spans.get(c["id"])
        first = _local_date(span["first"]) if span else c["start_date"]
        last = _local_date(span["last"]) if span else c["start_date"]
        c["phase"] = phase(c["status"], first, last, today)
        c["phase_name"] = PHASE_NAMES[c["phase"]]
    return cohorts


def _local_date(value) -> date:
    if isinstance(value, str):  # SQLite hands aggregates back as text
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(COPENHAGEN).date()


async def cohorts_of(partnership_ids: set[int]) -> list[dict]:
    if not partnership_ids:
        return []
    cohorts = await Cohort.select(
        Cohort.id, Cohort.name, Cohort.status, Cohort.start_date, Cohort.capacity, Cohort.partnership,
        Cohort.partnership.name.as_alias("partnership_name"),
        Cohort.curriculum_version.label.as_alias("version_label"),
    ).where(Cohort.partnership.is_in(sorted(partnership_ids))).order_by(Cohort.start_date, ascending=False)
    return await with_phases(cohorts)


async def municipality_names(ids: list[int]) -> dict[int, str]:
    rows = await Municipality.select(Municipality.id, Municipality.name).where(Municipality.id.is_in(ids or [0]))
    return {r["id"]: r["name"] for r in rows}
