"""Signing in and out, sessions, CSRF and the slow-down of password guessing."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from app import create_app
from intro.people import accounts
from intro.tables import LoginSession, Person
from tests.conftest import csrf_token, login, post_form

COORDINATOR = "koordinator@intro.example"


async def test_sign_in_lands_on_the_start_page(demo_client):
    response = await login(demo_client, COORDINATOR)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "intro_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    page = await demo_client.get("/")
    assert page.status_code == 200
    assert "Goddag, Mette" in page.text
    assert "Koordinering" in page.text


async def test_email_is_case_insensitive(demo_client):
    response = await login(demo_client, "  Koordinator@Intro.Example ")
    assert response.status_code == 303


async def test_wrong_password_and_unknown_email_get_the_same_message(demo_client):
    wrong = await login(demo_client, COORDINATOR, "forkert-kode-123")
    unknown = await login(demo_client, "findes.ikke@intro.example", "forkert-kode-123")
    for response in (wrong, unknown):
        assert response.status_code == 400
        assert "E-mail eller adgangskode er forkert." in response.text
        assert "intro_session=" not in response.headers.get("set-cookie", "")
    assert (await demo_client.get("/")).status_code == 303


async def test_repeated_failures_lock_the_address_for_a_while(demo_client):
    for _ in range(5):
        assert (await login(demo_client, COORDINATOR, "gæt-gæt-gæt")).status_code == 400
    locked = await login(demo_client, COORDINATOR)  # even the right password
    assert locked.status_code == 429
    assert "For mange mislykkede forsøg" in locked.text
    # Another person is not affected.
    assert (await login(demo_client, "admin@intro.example")).status_code == 303


async def test_a_success_clears_earlier_failures(demo_client):
    for _ in range(4):
        await login(demo_client, COORDINATOR, "gæt-gæt-gæt")
    assert (await login(demo_client, COORDINATOR)).status_code == 303
    for _ in range(4):
        await login(demo_client, COORDINATOR, "gæt-gæt-gæt")
    assert (await login(demo_client, COORDINATOR)).status_code == 303


async def test_sign_out_ends_the_session_in_the_database(demo_client):
    await login(demo_client, COORDINATOR)
    token = demo_client.cookies.get("intro_session")
    assert await accounts.user_for_session(token) is not None
    response = await post_form(demo_client, "/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?signed_out=1"
    assert await accounts.user_for_session(token) is None
    # Replaying the old cookie does not sign anyone in.
    demo_client.cookies.set("intro_session", token)
    assert (await demo_client.get("/")).status_code == 303


async def test_a_session_survives_a_restart_and_works_in_another_worker(demo_client):
    await login(demo_client, COORDINATOR)
    token = demo_client.cookies.get("intro_session")
    async with AsyncTestClient(app=create_app(), base_url="http://intro.test") as other:
        other.follow_redirects = False
        other.cookies.set("intro_session", token)
        page = await other.get("/")
        assert page.status_code == 200
        assert "Mette Lund Sørensen" in page.text


async def test_a_deactivated_person_is_signed_out(demo_client):
    await login(demo_client, COORDINATOR)
    person = await Person.select(Person.id).where(Person.email == COORDINATOR).first()
    await accounts.set_active(None, person["id"], False)
    assert await LoginSession.count().where(LoginSession.person == person["id"]) == 0
    assert (await demo_client.get("/")).status_code == 303
    assert (await login(demo_client, COORDINATOR)).status_code == 400


async def test_pages_need_sign_in(demo_client):
    response = await demo_client.get("/curriculum")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcurriculum"
    htmx = await demo_client.get("/curriculum", headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"] == "/login?next=%2Fcurriculum"


async def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(demo_client):
    await demo_client.get("/login")
    ok = await demo_client.post(
        "/login",
        data={"email": COORDINATOR, "password": "intro-demo-2026", "next": "/curriculum", "_csrf_token": csrf_token(demo_client)},
    )
    assert ok.headers["location"] == "/curriculum"
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = await demo_client.post(
            "/login",
            data={"email": COORDINATOR, "password": "intro-demo-2026", "next": evil, "_csrf_token": csrf_token(demo_client)},
        )
        assert response.headers["location"] == "/"


async def test_login_form_without_csrf_token_is_refused(demo_client):
    await demo_client.get("/login")
    response = await demo_client.post(
        "/login", data={"email": COORDINATOR, "password": "intro-demo-2026"}
    )
    assert response.status_code == 403
    assert "intro_session=" not in response.headers.get("set-cookie", "")


async def test_state_changes_need_the_csrf_token(demo_client):
    await login(demo_client, COORDINATOR)
    refused = await demo_client.post("/logout")
    assert refused.status_code == 403
    wrong = await demo_client.post("/logout", headers={"x-csrftoken": "not-the-token"})
    assert wrong.status_code == 403
    assert (await demo_client.get("/")).status_code == 200  # still signed in
    # htmx sends the token in a header (hx-headers on <body>).
    ok = await demo_client.post(
        "/logout", headers={"x-csrftoken": csrf_token(demo_client), "HX-Request": "true"}
    )
    assert ok.status_code == 303


async def test_every_page_carries_the_csrf_token_for_htmx(demo_client):
    await login(demo_client, COORDINATOR)
    page = await demo_client.get("/")
    assert f'"x-csrftoken": "{csrf_token(demo_client)}"' in page.text or "x-csrftoken" in page.text


async def test_healthz_is_public_json(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_the_session_cookie_holds_no_personal_data(demo_client):
    response = await login(demo_client, COORDINATOR)
    token = demo_client.cookies.get("intro_session")
    assert "koordinator" not in token and "Mette" not in token
    stored = await LoginSession.select(LoginSession.token_hash).first()
    assert stored["token_hash"] != token  # only a hash is kept
    assert response.status_code == 303


async def test_security_headers_and_caching(client):
    page = await client.get("/login")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "same-origin"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    css = await client.get("/static/css/intro.css")
    assert css.status_code == 200
    assert set(css.headers["cache-control"].split(", ")) == {"public", "max-age=3600"}
