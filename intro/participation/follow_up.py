"""Following a cohort: the progress grid (participants × modules), who is falling
behind and why, and confirming completion.

Everything for a cohort is loaded in a fixed number of queries, however many people
and modules it has; the decisions are intro.participation.progress's pure rules.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from intro import clock
from intro.db import Prepared, StampedCache, any_of, data_stamp
from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.participation.enrolment import mark_completed
from intro.participation.progress import (
    Behind,
    ModuleState,
    falling_behind,
    is_complete,
    progress,
    urgency,
    urgency_level,
)
from intro.planning.rows import CohortRow
from intro.settings import get_settings
from intro.tables import (
    ENROLMENT_ON_COHORT,
    Attendance,
    AttendanceStatus,
    CatchUpBooking,
    Cohort,
    CohortModule,
    Enrolment,
    EnrolmentStatus,
    Person,
    PlanItem,
    PlanItemKind,
    PlanItemStatus,
    Session,
    SessionStatus,
)
from intro.timefmt import COPENHAGEN


@dataclass
class Cell:
    state: str  # attended, caught_up, booked, missed, excused, unrecorded, upcoming
    transfer: str  # answered, overdue, open, none


CELL_NAMES = {
    "attended": _("Deltaget"),
    "caught_up": _("Indhentet"),
    "booked": _("Booket til indhentning"),
    "missed": _("Fraværende"),
    "excused": _("Afbud"),
    "unrecorded": _("Ikke registreret"),
    "upcoming": _("Kommer"),
}
TRANSFER_NAMES = {
    "answered": _("Transfer besvaret"),
    "overdue": _("Transfer over fristen"),
    "open": _("Transfer ikke besvaret"),
    "none": "",
}


# The grid's columns, built once (naming a joined column costs Piccolo ~0.3 ms each time).
_GRID_ENROLMENT = (
    Enrolment.id, Enrolment.person, Enrolment.status, Enrolment.municipality, Enrolment.enrolled_at,
    Enrolment.completed_at, Enrolment.person.full_name.as_alias("full_name"),
    Enrolment.municipality.name.as_alias("municipality_name"),
)
_GRID_MODULES = (
    CohortModule.module.id.as_alias("id"), CohortModule.module.code.as_alias("code"),
    CohortModule.module.title.as_alias("title"), CohortModule.module.days.as_alias("days"),
    CohortModule.module.duration_minutes.as_alias("minutes"),
    CohortModule.module.strand.name.as_alias("strand"), CohortModule.module.position.as_alias("position"),
)
_GRID_ATTENDANCE = (
    Attendance.session, Attendance.person, Attendance.status,
    Attendance.session.cohort.as_alias("cohort"), Attendance.session.part.as_alias("part"),
    Attendance.session.module.code.as_alias("code"),
)
_GRID_BOOKINGS = (CatchUpBooking.person, CatchUpBooking.session.module.code.as_alias("code"))


# The grid's and the participant's own progress queries that do not depend on how many
# people there are: built once (intro.db.Prepared, issue 19).
_GRID_ENROLMENTS = Prepared(
    lambda cohort: Enrolment.select(*_GRID_ENROLMENT).where(
        (Enrolment.cohort == cohort) & Enrolment.status.is_in(ENROLMENT_ON_COHORT)
    ),
    "cohort",
)
_GRID_COHORT_MODULES = Prepared(lambda cohort: CohortModule.select(*_GRID_MODULES).where(CohortModule.cohort == cohort), "cohort")
_GRID_SESSIONS = Prepared(
    lambda cohort: Session.select(Session.id, Session.module, Session.part, Session.ends_at).where(
        (Session.cohort == cohort) & (Session.status == SessionStatus.scheduled.value)
    ),
    "cohort",
)
_OWN_COHORTS = Prepared(
    lambda person: Enrolment.select(Enrolment.cohort).where(
        (Enrolment.person == person) & Enrolment.status.is_in(ENROLMENT_ON_COHORT)
    ),
    "person",
)
_COHORT = Prepared(lambda id: Cohort.select().where(Cohort.id == id).limit(1), "id", first=True)
# And those over the grid's people, the list bound as one parameter (intro.db.any_of).
_GRID_MARKS = Prepared(lambda people: Attendance.select(*_GRID_ATTENDANCE).where(any_of(Attendance.person, people)), "people")
_GRID_BOOKED = Prepared(
    lambda people: CatchUpBooking.select(*_GRID_BOOKINGS).where(
        any_of(CatchUpBooking.person, people) & CatchUpBooking.cancelled_at.is_null()
    ),
    "people",
)
_GRID_LAST_SEEN = Prepared(
    lambda people: Person.select(Person.id, Person.last_login_at).where(any_of(Person.id, people)), "people"
)
# Only the items the grid shows: transfers, and local tasks still open past their deadline
# (course days, half of a person's items, are not read: each row costs its date conversions).
_GRID_ITEMS = Prepared(
    lambda people, today: PlanItem.select(
        PlanItem.person, PlanItem.kind, PlanItem.source_key, PlanItem.status, PlanItem.due_date, PlanItem.answered_at
    ).where(
        any_of(PlanItem.person, people)
        & (PlanItem.status != PlanItemStatus.dropped.value)
        & (
            (PlanItem.kind == PlanItemKind.transfer.value)
            | (
                (PlanItem.kind == PlanItemKind.local_task.value)
                & (PlanItem.status == PlanItemStatus.open.value)
                & (PlanItem.due_date < today)
            )
        )
    ),
    "people",
    "today",
)


async def cohort_grid(
    cohort: CohortRow, municipality_ids: set[int] | None = None, person_id: int | None = None
) -> dict:
    """Rows of participants (only from `municipality_ids`, or only `person_id`, when
    given) with a cell per module, each person's progress, and reasons for falling
    behind. The participant's own page uses the same rows, so both always agree.
    `until`: when the next of the cohort's course days ends (None: none is to come)."""
    today = clock.today()
    now = clock.now()
    enrolments = await _GRID_ENROLMENTS.run(cohort=cohort.id)
    if municipality_ids is not None:
        enrolments = [e for e in enrolments if e["municipality"] in municipality_ids]
    if person_id is not None:
        enrolments = [e for e in enrolments if e["person"] == person_id]
    enrolments.sort(key=lambda e: e["full_name"])
    modules = await _GRID_COHORT_MODULES.run(cohort=cohort.id)
    modules.sort(key=lambda m: (m["position"], m["code"]))
    people = [e["person"] for e in enrolments]
    sessions = await _GRID_SESSIONS.run(cohort=cohort.id)
    marks: dict[tuple[int, int], str] = {}
    elsewhere: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    booked: dict[int, set[str]] = defaultdict(set)
    last_seen: dict[int, datetime] = {}
    transfers: dict[tuple[int, str], dict] = {}
    overdue_tasks: dict[int, int] = defaultdict(int)
    if people:
        for a in await _GRID_MARKS.run(people=people):
            if a["cohort"] == cohort.id:
                marks[(a["session"], a["person"])] = a["status"]
            elif a["status"] == AttendanceStatus.present.value:
                elsewhere[a["person"]][a["code"]].add(a["part"])
        for b in await _GRID_BOOKED.run(people=people):
            booked[b["person"]].add(b["code"])
        for p in await _GRID_LAST_SEEN.run(people=people):
            if p["last_login_at"]:
                last_seen[p["id"]] = p["last_login_at"]
        for item in await _GRID_ITEMS.run(people=people, today=today):
            if item["kind"] == "transfer" and item["source_key"].startswith(f"transfer:{cohort.id}:"):
                transfers[(item["person"], item["source_key"].rsplit(":", 1)[1])] = item
            elif item["kind"] == "local_task" and item["status"] == PlanItemStatus.open.value and item["due_date"] and item["due_date"] < today:
                overdue_tasks[item["person"]] += 1

    by_module: dict[int, list[dict]] = defaultdict(list)  # the module's days, once for every person
    for s in sessions:
        by_module[s["module"]].append(s)
    # Read once: an enum member's value is a property, looked up for every cell otherwise.
    present, absent, excused = (
        AttendanceStatus.present.value, AttendanceStatus.absent.value, AttendanceStatus.excused.value
    )
    rows = []
    for e in enrolments:
        person = e["person"]
        cells, states = [], []
        for m in modules:
            own = by_module[m["id"]]
            past = [s for s in own if s["ends_at"] < now]
            present_parts = {s["part"] for s in own if marks.get((s["id"], person)) == present}
            other_parts = elsewhere[person][m["code"]]
            parts = present_parts | other_parts
            missed = [s for s in past if marks.get((s["id"], person)) != present and s["part"] not in other_parts]
            if len(present_parts) >= m["days"]:
                state = "attended"
            elif len(parts) >= m["days"]:
                state = "caught_up"
            elif missed and m["code"] in booked[person]:
                state = "booked"
            elif missed:
                worst = {marks.get((s["id"], person)) for s in missed}
                state = (
                    "missed" if absent in worst
                    else "excused" if excused in worst
                    else "unrecorded"
                )
            else:
                state = "upcoming"
            transfer = transfers.get((person, m["code"]))
            if transfer is None:
                t_state = "none"
            elif transfer["answered_at"]:
                t_state = "answered"
            elif transfer["due_date"] and transfer["due_date"] < today:
                t_state = "overdue"
            else:
                t_state = "open"
            cells.append(Cell(state, t_state))
            states.append(
                ModuleState(
                    module_id=m["id"], code=m["code"], title=m["title"], strand=m["strand"], minutes=m["minutes"],
                    days_needed=m["days"], days_attended=min(len(parts), m["days"]),
                    days_missed=0 if len(parts) >= m["days"] else len(missed),
                    transfer_answered=bool(transfer and transfer["answered_at"]),
                    transfer_due=transfer["due_date"] if transfer else None,
                    catch_up_booked=m["code"] in booked[person],
                )
            )
        enrolled_since = (e["enrolled_at"] or now).astimezone(COPENHAGEN).date()
        behind: list[Behind] = falling_behind(
            states, today=today, last_sign_in=last_seen.get(person),
            enrolled_since=enrolled_since, overdue_tasks=overdue_tasks[person],
        ) if e["status"] == EnrolmentStatus.enrolled.value else []
        rows.append(
            {
                **e,
                "cells": cells,
                "states": states,
                "progress": progress(states),
                "complete": is_complete(states),
                "behind": behind,
            }
        )
    # When the next course day ends, the grid's cells change though no row does.
    until = min((s["ends_at"] for s in sessions if s["ends_at"] >= now), default=None)
    return {"modules": modules, "rows": rows, "until": until}


