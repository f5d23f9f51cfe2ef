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

import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import date
from typing import Any

from intro import audit, clock
from intro.db import write_transaction
from intro.errors import Invalid
from intro.i18n import _
from intro.inputs import checked_text
from intro.participation import plan
from intro.planning import notices
from intro.planning.cohort_forms import SessionChange, read_cohort_form
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
    Enrolment,
    Module,
    Session,
    SessionInstructor,
    SessionStatus,
)
from intro.timefmt import local_instant

# --------------------------------------------------------------------------------------
# Creating a cohort


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

