"""Access ends with employment (intro/hr/offboarding.py), through the real HR write path:
the participant role from HR ends after the grace period, sign-ins and feeds stop, it is
audited, a re-hire grants it again, and staff roles are never touched."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intro.calendars import feeds
from intro.hr import employments, offboarding
from intro.people import accounts
from intro.tables import AuditLog, CalendarFeedToken, LoginSession, Municipality, Role, RoleGrant

# The last test reads the date: also run at every pinned day (make test-days).
pytestmark = pytest.mark.days

TODAY = date(2026, 11, 29)
GRACE = 30
_people = itertools.count()


async def _municipality(code: str = "330") -> int:
    row = await Municipality.select(Municipality.id).where(Municipality.code == code).first()
    if row:
        return row["id"]
    return (await Municipality.insert(Municipality(code=code, name=f"Kommune {code}")).returning(Municipality.id))[0]["id"]


async def _hr(email: str, ref: str, start: date, end: date | None, code: str = "330") -> None:
    await _municipality(code)
    await employments.apply_records(
        [employments.EmploymentRecord(
            external_ref=ref, full_name="Nina Nyansat", email=email, municipality_code=code,
            job_function="Jobkonsulent", start_date=start, end_date=end,
            end_reason="resigned" if end else None,
        )],
        None, allowed=None, source="test", today=start,
    )


async def _person(email: str) -> int:
    from intro.tables import Person

    return (await Person.select(Person.id).where(Person.email == email).first())["id"]


async def _roles(person: int) -> set[tuple[str, int | None]]:
    return {(g["role"], g["municipality"]) for g in await RoleGrant.select(RoleGrant.role, RoleGrant.municipality).where(RoleGrant.person == person)}


async def test_the_participant_role_ends_after_the_grace_period_and_comes_back_on_rehire(db):
    slagelse = await _municipality()
    await _hr("nina@test.example", "N-1", date(2025, 1, 1), None)
    nina = await _person("nina@test.example")
    await accounts.set_password(None, nina, "en-lang-adgangskode")
    await accounts.start_session(nina)
    user = await accounts.load_user(nina)
    await feeds.create_feed(user, "person", None)
    assert await _roles(nina) == {(Role.participant.value, slagelse)}

    # HR ends the employment; within the grace period nothing happens yet.
    await _hr("nina@test.example", "N-1", date(2025, 1, 1), TODAY - timedelta(days=GRACE))
    assert await offboarding.end_lapsed_access(TODAY, GRACE) == []
    # A day later the grace period is over: a dry run says so and changes nothing ...
    later = TODAY + timedelta(days=1)
    assert [x.person_id for x in await offboarding.end_lapsed_access(later, GRACE, dry_run=True)] == [nina]
    assert await _roles(nina)
    # ... and the real run ends the role, the sign-in and the feed, with audit lines.
    await offboarding.end_lapsed_access(later, GRACE)
    assert await _roles(nina) == set()
    assert not await LoginSession.exists().where(LoginSession.person == nina)
    assert not await CalendarFeedToken.exists().where(
        (CalendarFeedToken.owner == nina) & CalendarFeedToken.revoked_at.is_null()
    )
    actions = {row["action"] for row in await AuditLog.select(AuditLog.action).where(
        (AuditLog.object_type == "person") & (AuditLog.object_id == str(nina))
    )}
    assert {"role.revoke", "person.access_ended"} <= actions

    # Re-hired: the HR write path grants the role again.
    await _hr("nina@test.example", "N-2", later + timedelta(days=100), None)
    assert await _roles(nina) == {(Role.participant.value, slagelse)}


async def test_staff_roles_and_hand_given_roles_are_never_touched(db):
    slagelse = await _municipality()
    await _hr("chef@test.example", "C-1", date(2020, 1, 1), date(2021, 1, 1))
    chief = await _person("chef@test.example")
    await accounts.grant_role(None, chief, Role.chief.value, municipality_id=slagelse)
    hand = await accounts.create_person(None, "haand@test.example", "Hanne Hånd", None)
    await accounts.grant_role(None, hand, Role.participant.value, municipality_id=slagelse)
    await offboarding.end_lapsed_access(TODAY, GRACE)
    assert await _roles(chief) == {(Role.chief.value, slagelse)}  # the HR participant role went
    assert await _roles(hand) == {(Role.participant.value, slagelse)}  # HR knows nothing of her


offsets = st.one_of(st.none(), st.integers(-400, 200))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ends=st.lists(offsets, min_size=1, max_size=3))
async def test_a_participant_role_from_hr_lasts_exactly_as_long_as_an_employment_plus_grace(db, ends):
    """Whatever the employments' ends (None = still employed, else days from today): after
    the run the role is there exactly when one employment is running on today − grace or
    later; a chief's role of the same person is always still there."""
    slagelse = await _municipality()
    n = next(_people)
    email = f"p{n}@test.example"
    for i, offset in enumerate(ends):
        start = TODAY - timedelta(days=800 - 200 * i)
        end = None if offset is None else max(start, TODAY + timedelta(days=offset))
        await _hr(email, f"P{n}-{i}", start, end)
    person = await _person(email)
    await accounts.grant_role(None, person, Role.chief.value, municipality_id=slagelse)
    await offboarding.end_lapsed_access(TODAY, GRACE)
    stored_ends = [None if o is None else max(TODAY - timedelta(days=800 - 200 * i), TODAY + timedelta(days=o)) for i, o in enumerate(ends)]
    still = any(e is None or e >= TODAY - timedelta(days=GRACE) for e in stored_ends)
    roles = await _roles(person)
    assert ((Role.participant.value, slagelse) in roles) is still
    assert (Role.chief.value, slagelse) in roles