# Grids by (cohort, the municipalities the viewer follows or None for everyone, day), per
# worker (issue 19). Every table `cohort_grid` reads is stamped (intro.tables.STAMPED_TABLES,
# migrations m0013/m0014), so a write anywhere — another worker, an import, a login (the
# last sign-in is a reason to fall behind) — makes the next request build afresh; and a
# grid is kept only until the next of the cohort's course days ends (a day that has ended
# turns "upcoming" into missed or unrecorded). Access is checked per request, before.
_GRIDS = StampedCache(
    ("attendance", "catch_up_booking", "cohort_module", "enrolment", "module", "municipality", "person",
     "plan_item", "session", "strand"),
    size=64,
)


@dataclass(frozen=True)
class KeptGrid:
    grid: dict  # cohort_grid's
    behind: list[dict]  # ranked_behind's
    until: datetime | None  # when the next of the cohort's course days ends: stale from then


async def kept_grid(cohort: CohortRow, municipality_ids: set[int] | None = None) -> KeptGrid:
    """`cohort_grid` and its `ranked_behind`, from this worker's cache while nothing they
    were built from has changed. Shared between requests: not to be changed."""
    today = clock.today()
    stamp = await data_stamp()  # read before loading: a write after it moves it for the next request
    key = (cohort.id, None if municipality_ids is None else frozenset(municipality_ids), today)

    async def fresh() -> KeptGrid:
        grid = await cohort_grid(cohort, municipality_ids)
        return KeptGrid(grid, ranked_behind(grid["rows"]), grid["until"])

    return await _GRIDS.get_or_build(key, stamp, fresh, valid=lambda kept: kept.until is None or clock.now() < kept.until)


