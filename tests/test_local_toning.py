"""Local toning (issue 17): a municipality's local modules are corrected and retired with
their history kept, and a shared profile is toned with the municipality's own
description and competences, which its people self-assess and its chief sees."""

from __future__ import annotations

from intro.curriculum import versions as curriculum
from intro.demo.west_zealand import DEMO_PASSWORD
from intro.insight import competences
from intro.participation import self_service as participation
from intro.people import accounts
from intro.planning import cohort_forms
from intro.tables import (
    AuditLog,
    Competence,
    CurriculumVersion,
    Enrolment,
    Module,
    ModuleCompetence,
    Municipality,
    Partnership,
    Person,
    Profile,
    SelfAssessment,
)
from tests.conftest import login, post_form

COORDINATOR = "koordinator@intro.example"
LOCAL = {
    "code": "LOK-NAE-1",
    "title": "Næstveds uddannelsespartnere",
    "strand": "tvaerfaglig",
    "format": "classroom",
    "duration_hours": "2,5",
    "days": "1",
    "objectives": "Kender de lokale uddannelsestilbud",
    "competences": ["basis-samarbejde"],
    "transfer_title": "Besøg en uddannelsesinstitution",
    "transfer_assignment": "Aftal et besøg, og fortæl teamet om det.",
}


async def _version() -> dict:
    return await CurriculumVersion.select().order_by(CurriculumVersion.id).first()


async def _municipality(code: str) -> int:
    return (await Municipality.select(Municipality.id).where(Municipality.code == code).first())["id"]


async def _local_module() -> tuple[int, int]:
    version = await _version()
    module_id = await curriculum.add_local_module(None, version["id"], await _municipality("370"), dict(LOCAL))
    return version["id"], module_id


async def test_a_coordinator_corrects_a_local_module_and_the_audit_keeps_what_it_was(demo_client):
    version_id, module_id = await _local_module()
    await login(demo_client, COORDINATOR)
    page = await demo_client.get(f"/curriculum/{version_id}/modules/{module_id}")
    assert "Ret modulet" in page.text
    form_page = await demo_client.get(f"/curriculum/{version_id}/modules/{module_id}/edit")
    assert form_page.status_code == 200 and 'value="2,5"' in form_page.text

    bad = await post_form(demo_client, f"/curriculum/{version_id}/modules/{module_id}", {**LOCAL, "duration_hours": "0"})
    assert bad.status_code == 400 and 'id="f-duration_hours-error"' in bad.text
    assert (await Module.select(Module.duration_minutes).where(Module.id == module_id).first())["duration_minutes"] == 150

    ok = await post_form(
        demo_client, f"/curriculum/{version_id}/modules/{module_id}",
        {**LOCAL, "duration_hours": "3", "competences": ["basis-samarbejde", "basis-ydelser"]},
    )
    assert ok.status_code == 303, ok.text[:500]
    assert (await Module.select(Module.duration_minutes).where(Module.id == module_id).first())["duration_minutes"] == 180
    assert await ModuleCompetence.count().where(ModuleCompetence.module == module_id) == 2
    line = await AuditLog.select().where(AuditLog.action == "curriculum.update_local_module").first()
    assert "150" in str(line["details"])  # what it was


async def test_a_retired_local_module_is_not_offered_to_new_cohorts_but_kept(demo_client):

    version_id, module_id = await _local_module()
    partnership = await Partnership.select(Partnership.id).first()
    offered = {m["id"] for m in (await cohort_forms.form_options(partnership["id"]))["local_modules"]}
    assert module_id in offered
    await login(demo_client, COORDINATOR)
    retired = await post_form(demo_client, f"/curriculum/{version_id}/modules/{module_id}/retire", {"retired": "1"})
    assert retired.status_code == 303
    offered = {m["id"] for m in (await cohort_forms.form_options(partnership["id"]))["local_modules"]}
    assert module_id not in offered
    assert await Module.exists().where(Module.id == module_id)
    page = await demo_client.get(f"/curriculum/{version_id}/modules/{module_id}")
    assert "udgået" in page.text


