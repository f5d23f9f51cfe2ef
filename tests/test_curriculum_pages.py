"""The curriculum pages as a coordinator uses them."""

from __future__ import annotations

from intro.tables import AuditLog, CurriculumVersion, Module, Municipality, Person
from tests.conftest import login, post_form

COORDINATOR = "koordinator@intro.example"


async def _version_id() -> int:
    return (await CurriculumVersion.select(CurriculumVersion.id).first())["id"]


async def test_the_coordinator_browses_versions_strands_modules_and_profiles(demo_client):
    await login(demo_client, COORDINATOR)
    listing = await demo_client.get("/curriculum")
    assert "2026.1" in listing.text
    version_id = await _version_id()
    page = await demo_client.get(f"/curriculum/{version_id}")
    for text in ("Lovgivning", "Den gode samtale", "Tværfagligt samarbejde", "Basisprofil",
                 "Virksomhedsprofil", "Kompetencematchprofil", "Udviklingsprofil", "Helhedsprofil"):
        assert text in page.text, text
    assert "Bruges af hold" in page.text and "Ja – versionen er låst" in page.text

    module = await Module.select().where(Module.code == "LOV-3").first()
    detail = await demo_client.get(f"/curriculum/{version_id}/modules/{module['id']}")
    assert detail.status_code == 200
    assert "Læringsmål" in detail.text and "Transferopgave:" in detail.text
    assert "Forudsætninger" in detail.text and "LOV-1" in detail.text


async def test_unknown_version_or_module_is_a_danish_404(demo_client):
    await login(demo_client, COORDINATOR)
    version_id = await _version_id()
    assert (await demo_client.get("/curriculum/999999")).status_code == 404
    missing = await demo_client.get(f"/curriculum/{version_id}/modules/999999")
    assert missing.status_code == 404
    assert "Siden findes ikke" in missing.text


LOCAL = {
    "code": "LOK-NAE-1",
    "title": "Næstveds uddannelsespartnere",
    "strand": "tvaerfaglig",
    "format": "classroom",
    "duration_hours": "2,5",
    "days": "1",
    "objectives": "Kender de lokale uddannelsestilbud",
    "competences": "basis-samarbejde",
    "transfer_title": "Besøg en uddannelsesinstitution",
    "transfer_assignment": "Aftal et besøg, og fortæl teamet om det.",
}


async def test_a_coordinator_adds_a_local_module_for_a_member_municipality(demo_client):
    await login(demo_client, COORDINATOR)
    version_id = await _version_id()
    naestved = await Municipality.select(Municipality.id).where(Municipality.code == "370").first()
    form_page = await demo_client.get(f"/curriculum/{version_id}/local-modules/new")
    assert 'label for="f-title"' in form_page.text
    response = await post_form(
        demo_client, f"/curriculum/{version_id}/local-modules", {**LOCAL, "municipality": naestved["id"]}
    )
    assert response.status_code == 303
    module = await Module.select().where(Module.code == "LOK-NAE-1").first()
    assert module["municipality"] == naestved["id"] and module["duration_minutes"] == 150
    coordinator = await Person.select(Person.id).where(Person.email == COORDINATOR).first()
    assert await AuditLog.exists().where(
        (AuditLog.action == "curriculum.add_local_module") & (AuditLog.actor == coordinator["id"])
    )
    page = await demo_client.get(f"/curriculum/{version_id}")
    assert "Lokalt modul – Næstved" in page.text


async def test_a_coordinator_cannot_add_for_a_municipality_outside_the_partnership(demo_client):
    outsider = (
        await Municipality.insert(Municipality(code="101", name="København")).returning(Municipality.id)
    )[0]["id"]
    await login(demo_client, COORDINATOR)
    version_id = await _version_id()
    form_page = await demo_client.get(f"/curriculum/{version_id}/local-modules/new")
    assert "København" not in form_page.text
    response = await post_form(
        demo_client, f"/curriculum/{version_id}/local-modules", {**LOCAL, "municipality": outsider}
    )
    assert response.status_code == 400
    assert "Vælg en kommune i dit samarbejde." in response.text
    assert not await Module.exists().where(Module.code == "LOK-NAE-1")


async def test_bad_local_module_keeps_the_input_and_names_the_fields(demo_client):
    await login(demo_client, COORDINATOR)
    version_id = await _version_id()
    naestved = await Municipality.select(Municipality.id).where(Municipality.code == "370").first()
    before = await Module.count()
    response = await post_form(
        demo_client,
        f"/curriculum/{version_id}/local-modules",
        {**LOCAL, "municipality": naestved["id"], "duration_hours": "0", "objectives": ""},
    )
    assert response.status_code == 400
    assert "Ret følgende" in response.text
    assert 'id="f-duration_hours-error"' in response.text
    assert 'id="f-objectives-error"' in response.text
    assert 'value="Næstveds uddannelsespartnere"' in response.text
    assert await Module.count() == before
