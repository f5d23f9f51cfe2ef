"""Bad input never breaks a page or silently changes data (issue 13, sections 2, 3, 5).

Each failing input of the issue, sent through the real app: it answers 4xx naming the
field (never 500) and the database is as it was. The rules live in intro/inputs.py and
the input gate in intro/web/forms.py; tests/test_fuzz_forms.py and tests/test_fuzz_api.py
guard the whole kind.
"""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest

from intro import clock
from intro.inputs import course_day_window, looks_like_integer, parse_id, parse_int, text_problem
from intro.tables import Municipality, Partnership, Session
from intro.web.errors import database_unavailable
from tests.conftest import BACKEND, ENGINE, csrf_token, login, post_form
from tests.db_snapshot import snapshot
from tests.test_hr_api import NEW_HIRE, SLAGELSE_CHIEF, _auth, _make_token

COORDINATOR = "koordinator@intro.example"
ADMIN = "admin@intro.example"
BIG = "9223372036854775808"  # 2**63: one past the largest BIGINT
HUGE = "99999999999999999999999"


async def _raw_post(client, url: str, body: bytes):
    """A form post with exactly these bytes (plus the CSRF token), as a fuzzer sends it."""
    if not csrf_token(client):
        await client.get("/login")
    body = body + b"&_csrf_token=" + csrf_token(client).encode()
    return await client.post(
        url, content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )


def _cohort_form(**changes) -> dict:
    start = clock.today() + timedelta(days=60)
    form = {
        "name": "Hold prøve",
        "curriculum_version": "1",
        "start_date": start.isoformat(),
        "capacity": "20",
        "rhythm": "weekdays",
        "weekdays": ["1", "3"],
        "day_start": "09:00",
        "day_end": "15:00",
    }
    form.update(changes)
    return form


async def _partnership_id() -> str:
    return str((await Partnership.select(Partnership.id).first())["id"])


# --------------------------------------------------------------------------------------
# The rules themselves (pure)


def test_integers_are_ascii_digits_in_the_database_range():
    assert parse_int("42") == 42 and parse_int(" -7 ") == -7
    assert parse_int(str(2**63 - 1)) == 2**63 - 1 and parse_int(BIG) is None
    assert parse_int(str(-(2**63))) == -(2**63) and parse_int(str(-(2**63) - 1)) is None
    for text in ("²", "٣", "３", "1_000", "1.0", "", " ", "0x10", "1e3"):
        assert parse_int(text) is None, text
    assert parse_id("0") is None and parse_id("1") == 1
    assert looks_like_integer("²") and looks_like_integer("٣") and not looks_like_integer("1a")


def test_text_rules():
    assert text_problem("Slagelse", 100) is None
    assert "200" in text_problem("x" * 201, 200)
    assert text_problem("a\x00b", 100) and text_problem("a\x1fb", 100)
    assert text_problem("Virksomhedskonsulent\r\n(deltid)", 120)
    assert text_problem("to\nlinjer", 500, multiline=True) is None
    assert text_problem("med\ttab", 100) is None


def test_course_days_lie_within_a_few_years():
    first, last = course_day_window(date(2026, 11, 29))
    assert first == date(2021, 1, 1) and last == date(2031, 12, 31)


def test_an_unreachable_database_is_told_from_a_fault():
    assert database_unavailable(ConnectionRefusedError(111, "refused"))
    try:
        try:
            raise ConnectionResetError()
        except ConnectionResetError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert database_unavailable(outer)
    assert not database_unavailable(ValueError("bad"))
    assert not database_unavailable(FileNotFoundError("template"))


# --------------------------------------------------------------------------------------
# Section 2: no server errors


@pytest.mark.parametrize(
    "path",
    [f"/cohorts/{HUGE}", f"/cohorts/{BIG}", f"/sessions/{BIG}/attendance", f"/cohorts/-{HUGE}", "/cohorts/%D9%A3"],
)
async def test_ids_outside_the_database_range_are_not_found(demo_client, path):
    await login(demo_client, COORDINATOR)
    response = await demo_client.get(path)
    assert response.status_code == 404, response.text[:300]
    assert response.headers["x-frame-options"] == "DENY"