async def test_shared_modules_and_other_partnerships_local_modules_are_not_found(demo_client):
    version_id, module_id = await _local_module()
    shared = await Module.select(Module.id).where(Module.municipality.is_null()).first()
    await login(demo_client, COORDINATOR)
    assert (await demo_client.get(f"/curriculum/{version_id}/modules/{shared['id']}/edit")).status_code == 404
    other = (await Partnership.insert(Partnership(name="Nordjylland")).returning(Partnership.id))[0]["id"]
    person = await accounts.create_person(None, "nord@intro.example", "Nora Nord", DEMO_PASSWORD)
    await accounts.grant_role(None, person, "coordinator", partnership_id=other)
    await demo_client.post("/logout", data={"_csrf_token": demo_client.cookies.get("csrftoken")})
    await login(demo_client, "nord@intro.example")
    assert (await demo_client.get(f"/curriculum/{version_id}/modules/{module_id}/edit")).status_code == 404
    response = await post_form(demo_client, f"/curriculum/{version_id}/modules/{module_id}/retire", {"retired": "1"})
    assert response.status_code == 404
    assert (await Module.select(Module.retired_at).where(Module.id == module_id).first())["retired_at"] is None


async def test_a_toned_profile_reaches_the_self_assessment_of_that_municipality_only(demo_client):
    version = await _version()
    before_hash = curriculum.content_hash(await curriculum.version_content(version["id"]))
    basis = await Profile.select().where((Profile.code == "basis") & (Profile.curriculum_version == version["id"])).first()
    sara = await Person.select(Person.id).where(Person.email == "deltager@intro.example").first()
    enrolment = await Enrolment.select(Enrolment.municipality).where(Enrolment.person == sara["id"]).first()
    municipality_id = enrolment["municipality"]
    url = f"/curriculum/{version['id']}/profiles/{basis['id']}/toning/{municipality_id}"

    await login(demo_client, COORDINATOR)
    assert (await demo_client.get(url)).status_code == 200
    clash = await post_form(demo_client, url, {
        "description": "Hos os", "competence_code": ["basis-samarbejde"], "competence_name": ["Dublet"],
    })
    assert clash.status_code == 400 and "er brugt før" in clash.text
    assert not await Competence.exists().where(Competence.municipality == municipality_id)

    saved = await post_form(demo_client, url, {
        "description": "Hos os arbejder alle med den lokale uddannelsesgaranti.",
        "competence_code": ["lokal-garanti", ""], "competence_name": ["Kender uddannelsesgarantien", ""],
        "competence_description": ["", ""],
    })
    assert saved.status_code == 303, saved.text[:500]
    page = await demo_client.get(url + "?saved=1")
    assert "Hos os arbejder alle" in page.text and 'value="lokal-garanti"' in page.text

    own = {c["code"] for c in await participation.competences_to_assess(sara["id"])}
    assert "lokal-garanti" in own and "basis-samarbejde" in own
    await demo_client.post("/logout", data={"_csrf_token": demo_client.cookies.get("csrftoken")})
    await login(demo_client, "deltager@intro.example")
    assessment = await demo_client.get("/plan/self-assessment")
    assert "Kender uddannelsesgarantien" in assessment.text
    assert "Hos os arbejder alle med den lokale uddannelsesgaranti." in assessment.text
    await demo_client.post("/logout", data={"_csrf_token": demo_client.cookies.get("csrftoken")})
    await login(demo_client, COORDINATOR)
    # Someone from another municipality of the same version does not get it.
    other = await Enrolment.select(Enrolment.person).where(Enrolment.municipality != municipality_id).first()
    assert "lokal-garanti" not in {c["code"] for c in await participation.competences_to_assess(other["person"])}
    # The shared version's content is untouched.
    assert curriculum.content_hash(await curriculum.version_content(version["id"])) == before_hash

    # Once saved, a local competence cannot be dropped (self-assessments point at it).
    dropped = await post_form(demo_client, url, {"description": "x"})
    assert dropped.status_code == 400 and "kan ikke fjernes" in dropped.text
    assert await AuditLog.exists().where(AuditLog.action == "profile.tone")


async def test_the_chiefs_overview_shows_a_local_competence_once_five_have_rated_it(db):
    version = await _version()
    basis = await Profile.select().where((Profile.code == "basis") & (Profile.curriculum_version == version["id"])).first()
    municipality_id = (await Municipality.insert(Municipality(code="370", name="Næstved")).returning(Municipality.id))[0]["id"]
    local = (await Competence.insert(Competence(
        curriculum_version=version["id"], profile=basis["id"], code="lokal-x", name="Lokal X", municipality=municipality_id,
    )).returning(Competence.id))[0]["id"]
    ratings = [(person, local, "start", 3) for person in range(1, 6)]
    figures = competences.summarise(ratings, {local: ("Lokal X", "Basisprofil")})
    assert figures[0].start_mean == 3.0
    assert competences.summarise(ratings[:4], {local: ("Lokal X", "Basisprofil")})[0].start_mean is None
    assert await SelfAssessment.count() == 0  # summarise is pure; nothing was written
