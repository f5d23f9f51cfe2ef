"""Signing in through the municipality's own identity provider (issue 16, section 1),
against a real OpenID Connect provider (panva's oidc-provider, tests/oidc_support.py).

Slagelse has set up its provider for the domain intro.example, which the demo
personas share: the chief in Slagelse may sign in through it; Sara (a participant
in Næstved) has an address in the domain but belongs to another municipality."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client

from intro.errors import Invalid
from intro.people import providers
from intro.people.providers import ProviderRefused, verify_id_token
from intro.tables import AuditLog, Municipality, Person
from tests.conftest import login, post_form
from tests.oidc_support import CLIENT_SECRET, sign_in_at_provider, start_provider

LISE = "chef.slagelse@intro.example"
CALLBACK = "http://127.0.0.1:8000/login/provider/callback"  # INTRO_BASE_URL's default in tests
ACCOUNTS = {
    "lise": {"email": LISE, "email_verified": True, "name": "Lise"},
    "sara": {"email": "deltager@intro.example", "email_verified": True},
    "unverified": {"email": LISE, "email_verified": False},
    "outsider": {"email": "bo@andet.example", "email_verified": True},
    "stranger": {"email": "ukendt@intro.example", "email_verified": True},
    "bo": {"email": "bo.berg@intro.example", "email_verified": True},
}


@pytest.fixture(scope="module")
def provider():
    started = start_provider(
        clients=[
            {"client_id": "intro", "client_secret": CLIENT_SECRET, "redirect_uris": [CALLBACK]},
            {"client_id": "another-app", "client_secret": CLIENT_SECRET, "redirect_uris": [CALLBACK]},
        ],
        accounts=ACCOUNTS,
    )
    yield started
    started.stop()


@pytest.fixture
def secret(monkeypatch):
    monkeypatch.setenv("INTRO_OIDC_SLAGELSE", CLIENT_SECRET)


async def _slagelse() -> int:
    return (await Municipality.select(Municipality.id).where(Municipality.code == "330").first())["id"]


async def _set_up(issuer: str, *, password_sign_in: bool = True, domains: str = "intro.example") -> None:
    await providers.save_provider(
        None, await _slagelse(), issuer=issuer, client_id="intro", client_secret_env="INTRO_OIDC_SLAGELSE",
        allowed_domains=domains, password_sign_in=password_sign_in,
    )


async def _through_provider(client, account: str, email: str = LISE):
    """Start at Intro's login page, sign in at the provider, come back: the callback's response."""
    await client.get("/login")
    start = await post_form(client, "/login/provider", {"email": email, "next": "/dashboard"})
    assert start.status_code == 303, start.text[:300]
    back = await sign_in_at_provider(start.headers["location"], account, CALLBACK)
    parts = urlsplit(back)
    return await client.get(f"{parts.path}?{parts.query}"), f"{parts.path}?{parts.query}"


async def test_a_chief_signs_in_through_the_municipalitys_provider(demo_client, provider, secret):
    await _set_up(provider.issuer)
    page = await demo_client.get("/login")
    assert "Log ind med din kommunes login" in page.text
    start = await post_form(demo_client, "/login/provider", {"email": LISE, "next": "/dashboard"})
    authorize = parse_qs(urlsplit(start.headers["location"]).query)
    assert authorize["code_challenge_method"] == ["S256"] and authorize["code_challenge"][0]
    assert authorize["state"][0] and authorize["nonce"][0] and authorize["client_id"] == ["intro"]
    assert "intro_oidc_state" in start.headers["set-cookie"]

    back = await sign_in_at_provider(start.headers["location"], "lise", CALLBACK)
    parts = urlsplit(back)
    response = await demo_client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    home = await demo_client.get("/")
    lise = await Person.select(Person.id, Person.full_name, Person.last_login_at).where(Person.email == LISE).first()
    assert home.status_code == 200 and lise["full_name"] in home.text
    assert lise["last_login_at"] is not None
    assert await AuditLog.exists().where((AuditLog.action == "person.sign_in_provider") & (AuditLog.actor == lise["id"]))

    # The same answer again (a replay) signs nobody in.
    await post_form(demo_client, "/logout")
    replayed = await demo_client.get(f"{parts.path}?{parts.query}")
    assert replayed.status_code == 400 and "allerede brugt" in replayed.text
    assert (await demo_client.get("/")).status_code == 303


async def test_a_person_of_another_municipality_is_never_taken_over(demo_client, provider, secret):
    await _set_up(provider.issuer)
    response, _ = await _through_provider(demo_client, "sara", "deltager@intro.example")
    assert response.status_code == 400
    assert "ingen aktiv bruger i Intro med e-mailadressen deltager@intro.example i Slagelse" in response.text
    assert (await demo_client.get("/")).status_code == 303


async def test_the_provider_never_creates_people(demo_client, provider, secret):
    await _set_up(provider.issuer)
    response, _ = await _through_provider(demo_client, "stranger", "ukendt@intro.example")
    assert response.status_code == 400 and "ingen aktiv bruger" in response.text
    assert not await Person.exists().where(Person.email == "ukendt@intro.example")


async def test_an_unverified_e_mail_is_refused(demo_client, provider, secret):
    await _set_up(provider.issuer)
    response, _ = await _through_provider(demo_client, "unverified")
    assert response.status_code == 400 and "har ikke bekræftet din e-mailadresse" in response.text


async def test_an_e_mail_outside_the_allowed_domains_is_refused(demo_client, provider, secret):
    await _set_up(provider.issuer)
    response, _ = await _through_provider(demo_client, "outsider")
    assert response.status_code == 400
    assert "bo@andet.example hører ikke til de domæner, Slagelse har godkendt" in response.text


async def test_an_answer_for_another_browser_is_refused(demo_client, provider, secret):
    """`state` mismatch: the provider's answer arrives in a browser that did not start
    the sign-in (a login CSRF)."""
    await _set_up(provider.issuer)
    await demo_client.get("/login")
    start = await post_form(demo_client, "/login/provider", {"email": LISE})
    back = urlsplit(await sign_in_at_provider(start.headers["location"], "lise", CALLBACK))
    demo_client.cookies.delete("intro_oidc_state")
    response = await demo_client.get(f"{back.path}?{back.query}")
    assert response.status_code == 400 and "passer ikke til denne browser" in response.text
    tampered = back.query.replace("state=", "state=x")
    assert (await demo_client.get(f"{back.path}?{tampered}")).status_code == 400
    assert (await demo_client.get("/")).status_code == 303


async def test_a_provider_that_is_down_gets_a_clear_message(demo_client, secret):
    from tests.oidc_support import free_port

    await _set_up(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    await demo_client.get("/login")
    response = await post_form(demo_client, "/login/provider", {"email": LISE})
    assert response.status_code == 502 and "Kommunens login svarer ikke lige nu" in response.text


async def test_an_address_without_a_provider_is_told_to_use_the_password(demo_client):
    await demo_client.get("/login")
    response = await post_form(demo_client, "/login/provider", {"email": "nogen@ingen-udbyder.example"})
    assert response.status_code == 400 and "Log ind med adgangskode" in response.text


async def test_password_sign_in_can_be_switched_off_per_municipality(demo_client, provider, secret):
    await _set_up(provider.issuer, password_sign_in=False)
    refused = await login(demo_client, LISE)
    assert refused.status_code == 400 and "Din kommune bruger sit eget login" in refused.text
    assert (await demo_client.get("/")).status_code == 303
    # Næstved has no provider, and an administrator always keeps the password.
    assert (await login(demo_client, "deltager@intro.example")).status_code == 303
    await post_form(demo_client, "/logout")
    assert (await login(demo_client, "admin@intro.example")).status_code == 303
    await post_form(demo_client, "/logout")
    response, _ = await _through_provider(demo_client, "lise")
    assert response.status_code == 303
    # A reset link would give her a password she cannot use: none is sent (same answer).
    from intro.tables import Notice

    await post_form(demo_client, "/logout")
    answer = await post_form(demo_client, "/password/forgot", {"email": LISE})
    assert answer.status_code == 200 and "har vi sendt en e-mail" in answer.text
    assert await Notice.count().where(Notice.email == LISE) == 0


# --------------------------------------------------------------------------------------
# The ID token itself: real tokens from the provider, checked by `verify_id_token`


async def _real_id_token(provider, nonce: str = "the-nonce") -> tuple[str, dict]:
    """An ID token the provider issued to the client "intro", and the provider's keys."""
    document, jwks = await providers.provider_metadata(provider.issuer)
    async with AsyncOAuth2Client(
        client_id="intro", client_secret=CLIENT_SECRET, scope="openid email", redirect_uri=CALLBACK,
        code_challenge_method="S256",
    ) as client:
        verifier = "v" * 64
        url, state = client.create_authorization_url(
            document["authorization_endpoint"], nonce=nonce, code_verifier=verifier
        )
        back = await sign_in_at_provider(url, "lise", CALLBACK)
        code = parse_qs(urlsplit(back).query)["code"][0]
        tokens = await client.fetch_token(document["token_endpoint"], code=code, code_verifier=verifier)
    return tokens["id_token"], jwks


