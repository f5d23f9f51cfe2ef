"""The HR systems' API: tokens per municipality, made and revoked by the chief or an
administrator, and employments created, updated and ended through it — each change in
the audit log, nothing outside the token's municipality reachable."""

from __future__ import annotations

import json
import re

import pytest

from intro.tables import ApiToken, AuditLog, Employment, Municipality, Person, RoleGrant
from tests.conftest import login, post_form

SLAGELSE_CHIEF = "chef.slagelse@intro.example"
NAESTVED_CHIEF = "chef.naestved@intro.example"

NEW_HIRE = {
    "full_name": "Ærø Østergård",
    "email": "Aeroe.Oestergaard@Slagelse.example",
    "job_function": "Jobkonsulent",
    "profile_code": "virksomhed",
    "start_date": "2026-09-01",
}


async def _municipality(code: str) -> int:
    return (await Municipality.select(Municipality.id).where(Municipality.code == code).first())["id"]


async def _make_token(client, email: str, code: str, name: str = "Lønsystem") -> str:
    assert (await login(client, email)).status_code == 303
    municipality_id = await _municipality(code)
    response = await post_form(client, f"/municipalities/{municipality_id}/api-tokens", {"name": name})
    assert response.status_code == 200, response.text[:500]
    token = re.search(r'id="new-token"[^>]*value="(intro_[^"]+)"', response.text).group(1)
    await client.post("/logout", headers={"x-csrftoken": client.cookies.get("csrftoken", "")})
    client.cookies.clear()
    return token


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def test_a_chief_makes_a_token_and_the_hr_system_creates_updates_and_ends_an_employment(demo_client):
    token = await _make_token(demo_client, SLAGELSE_CHIEF, "330")
    stored = await ApiToken.select(ApiToken.token_hash, ApiToken.name).first()
    assert stored["name"] == "Lønsystem" and token not in stored["token_hash"]

    created = await demo_client.put("/api/v1/employments/HR-1001", json=NEW_HIRE, headers=_auth(token))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["external_ref"] == "HR-1001"
    assert body["municipality_code"] == "330"
    assert body["email"] == "aeroe.oestergaard@slagelse.example"
    assert body["full_name"] == "Ærø Østergård"
    person = await Person.select().where(Person.email == "aeroe.oestergaard@slagelse.example").first()
    assert person["password_hash"] is None  # HR data gives nobody a sign-in
    assert await RoleGrant.exists().where(
        (RoleGrant.person == person["id"]) & (RoleGrant.role == "participant")
        & (RoleGrant.municipality == await _municipality("330"))
    )

    # The same call again changes nothing and logs nothing.
    log_lines = await AuditLog.count()
    again = await demo_client.put("/api/v1/employments/HR-1001", json=NEW_HIRE, headers=_auth(token))
    assert again.status_code == 200
    assert await AuditLog.count() == log_lines
    assert await Employment.count().where(Employment.external_ref == "HR-1001") == 1

    changed = await demo_client.put(
        "/api/v1/employments/HR-1001", json={**NEW_HIRE, "job_function": "Sagsbehandler"}, headers=_auth(token)
    )
    assert changed.status_code == 200 and changed.json()["job_function"] == "Sagsbehandler"

    ended = await demo_client.post(
        "/api/v1/employments/HR-1001/end", json={"end_date": "2027-02-28", "end_reason": "resigned"},
        headers=_auth(token),
    )
    assert ended.status_code == 200, ended.text
    assert (ended.json()["end_date"], ended.json()["end_reason"]) == ("2027-02-28", "resigned")

    fetched = await demo_client.get("/api/v1/employments/HR-1001", headers=_auth(token))
    assert fetched.status_code == 200 and fetched.json()["end_reason"] == "resigned"
    listed = await demo_client.get("/api/v1/employments?limit=1000", headers=_auth(token))
    assert "HR-1001" in {e["external_ref"] for e in listed.json()["items"]}
    assert {e["municipality_code"] for e in listed.json()["items"]} == {"330"}

    actions = [
        r["action"] for r in await AuditLog.select(AuditLog.action, AuditLog.details).where(
            AuditLog.object_type == "employment"
        ).order_by(AuditLog.id)
    ]
    assert actions == ["employment.create", "employment.update", "employment.end"]
    details = await AuditLog.select(AuditLog.details).where(AuditLog.action == "employment.end").first()
    details = details["details"] if isinstance(details["details"], dict) else json.loads(details["details"])
    assert details["source"] == "api:Lønsystem"


async def test_bad_input_names_the_field_and_writes_nothing(demo_client):
    token = await _make_token(demo_client, SLAGELSE_CHIEF, "330")
    before = await Employment.count()
    cases = [
        ({**NEW_HIRE, "email": "not-an-address"}, "email"),
        ({**NEW_HIRE, "profile_code": "astronaut"}, "profile_code"),
        ({**NEW_HIRE, "end_date": "2026-01-01"}, "end_date"),
        ({**NEW_HIRE, "end_reason": "resigned"}, "end_reason"),
    ]
    for payload, field in cases:
        response = await demo_client.put("/api/v1/employments/HR-9", json=payload, headers=_auth(token))
        assert response.status_code == 400, payload
        assert field in response.json()["errors"], response.json()
    # Type errors are caught before our code, also naming the field.
    response = await demo_client.put(
        "/api/v1/employments/HR-9", json={**NEW_HIRE, "start_date": "1. marts"}, headers=_auth(token)
    )
    assert response.status_code == 400 and "start_date" in response.text
    response = await demo_client.put(
        "/api/v1/employments/HR-9", json={**NEW_HIRE, "municipality_code": "370"}, headers=_auth(token)
    )
    assert response.status_code == 400 and "municipality_code" in response.text  # unknown field refused
    assert await Employment.count() == before
    missing = await demo_client.post(
        "/api/v1/employments/NOPE/end", json={"end_date": "2027-01-01", "end_reason": "other"}, headers=_auth(token)
    )
    assert missing.status_code == 404


