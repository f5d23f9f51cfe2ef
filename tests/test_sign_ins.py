"""One's own sign-ins (issue 16, section 5): see them, end one, end all — and never
anyone else's."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from app import create_app
from intro.people import accounts, sign_ins
from intro.people.sign_ins import describe_device
from intro.tables import LoginSession, Person
from tests.conftest import login, post_form

COORDINATOR = "koordinator@intro.example"
CHIEF = "chef.slagelse@intro.example"
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"
)


@pytest.mark.parametrize(
    ("agent", "shown"),
    [
        (FIREFOX_WINDOWS, "Firefox på Windows"),
        (SAFARI_IPHONE, "Safari på iPhone"),
        (EDGE_WINDOWS, "Edge på Windows"),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36", "Chrome på Linux"),
        ("curl/8.5.0", "Ukendt enhed"),
        ("", "Ukendt enhed"),
    ],
)
def test_a_device_is_named_from_its_browser(agent, shown):
    assert describe_device(agent) == shown


async def _id(email: str) -> int:
    return (await Person.select(Person.id).where(Person.email == email).first())["id"]


async def test_a_person_sees_their_sign_ins_and_ends_another_one(demo_client):
    mette = await _id(COORDINATOR)
    phone = await accounts.start_session(mette, SAFARI_IPHONE)
    await login(demo_client, COORDINATOR)
    page = await demo_client.get("/me/sessions")
    assert page.status_code == 200
    assert "Safari på iPhone" in page.text and "(denne browser)" in page.text
    phone_row = next(s for s in await sign_ins.sessions_of(mette) if s["device"] == "Safari på iPhone")

    response = await post_form(demo_client, f"/me/sessions/{phone_row['id']}/end")
    assert response.status_code == 303 and response.headers["location"] == "/me/sessions?notice=ended"
    assert await accounts.user_for_session(phone) is None
    assert (await demo_client.get("/me/sessions")).status_code == 200  # this browser is still in


async def test_nobody_can_end_someone_elses_sign_in(demo_client):
    lise = await _id(CHIEF)
    hers = await accounts.start_session(lise, FIREFOX_WINDOWS)
    her_id = (await LoginSession.select(LoginSession.id).where(LoginSession.person == lise).first())["id"]
    await login(demo_client, COORDINATOR)
    assert "Firefox på Windows" not in (await demo_client.get("/me/sessions")).text
    response = await post_form(demo_client, f"/me/sessions/{her_id}/end")
    assert response.status_code == 404
    assert await accounts.user_for_session(hers) is not None


async def test_ending_all_signs_out_everywhere_this_browser_too(demo_client):
    mette = await _id(COORDINATOR)
    await accounts.start_session(mette, SAFARI_IPHONE)
    await login(demo_client, COORDINATOR)
    response = await post_form(demo_client, "/me/sessions/end-all")
    assert response.status_code == 303 and response.headers["location"] == "/login?signed_out=1"
    assert await LoginSession.count().where(LoginSession.person == mette) == 0
    assert (await demo_client.get("/")).status_code == 303


async def test_ending_the_current_one_signs_this_browser_out(demo_client):
    await login(demo_client, COORDINATOR)
    async with AsyncTestClient(app=create_app(), base_url="http://intro.test") as other:
        other.follow_redirects = False
        await login(other, COORDINATOR)
        mine = next(
            s for s in await sign_ins.sessions_of(await _id(COORDINATOR), demo_client.cookies.get("intro_session"))
            if s["current"]
        )
        response = await post_form(demo_client, f"/me/sessions/{mine['id']}/end")
        assert response.headers["location"] == "/login?signed_out=1"
        assert (await demo_client.get("/")).status_code == 303
        assert (await other.get("/")).status_code == 200
