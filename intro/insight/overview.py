"""What each role sees first: the data behind the start page, loaded within the
user's scope only. Each function fetches; none decides anything beyond filtering."""

from __future__ import annotations

from datetime import timedelta

from intro import access, clock
from intro.participation import follow_up, plan, progress
from intro.people.accounts import User
from intro.people.organisation import in_force_on
from intro.planning import timetables
from intro.tables import (
    ENROLMENT_ON_COHORT,
    AuditLog,
    Cohort,
    CohortSeats,
    CohortStatus,
    CurriculumVersion,
    Employment,
    Enrolment,
    EnrolmentStatus,
    Municipality,
    Partnership,
    PartnershipMember,
    Person,
    Session,
    SessionInstructor,
    SessionStatus,
    Venue,
)

ACTIVE_ENROLMENT = ENROLMENT_ON_COHORT




async def _sessions(where, limit: int) -> list[dict]:
    return await (
        Session.select(
            Session.id,
            Session.starts_at,
            Session.ends_at,
            Session.status,
            Session.part,
            Session.module.title.as_alias("module_title"),
            Session.module.code.as_alias("module_code"),
            Session.module.days.as_alias("module_days"),
            Session.module.format.as_alias("module_format"),
            Session.cohort.name.as_alias("cohort_name"),
            Session.venue.name.as_alias("venue_name"),
            Session.venue.address.as_alias("venue_address"),
            Session.venue.city.as_alias("venue_city"),
        )
        .where(where)
        .where(Session.status != SessionStatus.cancelled.value)
        .where(Session.ends_at >= clock.now())
        .order_by(Session.starts_at)
        .limit(limit)
    )


async def participant_overview(user: User) -> dict:
    enrolments = await Enrolment.select(
        Enrolment.cohort,
        Enrolment.status,
        Enrolment.cohort.name.as_alias("cohort_name"),
        Enrolment.cohort.start_date.as_alias("cohort_start"),
        Enrolment.cohort.partnership.name.as_alias("partnership_name"),
    ).where(Enrolment.person == user.id)
    cohort_ids = [e["cohort"] for e in enrolments if e["status"] in ACTIVE_ENROLMENT]
    upcoming = (
        await _sessions(Session.cohort.is_in(cohort_ids), limit=4) if cohort_ids else []
    )
    # The same rules and words as /plan: items grouped by plan.group_items, progress
    # from the module states.
    today = clock.today()
    groups = plan.group_items(await plan.plan_items(user.id), today)
    states = await follow_up.own_progress(user.id)
    return {
        "enrolments": enrolments,
        "upcoming": upcoming,
        "has_plan": any(groups.values()),
        "percent": progress.progress(states).percent,
        "items_overdue": len(groups["overdue"]),
    }


async def coordinator_overview(user: User) -> dict:
    partnership_ids = sorted(access.partnerships_coordinated(user))
    if not partnership_ids:
        return {"partnerships": [], "upcoming": []}
    partnerships = await Partnership.select(Partnership.id, Partnership.name).where(
        Partnership.id.is_in(partnership_ids)
    ).order_by(Partnership.name)
    members = await PartnershipMember.select(
        PartnershipMember.partnership,
        PartnershipMember.municipality.name.as_alias("name"),
    ).where(PartnershipMember.partnership.is_in(partnership_ids) & in_force_on(clock.today())).order_by(
        PartnershipMember.municipality.name
    )  # the coordinator's start page: members today
    cohorts = await Cohort.select(
        Cohort.id,
        Cohort.partnership,
        Cohort.name,
        Cohort.status,
        Cohort.start_date,
        Cohort.capacity,
        Cohort.curriculum_version.label.as_alias("version_label"),
    ).where(Cohort.partnership.is_in(partnership_ids)).order_by(Cohort.start_date, ascending=False)  # newest first
    await timetables.with_phases(cohorts)
    cohort_ids = [c["id"] for c in cohorts]
    counts: dict[int, dict[str, int]] = {}
    if cohort_ids:
        for e in await Enrolment.select(Enrolment.cohort, Enrolment.status).where(
            Enrolment.cohort.is_in(cohort_ids)
        ):
            counts.setdefault(e["cohort"], {}).setdefault(e["status"], 0)
            counts[e["cohort"]][e["status"]] += 1
    for c in cohorts:
        c["enrolled"] = counts.get(c["id"], {}).get("enrolled", 0) + counts.get(c["id"], {}).get(
            "completed", 0
        )
        c["waitlisted"] = counts.get(c["id"], {}).get("waitlisted", 0)
    upcoming = (
        await _sessions(Session.cohort.is_in(cohort_ids), limit=6) if cohort_ids else []
    )
    for p in partnerships:
        p["members"] = [m["name"] for m in members if m["partnership"] == p["id"]]
        p["cohorts"] = [c for c in cohorts if c["partnership"] == p["id"]]
    return {"partnerships": partnerships, "upcoming": upcoming}