async def test_the_api_refuses_an_offset_outside_the_range(demo_client):
    token = await _make_token(demo_client, SLAGELSE_CHIEF, "330")
    response = await demo_client.get(f"/api/v1/employments?offset={BIG}", headers=_auth(token))
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and isinstance(body["errors"], dict) and "offset" in body["errors"]


async def test_a_venue_for_a_municipality_id_past_the_range(demo_client):
    await login(demo_client, ADMIN)
    before = await snapshot()
    response = await post_form(demo_client, "/admin/venues", {
        "name": "Sal", "municipality": "999999999999999999999", "address": "Vej 1", "postcode": "4200",
        "city": "Slagelse", "capacity": "20",
    })
    assert response.status_code == 400 and "municipality" in html.unescape(response.text)
    assert await snapshot() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"partnership": "²"}, "partnership"),
        ({"partnership": "٣"}, "partnership"),
        ({"start_date": "9999-12-31"}, "start_date"),
        ({"rhythm": "dates", "dates": "0001-01-01"}, "dates"),
        ({"name": "Hold\x00NUL"}, "name"),
        ({"capacity": HUGE}, "capacity"),
    ],
)
async def test_a_cohort_with_an_impossible_value_is_refused(demo_client, changes, field):
    await login(demo_client, COORDINATOR)
    form = _cohort_form(**{"partnership": await _partnership_id(), **changes})
    before = await snapshot()
    response = await post_form(demo_client, "/cohorts", form)
    assert response.status_code == 400, response.text[:300]
    assert field in html.unescape(response.text)
    assert await snapshot() == before


async def test_a_course_day_cannot_move_to_9999(demo_client):
    await login(demo_client, COORDINATOR)
    session = await Session.select(Session.id).where(Session.status == "scheduled").first()
    before = await snapshot()
    response = await post_form(demo_client, f"/sessions/{session['id']}", {
        "date": "9999-12-31", "start": "09:00", "end": "15:00", "reason": "Flyttes",
    })
    assert response.status_code == 400
    assert await snapshot() == before


async def test_an_unreachable_database_answers_503_with_retry_after(demo_client):
    await login(demo_client, COORDINATOR)
    saved = dict(ENGINE.config) if BACKEND == "postgres" else ENGINE.path
    try:
        if BACKEND == "postgres":
            ENGINE.config = {"dsn": "postgres://postgres@127.0.0.1:1/none"}
        else:
            ENGINE.path = "/nonexistent-intro-dir/db.sqlite"
        response = await demo_client.get("/cohorts")
    finally:
        if BACKEND == "postgres":
            ENGINE.config = saved
        else:
            ENGINE.path = saved
    assert response.status_code == 503, response.text[:300]
    assert response.headers["retry-after"].isdigit()
    assert "Databasen svarer ikke" in response.text
    assert response.headers["content-security-policy"].startswith("default-src")


# --------------------------------------------------------------------------------------
# Section 3: nothing changed silently


async def test_a_field_sent_twice_is_refused(demo_client):
    await login(demo_client, ADMIN)
    before = await snapshot()
    response = await _raw_post(demo_client, "/admin/municipalities", b"code=101&name=A&name=B")
    assert response.status_code == 400 and "name" in response.text
    assert await snapshot() == before


async def test_invalid_utf8_is_refused(demo_client):
    await login(demo_client, ADMIN)
    before = await snapshot()
    response = await _raw_post(demo_client, "/admin/municipalities", b"code=101&name=K%F8benhavn")
    assert response.status_code == 400 and "UTF-8" in response.text
    assert await snapshot() == before


@pytest.mark.parametrize(
    ("url", "form", "field", "limit"),
    [
        ("/admin/municipalities", {"code": "101", "name": "K" * 101}, "name", 100),
        ("/admin/venues", {"name": "V" * 201, "address": "Vej 1", "postcode": "4200", "city": "By", "capacity": "9"}, "name", 200),
        ("/admin/users", {"email": "ny@kommune.dk", "full_name": "N" * 201, "password": "langt-nok-kodeord-1"}, "full_name", 200),
    ],
)
async def test_text_longer_than_its_column_is_refused_naming_the_limit(demo_client, url, form, field, limit):
    await login(demo_client, ADMIN)
    if url == "/admin/venues":
        form["municipality"] = str((await Municipality.select(Municipality.id).first())["id"])
    before = await snapshot()
    response = await post_form(demo_client, url, form)
    assert response.status_code == 400, response.text[:300]
    assert f"Højst {limit} tegn" in html.unescape(response.text)
    assert await snapshot() == before


