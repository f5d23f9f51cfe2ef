"""Data subjects' rights (intro/people/privacy.py) against a real database: the export holds
everything about the person and nothing secret, anonymisation leaves every figure of the
dashboard exactly as it was, restriction stops anonymisation, the retention rule picks
exactly the long-gone leavers (with a dry run), and each step is in the audit log."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest

from intro import clock
from intro.errors import Invalid
from intro.insight import dashboard
from intro.people import accounts, privacy
from intro.tables import (
    AuditLog,
    Employment,
    Enrolment,
    LoginSession,
    Person,
    Reflection,
    RoleGrant,
)
from tests.conftest import DEMO_PASSWORD, login, post_form


async def _admin_id() -> int:
    return (await Person.select(Person.id).where(Person.email == "admin@intro.example").first())["id"]


async def _figures(email: str) -> str:
    """Every figure of a chief's dashboard (all of its years), as text to compare."""
    chief = await Person.select(Person.id).where(Person.email == email).first()
    user = await accounts.load_user(chief["id"])
    years = {}
    for year_from in range(clock.today().year - 8, clock.today().year + 1):
        board = await dashboard.dashboard_for(user, {"fra": str(year_from)})
        years[year_from] = repr((
            board.own, board.comparison, board.own_marks, board.splits, board.partnership_splits,
            board.curves, board.intake, board.leavers,
        ))
    return json.dumps(years)


async def _end_employment(person_id: int) -> None:
    """As HR would: the employment ended yesterday."""
    from datetime import timedelta

    await Employment.update({Employment.end_date: clock.today() - timedelta(days=1), Employment.end_reason: "resigned"}).where(
        (Employment.person == person_id) & Employment.end_date.is_null()
    )


async def test_anonymising_people_leaves_every_figure_unchanged(demo_db):
    # A sample of former hires with enrolments and attendance, and Sara, the participant
    # persona, once HR has ended her employment.
    employed = {row["person"] for row in await Employment.select(Employment.person).where(
        Employment.end_date.is_null() | (Employment.end_date >= clock.today())
    )}
    people = sorted({row["person"] for row in await Enrolment.select(Enrolment.person)} - employed)
    assert len(people) >= 10
    chosen = random.Random(14).sample(people, min(25, len(people)))
    sara = await Person.select(Person.id).where(Person.email == "deltager@intro.example").first()
    await _end_employment(sara["id"])
    before = {email: await _figures(email) for email in ("chef.slagelse@intro.example",)}
    admin = await _admin_id()
    for person_id in set(chosen) - {sara["id"]}:
        if await RoleGrant.exists().where((RoleGrant.person == person_id) & (RoleGrant.role == "admin")):
            continue
        await privacy.anonymise(admin, person_id)
    # HR data about Sara is in the log, as it is when HR sends her employment.
    await AuditLog.insert(AuditLog(actor=None, action="person.create", object_type="person",
                                   object_id=str(sara["id"]), details={"email": "deltager@intro.example", "full_name": "Sara"}))
    sara_name = (await Person.select(Person.full_name).where(Person.id == sara["id"]).first())["full_name"]
    await privacy.anonymise(admin, sara["id"])
    sara_after = await Person.select().where(Person.id == sara["id"]).first()
    log_text = json.dumps([row["details"] for row in await AuditLog.select(AuditLog.details)], default=str)
    assert "deltager@intro.example" not in log_text and sara_name not in log_text
    assert sara_after["full_name"] == f"Anonymiseret person {sara['id']}"
    assert "deltager" not in sara_after["email"] and sara_after["password_hash"] is None
    assert not await LoginSession.exists().where(LoginSession.person == sara["id"])
    assert not await Reflection.exists().where(Reflection.person == sara["id"])
    assert not await RoleGrant.exists().where(RoleGrant.person == sara["id"])
    assert await Employment.exists().where(Employment.person == sara["id"])  # the figures rest on it
    after = {email: await _figures(email) for email in before}
    assert after == before
    assert await AuditLog.count().where(AuditLog.action == "person.anonymise") >= len(chosen)


async def test_the_export_holds_the_person_s_records_and_no_secret(demo_db):
    sara = await Person.select(Person.id).where(Person.email == "deltager@intro.example").first()
    admin = await _admin_id()
    data = await privacy.export(admin, sara["id"])
    assert data["person"]["email"] == "deltager@intro.example"
    for key in ("employments", "enrolments", "plan_items", "role_grants"):
        assert data[key], key
    text = json.dumps(data, default=str)
    assert "argon2" not in text and "token_hash" not in text and "password_hash" not in text
    line = await AuditLog.select().where(AuditLog.action == "person.export").first()
    assert line["actor"] == admin and line["object_id"] == str(sara["id"])


async def test_someone_still_employed_is_not_anonymised(demo_db):
    sara = await Person.select(Person.id).where(Person.email == "deltager@intro.example").first()
    with pytest.raises(Invalid) as refused:
        await privacy.anonymise(await _admin_id(), sara["id"])
    assert "stadig ansat" in refused.value.errors["person"]
    assert (await Person.select(Person.anonymised_at).where(Person.id == sara["id"]).first())["anonymised_at"] is None


