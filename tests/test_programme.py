"""Closed periods and instructors' modules, and that the proposer honours them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from intro import clock
from intro.errors import Invalid
from intro.planning import cohorts, programme
from intro.planning.rows import CohortRow
from intro.tables import ClosedPeriod, InstructorQualification, Partnership, Person, Session
from intro.timefmt import local
from tests.cohort_rows import cohort_or_404
from tests.conftest import login, post_form

# Reads the date: also run at every pinned day (make test-days).
pytestmark = pytest.mark.days


async def _ids():
    partnership = (await Partnership.select(Partnership.id).first())["id"]
    coordinator = (await Person.select(Person.id).where(Person.email == "koordinator@intro.example").first())["id"]
    return partnership, coordinator


async def test_a_new_closed_period_is_skipped_by_the_next_proposal(demo_client):
    partnership, coordinator = await _ids()
    start = clock.today() + timedelta(days=60)
    cohort_id = await cohorts.create_cohort(
        coordinator, partnership,
        {"name": "Hold X", "curriculum_version": "1", "start_date": start.isoformat(), "capacity": "20", "weekdays": ["1"]},
    )
    await login(demo_client, "koordinator@intro.example")
    response = await post_form(
        demo_client, f"/partnerships/{partnership}/closed-periods",
        {"name": "Kursusstop", "start_date": start.isoformat(), "end_date": (start + timedelta(days=27)).isoformat()},
    )
    assert response.status_code == 303
    await cohorts.propose_timetable(coordinator, CohortRow.from_row(await cohort_or_404(cohort_id)), None)
    first = await Session.select(Session.starts_at, Session.change_reason).where(Session.cohort == cohort_id).order_by(Session.starts_at).first()
    assert local(first["starts_at"]).date() > start + timedelta(days=27)
    assert "Kursusstop" in first["change_reason"]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"name": "", "start_date": "2027-06-01", "end_date": "2027-06-10"}, "name"),
        ({"name": "X", "start_date": "", "end_date": "2027-06-10"}, "start_date"),
        ({"name": "X", "start_date": "2027-06-10", "end_date": "2027-06-01"}, "end_date"),
        ({"name": "X", "start_date": "2027-01-01", "end_date": "2027-12-31"}, "end_date"),
    ],
)
async def test_bad_closed_periods_name_the_field(demo_client, form, field):
    partnership, _c = await _ids()
    await login(demo_client, "koordinator@intro.example")
    before = await ClosedPeriod.count()
    response = await post_form(demo_client, f"/partnerships/{partnership}/closed-periods", form)
    assert response.status_code == 400
    assert f'id="f-{field}-error"' in response.text
    assert await ClosedPeriod.count() == before


async def test_only_approved_instructors_are_planned(demo_db):
    partnership, coordinator = await _ids()
    helle = (await Person.select(Person.id).where(Person.email == "underviser2@intro.example").first())["id"]
    await programme.set_qualifications(coordinator, partnership, helle, ["SAM-1"])
    assert {q["module_code"] for q in await InstructorQualification.select().where(InstructorQualification.person == helle)} == {"SAM-1"}
    with pytest.raises(Invalid):
        await programme.set_qualifications(coordinator, partnership, helle, ["FINDES-IKKE"])
    # Nobody else may teach SAM-2 now: it cannot be planned, and says why.
    await InstructorQualification.delete().where(InstructorQualification.module_code == "SAM-2")
    cohort_id = await cohorts.create_cohort(
        coordinator, partnership,
        {"name": "Hold Y", "curriculum_version": "1", "start_date": (clock.today() + timedelta(days=30)).isoformat(), "capacity": "20", "weekdays": ["2"]},
    )
    proposal = await cohorts.propose_timetable(coordinator, CohortRow.from_row(await cohort_or_404(cohort_id)), None)
    assert ("SAM-2", "ingen underviser er godkendt til modulet") in proposal.unplaced
    sam1 = await Session.select(Session.id).where((Session.cohort == cohort_id) & (Session.module.code == "SAM-1")).first()
    missing = await cohorts.missing_modules(cohort_id)
    assert "SAM-2" in {m["code"] for m in missing}
    assert sam1 is not None
