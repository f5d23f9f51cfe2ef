"""A cohort's row by id, for tests that set up timetables without a signed-in user.

Product code loads cohorts only through intro.access (cohort_for, cohort_to_manage),
which checks who asks; this helper checks nothing, so it lives here (issue 15).
"""

from __future__ import annotations

from intro.errors import NotFound
from intro.tables import Cohort


async def cohort_or_404(cohort_id: int) -> dict:
    """The cohort's row (JSON columns loaded); NotFound when there is none."""
    cohort = await Cohort.select().where(Cohort.id == cohort_id).output(load_json=True).first()
    if cohort is None:
        raise NotFound()
    return cohort
