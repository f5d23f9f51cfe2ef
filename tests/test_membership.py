"""Partnership members over time (issue 17): membership is a history of spells.

- Under any sequence of joins, leaves and rejoins (hypothesis state machine) the
  database holds exactly the spells a plain model holds, no two spells of one pair share
  a day, and members_on(d) agrees with the model for days around the changes.
- A municipality that left keeps its past in the dashboard's figures for the periods when
  it was a member, and is not offered for new cohorts.
- Bad input (dates out of range, not a day, left before joined, overlaps) changes nothing.
"""

from __future__ import annotations

import contextlib
import itertools
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from intro import access, clock, timefmt
from intro.errors import Invalid
from intro.insight import dashboard
from intro.insight.retention import add_months
from intro.people import accounts, organisation
from intro.people.accounts import load_user
from intro.planning import cohort_forms
from intro.tables import (
    AuditLog,
    Employment,
    Municipality,
    Partnership,
    PartnershipMember,
    Person,
    Role,
)
from tests.conftest import DEMO_PASSWORD, own_event_loop
from tests.test_constraints import refused

# Reads the date: also run at every pinned day (make test-days).
pytestmark = pytest.mark.days

_names = itertools.count()
# 1 January three years from the day the test runs at (read in the test: with
# INTRO_TEST_DAYS the module is imported at today's date and the test runs at another).
IN_THREE_YEARS = "1 January, three years on"
PAIRS = 3  # municipalities in the machine's partnership


def _days_shared(a: tuple[int | None, int | None], b: tuple[int | None, int | None]) -> bool:
    """The model's overlap: spells [from, to) of day numbers, None unbounded; they share a
    day when the later start lies before the earlier end."""
    lo = max(x for x in (a[0], b[0], -(10**9)) if x is not None)
    hi = min(x for x in (a[1], b[1], 10**9) if x is not None)
    return lo < hi


def _model_member(spells: list[tuple[int | None, int | None]], d: int) -> bool:
    return any((j is None or j <= d) and (left is None or d < left) for j, left in spells)


def test_membership_history_holds_under_any_sequence(db):
    stack = contextlib.ExitStack()  # the loop, and on PostgreSQL a pool in it
    loop = stack.enter_context(own_event_loop())
    run = loop.run_until_complete
    offsets = st.integers(-40, 40)  # days from today

    class Memberships(RuleBasedStateMachine):
        @initialize()
        def setup(self):
            n = next(_names)

            async def world():
                ids = []
                for i in range(PAIRS):
                    row = await Municipality.insert(
                        Municipality(code=f"{(n * PAIRS + i) % 1000:03d}", name=f"Maskinkommune {n}-{i}")
                    ).returning(Municipality.id)
                    ids.append(row[0]["id"])
                pid = await organisation.create_partnership(None, f"Maskinsamarbejdet {n}")
                return pid, ids

            self.partnership, self.municipalities = run(world())
            # municipality index -> spells as (from, to) day numbers relative to today
            self.model: dict[int, list[tuple[int | None, int | None]]] = {i: [] for i in range(PAIRS)}

        def _allowed(self, m: int, spell: tuple[int | None, int | None], skip: int | None = None) -> bool:
            j, left = spell
            if j is not None and left is not None and left < j:
                return False
            others = [s for k, s in enumerate(self.model[m]) if k != skip]
            if j is not None and left is not None and left == j:
                overlap = False  # an empty spell holds no day
            else:
                overlap = any(_days_shared(spell, o) for o in others if not (o[0] is not None and o[1] == o[0]))
            if overlap:
                return False
            return not (left is None and any(o[1] is None for o in others))

        def _day(self, offset: int | None) -> date | None:
            return None if offset is None else clock.today() + timedelta(days=offset)

        @rule(m=st.integers(0, PAIRS - 1), joined=offsets, length=st.none() | st.integers(0, 30))
        def join(self, m, joined, length):
            left = None if length is None else joined + length
            allowed = self._allowed(m, (joined, left))
            try:
                run(organisation.add_membership(
                    None, self.partnership, self.municipalities[m], self._day(joined), self._day(left)
                ))
            except Invalid:
                assert not allowed, "refused a spell the model allows"
                return
            assert allowed, "recorded a spell the model refuses"
            self.model[m].append((joined, left))

        @rule(m=st.integers(0, PAIRS - 1), pick=st.integers(0, 5), left=offsets)
        def leave(self, m, pick, left):
            if not self.model[m]:
                return
            k = pick % len(self.model[m])
            j = self.model[m][k][0]
            allowed = self._allowed(m, (j, left), skip=k)
            rows = run(self._rows(m))
            try:
                run(organisation.end_membership(None, self.partnership, rows[k]["id"], self._day(left)))
            except Invalid:
                assert not allowed, "refused an end the model allows"
                return
            assert allowed, "ended a spell as the model refuses"
            self.model[m][k] = (j, left)

        @rule(chosen=st.sets(st.integers(0, PAIRS - 1)))
        def set_members_today(self, chosen):
            current = {m for m in range(PAIRS) if _model_member(self.model[m], 0)}
            added = chosen - current
            allowed = all(self._allowed(m, (0, None)) for m in added)
            try:
                run(organisation.set_members(None, self.partnership, [self.municipalities[m] for m in chosen]))
            except Invalid:
                assert not allowed, "refused a change the model allows"
                return
            assert allowed, "changed members as the model refuses"
            for m in current - chosen:
                self.model[m] = [
                    (j, 0) if _model_member([(j, left)], 0) else (j, left) for j, left in self.model[m]
                ]
            for m in added:
                self.model[m].append((0, None))

        async def _rows(self, m: int) -> list[dict]:
            return await PartnershipMember.select().where(
                (PartnershipMember.partnership == self.partnership)
                & (PartnershipMember.municipality == self.municipalities[m])
            ).order_by(PartnershipMember.id)

        @invariant()
        def database_holds_the_model(self):
            def offset(d: date | None) -> int | None:
                return None if d is None else (d - clock.today()).days

            for m in range(PAIRS):
                rows = run(self._rows(m))
                spells = [(offset(r["joined_on"]), offset(r["left_on"])) for r in rows]
                assert spells == self.model[m]
                real = [s for s in spells if not (s[0] is not None and s[1] == s[0])]
                for a, b in itertools.combinations(real, 2):
                    assert not _days_shared(a, b), "two spells of one pair share a day"
            for d in (-41, -20, -1, 0, 1, 15, 41, 80):
                expected = {self.municipalities[m] for m in range(PAIRS) if _model_member(self.model[m], d)}
                assert run(organisation.members_on(self.partnership, clock.today() + timedelta(days=d))) == expected
                assert {
                    m for m in self.municipalities
                    if self.partnership in run(organisation.partnerships_on(m, clock.today() + timedelta(days=d)))
                } == expected

    try:
        run_state_machine_as_test(
            Memberships,
            settings=settings(
                max_examples=30, stateful_step_count=15, deadline=None,
                suppress_health_check=list(HealthCheck), database=None,
            ),
        )
    finally:
        stack.close()


