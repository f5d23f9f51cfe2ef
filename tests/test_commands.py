"""The shell commands of `python app.py`."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner

from app import cli
from intro.people import accounts
from intro.tables import Person, Role, RoleGrant


def query(coro):
    return asyncio.new_event_loop().run_until_complete(coro)


def test_create_admin_makes_a_person_who_can_sign_in(db):
    result = CliRunner().invoke(
        cli,
        ["create-admin", "--email", "Chef.IT@Kommune.dk", "--name", "Ida Admin"],
        input="en-lang-adgangskode\nen-lang-adgangskode\n",
    )
    assert result.exit_code == 0, result.output
    assert "Administrator oprettet: chef.it@kommune.dk" in result.output
    person = query(Person.select(Person.id).where(Person.email == "chef.it@kommune.dk").first())
    assert query(RoleGrant.exists().where((RoleGrant.person == person["id"]) & (RoleGrant.role == Role.admin.value)))
    assert query(accounts.authenticate("chef.it@kommune.dk", "en-lang-adgangskode")) == person["id"]


def test_create_admin_refuses_a_short_password_and_writes_nothing(db):
    result = CliRunner().invoke(
        cli, ["create-admin", "--email", "a@kommune.dk", "--name", "A", "--password", "kort"]
    )
    assert result.exit_code == 1
    assert "password: Adgangskoden skal være mindst 10 tegn." in result.output
    assert query(Person.count()) == 0


def test_validate_reports_problems_with_file_and_field(tmp_path):
    bad = tmp_path / "9.9.toml"
    bad.write_text('[curriculum]\nlabel = "9.9"\ntitle = "X"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["curriculum", "validate", str(bad)])
    assert result.exit_code == 1
    assert "9.9.toml: strands: mangler" in result.output
    assert "9.9.toml: modules: mangler" in result.output


def test_validate_accepts_the_shipped_curriculum():
    result = CliRunner().invoke(cli, ["curriculum", "validate"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_seed_demo_runs_only_on_an_empty_database(demo_db):
    before = query(Person.count())
    result = CliRunner().invoke(cli, ["seed-demo"])
    assert result.exit_code == 0
    assert "springes over" in result.output
    assert query(Person.count()) == before