async def test_a_token_reaches_its_own_municipality_only(demo_client):
    slagelse = await _make_token(demo_client, SLAGELSE_CHIEF, "330")
    naestved = await _make_token(demo_client, NAESTVED_CHIEF, "370")
    naestved_ref = (
        await Employment.select(Employment.external_ref).where(Employment.municipality.code == "370").first()
    )["external_ref"]
    assert (await demo_client.get(f"/api/v1/employments/{naestved_ref}", headers=_auth(naestved))).status_code == 200
    # Slagelse's token cannot read, change or end a Næstved employment, even by its id.
    assert (await demo_client.get(f"/api/v1/employments/{naestved_ref}", headers=_auth(slagelse))).status_code == 404
    end = await demo_client.post(
        f"/api/v1/employments/{naestved_ref}/end", json={"end_date": "2027-01-01", "end_reason": "other"},
        headers=_auth(slagelse),
    )
    assert end.status_code == 404
    # A PUT with the same id makes a Slagelse employment; Næstved's is untouched.
    put = await demo_client.put(f"/api/v1/employments/{naestved_ref}", json=NEW_HIRE, headers=_auth(slagelse))
    assert put.status_code == 201 and put.json()["municipality_code"] == "330"
    original = await Employment.select(Employment.end_date, Employment.job_function).where(
        (Employment.external_ref == naestved_ref) & (Employment.municipality.code == "370")
    ).first()
    assert original["job_function"] != NEW_HIRE["job_function"] or original["end_date"] is None
    listed = (await demo_client.get("/api/v1/employments?limit=1000", headers=_auth(slagelse))).json()
    assert {e["municipality_code"] for e in listed["items"]} == {"330"}


@pytest.mark.parametrize(
    "header",
    [None, "Bearer ", "Bearer intro_wrong", "Basic dXNlcjpwYXNz", "intro_x"],
)
async def test_no_valid_token_no_answer(demo_client, header):
    headers = {"Authorization": header} if header is not None else {}
    response = await demo_client.get("/api/v1/employments", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


async def test_a_revoked_token_stops_at_once_and_a_session_is_no_token(demo_client):
    token = await _make_token(demo_client, SLAGELSE_CHIEF, "330")
    assert (await demo_client.get("/api/v1/employments", headers=_auth(token))).status_code == 200
    assert (await login(demo_client, SLAGELSE_CHIEF)).status_code == 303
    # A signed-in browser without a token does not reach the API.
    assert (await demo_client.get("/api/v1/employments")).status_code == 401
    municipality_id = await _municipality("330")
    token_id = (await ApiToken.select(ApiToken.id).first())["id"]
    response = await post_form(demo_client, f"/municipalities/{municipality_id}/api-tokens/{token_id}/revoke")
    assert response.status_code == 303
    assert (await demo_client.get("/api/v1/employments", headers=_auth(token))).status_code == 401
    page = await demo_client.get(f"/municipalities/{municipality_id}/api-tokens")
    assert "Tilbagekaldt" in page.text and token not in page.text
    assert await AuditLog.exists().where(AuditLog.action == "api_token.revoke")


async def test_token_pages_belong_to_the_municipality(demo_client):
    slagelse_id = await _municipality("330")
    await _make_token(demo_client, SLAGELSE_CHIEF, "330")
    token_id = (await ApiToken.select(ApiToken.id).first())["id"]
    # Næstved's chief: Slagelse's token page and revoke are "not found".
    assert (await login(demo_client, NAESTVED_CHIEF)).status_code == 303
    assert (await demo_client.get(f"/municipalities/{slagelse_id}/api-tokens")).status_code == 404
    naestved_id = await _municipality("370")
    # Nor can Slagelse's token be revoked through Næstved's page.
    response = await post_form(demo_client, f"/municipalities/{naestved_id}/api-tokens/{token_id}/revoke")
    assert response.status_code == 404
    assert (await ApiToken.select(ApiToken.revoked_at).first())["revoked_at"] is None
    # A blank name is refused with a message naming the field.
    response = await post_form(demo_client, f"/municipalities/{naestved_id}/api-tokens", {"name": "  "})
    assert response.status_code == 400 and 'href="#f-name"' in response.text


async def test_an_admin_keeps_tokens_for_any_municipality(demo_client):
    token = await _make_token(demo_client, "admin@intro.example", "306")
    put = await demo_client.put("/api/v1/employments/OD-1", json=NEW_HIRE, headers=_auth(token))
    assert put.status_code == 201 and put.json()["municipality_code"] == "306"


async def test_the_schema_documents_the_api_and_not_the_pages(demo_client):
    assert (await login(demo_client, SLAGELSE_CHIEF)).status_code == 303
    schema = (await demo_client.get("/schema/openapi.json")).json()
    assert set(schema["paths"]) == {
        "/api/v1/employments",
        "/api/v1/employments/{external_ref}",
        "/api/v1/employments/{external_ref}/end",
    }
    assert schema["components"]["securitySchemes"]["HRToken"]["scheme"] == "bearer"
    assert "EmploymentIn" in schema["components"]["schemas"]