async def test_a_change_reason_longer_than_500_is_refused(demo_client):
    await login(demo_client, COORDINATOR)
    session = await Session.select(Session.id).where(Session.status == "scheduled").first()
    before = await snapshot()
    response = await post_form(demo_client, f"/sessions/{session['id']}/cancel", {"reason": "r" * 501})
    assert response.status_code == 400 and "Højst 500 tegn" in html.unescape(response.text)
    assert await snapshot() == before


async def test_a_line_break_in_a_one_line_csv_field_is_a_problem(demo_client):
    from tests.test_hr_import import _id, uploaded

    slagelse = await _id("330")
    await login(demo_client, SLAGELSE_CHIEF)
    data = (
        'Ansættelses-id;Navn;E-mail;Kommunekode;Stilling;Startdato\r\n'
        'L-1;Line Brud;line.brud@slagelse.example;330;"Virksomhedskonsulent\r\n(deltid)";05-01-2026\r\n'
    ).encode()
    preview_url = await uploaded(demo_client, slagelse, data)
    preview = html.unescape((await demo_client.get(preview_url)).text)
    assert "Feltet skal stå på én linje." in preview
    before = await snapshot()
    assert (await post_form(demo_client, f"{preview_url}/commit")).status_code == 400
    assert await snapshot() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"start_date": "0203-01-01"}, "start_date"),
        ({"start_date": "8605-01-01"}, "start_date"),
        ({"end_date": "9999-12-31"}, "end_date"),
        ({"full_name": "Navn\x00Med NUL"}, "full_name"),
        ({"job_function": "Konsulent\n(deltid)"}, "job_function"),
        ({"full_name": "Bell\x07"}, "full_name"),
    ],
)
async def test_the_api_refuses_control_characters_and_implausible_dates(demo_client, changes, field):
    token = await _make_token(demo_client, SLAGELSE_CHIEF, "330")
    before = await snapshot()
    response = await demo_client.put("/api/v1/employments/C-1", json={**NEW_HIRE, **changes}, headers=_auth(token))
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"]
    assert await snapshot() == before


# --------------------------------------------------------------------------------------
# Sections 4 and 5: the API as documented, error answers, sign-in


@pytest.mark.parametrize(("method", "path"), [("GET", "/no-such-page"), ("DELETE", "/login"), ("GET", "/api/v1/nope")])
async def test_error_answers_carry_the_security_headers(demo_client, method, path):
    response = await demo_client.request(method, path)
    assert response.status_code in (404, 405)
    for header in ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy"):
        assert header in response.headers, (path, header)


async def test_the_schema_is_readable_without_a_sign_in(demo_client):
    response = await demo_client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert all(path.startswith("/api/v1/") for path in schema["paths"])
    problem = schema["components"]["schemas"]["Problem"]
    assert problem["properties"]["errors"]["type"] == "object"
    put = schema["paths"]["/api/v1/employments/{external_ref}"]["put"]["responses"]
    assert {"401", "409", "400"} <= set(put)


async def test_the_frameworks_own_validation_errors_have_the_problem_shape(demo_client):
    token = await _make_token(demo_client, SLAGELSE_CHIEF, "330")
    response = await demo_client.get("/api/v1/employments?limit=zero", headers=_auth(token))
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and isinstance(body["detail"], str) and body["errors"] == {"limit": body["errors"]["limit"]}
    missing = await demo_client.get("/api/v1/employments/NOPE", headers=_auth(token))
    assert missing.status_code == 404 and set(missing.json()) == {"status", "detail", "errors"}


async def test_sign_in_is_throttled_per_client_address(demo_client):
    await demo_client.get("/login")
    statuses = []
    for n in range(12):
        response = await post_form(demo_client, "/login", {"email": f"gaet{n}@kommune.dk", "password": "forkert"})
        statuses.append(response.status_code)
    assert statuses[:10] == [400] * 10 and statuses[10:] == [429, 429]
    # The right password is refused from that address until the window has passed.
    locked = await post_form(demo_client, "/login", {"email": COORDINATOR, "password": "x"})
    assert locked.status_code == 429
