"""The per-worker caches of issue 19 against a real database: the chiefs' dashboard is
built once and kept while nothing it rests on changes, and is built afresh after every
kind of write that changes what it holds — through each write path of the product, and
from another process writing to the same database. Kept boards are per viewer scope."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest

from intro import clock
from intro.db import data_stamp
from intro.hr import imports as hr_import
from intro.insight import dashboard
from intro.participation import attendance, enrolment
from intro.people import accounts, privacy
from intro.planning.rows import SessionRow
from intro.tables import (
    Attendance,
    Employment,
    Enrolment,
    Municipality,
    Person,
    Session,
    Venue,
)
from tests.conftest import BACKEND, login, post_form

# Reads the date (dashboard periods, cohorts that ended): also run at every pinned day.
pytestmark = pytest.mark.days

SLAGELSE_CHIEF = "chef.slagelse@intro.example"
NAESTVED_CHIEF = "chef.naestved@intro.example"


async def _user(email: str) -> accounts.User:
    person = await Person.select(Person.id).where(Person.email == email).first()
    return await accounts.load_user(person["id"])


async def _municipality(code: str) -> int:
    return (await Municipality.select(Municipality.id).where(Municipality.code == code).first())["id"]


async def _fresh(user: accounts.User) -> dashboard.Dashboard:
    """The board as built from the database now, past any cache."""
    today = clock.today()
    filters = await dashboard.filters_for(user, {}, today)
    return dashboard.build(await dashboard.load(filters, today))


@pytest.fixture
async def chief(demo_db):
    dashboard._BOARDS.clear()
    yield await _user(SLAGELSE_CHIEF)
    dashboard._BOARDS.clear()


async def test_the_board_is_kept_while_nothing_changes(chief):
    first = await dashboard.dashboard_for(chief, {})
    assert await dashboard.dashboard_for(chief, {}) is first
    # A write to a table the board does not rest on keeps it.
    await accounts.Person.update({Person.last_login_at: clock.now()}).where(Person.id == chief.id)
    assert await dashboard.dashboard_for(chief, {}) is first


async def test_boards_are_kept_per_viewer_scope(chief):
    own = await dashboard.dashboard_for(chief, {})
    other_chief = await _user(NAESTVED_CHIEF)
    other = await dashboard.dashboard_for(other_chief, {})
    assert other is not own
    assert other.municipality_name != own.municipality_name
    assert other == await _fresh(other_chief)
    # Other filters are another board too.
    narrowed = await dashboard.dashboard_for(chief, {"fra": str(clock.today().year - 1)})
    assert narrowed is not own and narrowed.filters.year_from == clock.today().year - 1


async def _write_hr_import(chief: accounts.User) -> None:
    slagelse = await _municipality("330")
    data = (
        "Ansættelses-id;Navn;E-mail;Kommunekode;Stilling;Startdato;Slutdato\n"
        f"CACHE-1;Cache Cirkus;cache.cirkus@slagelse.example;330;Jobkonsulent;{clock.today():%Y-%m-%d};\n"
    ).encode()
    import_id = await hr_import.store_upload(chief.id, slagelse, "ansatte.csv", data)
    await hr_import.commit(chief.id, slagelse, import_id)


async def _write_api(client) -> None:
    assert (await login(client, SLAGELSE_CHIEF)).status_code == 303
    response = await post_form(client, f"/municipalities/{await _municipality('330')}/api-tokens", {"name": "Løn"})
    token = re.search(r'id="new-token"[^>]*value="(intro_[^"]+)"', response.text).group(1)
    hire = {
        "full_name": "Api Andersen", "email": "api.andersen@slagelse.example", "job_function": "Jobkonsulent",
        "profile_code": "virksomhed", "start_date": f"{clock.today():%Y-%m-%d}",
    }
    put = await client.put("/api/v1/employments/HR-CACHE", json=hire, headers={"Authorization": f"Bearer {token}"})
    assert put.status_code == 201, put.text


async def _write_enrolment(chief: accounts.User) -> None:
    """A coordinator withdraws one of Slagelse's enrolled participants (the queue moves up)."""
    coordinator = await Person.select(Person.id).where(Person.email == "koordinator@intro.example").first()
    enrolled = await Enrolment.select(Enrolment.id).where(
        (Enrolment.status == "enrolled") & (Enrolment.municipality == await _municipality("330"))
    ).first()
    await enrolment.withdraw(coordinator["id"], enrolled["id"], "Skiftet job")


