"""The administration pages: only an admin gets in; every create form writes its row
and an audit line, or on bad input nothing at all; roles, passwords and deactivation
take effect on sign-in; the users search works with and without htmx."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager

import pytest
from litestar.testing import AsyncTestClient

from app import create_app
from intro import audit, clock
from intro.people import accounts, organisation
from intro.tables import (
    AuditLog,
    LoginSession,
    Municipality,
    Partnership,
    PartnershipMember,
    Person,
    RoleGrant,
    Venue,
)
from tests.conftest import login, post_form

PERSONAS = {
    "participant": "deltager@intro.example",
    "chief": "chef.slagelse@intro.example",
    "instructor": "underviser@intro.example",
    "coordinator": "koordinator@intro.example",
    "admin": "admin@intro.example",
}
ADMIN = PERSONAS["admin"]
NEW_PASSWORD = "en-ny-og-lang-kode-42"


async def _person_id(email: str) -> int:
    return (await Person.select(Person.id).where(Person.email == email).first())["id"]


async def _municipality_id(code: str) -> int:
    row = await Municipality.select(Municipality.id).where(Municipality.code == code).first()
    return row["id"]


@pytest.fixture
async def ids(demo_db) -> dict[str, int]:
    participant = await _person_id(PERSONAS["participant"])
    grant = await RoleGrant.select(RoleGrant.id).where(RoleGrant.person == participant).first()
    # Her employment has ended (HR said so yesterday), so an admin may anonymise her.
    from datetime import timedelta

    from intro import clock
    from intro.tables import Employment

    await Employment.update({Employment.end_date: clock.today() - timedelta(days=1), Employment.end_reason: "resigned"}).where(
        (Employment.person == participant) & Employment.end_date.is_null()
    )
    venue = await Venue.select().first()
    lejre = (await Municipality.insert(Municipality(code="350", name="Lejre")).returning(Municipality.id))[0]["id"]
    partnership_id = (await Partnership.select(Partnership.id).first())["id"]
    membership = await PartnershipMember.select(PartnershipMember.id).where(
        (PartnershipMember.partnership == partnership_id)
        & (PartnershipMember.municipality == await _municipality_id("330"))
    ).first()
    return {
        "lejre": lejre,
        "membership_id": membership["id"],
        "today": clock.today().isoformat(),
        "partnership_id": (await Partnership.select(Partnership.id).first())["id"],
        "person_id": participant,
        "grant_id": grant["id"],
        "slagelse": await _municipality_id("330"),
        "holbaek": await _municipality_id("316"),
        "naestved": await _municipality_id("370"),
        "municipality_id": await _municipality_id("330"),
        "venue_id": venue["id"],
        "venue_form": {k: str(venue[k]) for k in ("address", "postcode", "city", "capacity")},
    }


async def _as_admin(client) -> int:
    assert (await login(client, ADMIN)).status_code == 303
    return await _person_id(ADMIN)


async def _audit_lines(action: str, actor_id: int | None = None) -> list[dict]:
    query = AuditLog.select().where(AuditLog.action == action)
    if actor_id is not None:
        query = query.where(AuditLog.actor == actor_id)
    return await query


@asynccontextmanager
async def _another_browser():
    """A second browser on the same app and database, e.g. the person being changed."""
    async with AsyncTestClient(app=create_app(), base_url="http://intro.test") as client:
        client.follow_redirects = False
        yield client


def _field_error(page: str, field: str) -> str:
    """The message shown next to a field (empty when there is none)."""
    match = re.search(rf'<p class="error-message" id="f-{field}(?:-error)?">(.*?)</p>', page, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).replace("Fejl:", "").strip() if match else ""


# --------------------------------------------------------------------------------------
# Who may use the pages

GET_ROUTES = [
    "/admin",
    "/admin/municipalities",
    "/admin/partnerships",
    "/admin/partnerships/{partnership_id}",
    "/admin/venues",
    "/admin/users",
    "/admin/users/{person_id}",
    "/admin/users/{person_id}/privacy",
    "/admin/users/{person_id}/export.json",
    "/admin/audit",
    "/admin/municipalities/{municipality_id}/sign-in",
    "/admin/municipalities/{municipality_id}",
    "/admin/venues/{venue_id}",
]

# A valid form for every POST, so that a refused POST that changes nothing proves the
# refusal (the same form from an admin does change something).
POST_ROUTES = {
    "/admin/municipalities": lambda ids: {"code": "101", "name": "København"},
    "/admin/partnerships": lambda ids: {
        "name": "Introsamarbejdet Midtsjælland",
        "members": [str(ids["slagelse"]), str(ids["naestved"])],
    },
    "/admin/partnerships/{partnership_id}/members": lambda ids: {"members": str(ids["slagelse"])},
    # Members over time (issue 17): a municipality joins from a date; a membership ends.
    "/admin/partnerships/{partnership_id}/memberships": lambda ids: {
        "municipality": str(ids["lejre"]), "joined_on": ids["today"],
    },
    "/admin/partnerships/{partnership_id}/memberships/{membership_id}/end": lambda ids: {
        "left_on": ids["today"],
    },
    "/admin/venues": lambda ids: {
        "name": "Borgercenter Slagelse",
        "municipality": str(ids["slagelse"]),
        "address": "Løvegade 7",
        "postcode": "4200",
        "city": "Slagelse",
        "capacity": "20",
    },
    "/admin/users": lambda ids: {"email": "ny@intro.example", "full_name": "Nina Ny"},
    "/admin/users/{person_id}/roles": lambda ids: {"role": "chief", "municipality": ids["holbaek"]},
    "/admin/users/{person_id}/roles/{grant_id}/revoke": lambda ids: {},
    "/admin/users/{person_id}/password": lambda ids: {"password": NEW_PASSWORD},
    "/admin/users/{person_id}/active": lambda ids: {"active": "0"},
    "/admin/users/{person_id}/feeds/revoke": lambda ids: {},
    "/admin/users/{person_id}/restrict": lambda ids: {"restricted": "1"},
    "/admin/users/{person_id}/anonymise": lambda ids: {"confirm": "1"},
    "/admin/municipalities/{municipality_id}/sign-in": lambda ids: {
        "issuer": "https://login.slagelse.example",
        "client_id": "intro",
        "client_secret_env": "INTRO_OIDC_SLAGELSE",
        "allowed_domains": "slagelse.dk",
    },
    # Correcting and retiring master data (issue 17).
    "/admin/municipalities/{municipality_id}": lambda ids: {
        "code": "330", "name": "Slagelse", "region": "Region Sjælland (rettet)",
    },
    "/admin/municipalities/{municipality_id}/retire": lambda ids: {"retired": "1"},
    "/admin/venues/{venue_id}": lambda ids: {**ids["venue_form"], "name": "Den nye sal"},
    "/admin/venues/{venue_id}/active": lambda ids: {"active": "0"},
    "/admin/partnerships/{partnership_id}": lambda ids: {"name": "Introsamarbejdet, nyt navn"},
    "/admin/partnerships/{partnership_id}/retire": lambda ids: {"retired": "1"},
    "/admin/users/{person_id}/details": lambda ids: {
        "full_name": "Sara Rettet", "email": "sara.rettet@intro.example",
    },
}

ROLES = ["anonymous", *PERSONAS]
CASES = [("GET", path, role) for path in GET_ROUTES for role in ROLES] + [
    ("POST", path, role) for path in POST_ROUTES for role in ROLES
]


def _admin_routes() -> set[tuple[str, str]]:
    found = set()
    for route in create_app().routes:
        if not route.path.startswith("/admin"):
            continue
        for method in route.methods - {"OPTIONS", "HEAD"}:
            found.add((method, re.sub(r":\w+}", "}", route.path)))
    return found


def test_every_admin_route_is_in_the_access_table():
    listed = {(m, p) for m, p, _r in CASES}
    assert _admin_routes() == listed


async def _database_state() -> dict:
    return {
        "audit": await AuditLog.count(),
        "municipalities": await Municipality.count(),
        "partnerships": await Partnership.count(),
        "members": await PartnershipMember.select().order_by(PartnershipMember.id),
        "venues": await Venue.count(),
        "grants": await RoleGrant.select(RoleGrant.id).order_by(RoleGrant.id),
        "people": await Person.select(
            Person.id, Person.email, Person.is_active, Person.password_hash, Person.restricted_at
        ).order_by(Person.id),
    }


@pytest.mark.parametrize(
    ("method", "path", "role"), CASES, ids=[f"{m} {p} as {r}" for m, p, r in CASES]
)
async def test_only_an_admin_may(demo_client, ids, method, path, role):
    url = path.format(**ids)
    if role != "anonymous":
        assert (await login(demo_client, PERSONAS[role])).status_code == 303
    if method == "GET":
        response = await demo_client.get(url)
        if role == "admin":
            assert response.status_code == 200, response.text[:300]
        elif role == "anonymous":
            assert response.status_code == 303
            assert response.headers["location"].startswith("/login")
        else:
            assert response.status_code == 403
            assert "Du har ikke adgang" in response.text
        return

    before = await _database_state()
    response = await post_form(demo_client, url, POST_ROUTES[path](ids))
    after = await _database_state()
    if role == "admin":
        assert response.status_code == 303, response.text[:500]
        assert response.headers["location"].startswith("/admin")
        assert after["audit"] > before["audit"]
        return
    if role == "anonymous":
        assert response.status_code in (303, 403)
        if response.status_code == 303:
            assert response.headers["location"].startswith("/login")
    else:
        assert response.status_code == 403
    assert after == before


async def test_unknown_ids_are_a_404(demo_client, ids):
    await _as_admin(demo_client)
    assert (await demo_client.get("/admin/partnerships/999999")).status_code == 404
    assert (await demo_client.get("/admin/users/999999")).status_code == 404
    missing = await post_form(demo_client, "/admin/users/999999/password", {"password": NEW_PASSWORD})
    assert missing.status_code == 404
    assert "Siden findes ikke" in missing.text
    assert (
        await post_form(demo_client, "/admin/partnerships/999999/members", {"members": "1"})
    ).status_code == 404
    # A grant is revoked only through the page of the person who holds it.
    admin_grant = await RoleGrant.select(RoleGrant.id).where(RoleGrant.role == "admin").first()
    wrong_person = await post_form(
        demo_client, f"/admin/users/{ids['person_id']}/roles/{admin_grant['id']}/revoke"
    )
    assert wrong_person.status_code == 404
    assert await RoleGrant.exists().where(RoleGrant.id == admin_grant["id"])


async def test_the_overview_links_every_section(demo_client):
    await _as_admin(demo_client)
    page = await demo_client.get("/admin")
    for href in ("/admin/users", "/admin/partnerships", "/admin/municipalities", "/admin/venues", "/admin/audit"):
        assert f'href="{href}"' in page.text


# --------------------------------------------------------------------------------------
# Municipalities


async def test_an_admin_creates_a_municipality(demo_client):
    admin_id = await _as_admin(demo_client)
    response = await post_form(
        demo_client,
        "/admin/municipalities",
        {"code": "101", "name": "København", "region": "Region Hovedstaden"},
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/municipalities")
    row = await Municipality.select().where(Municipality.code == "101").first()
    assert row["name"] == "København" and row["region"] == "Region Hovedstaden"
    [line] = await _audit_lines("municipality.create", admin_id)
    assert line["object_id"] == str(row["id"])
    page = await demo_client.get(response.headers["location"])
    assert "Kommunen er oprettet." in page.text
    assert "<td>101</td>" in page.text and "København" in page.text


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"code": "12", "name": "Tolvby"}, "code", "Kommunekoden er de tre cifre"),
        ({"code": "330", "name": "Nyt Slagelse"}, "code", "Der findes allerede en kommune med kode 330"),
        ({"code": "101", "name": " "}, "name", "Skriv kommunens navn."),
        ({"code": "101", "name": "Næstved"}, "name", "Der findes allerede en kommune med dette navn."),
    ],
)
async def test_a_bad_municipality_is_refused_and_nothing_is_written(demo_client, form, field, message):
    await _as_admin(demo_client)
    before = (await Municipality.count(), await AuditLog.count())
    response = await post_form(demo_client, "/admin/municipalities", form)
    assert response.status_code == 400
    assert "Ret følgende" in response.text
    assert message in _field_error(response.text, field)
    assert f'value="{form["code"]}"' in response.text  # what was typed is kept
    assert (await Municipality.count(), await AuditLog.count()) == before


# --------------------------------------------------------------------------------------
# Partnerships


async def test_an_admin_creates_a_partnership_with_members(demo_client, ids):
    admin_id = await _as_admin(demo_client)
    response = await post_form(
        demo_client,
        "/admin/partnerships",
        {
            "name": "Introsamarbejdet Midtsjælland",
            "description": "To kommuner",
            "members": [str(ids["slagelse"]), str(ids["naestved"])],
        },
    )
    assert response.status_code == 303
    created = await Partnership.select().where(Partnership.name == "Introsamarbejdet Midtsjælland").first()
    assert response.headers["location"].startswith(f"/admin/partnerships/{created['id']}")
    members = await PartnershipMember.select(PartnershipMember.municipality).where(
        PartnershipMember.partnership == created["id"]
    )
    assert sorted(m["municipality"] for m in members) == sorted([ids["slagelse"], ids["naestved"]])
    [line] = await _audit_lines("partnership.create", admin_id)
    assert line["object_id"] == str(created["id"])
    page = await demo_client.get(response.headers["location"])
    assert "Samarbejdet er oprettet." in page.text
    assert "Næstved, Slagelse" in page.text


async def test_a_single_checked_member_is_enough(demo_client, ids):
    await _as_admin(demo_client)
    response = await post_form(
        demo_client, "/admin/partnerships", {"name": "Et lille samarbejde", "members": str(ids["holbaek"])}
    )
    assert response.status_code == 303
    created = await Partnership.select(Partnership.id).where(Partnership.name == "Et lille samarbejde").first()
    assert await PartnershipMember.count().where(PartnershipMember.partnership == created["id"]) == 1


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"name": ""}, "name", "Skriv samarbejdets navn."),
        ({"name": "Introsamarbejdet Vestsjælland"}, "name", "Der findes allerede et samarbejde"),
        ({"name": "Nyt", "members": "ikke-et-tal"}, "members", "En af de valgte kommuner findes ikke."),
        ({"name": "Nyt", "members": "999999"}, "members", "En af de valgte kommuner findes ikke."),
    ],
)
async def test_a_bad_partnership_is_refused_and_nothing_is_written(demo_client, ids, form, field, message):
    await _as_admin(demo_client)
    before = (await Partnership.count(), await PartnershipMember.count(), await AuditLog.count())
    response = await post_form(
        demo_client, "/admin/partnerships", {"members": [str(ids["slagelse"])], **form}
    )
    assert response.status_code == 400
    assert message in _field_error(response.text, field)
    if field != "members":  # the boxes ticked stay ticked
        assert f'value="{ids["slagelse"]}" checked' in response.text
    after = (await Partnership.count(), await PartnershipMember.count(), await AuditLog.count())
    assert after == before


async def test_an_admin_changes_the_members_of_a_partnership(demo_client, ids):
    admin_id = await _as_admin(demo_client)
    url = f"/admin/partnerships/{ids['partnership_id']}"
    page = await demo_client.get(url)
    # Seven members, and Lejre (made by the fixture) to choose.
    assert page.text.count('name="members"') == 8 and page.text.count(" checked") == 7
    response = await post_form(
        demo_client, f"{url}/members", {"members": [str(ids["slagelse"]), str(ids["naestved"])]}
    )
    assert response.status_code == 303
    assert await organisation.members_on(ids["partnership_id"], clock.today()) == {ids["slagelse"], ids["naestved"]}
    # The five that left keep their rows, ended today: membership is a history.
    rows = await PartnershipMember.select(PartnershipMember.municipality, PartnershipMember.left_on).where(
        PartnershipMember.partnership == ids["partnership_id"]
    )
    assert len(rows) == 7
    assert sorted(r["left_on"] for r in rows if r["left_on"]) == [clock.today()] * 5
    [line] = await _audit_lines("partnership.set_members", admin_id)
    assert len(audit.detail_items(line["details"])) == 3  # added, removed, on
    page = await demo_client.get(response.headers["location"])
    assert "Medlemskommunerne er gemt." in page.text
    assert page.text.count(" checked") == 2

    refused = await post_form(demo_client, f"{url}/members", {"members": ["x"]})
    assert refused.status_code == 400
    assert _field_error(refused.text, "members")
    assert await PartnershipMember.count().where(PartnershipMember.partnership == ids["partnership_id"]) == 7
    assert await organisation.members_on(ids["partnership_id"], clock.today()) == {ids["slagelse"], ids["naestved"]}


# --------------------------------------------------------------------------------------
# Venues

VENUE = {
    "name": "Borgercenter Slagelse",
    "address": "Løvegade 7",
    "postcode": "4200",
    "city": "Slagelse",
    "capacity": "20",
    "accessibility": "Elevator",
}


async def test_an_admin_creates_a_venue(demo_client, ids):
    admin_id = await _as_admin(demo_client)
    response = await post_form(demo_client, "/admin/venues", {**VENUE, "municipality": ids["slagelse"]})
    assert response.status_code == 303
    venue = await Venue.select().where(Venue.name == "Borgercenter Slagelse").first()
    assert venue["municipality"] == ids["slagelse"] and venue["capacity"] == 20
    [line] = await _audit_lines("venue.create", admin_id)
    assert line["object_id"] == str(venue["id"])
    page = await demo_client.get("/admin/venues")
    assert "Borgercenter Slagelse" in page.text and "Løvegade 7, 4200 Slagelse" in page.text


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"capacity": "0"}, "capacity", "Kapaciteten skal være et helt tal mellem 1 og 1000."),
        ({"capacity": "mange"}, "capacity", "Kapaciteten skal være et helt tal"),
        ({"postcode": "42"}, "postcode", "Postnummeret skal være fire cifre."),
        ({"municipality": ""}, "municipality", "Vælg den kommune, der er vært for lokationen."),
        ({"name": "Jobcenter Slagelse, Kursussalen"}, "name", "Kommunen har allerede en lokation"),
    ],
)
async def test_a_bad_venue_is_refused_and_nothing_is_written(demo_client, ids, change, field, message):
    await _as_admin(demo_client)
    before = (await Venue.count(), await AuditLog.count())
    response = await post_form(
        demo_client, "/admin/venues", {**VENUE, "municipality": ids["slagelse"], **change}
    )
    assert response.status_code == 400
    assert message in _field_error(response.text, field)
    assert 'value="Løvegade 7"' in response.text
    assert (await Venue.count(), await AuditLog.count()) == before


# --------------------------------------------------------------------------------------
# Users


async def test_an_admin_creates_a_user_with_a_password(demo_client):
    admin_id = await _as_admin(demo_client)
    response = await post_form(
        demo_client,
        "/admin/users",
        {"email": " Nina.Ny@Kommune.dk ", "full_name": "Nina Ny", "password": NEW_PASSWORD},
    )
    assert response.status_code == 303
    person = await Person.select().where(Person.email == "nina.ny@kommune.dk").first()
    assert response.headers["location"].startswith(f"/admin/users/{person['id']}")
    assert person["password_hash"].startswith("$argon2")
    [line] = await _audit_lines("person.create", admin_id)
    assert line["object_id"] == str(person["id"])
    assert "argon2" not in str(line["details"]) and NEW_PASSWORD not in str(line["details"])
    page = await demo_client.get(response.headers["location"])
    assert "Brugeren er oprettet." in page.text and "nina.ny@kommune.dk" in page.text
    async with _another_browser() as other:
        assert (await login(other, "nina.ny@kommune.dk", NEW_PASSWORD)).status_code == 303


async def test_a_user_without_a_password_cannot_sign_in_yet(demo_client):
    await _as_admin(demo_client)
    response = await post_form(demo_client, "/admin/users", {"email": "uden@kode.dk", "full_name": "Uden Kode"})
    assert response.status_code == 303
    assert (await Person.select().where(Person.email == "uden@kode.dk").first())["password_hash"] is None
    page = await demo_client.get(response.headers["location"])
    assert "Ikke sat" in page.text


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"email": "koordinator@intro.example"}, "email", "Der findes allerede en bruger"),
        ({"email": "KOORDINATOR@intro.example"}, "email", "Der findes allerede en bruger"),
        ({"email": "ikke-en-adresse"}, "email", "Skriv en gyldig e-mailadresse"),
        ({"full_name": "  "}, "full_name", "Skriv personens fulde navn."),
        ({"password": "kort"}, "password", "Adgangskoden skal være mindst 10 tegn."),
    ],
)
async def test_a_bad_user_is_refused_and_nothing_is_written(demo_client, form, field, message):
    await _as_admin(demo_client)
    before = (await Person.count(), await AuditLog.count())
    data = {"email": "nina.ny@kommune.dk", "full_name": "Nina Ny", **form}
    response = await post_form(demo_client, "/admin/users", data)
    assert response.status_code == 400
    assert message in _field_error(response.text, field)
    assert f'value="{data["email"]}"' in response.text
    if "password" in form:  # a password is never written back into the page
        assert form["password"] not in response.text
    assert (await Person.count(), await AuditLog.count()) == before


async def test_grant_and_revoke_a_role_and_the_chief_sees_their_municipality(demo_client, ids):
    admin_id = await _as_admin(demo_client)
    created = await post_form(
        demo_client,
        "/admin/users",
        {"email": "chef.holbaek2@intro.example", "full_name": "Carla Chef", "password": NEW_PASSWORD},
    )
    user_url = created.headers["location"].split("?")[0]
    person_id = int(user_url.rsplit("/", 1)[1])

    granted = await post_form(
        demo_client, f"{user_url}/roles", {"role": "chief", "municipality": ids["holbaek"], "partnership": ""}
    )
    assert granted.status_code == 303
    grant = await RoleGrant.select().where(RoleGrant.person == person_id).first()
    assert (grant["role"], grant["municipality"], grant["partnership"]) == ("chief", ids["holbaek"], None)
    assert grant["granted_by"] == admin_id
    assert await _audit_lines("role.grant", admin_id)
    page = await demo_client.get(user_url)
    assert "Fjern rollen Chef for Holbæk" in page.text

    async with _another_browser() as chief:
        assert (await login(chief, "chef.holbaek2@intro.example", NEW_PASSWORD)).status_code == 303
        home = await chief.get("/")
        assert "Holbæk Kommune" in home.text and "Slagelse Kommune" not in home.text

        revoked = await post_form(demo_client, f"{user_url}/roles/{grant['id']}/revoke")
        assert revoked.status_code == 303
        assert not await RoleGrant.exists().where(RoleGrant.person == person_id)
        [line] = await _audit_lines("role.revoke", admin_id)
        assert line["object_id"] == str(person_id)
        # Roles are read on every request: the chief's page changes at once.
        assert "Holbæk Kommune" not in (await chief.get("/")).text
    assert "Rollen er fjernet." in (await demo_client.get(revoked.headers["location"])).text


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"role": "chief"}, "municipality", "Vælg den kommune, rollen gælder for."),
        ({"role": "coordinator", "municipality": "{slagelse}"}, "partnership", "Vælg det samarbejde"),
        ({"role": "overlord"}, "role", "Vælg en rolle."),
        ({"role": "participant", "municipality": "{naestved}"}, "role", "allerede denne rolle"),
    ],
)
async def test_a_bad_grant_is_refused_and_nothing_is_written(demo_client, ids, form, field, message):
    await _as_admin(demo_client)
    before = (await RoleGrant.count(), await AuditLog.count())
    data = {k: v.format(**ids) for k, v in form.items()}
    response = await post_form(demo_client, f"/admin/users/{ids['person_id']}/roles", data)
    assert response.status_code == 400
    assert message in _field_error(response.text, field)
    assert f'<option value="{form["role"]}" selected>' in response.text or field == "role"
    assert (await RoleGrant.count(), await AuditLog.count()) == before


async def test_deactivating_a_user_ends_their_session_and_activating_lets_them_back(demo_client, ids):
    admin_id = await _as_admin(demo_client)
    async with _another_browser() as participant:
        assert (await login(participant, PERSONAS["participant"])).status_code == 303
        assert (await participant.get("/")).status_code == 200

        url = f"/admin/users/{ids['person_id']}"
        response = await post_form(demo_client, f"{url}/active", {"active": "0"})
        assert response.status_code == 303
        assert not (await Person.select(Person.is_active).where(Person.id == ids["person_id"]).first())["is_active"]
        assert (await participant.get("/")).status_code == 303  # the old session is gone
        assert (await login(participant, PERSONAS["participant"])).status_code == 400
        [line] = await _audit_lines("person.set_active", admin_id)
        assert line["object_id"] == str(ids["person_id"])
        page = await demo_client.get(response.headers["location"])
        assert "Brugeren er deaktiveret" in page.text and "Aktivér" in page.text

        assert (await post_form(demo_client, f"{url}/active", {"active": "1"})).status_code == 303
        assert (await login(participant, PERSONAS["participant"])).status_code == 303


async def test_an_admin_cannot_deactivate_themselves_or_drop_their_own_admin_role(demo_client):
    admin_id = await _as_admin(demo_client)
    url = f"/admin/users/{admin_id}"
    page = await demo_client.get(url)
    assert "Du kan ikke deaktivere dig selv" in page.text
    assert f'action="{url}/active"' not in page.text
    assert "Fjern rollen Administrator" not in page.text
    before = await AuditLog.count()

    refused = await post_form(demo_client, f"{url}/active", {"active": "0"})
    assert refused.status_code == 400
    assert "Du kan ikke deaktivere dig selv." in _field_error(refused.text, "active")
    assert (await Person.select(Person.is_active).where(Person.id == admin_id).first())["is_active"]

    grant = await RoleGrant.select(RoleGrant.id).where(RoleGrant.person == admin_id).first()
    refused = await post_form(demo_client, f"{url}/roles/{grant['id']}/revoke")
    assert refused.status_code == 400
    assert "Du kan ikke fjerne din egen administratorrolle." in _field_error(refused.text, "roles")
    assert await RoleGrant.exists().where(RoleGrant.id == grant["id"])
    assert await AuditLog.count() == before
    assert (await demo_client.get("/admin")).status_code == 200  # still signed in, still admin


async def test_an_admin_sets_a_new_password(demo_client, ids):
    admin_id = await _as_admin(demo_client)
    async with _another_browser() as participant:
        await login(participant, PERSONAS["participant"])
        url = f"/admin/users/{ids['person_id']}/password"

        short = await post_form(demo_client, url, {"password": "kort"})
        assert short.status_code == 400
        assert "mindst 10 tegn" in _field_error(short.text, "password")
        assert (await participant.get("/")).status_code == 200

        assert (await post_form(demo_client, url, {"password": NEW_PASSWORD})).status_code == 303
        assert await LoginSession.count().where(LoginSession.person == ids["person_id"]) == 0
        assert await _audit_lines("person.set_password", admin_id)
        assert (await login(participant, PERSONAS["participant"])).status_code == 400
        assert (await login(participant, PERSONAS["participant"], NEW_PASSWORD)).status_code == 303


# --------------------------------------------------------------------------------------
# The users list and its search


async def test_the_users_list_is_a_full_page_and_an_htmx_partial(demo_client):
    await _as_admin(demo_client)
    # (The demo has more people than one page lists: narrow to a few.)
    full = await demo_client.get("/admin/users?q=@intro.example")
    partial = await demo_client.get("/admin/users?q=@intro.example", headers={"HX-Request": "true"})
    for response in (full, partial):
        assert response.status_code == 200
        assert "HX-Request" in response.headers["vary"]
        assert "koordinator@intro.example" in response.text
        assert "Koordinator for Introsamarbejdet Vestsjælland" in response.text
    assert "<html" in full.text and 'id="users-table"' in full.text
    assert 'hx-get="/admin/users"' in full.text and 'hx-target="#users-table"' in full.text
    assert "<html" not in partial.text and "<form" not in partial.text
    assert "<table>" in partial.text
    # When htmx restores a page from history it needs the whole page.
    restore = await demo_client.get(
        "/admin/users", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.text


async def test_the_search_matches_name_or_email_in_any_case(demo_client):
    await _as_admin(demo_client)
    chief = await Person.select(Person.full_name).where(Person.email == PERSONAS["chief"]).first()

    by_name = await demo_client.get("/admin/users", params={"q": "lund SØRENSEN"})
    assert "Mette Lund Sørensen" in by_name.text
    assert "Jonas Bach" not in by_name.text and chief["full_name"] not in by_name.text

    by_email = await demo_client.get(
        "/admin/users", params={"q": "Chef.Slagelse@"}, headers={"HX-Request": "true"}
    )
    assert chief["full_name"] in by_email.text
    assert "Mette Lund Sørensen" not in by_email.text
    assert "<html" not in by_email.text
    assert "HX-Request" in by_email.headers["vary"]

    nobody = await demo_client.get("/admin/users", params={"q": "%"})
    assert "0 brugere" in nobody.text and "<table>" not in nobody.text


async def test_the_search_folds_danish_capitals(demo_client):
    await accounts.create_person(None, "aase@intro.example", "Åse Østergaard")
    await _as_admin(demo_client)
    for q in ("østergaard", "ÅSE ØSTER", "Åse"):
        page = await demo_client.get("/admin/users", params={"q": q})
        assert "Åse Østergaard" in page.text, q


async def test_the_users_list_stops_at_200_and_says_so(demo_client):
    await Person.insert(
        *[Person(email=f"bulk{i:03d}@intro.example", full_name=f"Bulk {i:03d}") for i in range(210)]
    )
    await _as_admin(demo_client)
    page = await demo_client.get("/admin/users")
    total = await Person.count()
    assert f"Viser de første 200 af {total} brugere" in page.text
    assert page.text.count('<th scope="row">') == 200


# --------------------------------------------------------------------------------------
# The audit log


async def test_the_audit_log_shows_who_did_what_and_never_a_hash(demo_client, ids):
    await _as_admin(demo_client)
    await post_form(
        demo_client, "/admin/users", {"email": "nina.ny@kommune.dk", "full_name": "Nina Ny", "password": NEW_PASSWORD}
    )
    await post_form(demo_client, f"/admin/users/{ids['person_id']}/password", {"password": NEW_PASSWORD})
    await post_form(demo_client, "/admin/municipalities", {"code": "101", "name": "København"})
    page = await demo_client.get("/admin/audit")
    assert page.status_code == 200
    assert "Bruger oprettet" in page.text and "Adgangskode skiftet" in page.text
    assert "Annette Holm" in page.text
    assert "E-mail: nina.ny@kommune.dk" in page.text and "Adgangskode sat: ja" in page.text
    assert "argon2" not in page.text and NEW_PASSWORD not in page.text
    # Newest first.
    assert page.text.index("Kommune oprettet") < page.text.index("Bruger oprettet")

    only = await demo_client.get("/admin/audit", params={"object_type": "municipality"})
    assert "Kommune oprettet" in only.text and "Bruger oprettet" not in only.text


async def test_the_audit_log_pages_by_100(demo_client):
    await AuditLog.insert(
        *[AuditLog(action="test.entry", object_type="test", details={"n": i}) for i in range(150)]
    )
    await _as_admin(demo_client)
    first = await demo_client.get("/admin/audit", params={"object_type": "test"})
    assert "150 hændelser" in first.text and "side 1 af 2" in first.text
    assert "n: 149<" in first.text and "n: 50<" in first.text and "n: 49<" not in first.text
    assert 'href="/admin/audit?page=2&amp;object_type=test"' in first.text
    second = await demo_client.get("/admin/audit", params={"object_type": "test", "page": 2})
    assert "n: 49<" in second.text and "n: 0<" in second.text and "n: 50<" not in second.text


def test_audit_details_are_shown_as_text_without_secrets():
    items = audit.detail_items(
        {
            "email": "a@b.dk",
            "password_set": True,
            "members": [3, 5],
            "removed": [],
            "municipality": None,
            "password_hash": "$argon2id$v=19$...",
            "note": "$argon2id$v=19$...",
        }
    )
    assert items == [
        ("email", "a@b.dk"),
        ("password_set", "ja"),
        ("members", "3, 5"),
        ("removed", "–"),
        ("municipality", "–"),
    ]
    assert audit.detail_items('{"active": false}') == [("active", "nej")]