async def test_a_restricted_person_is_not_anonymised(demo_db):
    sara = await Person.select(Person.id).where(Person.email == "deltager@intro.example").first()
    await _end_employment(sara["id"])
    admin = await _admin_id()
    await privacy.set_restricted(admin, sara["id"], True)
    with pytest.raises(Invalid) as refused:
        await privacy.anonymise(admin, sara["id"])
    assert "person" in refused.value.errors
    assert (await Person.select(Person.full_name).where(Person.id == sara["id"]).first())["full_name"] != ""
    await privacy.set_restricted(admin, sara["id"], False)
    await privacy.anonymise(admin, sara["id"])
    actions = [row["action"] for row in await AuditLog.select(AuditLog.action).where(
        (AuditLog.object_type == "person") & (AuditLog.object_id == str(sara["id"]))
    ).order_by(AuditLog.id)]
    assert actions[-3:] == ["person.restrict", "person.unrestrict", "person.anonymise"]


async def _a_municipality() -> int:
    from intro.tables import Municipality

    row = await Municipality.select(Municipality.id).first()
    if row:
        return row["id"]
    return (await Municipality.insert(Municipality(code="999", name="Prøvekommune")).returning(Municipality.id))[0]["id"]


async def _person_with(employments: list[tuple[date, date | None]], email: str) -> int:
    person = await accounts.create_person(None, email, "Test " + email.split("@")[0], None)
    municipality = await _a_municipality()
    for i, (start, end) in enumerate(employments):
        await Employment.insert(Employment(
            person=person, municipality=municipality, job_function="Jobkonsulent",
            start_date=start, end_date=end, end_reason="resigned" if end else None,
            external_ref=f"{email}-{i}",
        ))
    return person


async def test_the_retention_rule_anonymises_only_long_gone_leavers(db):
    today = date(2026, 11, 29)
    old = date(2018, 1, 1)
    gone = await _person_with([(old, date(2020, 6, 30))], "gone@test.example")
    recent = await _person_with([(old, date(2023, 6, 30))], "recent@test.example")
    rehired = await _person_with([(old, date(2019, 6, 30)), (date(2024, 1, 1), None)], "rehired@test.example")
    restricted = await _person_with([(old, date(2019, 6, 30))], "restricted@test.example")
    await privacy.set_restricted(None, restricted, True)
    staff = await _person_with([(old, date(2019, 6, 30))], "staff@test.example")
    municipality = await _a_municipality()
    await accounts.grant_role(None, staff, "chief", municipality_id=municipality)
    # Ended exactly five years ago: not yet *more than* five years; a day earlier: due.
    exactly = await _person_with([(old, date(2021, 11, 29))], "exactly@test.example")
    edge = await _person_with([(old, date(2021, 11, 28))], "edge@test.example")

    dry = await privacy.retention_sweep(today, 5, dry_run=True)
    assert [d.person_id for d in dry] == sorted([gone, edge])
    assert not await Person.exists().where(Person.anonymised_at.is_not_null())
    done = await privacy.retention_sweep(today, 5)
    assert {d.person_id for d in done} == {gone, edge}
    anonymised = {row["id"] for row in await Person.select(Person.id).where(Person.anonymised_at.is_not_null())}
    assert anonymised == {gone, edge}
    assert {recent, rehired, restricted, staff, exactly}.isdisjoint(anonymised)
    assert await AuditLog.count().where(
        (AuditLog.action == "person.anonymise") & (AuditLog.actor.is_null())
    ) == 2
    assert await privacy.retention_sweep(today, 5) == []  # nothing twice


def test_the_command_has_a_dry_run(db):
    import asyncio

    from click.testing import CliRunner

    from app import cli

    def query(coro):
        return asyncio.new_event_loop().run_until_complete(coro)

    query(_person_with([(date(2010, 1, 1), date(2012, 1, 1))], "long-gone@test.example"))
    result = CliRunner().invoke(cli, ["anonymise-leavers", "--dry-run", "--years", "5"])
    assert result.exit_code == 0, result.output
    assert "1 ville blive anonymiseret" in result.output
    assert not query(Person.exists().where(Person.anonymised_at.is_not_null()))
    result = CliRunner().invoke(cli, ["anonymise-leavers", "--years", "5"])
    assert "1 anonymiseret" in result.output
    assert query(Person.count().where(Person.anonymised_at.is_not_null())) == 1


# --- The admin pages ------------------------------------------------------------------