async def test_an_id_token_is_checked_for_signature_issuer_audience_expiry_and_nonce(provider):
    token, jwks = await _real_id_token(provider)
    claims = verify_id_token(token, jwks, issuer=provider.issuer, client_id="intro", nonce="the-nonce")
    assert claims["sub"] == "lise" and claims["email"] == LISE

    cases = [
        ({"client_id": "another-app"}, "forkert modtager"),  # wrong audience
        ({"nonce": "from-another-sign-in"}, "et andet login-forsøg"),  # replayed into another sign-in
        ({"issuer": "http://127.0.0.1:1"}, "kunne ikke godkendes"),
        ({"now": claims["exp"] + 3600}, "udløbet"),  # expired
    ]
    for change, message in cases:
        arguments = {"issuer": provider.issuer, "client_id": "intro", "nonce": "the-nonce", **change}
        with pytest.raises(ProviderRefused, match=message):
            verify_id_token(token, jwks, **arguments)
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    with pytest.raises(ProviderRefused, match="kunne ikke godkendes"):
        verify_id_token(forged, jwks, issuer=provider.issuer, client_id="intro", nonce="the-nonce")


# --------------------------------------------------------------------------------------
# Setting a provider up


async def test_an_admin_sets_up_a_provider_and_bad_input_names_the_field(demo_client):
    slagelse = await _slagelse()
    assert (await login(demo_client, "admin@intro.example")).status_code == 303
    page = await demo_client.get(f"/admin/municipalities/{slagelse}/sign-in")
    assert page.status_code == 200 and "/login/provider/callback" in page.text
    bad = await post_form(
        demo_client, f"/admin/municipalities/{slagelse}/sign-in",
        {"issuer": "http://login.example.org", "client_id": "", "client_secret_env": "DATABASE_URL", "allowed_domains": "ikke et domæne"},
    )
    assert bad.status_code == 400
    for message in ("https-adresse", "klient-id", "INTRO_OIDC_", "e-maildomæner"):
        assert message in bad.text
    assert await providers.provider_of(slagelse) is None
    good = await post_form(
        demo_client, f"/admin/municipalities/{slagelse}/sign-in",
        {"issuer": "https://login.microsoftonline.com/abc/v2.0/", "client_id": "intro-slagelse",
         "client_secret_env": "INTRO_OIDC_SLAGELSE", "allowed_domains": "Slagelse.dk, @slagelse.dk intro.example", "password_sign_in": "1"},
    )
    assert good.status_code == 303
    saved = await providers.provider_of(slagelse)
    assert saved.issuer == "https://login.microsoftonline.com/abc/v2.0"
    assert saved.allowed_domains == ("intro.example", "slagelse.dk") and saved.password_sign_in