async def _write_attendance(chief: accounts.User) -> None:
    coordinator = await Person.select(Person.id).where(Person.email == "koordinator@intro.example").first()
    marked = await Attendance.select(Attendance.session, Attendance.person, Attendance.status).where(
        Attendance.session.status == "scheduled"
    ).first()
    session = await Session.select().where(Session.id == marked["session"]).first()
    other = "absent" if marked["status"] == "present" else "present"
    await attendance.mark(coordinator["id"], SessionRow.from_row(session), marked["person"], other)


async def _write_anonymisation(chief: accounts.User) -> None:
    today = clock.today()
    rows = await Employment.select(Employment.person, Employment.end_date)
    still = {r["person"] for r in rows if r["end_date"] is None or r["end_date"] >= today}
    left = sorted({r["person"] for r in rows} - still)
    await privacy.anonymise(None, left[0])


@pytest.mark.parametrize("path", ["hr_import", "api", "enrolment", "attendance", "anonymisation"])
async def test_every_write_path_makes_the_board_be_built_afresh(chief, demo_client, path):
    before = await dashboard.dashboard_for(chief, {})
    stamp = await data_stamp()
    if path == "api":
        await _write_api(demo_client)
    else:
        await globals()[f"_write_{path}"](chief)
    assert dashboard._BOARDS.versions(await data_stamp()) != dashboard._BOARDS.versions(stamp)
    after = await dashboard.dashboard_for(chief, {})
    assert after is not before
    assert after == await _fresh(chief)


def _other_process_writes(sql: str) -> None:
    """Run one statement from a separate Python process on the test database."""
    from intro.tables import Employment

    engine = Employment._meta.db
    if BACKEND == "postgres":
        script = textwrap.dedent(f"""
            import asyncio, asyncpg
            async def main():
                c = await asyncpg.connect({engine.config["dsn"]!r})
                await c.execute({sql!r})
                await c.close()
            asyncio.run(main())
        """)
    else:
        script = textwrap.dedent(f"""
            import sqlite3
            c = sqlite3.connect({engine.path!r})
            c.execute({sql!r})
            c.commit()
            c.close()
        """)
    subprocess.run([sys.executable, "-c", script], check=True)


async def test_a_write_by_another_process_is_seen_by_the_next_request(chief):
    before = await dashboard.dashboard_for(chief, {})
    leavers = list(before.leavers)
    # Another worker (here: another process) ends every current employment in Slagelse.
    slagelse = await _municipality("330")
    _other_process_writes(
        f"UPDATE employment SET end_date = '{clock.today():%Y-%m-%d}', end_reason = 'resigned' "
        f"WHERE municipality = {slagelse} AND end_date IS NULL"
    )
    after = await dashboard.dashboard_for(chief, {})
    assert after is not before
    assert after == await _fresh(chief)
    assert after.leavers != leavers  # the figures moved, not only the object