async def test_admin_pages_for_a_person_s_data(demo_client):
    sara = (await Person.select(Person.id).where(Person.email == "deltager@intro.example").first())["id"]
    await _end_employment(sara)
    assert (await login(demo_client, "admin@intro.example")).status_code == 303
    page = await demo_client.get(f"/admin/users/{sara}/privacy")
    assert page.status_code == 200
    assert "Ansættelser" in page.text and "Tilmeldinger" in page.text
    download = await demo_client.get(f"/admin/users/{sara}/export.json")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    assert json.loads(download.content)["person"]["id"] == sara
    restricted = await post_form(demo_client, f"/admin/users/{sara}/restrict", {"restricted": "1"})
    assert restricted.status_code == 303
    refused = await post_form(demo_client, f"/admin/users/{sara}/anonymise", {"confirm": "1"})
    assert refused.status_code == 400 and "begrænset" in refused.text
    await post_form(demo_client, f"/admin/users/{sara}/restrict", {"restricted": "0"})
    unconfirmed = await post_form(demo_client, f"/admin/users/{sara}/anonymise", {})
    assert unconfirmed.status_code == 400 and "Bekræft" in unconfirmed.text
    done = await post_form(demo_client, f"/admin/users/{sara}/anonymise", {"confirm": "1"})
    assert done.status_code == 303
    assert (await Person.select(Person.anonymised_at).where(Person.id == sara).first())["anonymised_at"]


@pytest.mark.parametrize("email", ["chef.slagelse@intro.example", "koordinator@intro.example", "deltager@intro.example"])
async def test_only_an_admin_may_see_or_change_a_person_s_data(demo_client, email):
    sara = (await Person.select(Person.id).where(Person.email == "deltager@intro.example").first())["id"]
    assert (await login(demo_client, email, DEMO_PASSWORD)).status_code == 303
    for method, path in (("GET", "privacy"), ("GET", "export.json"), ("POST", "restrict"), ("POST", "anonymise")):
        url = f"/admin/users/{sara}/{path}"
        response = await (demo_client.get(url) if method == "GET" else post_form(demo_client, url, {"confirm": "1", "restricted": "1"}))
        assert response.status_code == 403, (email, path)
    assert (await Person.select(Person.anonymised_at, Person.restricted_at).where(Person.id == sara).first()) == {
        "anonymised_at": None, "restricted_at": None,
    }


async def test_anonymous_visitors_are_sent_to_sign_in(demo_client):
    response = await demo_client.get("/admin/users/1/export.json")
    assert response.status_code in (302, 303) and "/login" in response.headers["location"]


def _every_table():
    """Every table of the app (intro.tables), found rather than listed, so a new table
    is scanned too."""
    from piccolo.table import Table

    from intro import tables

    return [
        t for t in vars(tables).values()
        if isinstance(t, type) and issubclass(t, Table) and t is not Table and t.__module__ == tables.__name__
    ]


async def _where_found(texts: list[str]) -> list[str]:
    """Every table.column whose stored text (strings, JSON) holds any of `texts`, case
    insensitive."""
    wanted = [t.lower() for t in texts]
    found = []
    for table in _every_table():
        for row in await table.select():
            for column, value in row.items():
                if value is None or isinstance(value, (int, float, bool)) or not hasattr(value, "__len__"):
                    continue
                text = (value if isinstance(value, str) else json.dumps(value, default=str)).lower()
                if any(w in text for w in wanted):
                    found.append(f"{table._meta.tablename}.{column}")
    return sorted(set(found))


async def test_after_anonymisation_no_table_holds_the_persons_name_email_or_hr_id(demo_db):
    from intro.hr import imports as hr_import
    from intro.tables import EmploymentImport, Municipality

    chief = (await Person.select(Person.id).where(Person.email == "chef.slagelse@intro.example").first())["id"]
    slagelse = (await Municipality.select(Municipality.id).where(Municipality.code == "330").first())["id"]
    name, email, ref = "Quintus Testesen", "quintus.testesen@example.org", "HR-QT-7781"
    header = "Ansættelses-id;Navn;E-mail;Kommunekode;Stilling;Startdato;Slutdato\n"
    left = (clock.today().replace(day=1) - __import__("datetime").timedelta(days=40)).strftime("%d-%m-%Y")
    his_row = f"{ref};{name};{email};330;Jobkonsulent;01-03-2024;{left}\n"
    other_row = "HR-OT-1;Olga Tvilling;olga.tvilling@example.org;330;Jobkonsulent;01-03-2026;\n"
    # HR's file hires him and ends the employment; the file's name names him too.
    committed = await hr_import.store_upload(chief, slagelse, f"C:\\hr\\{name}.csv", (header + his_row).encode())
    await hr_import.commit(chief, slagelse, committed)
    person = (await Person.select(Person.id).where(Person.email == email).first())["id"]
    # A later file, previewed and never committed, still holds his row among others'.
    pending = await hr_import.store_upload(
        chief, slagelse, f"rettelse {name}.csv", (header + his_row + other_row).encode()
    )
    assert await _where_found([name, email, ref])  # he is there before

    await privacy.anonymise(await _admin_id(), person)

    assert await _where_found([name, email, ref]) == []
    # The pending file keeps the others' rows, readable and still committable.
    stored = await EmploymentImport.select().where(EmploymentImport.id == pending).first()
    assert stored["status"] == "previewed" and stored["rows"] == 1
    preview = await hr_import.preview_of(stored)
    assert not preview.problems and [r.email for r in preview.records] == ["olga.tvilling@example.org"]
    await hr_import.commit(chief, slagelse, pending)
    assert await Person.exists().where(Person.email == "olga.tvilling@example.org")