def ranked_behind(rows: list[dict]) -> list[dict]:
    """The rows of people falling behind, most urgent first (intro.participation.progress.urgency), then
    by name; each with its `level` (code, label)."""
    behind = [{**r, "level": urgency_level(r["behind"])} for r in rows if r["behind"]]
    return sorted(behind, key=lambda r: ([-n for n in urgency(r["behind"])], r["full_name"]))


async def own_progress(person_id: int) -> list[ModuleState]:
    """A participant's modules across the cohorts they are (or were) on to the end."""
    states: list[ModuleState] = []
    for e in await _OWN_COHORTS.run(person=person_id):
        cohort = CohortRow.from_row(await _COHORT.run(id=e["cohort"]))
        grid = await cohort_grid(cohort, person_id=person_id)
        for row in grid["rows"]:
            states.extend(row["states"])
    return states


async def confirm_completion(actor_id: int, cohort: CohortRow, enrolment_id: int) -> None:
    """The coordinator confirms that a participant has completed the programme. Only
    when every module is attended or caught up and every transfer answered."""
    grid = await cohort_grid(cohort)
    row = next((r for r in grid["rows"] if r["id"] == enrolment_id), None)
    if row is None:
        raise NotFound()
    if row["status"] == EnrolmentStatus.completed.value:
        return
    if not row["complete"]:
        raise Invalid({"enrolment": _("{name} mangler stadig moduler eller transferopgaver.").format(name=row["full_name"])})
    await mark_completed(actor_id, enrolment_id)


