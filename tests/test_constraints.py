"""The database itself refuses data that breaks the model's rules, on SQLite and on
PostgreSQL alike (the same tests run on both)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from intro.tables import (
    Cohort,
    Competence,
    CurriculumVersion,
    Employment,
    Enrolment,
    Module,
    Municipality,
    Partnership,
    Person,
    RoleGrant,
    SelfAssessment,
    Session,
    Venue,
)


def integrity_error(exc: BaseException) -> bool:
    name = type(exc).__name__
    return "IntegrityError" in name or "Violation" in name or "CheckViolation" in name


async def refused(query) -> None:
    with pytest.raises(Exception) as caught:
        await query
    assert integrity_error(caught.value), f"expected a constraint error, got {caught.value!r}"


@pytest.fixture
async def base(db):
    m = (await Municipality.insert(Municipality(code="330", name="Slagelse")).returning(Municipality.id))[0]["id"]
    p = (await Partnership.insert(Partnership(name="Vest")).returning(Partnership.id))[0]["id"]
    person = (await Person.insert(Person(email="a@x.dk", full_name="A")).returning(Person.id))[0]["id"]
    version = (await CurriculumVersion.select(CurriculumVersion.id).first())["id"]
    return {"municipality": m, "partnership": p, "person": person, "version": version}


async def test_municipality_code_must_be_three_digits(base):
    await refused(Municipality.insert(Municipality(code="33", name="Kort")))
    await refused(Municipality.insert(Municipality(code="3a0", name="Bogstav")))
    await refused(Municipality.insert(Municipality(code="330", name="Dublet")))
    await Municipality.insert(Municipality(code="370", name="Næstved"))


async def test_email_is_unique_and_lowercase(base):
    await refused(Person.insert(Person(email="a@x.dk", full_name="Igen")))
    await refused(Person.insert(Person(email="Stor@X.dk", full_name="Stor")))
    await refused(Person.insert(Person(email="ingen-snabel-a", full_name="X")))


async def test_role_scope_must_fit_the_role(base):
    person, m, p = base["person"], base["municipality"], base["partnership"]
    await refused(RoleGrant.insert(RoleGrant(person=person, role="chief")))  # no municipality
    await refused(RoleGrant.insert(RoleGrant(person=person, role="coordinator", municipality=m)))
    await refused(RoleGrant.insert(RoleGrant(person=person, role="admin", partnership=p)))
    await refused(RoleGrant.insert(RoleGrant(person=person, role="king")))
    await RoleGrant.insert(RoleGrant(person=person, role="chief", municipality=m))
    await RoleGrant.insert(RoleGrant(person=person, role="admin"))


async def test_a_role_is_granted_once_per_scope(base):
    person, m = base["person"], base["municipality"]
    await RoleGrant.insert(RoleGrant(person=person, role="admin"))
    await refused(RoleGrant.insert(RoleGrant(person=person, role="admin")))
    await RoleGrant.insert(RoleGrant(person=person, role="chief", municipality=m))
    await refused(RoleGrant.insert(RoleGrant(person=person, role="chief", municipality=m)))


async def test_foreign_keys_are_enforced(base):
    await refused(RoleGrant.insert(RoleGrant(person=999999, role="admin")))
    await refused(
        Venue.insert(
            Venue(name="X", municipality=999999, address="Vej 1", postcode="4200", city="By", capacity=10)
        )
    )


async def test_venue_capacity_and_postcode(base):
    def venue(**kw):
        fields = dict(name="Sal", municipality=base["municipality"], address="Vej 1", postcode="4200", city="Slagelse", capacity=20)
        fields.update(kw)
        return Venue.insert(Venue(**fields))

    await refused(venue(capacity=0))
    await refused(venue(postcode="42"))
    await venue()
    await refused(venue())  # same name in the same municipality


async def test_municipality_in_use_cannot_be_deleted(base):
    await Employment.insert(
        Employment(person=base["person"], municipality=base["municipality"], job_function="Jobkonsulent", start_date=date(2026, 1, 1))
    )
    await refused(Municipality.delete().where(Municipality.id == base["municipality"]))


async def test_employment_dates_and_reason(base):
    def employment(**kw):
        fields = dict(person=base["person"], municipality=base["municipality"], job_function="Jobkonsulent", start_date=date(2026, 3, 1))
        fields.update(kw)
        return Employment.insert(Employment(**fields))

    await refused(employment(end_date=date(2026, 2, 1), end_reason="resigned"))
    await refused(employment(end_reason="resigned"))  # a reason without an end
    await refused(employment(end_date=date(2026, 5, 1), end_reason="fyret"))
    await refused(employment(job_function="  "))
    await employment(end_date=date(2026, 5, 1), end_reason="resigned")


def _cohort(base, **kw):
    fields = dict(
        partnership=base["partnership"], curriculum_version=base["version"], name="Hold 1",
        start_date=date(2027, 2, 1), capacity=20, day_start=time(9), day_end=time(15),
    )
    fields.update(kw)
    return Cohort.insert(Cohort(**fields)).returning(Cohort.id)


async def test_cohort_rules(base):
    await refused(_cohort(base, capacity=0))
    await refused(_cohort(base, day_start=time(15), day_end=time(9)))
    await refused(_cohort(base, status="paused"))
    await _cohort(base)
    await refused(_cohort(base))  # same name in the partnership


async def test_session_rules_and_unique_uid(base):
    cohort = (await _cohort(base))[0]["id"]
    module = (await Module.select(Module.id).where(Module.curriculum_version == base["version"]).first())["id"]
    start = datetime(2027, 3, 30, 7, tzinfo=UTC)

    def session(**kw):
        fields = dict(cohort=cohort, module=module, starts_at=start, ends_at=start + timedelta(hours=6), uid="a@intro")
        fields.update(kw)
        return Session.insert(Session(**fields))

    await refused(session(ends_at=start - timedelta(hours=1)))
    await refused(session(status="moved"))
    await refused(session(revision=-1))
    await session()
    await refused(session(part=2))  # uid already used
    await refused(session(uid="b@intro"))  # same module part in the same cohort


async def test_enrolment_once_and_withdrawal_has_time(base):
    cohort = (await _cohort(base))[0]["id"]
    enrol = dict(cohort=cohort, person=base["person"], municipality=base["municipality"])
    await refused(Enrolment.insert(Enrolment(**enrol, status="withdrawn")))
    await refused(Enrolment.insert(Enrolment(**enrol, status="maybe")))
    await Enrolment.insert(Enrolment(**enrol, status="enrolled"))
    await refused(Enrolment.insert(Enrolment(**enrol, status="waitlisted")))


async def test_self_assessment_scale(base):
    competence = (await Competence.select(Competence.id).first())["id"]
    row = dict(person=base["person"], competence=competence, phase="start")
    await refused(SelfAssessment.insert(SelfAssessment(**row, score=6)))
    await refused(SelfAssessment.insert(SelfAssessment(**row, score=0)))
    await refused(SelfAssessment.insert(SelfAssessment(person=base["person"], competence=competence, phase="later", score=3)))
    await SelfAssessment.insert(SelfAssessment(**row, score=3))
    await refused(SelfAssessment.insert(SelfAssessment(**row, score=4)))


async def test_a_version_used_by_a_cohort_cannot_be_deleted(base):
    await _cohort(base)
    await refused(CurriculumVersion.delete().where(CurriculumVersion.id == base["version"]))