async def test_access_ends_at_the_request_on_the_day_the_grace_period_runs_out(client):
    """Before the nightly command has run: on the last day of the grace period the plan
    and the feed still answer; the day after, the sign-in gives no page and the feed is
    gone, as if the command had run. Dates are relative to today (run at pinned days)."""
    from intro import clock
    from intro.settings import get_settings
    from tests.conftest import login

    grace = get_settings().access_grace_days
    today = clock.today()
    await _hr("lis@test.example", "L-1", today - timedelta(days=400), None)
    lis = await _person("lis@test.example")
    await accounts.set_password(None, lis, "en-lang-adgangskode")
    token = await feeds.create_feed(await accounts.load_user(lis), "person", None)
    await login(client, "lis@test.example", "en-lang-adgangskode")
    assert (await client.get("/plan")).status_code == 200

    # HR: the last day was grace days ago: still inside the grace period.
    await _hr("lis@test.example", "L-1", today - timedelta(days=400), today - timedelta(days=grace))
    assert (await client.get("/plan")).status_code == 200
    feed = await client.get(f"/feeds/{token}.ics")
    assert feed.status_code == 200
    # Polled again until the answer comes from the worker's feed cache (issue 19): the
    # first poll notes the feed's use, a write that the next poll sees.
    for _ in range(2):
        assert (await client.get(f"/feeds/{token}.ics", headers={"If-None-Match": feed.headers["etag"]})).status_code == 304

    # One day more: lapsed. Nothing has removed the role yet, but nothing answers.
    await _hr("lis@test.example", "L-1", today - timedelta(days=400), today - timedelta(days=grace + 1))
    assert await _roles(lis)  # the nightly command has not run
    page = await client.get("/plan", follow_redirects=False)
    assert page.status_code in (302, 303, 401) and "Dit introforløb" not in page.text
    assert (await client.get(f"/feeds/{token}.ics")).status_code == 404
    assert Role.participant not in {g.role for g in (await accounts.load_user(lis)).grants}

    # A re-hire (HR sends a current employment) gives access back at once.
    await _hr("lis@test.example", "L-2", today - timedelta(days=1), None)
    await login(client, "lis@test.example", "en-lang-adgangskode")
    assert (await client.get("/plan")).status_code == 200
    assert (await client.get(f"/feeds/{token}.ics")).status_code == 200
