"""Reading the coordinator's cohort forms: the new-cohort form and the form that changes
one course day. Each reader checks every field against what the partnership offers and
raises Invalid naming every bad field; it writes nothing. The operations that store what
they read are in `intro.planning.cohorts`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from intro import clock
from intro.errors import Invalid
from intro.i18n import _
from intro.inputs import checked_text, parse_clock_time, parse_course_day
from intro.people.organisation import in_force_on
from intro.planning.planner_input import _venue_options
from intro.planning.rows import CohortRow, SessionRow
from intro.planning.scheduling import Rhythm
from intro.tables import (
    Cohort,
    CurriculumVersion,
    Module,
    PartnershipMember,
    Role,
    RoleGrant,
    Venue,
)
from intro.timefmt import exists_locally

WEEKDAY_NAMES = [_("Mandag"), _("Tirsdag"), _("Onsdag"), _("Torsdag"), _("Fredag")]


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
    start = parse_course_day(form.get("start_date"))
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
            parsed = parse_course_day(line)
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
    day_start = parse_clock_time(form.get("day_start") or "09:00")
    day_end = parse_clock_time(form.get("day_end") or "15:00")
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
    day = parse_course_day(form.get("date"))
    if day is None:
        errors["date"] = _("Skriv datoen, fx 02.02.2027.")
    elif day < clock.today() and session.is_scheduled:
        errors["date"] = _("En kursusdag kan ikke flyttes til en dato i fortiden.")
    start, end = parse_clock_time(form.get("start")), parse_clock_time(form.get("end"))
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