async def _results(client) -> str:
    response = await client.get("/dashboard", headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.text


async def test_the_rendered_results_are_the_kept_boards_and_go_with_it(chief, demo_client):
    """The results fragment is rendered once per kept board (intro.web.dashboard): a
    write by another process gives a new board, and so new results, at the next request;
    they are what a worker that kept nothing renders."""
    from intro.web import dashboard as dashboard_page

    await login(demo_client, SLAGELSE_CHIEF)
    before = await _results(demo_client)
    assert await _results(demo_client) == before
    assert len(dashboard_page._RENDERED) == 1  # kept, and served from it
    slagelse = await _municipality("330")
    _other_process_writes(
        f"UPDATE employment SET end_date = '{clock.today():%Y-%m-%d}', end_reason = 'resigned' "
        f"WHERE municipality = {slagelse} AND end_date IS NULL"
    )
    after = await _results(demo_client)
    assert after != before
    dashboard._BOARDS.clear()
    dashboard_page._RENDERED.clear()
    assert await _results(demo_client) == after  # as rendered by a worker that kept nothing
    full = await demo_client.get("/dashboard")
    assert after.strip() in full.text  # the full page holds the same results


async def test_the_rendered_filters_are_the_kept_boards_and_go_with_it(chief, demo_client):
    """The page's heading and filters are rendered once per kept board too: a job
    function written by another process is offered at the next request."""
    from intro.web import dashboard as dashboard_page

    await login(demo_client, SLAGELSE_CHIEF)
    before = (await demo_client.get("/dashboard")).text
    assert "Ny testfunktion" not in before
    assert [len(htmls) for _ref, htmls in dashboard_page._RENDERED.values()] == [2]  # results and filters
    slagelse = await _municipality("330")
    _other_process_writes(
        f"UPDATE employment SET job_function = 'Ny testfunktion' "
        f"WHERE id = (SELECT MIN(id) FROM employment WHERE municipality = {slagelse})"
    )
    assert '<option value="Ny testfunktion"' in (await demo_client.get("/dashboard")).text


# --------------------------------------------------------------------------------------
# Feeds: a poll answered from the worker's map still sees a revoked token or a lost role


async def _polled_feed(client, email: str, kind: str, target: int | None) -> tuple[str, str, int]:
    """A feed made by `email`, fetched until it is answered from this worker's map;
    returns its path, its ETag and its owner's id."""
    from intro.calendars import feeds

    feeds._POLLED.clear()
    owner = await _user(email)
    path = f"/feeds/{await feeds.create_feed(owner, kind, target)}.ics"
    etag = (await client.get(path)).headers["etag"]
    assert (await client.get(path, headers={"If-None-Match": etag})).status_code == 304
    assert (await client.get(path, headers={"If-None-Match": etag})).status_code == 304
    assert len(feeds._POLLED._entries) == 1  # kept
    return path, etag, owner.id


async def _partnership_id() -> int:
    from intro.tables import Partnership

    return (await Partnership.select(Partnership.id).first())["id"]


async def test_a_revoked_feed_is_gone_at_the_next_poll(demo_client):
    from intro.calendars import feeds
    from intro.tables import CalendarFeedToken

    path, etag, owner = await _polled_feed(demo_client, "koordinator@intro.example", "partnership", await _partnership_id())
    feed_id = (await CalendarFeedToken.select(CalendarFeedToken.id).where(CalendarFeedToken.owner == owner).first())["id"]
    await feeds.revoke(await _user("koordinator@intro.example"), feed_id)
    assert (await demo_client.get(path, headers={"If-None-Match": etag})).status_code == 404


async def test_a_feed_revoked_by_another_process_is_gone_at_the_next_poll(demo_client):
    path, etag, owner = await _polled_feed(demo_client, "deltager@intro.example", "person", None)
    _other_process_writes(f"UPDATE calendar_feed_token SET revoked_at = CURRENT_TIMESTAMP WHERE owner = {owner}")
    assert (await demo_client.get(path, headers={"If-None-Match": etag})).status_code == 404


async def test_a_lost_role_closes_the_feed_at_the_next_poll(demo_client):
    from intro.tables import RoleGrant

    path, etag, owner = await _polled_feed(demo_client, "koordinator@intro.example", "partnership", await _partnership_id())
    for grant in await RoleGrant.select(RoleGrant.id).where(
        (RoleGrant.person == owner) & (RoleGrant.role == "coordinator")
    ):
        await accounts.revoke_role(None, grant["id"])
    assert (await demo_client.get(path, headers={"If-None-Match": etag})).status_code == 404


async def test_a_deactivated_owner_closes_the_feed_at_the_next_poll(demo_client):
    path, etag, owner = await _polled_feed(demo_client, "deltager@intro.example", "person", None)
    await accounts.set_active(None, owner, False)
    assert (await demo_client.get(path, headers={"If-None-Match": etag})).status_code == 404


async def test_a_moved_course_day_gives_the_feed_a_new_version_at_the_next_poll(demo_client):
    path, etag, _owner = await _polled_feed(demo_client, "koordinator@intro.example", "partnership", await _partnership_id())
    _other_process_writes(
        "UPDATE session SET revision = revision + 1 WHERE id = (SELECT MIN(s.id) FROM session s "
        f"JOIN cohort c ON c.id = s.cohort WHERE c.partnership = {await _partnership_id()} AND s.status = 'scheduled')"
    )
    moved = await demo_client.get(path, headers={"If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["etag"] != etag


# --------------------------------------------------------------------------------------
# Hot queries built once


async def test_a_prepared_query_gives_what_the_query_gives_for_each_value(demo_db):
    from intro.db import Prepared
    from intro.tables import PlanItem

    calls = []

    def build(person, status):
        calls.append(1)
        return PlanItem.select(PlanItem.id, PlanItem.title, PlanItem.due_date).where(
            (PlanItem.person == person) & (PlanItem.status == status)
        ).order_by(PlanItem.id)

    prepared = Prepared(build, "person", "status")
    people = [r["person"] for r in await PlanItem.select(PlanItem.person).distinct().order_by(PlanItem.person)][:3]
    assert len(people) >= 2
    for person in people:
        for status in ("open", "done"):
            assert await prepared.run(person=person, status=status) == await build(person, status)
    assert len(calls) == 1 + 6  # built once for itself; the rest are the comparisons
    first = Prepared(lambda id: PlanItem.select(PlanItem.title).where(PlanItem.id == id).limit(1), "id", first=True)
    assert await first.run(id=-1) is None
    item = await PlanItem.select(PlanItem.id, PlanItem.title).first()
    assert await first.run(id=item["id"]) == {"title": item["title"]}


@pytest.mark.skipif(BACKEND != "postgres", reason="the counters' locks are PostgreSQL's; SQLite has one writer")
async def test_two_writers_of_two_stamped_tables_in_opposite_order_do_not_deadlock(demo_db):
    """Each writer changes its own rows of two counted tables, in opposite order. With the
    counters taken per statement, each would hold one table's counter and wait for the
    other's: PostgreSQL would abort one of them as a deadlock. Taken at commit, in name
    order, both commit."""
    import asyncio

    import asyncpg

    from tests.conftest import pg_url

    venues = [r["id"] for r in await Venue.select(Venue.id).order_by(Venue.id).limit(2)]
    places = [r["id"] for r in await Municipality.select(Municipality.id).order_by(Municipality.id).limit(2)]
    before = await data_stamp()
    first = await asyncpg.connect(pg_url(demo_db))
    second = await asyncpg.connect(pg_url(demo_db))
    try:
        one, two = first.transaction(), second.transaction()
        await one.start()
        await two.start()
        await first.execute("UPDATE venue SET name = name WHERE id = $1", venues[0])
        await second.execute("UPDATE municipality SET name = name WHERE id = $1", places[1])
        # Each now writes the table the other wrote first (other rows: no row lock is shared).
        both = asyncio.gather(
            first.execute("UPDATE municipality SET name = name WHERE id = $1", places[0]),
            second.execute("UPDATE venue SET name = name WHERE id = $1", venues[1]),
        )
        await asyncio.wait_for(both, timeout=10)
        await asyncio.wait_for(asyncio.gather(one.commit(), two.commit()), timeout=10)
    finally:
        await first.close()
        await second.close()
    after = await data_stamp()
    assert after != before


# --------------------------------------------------------------------------------------
# The progress grid and the conflicts page: kept per worker, built afresh after a write


COORDINATOR = "koordinator@intro.example"


def _tables_read(queries: list[str]) -> set[str]:
    return {name for q in queries for name in re.findall(r'(?:FROM|JOIN)\s+"(\w+)"', q)}


class _Reads:
    """The SQL of every query run while it is entered."""

    def __enter__(self) -> list[str]:
        from tests.conftest import ENGINE

        self.queries: list[str] = []
        self.engine_class = type(ENGINE)
        self.original = original = self.engine_class.run_querystring
        queries = self.queries

        async def run_querystring(engine, querystring, *args, **kwargs):
            queries.append(querystring.compile_string(engine.engine_type)[0])
            return await original(engine, querystring, *args, **kwargs)

        self.engine_class.run_querystring = run_querystring
        return self.queries

    def __exit__(self, *exc) -> None:
        self.engine_class.run_querystring = self.original


async def _active_cohort():
    from intro.planning.rows import CohortRow
    from intro.tables import Cohort

    return CohortRow.from_row(await Cohort.select().where(Cohort.status == "active").output(load_json=True).first())


async def _fresh_grid(cohort, follows=None):
    from intro.participation import follow_up

    grid = await follow_up.cohort_grid(cohort, follows)
    return grid, follow_up.ranked_behind(grid["rows"])


async def test_the_grid_is_kept_while_nothing_changes_and_per_viewer_scope(demo_db):
    from intro.participation import follow_up

    cohort = await _active_cohort()
    everyone = await follow_up.kept_grid(cohort, None)
    assert await follow_up.kept_grid(cohort, None) is everyone
    slagelse = frozenset({await _municipality("330")})
    own = await follow_up.kept_grid(cohort, slagelse)
    assert own is not everyone and (own.grid, own.behind) == await _fresh_grid(cohort, slagelse)
    assert {r["municipality"] for r in own.grid["rows"]} <= slagelse
    assert len(own.grid["rows"]) < len(everyone.grid["rows"])


async def test_the_grid_and_the_conflicts_read_only_stamped_tables(demo_db):
    """Whatever a kept grid or kept conflicts are built from is counted (a table read but
    not stamped would leave them stale after a write to it)."""
    from intro.participation import follow_up
    from intro.planning import timetables

    cohort = await _active_cohort()
    with _Reads() as queries:
        await follow_up.kept_grid(cohort, None)
    read = _tables_read(queries) - {"data_stamp"}
    assert {"attendance", "enrolment", "plan_item"} <= read
    assert read <= set(follow_up._GRIDS.tables)
    with _Reads() as queries:
        await timetables.partnership_conflicts(cohort.partnership)
    read = _tables_read(queries) - {"data_stamp"}
    assert {"session", "closed_period", "busy_time", "module_prerequisite"} <= read
    assert read <= set(timetables._CONFLICTS.tables)


async def test_every_stamped_table_has_its_counter_and_triggers(demo_db):
    """Migrations m0013 and m0014 count every table in STAMPED_TABLES, on both databases."""
    from intro.tables import STAMPED_TABLES, DataStamp

    assert set(await data_stamp()) == set(STAMPED_TABLES)
    for table in STAMPED_TABLES:
        if BACKEND == "postgres":
            rows = await DataStamp.raw(
                "SELECT tgname AS name FROM pg_trigger WHERE tgrelid = {}::regclass AND tgname LIKE 'data_stamp%'", table
            )
            assert len(rows) == 2, table  # noted per statement, counted at commit
        else:
            rows = await DataStamp.raw(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = {} AND name LIKE 'data_stamp%'", table
            )
            assert len(rows) == 3, table  # insert, update, delete


async def test_a_mark_by_another_process_is_on_the_next_grid(demo_db):
    from intro.participation import follow_up

    cohort = await _active_cohort()
    before = await follow_up.kept_grid(cohort, None)
    marked = await Attendance.select(Attendance.session, Attendance.person, Attendance.status).where(
        (Attendance.session.cohort == cohort.id) & (Attendance.status == "present")
    ).first()
    _other_process_writes(
        f"UPDATE attendance SET status = 'absent' WHERE session = {marked['session']} AND person = {marked['person']}"
    )
    after = await follow_up.kept_grid(cohort, None)
    assert after is not before
    assert (after.grid, after.behind) == await _fresh_grid(cohort)
    assert after.grid["rows"] != before.grid["rows"]  # the cells moved, not only the object


async def test_a_written_row_of_every_table_the_grid_reads_makes_it_built_afresh(demo_db):
    """A write to any table the grid rests on, by another process, is seen at the next
    request (an update to a row keeps the rows as they were: only the counter moves)."""
    from intro.participation import follow_up
    from intro.tables import DataStamp

    cohort = await _active_cohort()
    written = set()
    for table in follow_up._GRIDS.tables:
        if not await DataStamp.raw(f"SELECT id FROM {table} LIMIT 1"):
            continue  # nothing to update (a write to it moves its counter all the same: above)
        before = await follow_up.kept_grid(cohort, None)
        _other_process_writes(f"UPDATE {table} SET id = id WHERE id = (SELECT MIN(id) FROM {table})")
        assert await follow_up.kept_grid(cohort, None) is not before, table
        written.add(table)
    assert len(written) >= len(follow_up._GRIDS.tables) - 1


async def test_the_grid_is_kept_only_until_the_next_course_day_ends(demo_db, monkeypatch):
    from datetime import timedelta

    from intro.participation import follow_up

    cohort = await _active_cohort()
    today = clock.today()
    kept = await follow_up.kept_grid(cohort, None)
    assert kept.until is not None and kept.until >= clock.now()
    assert await follow_up.kept_grid(cohort, None) is kept
    monkeypatch.setattr(clock, "today", lambda: today)  # the same day (the key), later that day
    monkeypatch.setattr(clock, "now", lambda: kept.until + timedelta(seconds=1))
    later = await follow_up.kept_grid(cohort, None)
    assert later is not kept and later.until != kept.until


async def test_the_rendered_grid_is_kept_and_each_viewer_gets_their_own_csrf_field(demo_client):
    """The behind list and the grid are rendered once per kept grid (intro.web.follow_up);
    the confirm buttons' CSRF field is each viewer's own, and the page is what a worker
    that kept nothing renders; a write by another process gives a new one."""
    from intro.participation import follow_up
    from intro.tables import Cohort, PlanItem
    from intro.web import follow_up as grid_page
    from tests.conftest import _client, csrf_token

    cohort = await Cohort.select(Cohort.id).where(Cohort.status == "completed").first()
    enrolment = await Enrolment.select().where((Enrolment.cohort == cohort["id"]) & (Enrolment.status == "completed")).first()
    # Done but not confirmed: the row gets a confirm button (a form with the CSRF field).
    await Enrolment.update({Enrolment.status: "enrolled", Enrolment.completed_at: None}).where(Enrolment.id == enrolment["id"])
    sessions = [s["id"] for s in await Session.select(Session.id).where(Session.cohort == cohort["id"])]
    await Attendance.delete().where((Attendance.person == enrolment["person"]) & Attendance.session.is_in(sessions))
    await Attendance.insert(*[Attendance(session=s, person=enrolment["person"], status="present") for s in sessions])
    await PlanItem.update({PlanItem.answered_at: clock.now(), PlanItem.status: "done", PlanItem.done_at: clock.now()}).where(
        (PlanItem.person == enrolment["person"]) & (PlanItem.kind == "transfer")
    )
    path = f"/cohorts/{cohort['id']}/progress"
    await login(demo_client, COORDINATOR)
    first = (await demo_client.get(path)).text
    async for other in _client():
        await login(other, COORDINATOR)
        second = (await other.get(path)).text
        assert len(grid_page._RENDERED) == 1  # rendered once, served twice
        tokens = [csrf_token(demo_client), csrf_token(other)]
        assert tokens[0] != tokens[1]
        for page, token in zip([first, second], tokens, strict=True):
            assert "@@intro-csrf@@" not in page
            form = re.search(rf'action="/enrolments/{enrolment["id"]}/complete".*?</form>', page, re.S).group(0)
            assert f'value="{token}"' in form
        assert first.replace(tokens[0], "") == second.replace(tokens[1], "")
        follow_up._GRIDS.clear()
        grid_page._RENDERED.clear()
        assert (await demo_client.get(path)).text == first  # as rendered by a worker that kept nothing
        _other_process_writes(f"UPDATE attendance SET status = 'absent' WHERE person = {enrolment['person']} AND session = {sessions[0]}")
        after = (await other.get(path)).text
        assert f'action="/enrolments/{enrolment["id"]}/complete"' not in after  # no longer complete
        assert await ok_to_post(other, enrolment["id"]) == 400


async def ok_to_post(client, enrolment_id: int) -> int:
    return (await post_form(client, f"/enrolments/{enrolment_id}/complete")).status_code


async def test_the_conflicts_are_kept_and_see_a_closed_period_written_by_another_process(demo_db):
    from intro.planning import timetables

    cohort = await _active_cohort()
    before = await timetables.partnership_conflicts(cohort.partnership)
    assert await timetables.partnership_conflicts(cohort.partnership) is before
    upcoming = await Session.select(Session.starts_at).where(
        (Session.cohort.partnership == cohort.partnership) & (Session.status == "scheduled")
        & (Session.starts_at > clock.now())
    ).order_by(Session.starts_at).first()
    day = upcoming["starts_at"].astimezone(clock.COPENHAGEN).date()
    _other_process_writes(
        "INSERT INTO closed_period (partnership, name, start_date, end_date) "
        f"VALUES ({cohort.partnership}, 'Lukket', '{day:%Y-%m-%d}', '{day:%Y-%m-%d}')"
    )
    after = await timetables.partnership_conflicts(cohort.partnership)
    assert after is not before
    assert len(after) > len(before)
    assert after == await timetables._conflicts_from(cohort.partnership, clock.today())


async def test_a_cancelled_course_day_is_off_the_next_conflicts_page(demo_client):
    """Through the product: a coordinator cancels a day; the next page is found afresh,
    as a worker that kept nothing would find it."""
    from intro.planning import cohorts as planning
    from intro.planning import timetables

    cohort = await _active_cohort()
    await login(demo_client, COORDINATOR)
    path = f"/partnerships/{cohort.partnership}/conflicts"
    assert (await demo_client.get(path)).status_code == 200
    kept = await timetables.partnership_conflicts(cohort.partnership)
    session = await Session.select().where(
        (Session.cohort.partnership == cohort.partnership) & (Session.status == "scheduled")
        & (Session.starts_at > clock.now())
    ).order_by(Session.starts_at).first()
    await planning.cancel_session((await _user(COORDINATOR)).id, SessionRow.from_row(session), "Syg underviser")
    after = await timetables.partnership_conflicts(cohort.partnership)
    assert after is not kept
    assert after == await timetables._conflicts_from(cohort.partnership, clock.today())
    assert (await demo_client.get(path)).text == (await demo_client.get(path)).text
    timetables._CONFLICTS.clear()
    assert await timetables.partnership_conflicts(cohort.partnership) == after


async def test_update_many_stores_json_as_insert_many_does(demo_db):
    """Both write JSON through the same encoder: a date as its ISO text, letters as they are."""
    from datetime import date

    from intro.db import insert_many, update_many
    from intro.tables import AuditLog

    details = {"navn": "Søren Ærø", "fra": date(2026, 11, 30), "antal": 3}
    await insert_many(AuditLog, [{"action": "test.insert", "object_type": "test", "details": details}])
    inserted = await AuditLog.select(AuditLog.id, AuditLog.details).where(AuditLog.action == "test.insert").first()
    await AuditLog.insert(AuditLog(action="test.update", object_type="test"))
    row = await AuditLog.select(AuditLog.id).where(AuditLog.action == "test.update").first()
    await update_many(AuditLog, ["details"], [(details, row["id"])])
    updated = await AuditLog.select(AuditLog.details).where(AuditLog.id == row["id"]).first()
    assert updated["details"] == inserted["details"]
    assert json.loads(updated["details"]) == {"navn": "Søren Ærø", "fra": "2026-11-30", "antal": 3}