# --------------------------------------------------------------------------------------
# A municipality that left


async def _municipality(code: str, name: str) -> int:
    return (await Municipality.insert(Municipality(code=code, name=name)).returning(Municipality.id))[0]["id"]


async def _hire(municipality: int, n: int, start: date, tag: str) -> None:
    for i in range(n):
        pid = (await Person.insert(
            Person(email=f"{tag}{i}-{municipality}@test.example", full_name=f"Ansat {tag}{i}")
        ).returning(Person.id))[0]["id"]
        await Employment.insert(Employment(
            person=pid, municipality=municipality, job_function="Jobkonsulent", start_date=start,
            external_ref=f"{tag}{i}-{municipality}",
        ))


async def test_a_municipality_that_left_keeps_its_past_and_is_not_offered_anew(db):
    own = await _municipality("101", "Egen Kommune")
    other = await _municipality("103", "Mellem Kommune")
    leaver = await _municipality("105", "Forladt Kommune")
    partnership = await organisation.create_partnership(None, "Skiftende samarbejde", "", [own, other, leaver])
    two_years_ago = add_months(clock.today(), -25)
    await _hire(own, 6, two_years_ago, "o")
    await _hire(other, 6, two_years_ago, "m")
    await _hire(leaver, 7, two_years_ago, "f")
    # Forladt Kommune leaves today; 5 hired since count for nobody's partnership figures.
    await organisation.set_members(None, partnership, [own, other])
    await _hire(leaver, 5, clock.today(), "n")
    chief = await accounts.create_person(None, "chef@egen.example", "Chef Egen", DEMO_PASSWORD)
    await accounts.grant_role(None, chief, Role.chief.value, municipality_id=own)

    board = await dashboard.dashboard_for(await load_user(chief), {"fra": str(clock.today().year - 3)})
    rows = {row.label: row.cells for row in board.comparison.rows}
    hires = board.comparison.headings.index("Nyansatte") - 1
    # Its past stays: a row of its own with its 7 hires from when it was a member, and they
    # are in the partnership's total (6 + 6 + 7); the 5 hired after it left are not.
    assert rows["Forladt Kommune"][hires].text == "7"
    assert rows["Hele samarbejdet"][hires].text == "19"

    # Not offered for anything new: the new cohort form, enrolment scope, chiefs' scope.
    options = await cohort_forms.form_options(partnership)
    assert {m["id"] for m in options["members"]} == {own, other}
    assert await access.member_municipalities({partnership}) == {own, other}
    assert await organisation.partnerships_on(leaver, clock.today()) == set()
    assert await organisation.partnerships_on(leaver, clock.today() - timedelta(days=1)) == {partnership}


# --------------------------------------------------------------------------------------
# Bad input changes nothing


async def _state(partnership: int) -> tuple:
    rows = await PartnershipMember.select().where(PartnershipMember.partnership == partnership).order_by(
        PartnershipMember.id
    )
    return rows, await AuditLog.count()