async def instructor_overview(user: User) -> dict:
    session_ids = [
        r["session"]
        for r in await SessionInstructor.select(SessionInstructor.session).where(
            SessionInstructor.person == user.id
        )
    ]
    upcoming = await _sessions(Session.id.is_in(session_ids), limit=8) if session_ids else []
    # Days taught in the last two weeks, up to today: where attendance is taken.
    recent = []
    if session_ids:
        recent = await Session.select(
            Session.id, Session.starts_at,
            Session.module.code.as_alias("module_code"), Session.cohort.name.as_alias("cohort_name"),
        ).where(
            Session.id.is_in(session_ids)
            & (Session.status == SessionStatus.scheduled.value)
            & (Session.starts_at <= clock.now())
            & (Session.starts_at >= clock.now() - timedelta(days=14))
        ).order_by(Session.starts_at, ascending=False)
    return {"upcoming": upcoming, "today": recent}


async def chief_overview(user: User) -> list[dict]:
    """Per municipality the chief is responsible for: its new hires of the last year,
    by name (a chief sees individuals only in their own municipality)."""
    municipality_ids = sorted(access.municipalities_led(user))
    if not municipality_ids:
        return []
    municipalities = await Municipality.select(
        Municipality.id, Municipality.name, Municipality.code
    ).where(Municipality.id.is_in(municipality_ids)).order_by(Municipality.name)
    since = clock.today() - timedelta(days=365)
    hires = await Employment.select(
        Employment.person,
        Employment.municipality,
        Employment.job_function,
        Employment.start_date,
        Employment.end_date,
        Employment.person.full_name.as_alias("full_name"),
    ).where(
        Employment.municipality.is_in(municipality_ids) & (Employment.start_date >= since)
    ).order_by(Employment.start_date, ascending=False)
    person_ids = sorted({h["person"] for h in hires})
    status_by_person: dict[int, dict] = {}
    if person_ids:
        for e in await Enrolment.select(
            Enrolment.person,
            Enrolment.status,
            Enrolment.municipality,
            Enrolment.cohort.name.as_alias("cohort_name"),
        ).where(Enrolment.person.is_in(person_ids) & Enrolment.municipality.is_in(municipality_ids)):
            status_by_person[e["person"]] = e
    seats = await CohortSeats.select(
        CohortSeats.municipality, CohortSeats.seats, CohortSeats.cohort.status.as_alias("status")
    ).where(CohortSeats.municipality.is_in(municipality_ids))
    result = []
    for m in municipalities:
        own = [h for h in hires if h["municipality"] == m["id"]]
        for h in own:
            h["enrolment"] = status_by_person.get(h["person"])
        today = clock.today()
        for h in own:
            h["starts_later"] = h["start_date"] > today
        started = [h for h in own if not h["starts_later"]]
        result.append(
            {
                **m,
                "hires": own,
                "started": len(started),
                "starting": len(own) - len(started),
                "still_employed": sum(1 for h in started if h["end_date"] is None),
                "enrolled": sum(
                    1 for h in own if h["enrolment"] and h["enrolment"]["status"] in ACTIVE_ENROLMENT
                ),
                "waitlisted": sum(
                    1
                    for h in own
                    if h["enrolment"] and h["enrolment"]["status"] == EnrolmentStatus.waitlisted.value
                ),
                "seats": sum(
                    s["seats"]
                    for s in seats
                    if s["municipality"] == m["id"] and s["status"] in (CohortStatus.planning.value, CohortStatus.active.value)
                ),
            }
        )
    return result


async def admin_overview() -> dict:
    return {
        "partnerships": await Partnership.count(),
        "municipalities": await Municipality.count(),
        "venues": await Venue.count(),
        "people": await Person.count(),
        "versions": await CurriculumVersion.count(),
        "recent": await AuditLog.select(
            AuditLog.occurred_at,
            AuditLog.action,
            AuditLog.object_type,
            AuditLog.object_id,
            AuditLog.actor.full_name.as_alias("actor_name"),
        ).order_by(AuditLog.id, ascending=False).limit(8),
    }
