"""The demo is built around today: at any day it is consistent with that day.

Nothing the demo records as having happened is dated after the moment it was built, and
nobody is enrolled before they were hired. Run at every pinned day (make test-days), so a
demo laid out for one time of year does not contradict itself at another."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from intro import clock
from intro.tables import (
    Attendance,
    Cohort,
    Employment,
    Enrolment,
    Person,
    PlanItem,
    Reflection,
    SelfAssessment,
    Session,
)

pytestmark = pytest.mark.days

# What the demo records as done, by whom and when: none of it may lie in the future.
RECORDED = [
    (Enrolment, "requested_at"),
    (Enrolment, "enrolled_at"),
    (Enrolment, "withdrawn_at"),
    (Enrolment, "completed_at"),
    (Attendance, "recorded_at"),
    (PlanItem, "done_at"),
    (PlanItem, "answered_at"),
    (Reflection, "created_at"),
    (SelfAssessment, "assessed_at"),
    (Person, "last_login_at"),
]


async def test_nothing_the_demo_records_lies_after_today(demo_db):
    # The demo was built a moment ago, at the pinned time; a minute of slack for the build.
    built = clock.now() + timedelta(minutes=1)
    for table, column in RECORDED:
        field = getattr(table, column)
        late = await table.select(table.id, field).where(field > built)
        assert late == [], f"{table._meta.tablename}.{column} after {built}: {late[:3]}"


async def test_attendance_only_for_days_that_have_begun(demo_db):
    rows = await Attendance.select(Attendance.id, Attendance.session.starts_at).where(
        Attendance.session.starts_at > clock.now()
    )
    assert rows == []


async def test_nobody_is_enrolled_before_they_were_hired(demo_db):
    first_hired = {
        row["person"]: row["start"]
        for row in await Employment.raw("SELECT person, MIN(start_date) AS start FROM employment GROUP BY person")
    }
    early = []
    for e in await Enrolment.select(Enrolment.person, Enrolment.requested_at, Enrolment.cohort):
        hired = first_hired.get(e["person"])
        # SQLite's raw MIN() gives the date as text, PostgreSQL as a date.
        start = date.fromisoformat(hired) if isinstance(hired, str) else hired
        if start is not None and e["requested_at"].date() < start:
            early.append((e["person"], e["cohort"], e["requested_at"].date(), start))
    assert early == []


async def test_the_cohort_being_planned_starts_after_today_and_the_finished_one_is_over(demo_db):
    now = clock.now()
    for cohort in await Cohort.select(Cohort.id, Cohort.name, Cohort.status, Cohort.start_date):
        days = await Session.select(Session.starts_at, Session.ends_at).where(Session.cohort == cohort["id"])
        if cohort["status"] == "planning":
            assert cohort["start_date"] > clock.today(), cohort
            assert all(d["starts_at"] > now for d in days), cohort
        if cohort["status"] == "completed":
            assert all(d["ends_at"] < now for d in days), cohort
