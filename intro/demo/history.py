"""Years of history for the demo partnership, so the chiefs' dashboard has something to
say: new hires since seven years back, two cohorts a year that ran their course, who
enrolled, attended and completed, and who left again and why.

Deterministic (one seeded random generator). The people are HR records only: no
passwords, and no participant role, since they are experienced staff by now.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from intro.planning.scheduling import danish_holidays
from intro.tables import (
    Attendance,
    AttendanceStatus,
    Cohort,
    CohortModule,
    CohortSeats,
    CohortStatus,
    Employment,
    EndReason,
    Enrolment,
    EnrolmentStatus,
    Person,
    Session,
    SessionStatus,
)

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
# New hires a year per municipality code (the larger job centres hire more).
HIRES_PER_YEAR = {"330": 11, "370": 12, "316": 9, "326": 6, "329": 5, "340": 4, "306": 5}
REASONS = [
    (EndReason.resigned.value, 0.55),
    (EndReason.contract_ended.value, 0.15),
    (EndReason.dismissed.value, 0.08),
    (EndReason.retired.value, 0.07),
    (EndReason.other.value, 0.15),
]


def _reason(rng: random.Random) -> str:
    roll, acc = rng.random(), 0.0
    for reason, share in REASONS:
        acc += share
        if roll < acc:
            return reason
    return EndReason.other.value


def _tuesdays(first: date, count: int, skip: set[date]) -> list[date]:
    days, day = [], first + timedelta(days=(1 - first.weekday()) % 7)
    while len(days) < count:
        if day not in skip and day.month != 7:
            days.append(day)
        day += timedelta(days=7)
    return days


async def add_history(
    *,
    rng: random.Random,
    today: date,
    until: date,
    partnership_id: int,
    municipality_ids: dict[str, int],
    version_id: int,
    modules: list[dict],
    venue_ids: list[int],
    coordinator_id: int,
    names: tuple[list[str], list[str]],
    used_names: set[str],
    job_functions: list[tuple[str, str | None]],
    email_domain: str = "historik.intro.example",
    first_year: int | None = None,
    cohort_suffix: str = "",
) -> int:
    """Add the history (to be called inside the demo's write transaction); returns the
    number of hires added. Nothing is dated on or after `until` (the first demo cohort)."""
    first_year = first_year or today.year - 7
    holidays = set(danish_holidays(range(first_year, today.year + 1)))
    days_needed = sum(m["days"] for m in modules)

    # Cohorts: spring and autumn, each a course day a week.
    cohorts = []
    for year in range(first_year, today.year + 1):
        for label, month in (("forår", 2), ("efterår", 9)):
            days = _tuesdays(date(year, month, 1), days_needed, holidays)
            if days[-1] >= until - timedelta(days=14):
                continue
            cohort_id = (
                await Cohort.insert(
                    Cohort(
                        partnership=partnership_id, curriculum_version=version_id,
                        name=f"Hold {year} {label}{cohort_suffix}", status=CohortStatus.completed.value, start_date=days[0],
                        capacity=30, day_start=time(9), day_end=time(15),
                        rhythm={"weekdays": [1]}, created_by=coordinator_id,
                    )
                ).returning(Cohort.id)
            )[0]["id"]
            await CohortSeats.insert(
                *[CohortSeats(cohort=cohort_id, municipality=m, seats=4) for m in municipality_ids.values()]
            )
            await CohortModule.insert(*[CohortModule(cohort=cohort_id, module=m["id"]) for m in modules])
            sessions, index = [], 0
            for module in modules:
                for part in range(1, module["days"] + 1):
                    day = days[index]
                    index += 1
                    starts = datetime.combine(day, time(9), tzinfo=COPENHAGEN).astimezone(UTC)
                    sessions.append(
                        Session(
                            cohort=cohort_id, module=module["id"], part=part, starts_at=starts,
                            ends_at=starts + timedelta(hours=6),
                            venue=venue_ids[(len(cohorts) + index) % len(venue_ids)],
                            status=SessionStatus.scheduled.value, uid=f"{uuid.UUID(int=rng.getrandbits(128))}@intro",
                        )
                    )
            ids = await Session.insert(*sessions).returning(Session.id)
            rows = [
                {"id": row["id"], "starts_at": s.starts_at} for row, s in zip(ids, sessions, strict=True)
            ]
            cohorts.append({"id": cohort_id, "first": days[0], "last": days[-1], "sessions": rows})

    hires = 0
    first_names, last_names = names
    for code, per_year in HIRES_PER_YEAR.items():
        municipality_id = municipality_ids[code]
        for year in range(first_year, today.year + 1):
            for _ in range(max(1, round(rng.gauss(per_year, per_year / 4)))):
                start = date(year, 1, 1) + timedelta(days=rng.randrange(365))
                if start >= until - timedelta(days=30):
                    continue
                while True:
                    full_name = f"{rng.choice(first_names)} {rng.choice(last_names)}"
                    if full_name not in used_names:
                        used_names.add(full_name)
                        break
                slug = (
                    full_name.lower().replace(" ", ".")
                    .replace("æ", "ae").replace("ø", "oe").replace("å", "aa").replace("ş", "s")
                )
                person_id = (
                    await Person.insert(
                        Person(email=f"{slug}.{code}@{email_domain}", full_name=full_name)
                    ).returning(Person.id)
                )[0]["id"]
                job, profile = job_functions[rng.randrange(len(job_functions))]
                # The first cohort starting a few weeks after the hire; most take part.
                cohort = next((c for c in cohorts if c["first"] >= start + timedelta(days=20)), None)
                takes_part = cohort is not None and rng.random() < 0.85
                completes = takes_part and rng.random() < 0.85
                # Leaving: most in the first year, fewer for those who completed the programme.
                yearly = 0.12 if completes else 0.24
                end = None
                t = start
                while True:
                    t = t + timedelta(days=rng.randint(60, 365))
                    if t >= until:
                        break
                    if rng.random() < (yearly if (t - start).days < 400 else yearly / 2.5):
                        end = t
                        break
                if takes_part and end is not None and end <= cohort["last"]:
                    completes = False
                end_reason = _reason(rng) if end else None
                await Employment.insert(
                    Employment(
                        person=person_id, municipality=municipality_id, job_function=job,
                        profile_code=profile, start_date=start, end_date=end, end_reason=end_reason,
                        external_ref=f"HIST-{code}-{person_id}",
                    )
                )
                hires += 1
                if not takes_part:
                    continue
                enrolled = datetime.combine(
                    min(cohort["first"] - timedelta(days=7), start + timedelta(days=rng.randint(5, 80))),
                    time(10), tzinfo=UTC,
                )
                enrolled = max(enrolled, datetime.combine(start, time(10), tzinfo=UTC))
                if completes:
                    status = dict(status=EnrolmentStatus.completed.value, completed_at=datetime.combine(cohort["last"] + timedelta(days=3), time(12), tzinfo=UTC))
                elif end is not None and end <= cohort["last"]:
                    status = dict(status=EnrolmentStatus.withdrawn.value, withdrawn_at=datetime.combine(end, time(12), tzinfo=UTC), withdrawal_reason="Fratrådt")
                else:
                    status = dict(status=EnrolmentStatus.withdrawn.value, withdrawn_at=datetime.combine(cohort["last"], time(12), tzinfo=UTC), withdrawal_reason="Nåede ikke at blive færdig")
                await Enrolment.insert(
                    Enrolment(
                        cohort=cohort["id"], person=person_id, municipality=municipality_id,
                        requested_at=enrolled, enrolled_at=enrolled, enrolled_by=coordinator_id, **status,
                    )
                )
                marks = []
                for s in cohort["sessions"]:
                    if end is not None and s["starts_at"].date() > end:
                        break
                    roll = rng.random()
                    state = AttendanceStatus.absent.value if roll < 0.07 else AttendanceStatus.excused.value if roll < 0.10 else AttendanceStatus.present.value
                    marks.append(Attendance(session=s["id"], person=person_id, status=state, recorded_by=coordinator_id))
                if marks:
                    await Attendance.insert(*marks)
    # A cohort nobody was hired in time for did not run.
    taken = {e["cohort"] for e in await Enrolment.select(Enrolment.cohort).where(
        Enrolment.cohort.is_in([c["id"] for c in cohorts] or [0])
    )}
    empty = [c["id"] for c in cohorts if c["id"] not in taken]
    if empty:
        await Session.delete().where(Session.cohort.is_in(empty))
        await Cohort.delete().where(Cohort.id.is_in(empty))
    return hires