async def test_a_domain_belongs_to_one_municipality_only(demo_db):
    await _set_up("https://login.slagelse.example", domains="slagelse.dk")
    naestved = (await Municipality.select(Municipality.id).where(Municipality.code == "370").first())["id"]
    with pytest.raises(Invalid) as refused:
        await providers.save_provider(
            None, naestved, issuer="https://login.naestved.example", client_id="intro",
            client_secret_env="INTRO_OIDC_NAESTVED", allowed_domains="naestved.dk slagelse.dk", password_sign_in=True,
        )
    assert "slagelse.dk" in refused.value.errors["allowed_domains"]


def test_only_intro_oidc_variables_are_read_as_secrets(monkeypatch):
    from intro.settings import oidc_client_secret

    monkeypatch.setenv("INTRO_OIDC_X", "s")
    assert oidc_client_secret("INTRO_OIDC_X") == "s"
    for name in ("INTRO_SECRET_KEY", "DATABASE_URL", "intro_oidc_x", "INTRO_OIDC_", ""):
        assert oidc_client_secret(name) is None



async def test_no_second_factor_is_asked_after_the_providers_sign_in(demo_client, provider, secret, monkeypatch):
    import dataclasses

    from intro.people import second_factor
    from intro.settings import get_settings

    monkeypatch.setattr(second_factor, "get_settings", lambda: dataclasses.replace(get_settings(), second_factor_required=True))
    await _set_up(provider.issuer)
    assert (await login(demo_client, LISE)).headers["location"] == "/login/second-factor"  # by password: asked
    response, _ = await _through_provider(demo_client, "lise")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    assert (await demo_client.get("/")).status_code == 200


async def test_an_invited_new_hire_may_use_the_municipalitys_login_instead_of_a_password(demo_client, provider, secret):
    from intro.people import account_links
    from intro.tables import Notice
    from tests.test_account_links import _hire_from_hr

    await _set_up(provider.issuer)
    chief = (await Person.select(Person.id).where(Person.email == LISE).first())["id"]
    bo = await _hire_from_hr(chief, "bo.berg@intro.example")
    body = (await Notice.select(Notice.body).where(Notice.recipient == bo).first())["body"]
    assert "Din kommune har sit eget login til Intro" in body
    path = "/access/" + account_links.fill_links(body).split("/access/", 1)[1].split()[0]
    page = await demo_client.get(path)
    assert "Eller brug din kommunes login" in page.text and "Slagelse har sit eget login" in page.text
    response, _ = await _through_provider(demo_client, "bo", "bo.berg@intro.example")
    assert response.status_code == 303
    assert (await demo_client.get("/")).status_code == 200
