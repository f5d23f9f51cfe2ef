"""Invitations and forgotten passwords (issue 16): a one-time link by e-mail, through
the real outbox and a real SMTP server (aiosmtpd), to the pages a person uses.

Personas from the demo: Lise, chief in Slagelse; Mette, coordinator; Sara, a
participant in Næstved. New hires arrive through a real HR file import."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intro.errors import Invalid
from intro.hr import imports as hr_import
from intro.people import account_links, accounts
from intro.people.account_links import LinkProblem, LinkRefused
from intro.planning import notices
from intro.tables import (
    AccountLink,
    LoginSession,
    Municipality,
    Notice,
    PasswordResetRequest,
    Person,
)
from tests.conftest import login, post_form
from tests.test_notices import smtp_server  # noqa: F401  (a real SMTP server)

CHIEF = "chef.slagelse@intro.example"
SARA = "deltager@intro.example"
NEW_PASSWORD = "en lang og god adgangskode"
LINK = re.compile(r"http://[^\s]+/access/([A-Za-z0-9_-]+)")


async def _person_id(email: str) -> int:
    return (await Person.select(Person.id).where(Person.email == email).first())["id"]


async def _hire_from_hr(chief_id: int, email: str = "bo.berg@example.org") -> int:
    """Bo Berg starts in Slagelse, imported from the HR file; returns his id."""
    slagelse = await Municipality.select(Municipality.id).where(Municipality.code == "330").first()
    import_id = await hr_import.store_upload(
        chief_id,
        slagelse["id"],
        "ansatte.csv",
        f"Navn;E-mail;Kommunekode;Stilling;Startdato\nBo Berg;{email};330;Jobkonsulent;01-03-2026\n".encode(),
    )
    await hr_import.commit(chief_id, slagelse["id"], import_id)
    return await _person_id(email)


async def _deliver(inbox) -> None:
    summary = await notices.send_due(smtp=inbox.config)
    assert summary.failed == 0, summary


def _link_in(message) -> str:
    """The path of the one link in an e-mail, e.g. /access/abc…"""
    body = message.get_content()
    found = LINK.findall(body)
    assert len(found) == 1, body
    return "/access/" + found[0]


async def _set_password(client, path: str, password: str = NEW_PASSWORD, repeat: str | None = None):
    page = await client.get(path)
    assert page.status_code == 200, page.text[:300]
    return await post_form(client, path, {"password": password, "password_repeat": password if repeat is None else repeat})


# --------------------------------------------------------------------------------------
# Invitation → set password → sign in


async def test_a_new_hire_from_hr_is_invited_sets_a_password_and_signs_in(demo_client, smtp_server):  # noqa: F811
    bo = await _hire_from_hr(await _person_id(CHIEF))
    assert (await Person.select(Person.password_hash).where(Person.id == bo).first())["password_hash"] is None
    await _deliver(smtp_server)
    mail = smtp_server.to("bo.berg@example.org")
    assert mail["Subject"] == "Velkommen til Intro – vælg din adgangskode"
    assert "Hej Bo Berg" in mail.get_content()
    path = _link_in(mail)

    page = await demo_client.get(path)
    assert "Velkommen til Intro" in page.text and "bo.berg@example.org" in page.text
    assert page.headers["referrer-policy"] in {"same-origin", "no-referrer"}

    # Bad input names the field and changes nothing: the link still works.
    short = await post_form(demo_client, path, {"password": "kort", "password_repeat": "kort"})
    assert short.status_code == 400 and "mindst 10 tegn" in short.text
    unlike = await post_form(demo_client, path, {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD + "x"})
    assert unlike.status_code == 400 and "ikke ens" in unlike.text

    done = await post_form(demo_client, path, {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/login?password_set=1"
    assert "Din adgangskode er gemt" in (await demo_client.get("/login?password_set=1")).text
    assert (await login(demo_client, "bo.berg@example.org", NEW_PASSWORD)).status_code == 303

    # The link was for one use.
    again = await demo_client.get(path)
    assert again.status_code == 410 and "allerede brugt" in again.text


async def test_an_enrolment_invites_only_who_cannot_sign_in(demo_db):
    # Everyone in the demo has a password: nobody is invited by an enrolment.
    sara = await _person_id(SARA)
    assert not await account_links.invite_if_needed(None, sara)
    bo = await accounts.create_person(None, "bo.berg@example.org", "Bo Berg")
    assert await account_links.invite_if_needed(None, bo)
    # Once is enough while the link works.
    assert not await account_links.invite_if_needed(None, bo)
    assert await Notice.count().where(Notice.recipient == bo) == 1


async def test_an_expired_invitation_is_refused_and_can_be_sent_again(demo_client, smtp_server):  # noqa: F811
    bo = await _hire_from_hr(await _person_id(CHIEF))
    await _deliver(smtp_server)
    old_path = _link_in(smtp_server.to("bo.berg@example.org"))
    await AccountLink.update(
        {AccountLink.created_at: AccountLink.created_at - timedelta(days=30), AccountLink.expires_at: AccountLink.expires_at - timedelta(days=30)}
    ).where(AccountLink.person == bo)
    expired = await demo_client.get(old_path)
    assert expired.status_code == 410 and "Linket er udløbet" in expired.text
    refused = await post_form(demo_client, old_path, {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD})
    assert refused.status_code == 410
    assert (await Person.select(Person.password_hash).where(Person.id == bo).first())["password_hash"] is None

    # The chief sees Bo has not signed in, and sends the invitation again.
    assert (await login(demo_client, CHIEF)).status_code == 303
    page = await demo_client.get("/invitations")
    assert "Bo Berg" in page.text and "virker ikke længere" in page.text
    assert "Sara" not in page.text  # a participant in Næstved: not the Slagelse chief's
    sent = await post_form(demo_client, f"/invitations/{bo}")
    assert sent.status_code == 303
    await _deliver(smtp_server)
    mails = [m for rcpt, m in smtp_server.messages if rcpt == ["bo.berg@example.org"]]
    assert len(mails) == 2
    new_path = _link_in(mails[-1])
    assert new_path != old_path
    await post_form(demo_client, "/logout")
    assert (await _set_password(demo_client, new_path)).status_code == 303
    assert (await login(demo_client, "bo.berg@example.org", NEW_PASSWORD)).status_code == 303


async def test_a_chief_cannot_invite_another_municipalitys_people(demo_client):
    assert (await login(demo_client, CHIEF)).status_code == 303
    sara = await _person_id(SARA)  # Næstved
    response = await post_form(demo_client, f"/invitations/{sara}")
    assert response.status_code == 404
    assert await AccountLink.count().where(AccountLink.person == sara) == 0


async def test_someone_who_has_signed_in_is_not_invited_again(demo_client):
    bo = await accounts.create_person(None, "bo.berg@example.org", "Bo Berg", "bos-egen-kode-123")
    await accounts.grant_role(None, bo, "participant", municipality_id=(await Municipality.select(Municipality.id).where(Municipality.code == "330").first())["id"])
    assert (await login(demo_client, "bo.berg@example.org", "bos-egen-kode-123")).status_code == 303
    await post_form(demo_client, "/logout")
    assert (await login(demo_client, CHIEF)).status_code == 303
    assert "Bo Berg" not in (await demo_client.get("/invitations")).text
    refused = await post_form(demo_client, f"/invitations/{bo}")
    assert refused.status_code == 400 and "allerede logget ind" in refused.text


# --------------------------------------------------------------------------------------
# Forgotten password → reset → sign in


async def test_a_forgotten_password_is_reset_by_e_mail_and_every_session_ends(demo_client, smtp_server):  # noqa: F811
    # Sara is signed in on another device.
    sara = await _person_id(SARA)
    other_device = await accounts.start_session(sara, "Mozilla/5.0 (iPhone)")
    page = await demo_client.get("/login")
    assert 'href="/password/forgot"' in page.text

    answer = await post_form(demo_client, "/password/forgot", {"email": "  Deltager@Intro.Example "})
    assert answer.status_code == 200 and "har vi sendt en e-mail" in answer.text
    await _deliver(smtp_server)
    mail = smtp_server.to(SARA)
    assert mail["Subject"] == "Nulstil din adgangskode til Intro"
    path = _link_in(mail)
    assert (await _set_password(demo_client, path)).status_code == 303

    assert await accounts.user_for_session(other_device) is None
    assert await LoginSession.count().where(LoginSession.person == sara) == 0
    assert (await login(demo_client, SARA)).status_code == 400  # the old password is gone
    assert (await login(demo_client, SARA, NEW_PASSWORD)).status_code == 303
    reused = await post_form(demo_client, path, {"password": "endnu en ny kode 42", "password_repeat": "endnu en ny kode 42"})
    assert reused.status_code == 410 and "allerede brugt" in reused.text


async def test_the_answer_is_the_same_whether_or_not_the_address_exists(demo_client):
    known = await post_form(demo_client, "/password/forgot", {"email": SARA})
    unknown = await post_form(demo_client, "/password/forgot", {"email": "findes.ikke@intro.example"})
    assert known.status_code == unknown.status_code == 200

    def without_address(text: str, address: str) -> str:
        return text.replace(address, "ADRESSE")

    assert without_address(known.text, SARA) == without_address(unknown.text, "findes.ikke@intro.example")
    assert await Notice.count().where(Notice.email == "findes.ikke@intro.example") == 0
    assert await Notice.count().where(Notice.email == SARA) == 1


async def test_reset_requests_are_throttled_per_address_and_per_client(demo_client):
    for address in (SARA, "findes.ikke@intro.example"):  # the same for an unknown address
        for _ in range(3):
            assert (await post_form(demo_client, "/password/forgot", {"email": address})).status_code == 200
        throttled = await post_form(demo_client, "/password/forgot", {"email": address})
        assert throttled.status_code == 429 and "for mange gange" in throttled.text
    assert await Notice.count().where(Notice.email == SARA) == 3
    # Per client: one client asking for many addresses is stopped too.
    await PasswordResetRequest.delete().where(PasswordResetRequest.id > 0)
    statuses = [
        (await post_form(demo_client, "/password/forgot", {"email": f"person{i}@intro.example"})).status_code
        for i in range(21)
    ]
    assert statuses == [200] * 20 + [429]


async def test_an_empty_address_names_the_field(demo_client):
    response = await post_form(demo_client, "/password/forgot", {"email": " "})
    assert response.status_code == 400 and "Skriv din e-mailadresse" in response.text
    assert await PasswordResetRequest.count() == 0


async def test_unknown_and_overlong_links_are_not_found(demo_client):
    assert (await demo_client.get("/access/ikke-et-rigtigt-link")).status_code == 404
    assert (await demo_client.get("/access/" + "a" * 500)).status_code == 404
    refused = await post_form(demo_client, "/access/ikke-et-rigtigt-link", {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD})
    assert refused.status_code == 404 and "Linket findes ikke" in refused.text


# --------------------------------------------------------------------------------------
# Only hashes: neither the table nor the outbox holds a link that works


async def test_no_working_link_is_stored_anywhere(demo_client, smtp_server):  # noqa: F811
    await post_form(demo_client, "/password/forgot", {"email": SARA})
    await _deliver(smtp_server)
    token = _link_in(smtp_server.to(SARA)).rsplit("/", 1)[1]
    stored = [str(v) for row in await AccountLink.select() for v in row.values()]
    stored += [str(v) for row in await Notice.select() for v in row.values()]
    assert not any(token in value for value in stored)
    assert account_links.token_hash(token) in stored
    # The link is made from the secret key: another key makes another, useless, link.
    nonce = re.search(r"\[\[intro-link:([^\]]+)\]\]", (await Notice.select(Notice.body).where(Notice.email == SARA).first())["body"]).group(1)
    assert account_links.token_for(nonce) == token
    assert account_links.token_for(nonce, "another-key") != token


# --------------------------------------------------------------------------------------
# The rule as a property: over any sequence of invitations, resets, uses, password
# changes and passing time, a link works exactly when it is the person's newest, unused,
# unexpired and no password was set since — and then only once.

_emails = itertools.count()

Op = st.one_of(
    st.tuples(st.just("invite")),
    st.tuples(st.just("reset")),
    st.tuples(st.just("use"), st.integers(0, 2), st.booleans()),  # 0: the newest link, 1: the one before…
    st.tuples(st.just("admin_password")),
    st.tuples(st.just("wait"), st.sampled_from([1, 30, 59, 61, 60 * 24, 60 * 24 * 15])),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(Op, max_size=12))
async def test_a_link_works_once_and_only_while_it_is_the_newest(db, ops):
    email = f"egenskab{next(_emails)}@intro.example"
    person = await accounts.create_person(None, email, "Egon Egenskab")
    links: list[dict] = []  # the model: token, expires in minutes from "now", ended
    now = 0  # minutes since the start, as the model sees it
    resets: list[int] = []

    async def take_link(minutes: int) -> None:
        body = (await Notice.select(Notice.body).where(Notice.recipient == person).order_by(Notice.id, ascending=False).first())["body"]
        token = account_links.fill_links(body).rsplit("/access/", 1)[1].split()[0]
        for link in links:
            link["ended"] = True
        links.append({"token": token, "expires": now + minutes, "ended": False})

    for op in ops:
        if op[0] == "invite":
            await account_links.invite(None, person)
            await take_link(14 * 24 * 60)
        elif op[0] == "reset":
            if len([t for t in resets if t > now - 60]) >= 3:
                with pytest.raises(account_links.Throttled):
                    await account_links.request_reset(email)
            else:
                await account_links.request_reset(email)
                resets.append(now)
                await take_link(60)
        elif op[0] == "use" and links:
            link = links[-1 - op[1] % len(links)]
            works = not link["ended"] and now < link["expires"]
            await accounts.start_session(person)
            password = NEW_PASSWORD if op[2] else "kort"
            if works and op[2]:
                assert await account_links.set_password_with_link(link["token"], password, password) == person
                for other in links:
                    other["ended"] = True
                assert await LoginSession.count().where(LoginSession.person == person) == 0
            else:
                with pytest.raises(Invalid if works else LinkRefused) as raised:
                    await account_links.set_password_with_link(link["token"], password, password)
                if not works:
                    expected = LinkProblem.used if link["ended"] else LinkProblem.expired
                    assert raised.value.problem is expected
        elif op[0] == "admin_password":
            await accounts.set_password(None, person, "administratorens kode")
            for link in links:
                link["ended"] = True
        elif op[0] == "wait":
            minutes = op[1]
            now += minutes
            shift = timedelta(minutes=minutes)
            # Time passes for the stored rows: everything moves back by the same amount.
            await AccountLink.update(
                {AccountLink.created_at: AccountLink.created_at - shift, AccountLink.expires_at: AccountLink.expires_at - shift}
            ).where(AccountLink.person == person)
            await PasswordResetRequest.update(
                {PasswordResetRequest.requested_at: PasswordResetRequest.requested_at - shift}
            ).where(PasswordResetRequest.email == email)
        # Every link, used or not, is read as the model says; at most the newest is live.
        for link in links:
            works = not link["ended"] and now < link["expires"]
            if works:
                assert (await account_links.holder_of(link["token"])).person_id == person
            else:
                with pytest.raises(LinkRefused) as raised:
                    await account_links.holder_of(link["token"])
                assert raised.value.problem is (LinkProblem.used if link["ended"] else LinkProblem.expired)
        live = [link for link in links if not link["ended"] and now < link["expires"]]
        assert len(live) <= 1
        stored_live = await AccountLink.count().where(
            (AccountLink.person == person) & AccountLink.ended_at.is_null() & (AccountLink.expires_at > account_links.clock.now())
        )
        assert stored_live == len(live)
