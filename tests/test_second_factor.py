"""A second factor after the password (issue 16, section 4): an authenticator app
(TOTP) with recovery codes, required for admins and chiefs when the setting says so."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pyotp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intro import clock
from intro.people import accounts, second_factor
from intro.settings import get_settings
from intro.tables import LoginSession, Person, RecoveryCode, SecondFactor
from tests.conftest import login, post_form

CHIEF = "chef.slagelse@intro.example"
SARA = "deltager@intro.example"


@pytest.fixture
def required(monkeypatch):
    monkeypatch.setattr(second_factor, "get_settings", lambda: dataclasses.replace(get_settings(), second_factor_required=True))


async def _id(email: str) -> int:
    return (await Person.select(Person.id).where(Person.email == email).first())["id"]


def _code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now() + timedelta(seconds=30 * steps_ahead))


async def test_a_chief_who_must_sets_the_app_up_at_sign_in_then_needs_a_code(demo_client, required):
    chief = await _id(CHIEF)
    response = await login(demo_client, CHIEF)
    assert response.status_code == 303 and response.headers["location"] == "/login/second-factor"
    assert "intro_session=" not in response.headers.get("set-cookie", "")
    assert (await demo_client.get("/")).status_code == 303  # not in yet

    page = await demo_client.get("/login/second-factor")
    assert "Sæt en godkendelsesapp op" in page.text and "data:image/svg+xml" in page.text
    secret = re.search(r"<code>([A-Z2-7]{16,})</code>", page.text).group(1)
    wrong = await post_form(demo_client, "/login/second-factor", {"code": "000000" if _code(secret) != "000000" else "111111"})
    assert wrong.status_code == 400 and "Koden er forkert" in wrong.text
    done = await post_form(demo_client, "/login/second-factor", {"code": _code(secret)})
    assert done.status_code == 200 and "Dine gendannelseskoder" in done.text
    codes = re.findall(r"<code>([0-9a-f]{8}-[0-9a-f]{8})</code>", done.text)
    assert len(codes) == 10
    assert (await demo_client.get("/")).status_code == 200
    stored = str(await RecoveryCode.select())
    assert not any(c in stored for c in codes)  # hashes only

    # Next time: the password, then a code; the code just used does not work again.
    await post_form(demo_client, "/logout")
    assert (await login(demo_client, CHIEF)).headers["location"] == "/login/second-factor"
    assert "Kode fra din godkendelsesapp" in (await demo_client.get("/login/second-factor")).text
    replay = await post_form(demo_client, "/login/second-factor", {"code": _code(secret)})
    assert replay.status_code == 400
    fresh = await post_form(demo_client, "/login/second-factor", {"code": _code(secret, steps_ahead=1)})
    assert fresh.status_code == 303 and fresh.headers["location"] == "/"

    # A recovery code works once.
    await post_form(demo_client, "/logout")
    await login(demo_client, CHIEF)
    assert (await post_form(demo_client, "/login/second-factor", {"code": codes[0].upper()})).status_code == 303
    await post_form(demo_client, "/logout")
    await login(demo_client, CHIEF)
    assert (await post_form(demo_client, "/login/second-factor", {"code": codes[0]})).status_code == 400
    assert await second_factor.recovery_codes_left(chief) == 9


async def test_too_many_wrong_codes_end_the_waiting_sign_in(demo_client, required):
    await login(demo_client, CHIEF)
    for _ in range(second_factor.CHALLENGE_TRIES - 1):
        assert (await post_form(demo_client, "/login/second-factor", {"code": "12345x"})).status_code == 400
    ended = await post_form(demo_client, "/login/second-factor", {"code": "12345x"})
    assert ended.status_code == 429 and "For mange forkerte koder" in ended.text
    assert (await demo_client.get("/login/second-factor")).status_code == 303
    assert await LoginSession.count().where(LoginSession.person == await _id(CHIEF)) == 0


async def test_who_need_not_goes_straight_in_and_a_required_app_cannot_be_switched_off(demo_client, required):
    assert (await login(demo_client, SARA)).headers["location"] == "/"  # a participant
    await post_form(demo_client, "/logout")
    # A chief with an app set up cannot switch it off while it is required.
    chief = await _id(CHIEF)
    secret = await second_factor.pending_secret(chief)
    await second_factor.confirm_setup(chief, _code(secret))
    await login(demo_client, CHIEF)
    await post_form(demo_client, "/login/second-factor", {"code": _code(secret, 1)})
    refused = await post_form(demo_client, "/me/second-factor/disable")
    assert refused.status_code == 400 and "Du skal bruge en godkendelsesapp" in refused.text
    assert await second_factor.is_enabled(chief)


async def test_anyone_may_set_up_an_app_on_their_own_page_and_switch_it_off(demo_client):
    sara = await _id(SARA)
    await login(demo_client, SARA)
    page = await demo_client.get("/me/second-factor")
    secret = re.search(r"<code>([A-Z2-7]{16,})</code>", page.text).group(1)
    empty = await post_form(demo_client, "/me/second-factor", {"code": ""})
    assert empty.status_code == 400 and "Koden er forkert" in empty.text
    on = await post_form(demo_client, "/me/second-factor", {"code": _code(secret)})
    assert on.status_code == 200 and "Godkendelsesappen er slået til" in on.text
    new_codes = await post_form(demo_client, "/me/second-factor/recovery-codes")
    assert new_codes.status_code == 200
    await post_form(demo_client, "/logout")
    assert (await login(demo_client, SARA)).headers["location"] == "/login/second-factor"
    await post_form(demo_client, "/login/second-factor", {"code": _code(secret, 1)})
    off = await post_form(demo_client, "/me/second-factor/disable")
    assert off.status_code == 303
    assert not await SecondFactor.exists().where(SecondFactor.person == sara)
    assert await RecoveryCode.count().where(RecoveryCode.person == sara) == 0


# The rule as a property: whatever codes come in, in any order, no code is accepted twice
# and the last accepted step only moves forward.

_people = iter(range(10**6))
CodeOp = st.one_of(
    st.tuples(st.just("now"), st.integers(0, 1)),  # a code the app shows now (or next)
    st.tuples(st.just("again"), st.integers(0, 10)),  # one that was accepted before
    st.tuples(st.just("recovery"), st.integers(0, 11)),  # a recovery code (0-9), or a made-up one
    st.tuples(st.just("wrong"), st.text("0123456789", min_size=0, max_size=8)),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(CodeOp, max_size=10))
async def test_no_code_is_accepted_twice(db, ops):
    person = await accounts.create_person(None, f"kode{next(_people)}@intro.example", "Kirsten Kode")
    secret = await second_factor.pending_secret(person)
    recovery = await second_factor.confirm_setup(person, _code(secret))
    accepted: list[str] = []
    last_step = (await SecondFactor.select(SecondFactor.last_step).where(SecondFactor.person == person).first())["last_step"]
    for op in ops:
        if op[0] == "now":
            code = _code(secret, op[1])
        elif op[0] == "again":
            if not accepted:
                continue
            code = accepted[op[1] % len(accepted)]
        elif op[0] == "recovery":
            code = recovery[op[1]] if op[1] < len(recovery) else "deadbeef-deadbeef"
        else:
            code = op[1]
        ok = await second_factor.check_code(person, code)
        step = (await SecondFactor.select(SecondFactor.last_step).where(SecondFactor.person == person).first())["last_step"]
        assert step >= last_step
        if ok:
            assert code not in accepted
            accepted.append(code)
        last_step = step
    left = await second_factor.recovery_codes_left(person)
    assert left == len(recovery) - len([c for c in accepted if c in recovery])