@pytest.mark.parametrize(
    ("joined_on", "left_on", "field"),
    [
        ("", "", "joined_on"),
        ("1900-01-01", "", "joined_on"),
        (IN_THREE_YEARS, "", "joined_on"),
        ("2027-02-30", "", "joined_on"),
        ("i morgen", "", "joined_on"),
        ("2020-05-01", "2020-04-30", "left_on"),
        ("2020-05-01", "3000-01-01", "left_on"),
        ("2010-01-01", "", "joined_on"),  # a second open membership overlaps
        ("2010-01-01", "2022-01-01", "joined_on"),  # overlaps the open one
    ],
)
async def test_bad_membership_input_changes_nothing(db, joined_on, left_on, field):
    if joined_on == IN_THREE_YEARS:  # read at the test's day, not when the module was imported
        joined_on = f"{clock.today().year + 3}-01-01"
    member = await _municipality("101", "Egen Kommune")
    partnership = await organisation.create_partnership(None, "Datosamarbejdet", "", [])
    await organisation.add_membership(None, partnership, member, "2021-01-01")
    before = await _state(partnership)
    with pytest.raises(Invalid) as refused:
        await organisation.add_membership(None, partnership, member, joined_on, left_on)
    assert field in refused.value.errors
    assert await _state(partnership) == before


async def test_ending_before_joining_or_into_a_later_spell_changes_nothing(db):
    member = await _municipality("101", "Egen Kommune")
    partnership = await organisation.create_partnership(None, "Slutsamarbejdet", "", [])
    first = await organisation.add_membership(None, partnership, member, "2020-01-01", "2021-01-01")
    await organisation.add_membership(None, partnership, member, "2022-01-01")
    other = await organisation.create_partnership(None, "Et andet samarbejde", "", [])
    before = await _state(partnership)
    for left_on in ("2019-12-31", "2022-06-01", "", "1800-01-01", "x"):
        with pytest.raises(Invalid) as refused:
            await organisation.end_membership(None, partnership, first, left_on)
        assert "left_on" in refused.value.errors
    with pytest.raises(Invalid) as refused:
        await organisation.end_membership(None, other, first, "2021-06-01")
    assert "membership" in refused.value.errors
    assert await _state(partnership) == before
    # A rejoin after the first spell, and moving its end within the gap, are fine.
    await organisation.end_membership(None, partnership, first, "2021-12-31")
    assert await organisation.members_on(partnership, date(2021, 12, 30)) == {member}
    assert await organisation.members_on(partnership, date(2021, 12, 31)) == set()


async def test_the_database_holds_one_open_membership_per_pair(db):
    """Beside the one checking function, the database itself refuses a second open row."""
    member = await _municipality("101", "Egen Kommune")
    partnership = await organisation.create_partnership(None, "Indekssamarbejdet", "", [member])
    await refused(PartnershipMember.insert(PartnershipMember(partnership=partnership, municipality=member)))
    await refused(PartnershipMember.insert(PartnershipMember(
        partnership=partnership, municipality=member, joined_on=date(2020, 2, 1), left_on=date(2020, 1, 1)
    )))


async def test_the_admin_page_shows_the_history_and_refuses_bad_dates(demo_client):
    from tests.conftest import login, post_form

    assert (await login(demo_client, "admin@intro.example")).status_code == 303
    partnership = (await Partnership.select(Partnership.id).first())["id"]
    [first] = await PartnershipMember.select(PartnershipMember.id).where(
        PartnershipMember.partnership == partnership
    ).limit(1)
    url = f"/admin/partnerships/{partnership}"
    ended = await post_form(demo_client, f"{url}/memberships/{first['id']}/end", {"left_on": clock.today().isoformat()})
    assert ended.status_code == 303
    page = (await demo_client.get(url)).text
    # The history: the ended membership's left date, and the date in its end form.
    assert "Medlemskaber over tid" in page
    assert f"<td>{timefmt.da_date(clock.today())}</td>" in page
    assert f'value="{clock.today().isoformat()}"' in page
    before = await _state(partnership)
    refused = await post_form(demo_client, f"{url}/memberships/{first['id']}/end", {"left_on": "1800-01-01"})
    assert refused.status_code == 400 and "Datoen skal ligge mellem" in refused.text
    municipality = (await PartnershipMember.select(PartnershipMember.municipality).where(
        PartnershipMember.id == first["id"]).first())["municipality"]
    refused = await post_form(demo_client, f"{url}/memberships", {
        "municipality": str(municipality), "joined_on": "2020-05-01", "left_on": "2020-04-01",
    })
    assert refused.status_code == 400 and "Udtrædelsesdatoen kan ikke ligge før" in refused.text
    assert await _state(partnership) == before
    rejoined = await post_form(demo_client, f"{url}/memberships", {
        "municipality": str(municipality), "joined_on": (clock.today() + timedelta(days=1)).isoformat(),
    })
    assert rejoined.status_code == 303
    assert municipality not in await organisation.members_on(partnership, clock.today())
    assert municipality in await organisation.members_on(partnership, clock.today() + timedelta(days=1))
