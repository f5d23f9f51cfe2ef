"""A readable audit log: every action and object type has a Danish name, objects and ids
in the details are shown by name, an attendance mark shows old → new, and a change made
through the HR API names the token and who made it."""

from __future__ import annotations

import re
from pathlib import Path

from intro import audit
from intro.hr import employments
from intro.participation import attendance
from intro.people import api_tokens
from intro.planning.rows import SessionRow
from intro.tables import Enrolment, Municipality, Person
from tests.conftest import login
from tests.test_attendance import _todays_session_taught_by

ROOT = Path(__file__).resolve().parent.parent
_RECORD = re.compile(r"(?:audit\.|(?<![\w.]))record\(\s*[^,()]+(?:\([^)]*\))?,\s*(.+?),\s*\"([a-z_]+)\"", re.S)


def test_every_action_and_object_type_written_has_a_danish_name():
    actions, types = set(), set()
    for path in (ROOT / "intro").rglob("*.py"):
        if path.name == "audit.py":
            continue
        for match in _RECORD.finditer(path.read_text()):
            actions |= {(a, path.name) for a in re.findall(r'"([a-z_]+\.[a-z_]+)"', match.group(1))}
            types.add((match.group(2), path.name))
    assert len(actions) > 40  # the scan finds the calls
    assert not {a for a in actions if a[0] not in audit.ACTION_NAMES}
    assert not {t for t in types if t[0] not in audit.OBJECT_TYPE_NAMES}


async def test_the_log_names_people_and_places_and_shows_old_to_new(demo_client):
    session = await _todays_session_taught_by("underviser@intro.example")
    teacher = (await Person.select(Person.id).where(Person.email == "underviser@intro.example").first())["id"]
    enrolled = await Enrolment.select(Enrolment.person, Enrolment.person.full_name.as_alias("name")).where(
        (Enrolment.cohort == session["cohort"]) & (Enrolment.status == "enrolled")
    ).first()
    await attendance.mark(teacher, SessionRow.from_row(session), enrolled["person"], "present")
    await attendance.mark(teacher, SessionRow.from_row(session), enrolled["person"], "absent")
    slagelse = await Municipality.select(Municipality.id, Municipality.name).where(Municipality.code == "330").first()
    await api_tokens.create_token(teacher, slagelse["id"], "Lønsystemet")
    await employments.apply_records(
        [employments.EmploymentRecord(
            external_ref="API-1", full_name="Aske API", email="aske@test.example", municipality_code="330",
            job_function="Jobkonsulent", start_date=session["starts_at"].date(),
        )],
        None, allowed=None, source="api:Lønsystemet",
    )

    page = await audit.log_page(1)
    marks = [e for e in page.entries if e["action"] == "attendance.mark"][:2]
    assert dict(marks[0]["items"])["Status"] == "til stede → fraværende"
    assert dict(marks[1]["items"])["Status"] == "intet → til stede"
    assert dict(marks[0]["items"])["Person"] == enrolled["name"]
    assert marks[0]["object_label"].startswith("Kursusdag: ")
    created = next(e for e in page.entries if e["action"] == "person.create")
    assert created["object_label"] == "Bruger: Aske API"
    teacher_name = (await Person.select(Person.full_name).where(Person.id == teacher).first())["full_name"]
    assert dict(created["items"])["Kilde"] == f"API-nøglen «Lønsystemet» (oprettet af {teacher_name})"
    granted = next(e for e in page.entries if e["action"] == "role.grant")
    assert dict(granted["items"])["Kommune"] == slagelse["name"]
    assert dict(granted["items"])["Rolle"] == "Deltager"

    assert (await login(demo_client, "admin@intro.example")).status_code == 303
    html = (await demo_client.get("/admin/audit")).text
    assert "til stede → fraværende" in html
    assert f"Kommune: {slagelse['name']}" in html or slagelse["name"] in html
    assert not re.search(r">Bruger \d+<", html)
    # Every filter option has a Danish label (the feed's was the code "feed").
    options = re.findall(r'<option value="([a-z_]+)"[^>]*>([^<]+)</option>', html)
    assert options and all(label.strip() != value for value, label in options)