def verification_code(enrolment_id: int) -> str:
    """The code printed on a certificate: the enrolment id and an HMAC of it under the
    installation's secret key, e.g. "123-K7Q2M9XW4D". Nothing is stored; changing the
    secret key makes old codes fail to verify."""
    digest = hmac.new(get_settings().secret_key.encode(), f"certificate:{enrolment_id}".encode(), hashlib.sha256).digest()
    return f"{enrolment_id}-{base64.b32encode(digest).decode()[:10]}"


async def verify(code: str) -> dict | None:
    """What anyone holding a certificate's code may learn: the name, the programme and
    the completion date — nothing more. None when the code is wrong or the enrolment is
    not (or no longer) completed."""
    raw = (code or "").strip().upper()
    head, _sep, _tail = raw.partition("-")
    if not (head.isascii() and head.isdigit()) or len(raw) > 40 or not hmac.compare_digest(verification_code(int(head)), raw):
        return None
    row = await Enrolment.select(
        Enrolment.completed_at, Enrolment.person.full_name.as_alias("full_name"),
        Enrolment.cohort.partnership.name.as_alias("partnership_name"),
    ).where((Enrolment.id == int(head)) & (Enrolment.status == EnrolmentStatus.completed.value)).first()
    return row


async def certificate(person_id: int, enrolment_id: int | None = None) -> dict | None:
    """What a course certificate lists: the completed cohort and the modules the person
    actually completed (attended or caught up, by the grid's rule), each with the hours
    of the days attended, and the verification code. None without a completed
    enrolment."""
    query = Enrolment.select(
        Enrolment.id, Enrolment.cohort, Enrolment.completed_at,
        Enrolment.person.full_name.as_alias("full_name"),
        Enrolment.cohort.name.as_alias("cohort_name"),
        Enrolment.cohort.partnership.name.as_alias("partnership_name"),
        Enrolment.municipality.name.as_alias("municipality_name"),
        Enrolment.cohort.curriculum_version.label.as_alias("version_label"),
    ).where((Enrolment.person == person_id) & (Enrolment.status == EnrolmentStatus.completed.value))
    if enrolment_id is not None:
        query = query.where(Enrolment.id == enrolment_id)
    enrolment = await query.order_by(Enrolment.completed_at, ascending=False).first()
    if enrolment is None:
        return None
    cohort = CohortRow.from_row(await Cohort.select().where(Cohort.id == enrolment["cohort"]).first())
    grid = await cohort_grid(cohort, person_id=person_id)
    states = grid["rows"][0]["states"] if grid["rows"] else []
    modules = [
        {
            "code": m.code, "title": m.title, "strand": m.strand,
            "hours": m.minutes * m.days_attended / m.days_needed / 60,
        }
        for m in states
        if m.attended
    ]
    return {
        **enrolment,
        "modules": modules,
        "hours": sum(m["hours"] for m in modules),
        "code": verification_code(enrolment["id"]),
    }
