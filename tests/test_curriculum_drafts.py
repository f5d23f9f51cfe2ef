"""Curriculum drafts in the browser (issue 17): start, edit with live validation, diff,
publish as an immutable version, and the TOML file's exact round trip."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from intro.curriculum import drafts as curriculum_drafts
from intro.curriculum import versions as curriculum
from intro.tables import AuditLog, CurriculumDraft, CurriculumVersion, Module, Partnership, Person
from tests.conftest import login, post_form

COORDINATOR = "koordinator@intro.example"
SHIPPED = Path(__file__).resolve().parent.parent / "curriculum" / "2026.1.toml"
SHIPPED_CONTENT = curriculum.read_file(SHIPPED)


async def _version() -> dict:
    return await CurriculumVersion.select().order_by(CurriculumVersion.id).first()


async def _start_draft(client) -> int:
    await login(client, COORDINATOR)
    version = await _version()
    partnership = await Partnership.select(Partnership.id).first()
    response = await post_form(
        client, "/curriculum/drafts", {"version": version["id"], "partnership": partnership["id"]}
    )
    assert response.status_code == 303, response.text[:500]
    return int(response.headers["location"].split("/")[-1].split("?")[0])


def _module_form(content: dict, old_code: str, **changes) -> dict:
    _index, module = curriculum_drafts.find_item(content, "modules", old_code)
    form = curriculum.module_to_form(module)
    return {**form, "old_code": old_code, **changes}


async def _draft(draft_id: int) -> dict:
    return await CurriculumDraft.select().where(CurriculumDraft.id == draft_id).output(load_json=True).first()


async def _actions(email: str) -> list[str]:
    person = await Person.select(Person.id).where(Person.email == email).first()
    rows = await AuditLog.select(AuditLog.action).where(AuditLog.actor == person["id"])
    return [r["action"] for r in rows]


async def test_a_coordinator_drafts_edits_a_module_sees_the_diff_and_publishes(demo_client):
    old = await _version()
    old_lov1 = await Module.select().where(
        (Module.curriculum_version == old["id"]) & (Module.code == "LOV-1")
    ).first()
    draft_id = await _start_draft(demo_client)

    page = await demo_client.get(f"/curriculum/drafts/{draft_id}")
    assert page.status_code == 200
    assert "Ingen problemer – udkastet kan udgives." in page.text

    content = curriculum_drafts.draft_content(await _draft(draft_id))
    index, _module = curriculum_drafts.find_item(content, "modules", "LOV-1")
    edit = await demo_client.get(f"/curriculum/drafts/{draft_id}/items/modules/{index}")
    assert edit.status_code == 200 and 'value="LOV-1"' in edit.text
    saved = await post_form(
        demo_client,
        f"/curriculum/drafts/{draft_id}/items/modules",
        _module_form(content, "LOV-1", title="Lovgivning i praksis", duration_hours="4,5"),
    )
    assert saved.status_code == 303, saved.text[:500]

    diff = await demo_client.get(f"/curriculum/drafts/{draft_id}/diff")
    assert diff.status_code == 200
    assert "Modul LOV-1" in diff.text and "Varighed i timer" in diff.text
    assert "<ins>4.5</ins>" in diff.text and "<ins>Lovgivning i praksis</ins>" in diff.text

    published = await post_form(demo_client, f"/curriculum/drafts/{draft_id}/publish")
    assert published.status_code == 303, published.text[:800]
    new_id = int(published.headers["location"].split("/")[2].split("?")[0])
    assert new_id != old["id"]
    new = await CurriculumVersion.select().where(CurriculumVersion.id == new_id).first()
    assert (new["label"], new["revision"]) == (old["label"], old["revision"] + 1)
    new_lov1 = await Module.select().where(
        (Module.curriculum_version == new_id) & (Module.code == "LOV-1")
    ).first()
    assert new_lov1["duration_minutes"] == 270 and new_lov1["title"] == "Lovgivning i praksis"
    # The old version is untouched.
    assert await Module.select().where(Module.id == old_lov1["id"]).first() == old_lov1

    # The draft is closed: no more edits.
    closed = await post_form(
        demo_client,
        f"/curriculum/drafts/{draft_id}/items/modules",
        _module_form(content, "LOV-1", title="Igen"),
    )
    assert closed.status_code == 400 and "Udkastet er lukket" in closed.text
    assert (await _draft(draft_id))["published_version"] == new_id
    actions = await _actions(COORDINATOR)
    for action in ("curriculum.draft_start", "curriculum.draft_edit", "curriculum.publish"):
        assert action in actions, action


async def test_the_live_check_names_each_field_and_saves_nothing(demo_client):
    draft_id = await _start_draft(demo_client)
    before = (await _draft(draft_id))["content"]
    content = curriculum_drafts.draft_content(await _draft(draft_id))
    check = await post_form(
        demo_client,
        f"/curriculum/drafts/{draft_id}/items/modules/check",
        _module_form(content, "LOV-1", duration_hours="abc", transfer_title="", strand="ukendt"),
    )
    assert check.status_code == 200
    for text in ("Varighed i timer", "Transferopgavens titel", "Spor", "ukendt spor"):
        assert text in check.text, text
    assert (await _draft(draft_id))["content"] == before


async def test_a_draft_with_problems_is_saved_but_not_published(demo_client):
    draft_id = await _start_draft(demo_client)
    content = curriculum_drafts.draft_content(await _draft(draft_id))
    saved = await post_form(
        demo_client,
        f"/curriculum/drafts/{draft_id}/items/modules",
        _module_form(content, "LOV-1", days="0"),
    )
    assert saved.status_code == 303
    page = await demo_client.get(f"/curriculum/drafts/{draft_id}")
    assert "Modul LOV-1</a> – Antal kursusdage: skal være et helt antal dage" in page.text
    versions = await CurriculumVersion.count()
    refused = await post_form(demo_client, f"/curriculum/drafts/{draft_id}/publish")
    assert refused.status_code == 400 and "kan ikke udgives" in refused.text
    assert await CurriculumVersion.count() == versions


async def test_a_draft_like_its_version_is_not_published_again(demo_client):
    draft_id = await _start_draft(demo_client)
    diff = await demo_client.get(f"/curriculum/drafts/{draft_id}/diff")
    assert "Udkastet er magen til versionen" in diff.text
    versions = await CurriculumVersion.count()
    refused = await post_form(demo_client, f"/curriculum/drafts/{draft_id}/publish")
    assert refused.status_code == 400 and "præcis samme indhold" in refused.text
    assert await CurriculumVersion.count() == versions


async def test_renaming_a_module_renames_the_prerequisites_that_name_it(demo_client):
    draft_id = await _start_draft(demo_client)
    content = curriculum_drafts.draft_content(await _draft(draft_id))
    assert any("LOV-1" in m.get("prerequisites", []) for m in content["modules"])
    saved = await post_form(
        demo_client,
        f"/curriculum/drafts/{draft_id}/items/modules",
        _module_form(content, "LOV-1", code="LOV-01"),
    )
    assert saved.status_code == 303
    after = curriculum_drafts.draft_content(await _draft(draft_id))
    assert curriculum_drafts.problems(after) == []
    assert not any("LOV-1" in m.get("prerequisites", []) for m in after["modules"])


async def test_a_coordinator_edits_strands_and_profiles_and_removes_a_module(demo_client):
    draft_id = await _start_draft(demo_client)
    strand = await post_form(
        demo_client,
        f"/curriculum/drafts/{draft_id}/items/strands",
        {"code": "digital", "name": "Digital sagsbehandling", "description": "Systemerne"},
    )
    assert strand.status_code == 303
    profile = await post_form(
        demo_client,
        f"/curriculum/drafts/{draft_id}/items/profiles",
        {
            "code": "ny-profil", "name": "Ny profil", "kind": "specialist",
            "competence_code": ["ny-1", "", "ny-2"],
            "competence_name": ["Første", "", "Anden"],
            "competence_description": ["", "", "Med tekst"],
        },
    )
    assert profile.status_code == 303
    removed = await post_form(demo_client, f"/curriculum/drafts/{draft_id}/items/modules/remove", {"code": "VIR-3"})
    assert removed.status_code == 303
    content = curriculum_drafts.draft_content(await _draft(draft_id))
    assert curriculum_drafts.find_item(content, "strands", "digital")[1]["name"] == "Digital sagsbehandling"
    assert curriculum_drafts.find_item(content, "profiles", "ny-profil")[1]["competences"] == [
        {"code": "ny-1", "name": "Første"},
        {"code": "ny-2", "name": "Anden", "description": "Med tekst"},
    ]
    assert curriculum_drafts.find_item(content, "modules", "VIR-3") is None
    kinds = {(c.section, c.kind) for c in curriculum_drafts.diff(SHIPPED_CONTENT, content)}
    assert {("strands", "added"), ("profiles", "added"), ("competences", "added"), ("modules", "removed")} <= kinds
    assert {"curriculum.draft_edit", "curriculum.draft_remove"} <= set(await _actions(COORDINATOR))


async def test_a_version_downloads_as_toml_that_sync_reads_back_to_the_same_version(demo_client, tmp_path):
    await login(demo_client, COORDINATOR)
    version = await _version()
    response = await demo_client.get(f"/curriculum/{version['id']}/file.toml")
    assert response.status_code == 200
    assert response.headers["content-disposition"].endswith('.toml"')
    path = tmp_path / "downloaded.toml"
    path.write_bytes(response.content)
    result = await curriculum.sync_file(path)
    assert (result.created, result.version_id) == (False, version["id"])
    assert curriculum.content_hash(tomllib.loads(response.text)) == version["content_hash"]


async def test_a_published_draft_downloads_and_uploads_to_the_same_content(demo_client, tmp_path):
    draft_id = await _start_draft(demo_client)
    content = curriculum_drafts.draft_content(await _draft(draft_id))
    await post_form(
        demo_client,
        f"/curriculum/drafts/{draft_id}/items/modules",
        _module_form(content, "SAM-1", summary='Med "citat", \\ og\nflere linjer – æøå'),
    )
    published = await post_form(demo_client, f"/curriculum/drafts/{draft_id}/publish")
    new_id = int(published.headers["location"].split("/")[2].split("?")[0])
    file = await demo_client.get(f"/curriculum/{new_id}/file.toml")
    path = tmp_path / "new.toml"
    path.write_bytes(file.content)
    assert (await curriculum.sync_file(path)).version_id == new_id

    # Uploaded again as a draft, it is the same content: nothing to publish.
    partnership = await Partnership.select(Partnership.id).first()
    uploaded = await demo_client.post(
        "/curriculum/drafts/upload",
        data={"partnership": str(partnership["id"]), "version": str(new_id),
              "_csrf_token": demo_client.cookies.get("csrftoken")},
        files={"file": ("new.toml", file.content, "application/toml")},
    )
    assert uploaded.status_code == 303, uploaded.text[:500]
    upload_id = int(uploaded.headers["location"].split("/")[-1].split("?")[0])
    diff = await demo_client.get(f"/curriculum/drafts/{upload_id}/diff")
    assert "Udkastet er magen til versionen" in diff.text
    assert "curriculum.draft_upload" in await _actions(COORDINATOR)


async def test_a_file_that_is_not_toml_is_refused_naming_the_field(demo_client):
    await login(demo_client, COORDINATOR)
    partnership = await Partnership.select(Partnership.id).first()
    drafts = await CurriculumDraft.count()
    response = await demo_client.post(
        "/curriculum/drafts/upload",
        data={"partnership": str(partnership["id"]), "_csrf_token": demo_client.cookies.get("csrftoken")},
        files={"file": ("x.toml", b"[curriculum\nlabel = ", "application/toml")},
    )
    assert response.status_code == 400
    assert "Filen er ikke gyldig TOML" in response.text and 'id="f-file-error"' in response.text
    deep = await demo_client.post(
        "/curriculum/drafts/upload",
        data={"partnership": str(partnership["id"]), "_csrf_token": demo_client.cookies.get("csrftoken")},
        files={"file": ("deep.toml", b"a = " + b"[" * 100_000, "application/toml")},
    )
    assert deep.status_code == 400 and "indlejret for dybt" in deep.text
    assert await CurriculumDraft.count() == drafts


def _stripped(value):
    if isinstance(value, dict):
        return {k: _stripped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stripped(v) for v in value]
    return value.strip() if isinstance(value, str) else value


async def test_a_version_loaded_before_issue_17_is_rebuilt_from_its_rows(db):
    version = await _version()
    await CurriculumVersion.update({CurriculumVersion.content: None}).where(
        CurriculumVersion.id == version["id"]
    )
    rebuilt = await curriculum.version_content(version["id"])
    expected = _stripped(copy.deepcopy(SHIPPED_CONTENT))  # the rows hold trimmed texts
    del expected["curriculum"]["description"]  # never kept in the rows
    for module in expected["modules"]:  # nor were empty optional fields ("prerequisites = []")
        for key in [k for k, v in module.items() if v in ([], "")]:
            del module[key]
    assert curriculum_drafts.diff(expected, rebuilt) == []
    assert curriculum.validate(tomllib.loads(curriculum.to_toml(rebuilt)), "x") == []


async def test_drafts_are_never_offered_to_cohorts(demo_client):
    draft_id = await _start_draft(demo_client)
    assert draft_id
    page = await demo_client.get("/cohorts/new?partnership=" + str((await Partnership.select(Partnership.id).first())["id"]))
    assert page.status_code == 200
    assert "udkast" not in page.text.lower()


# --------------------------------------------------------------------------------------
# Properties over many edited contents.

TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), include_characters="\n\t\"\\'"),
    min_size=0,
    max_size=30,
)
MODULE_CODES = [m["code"] for m in SHIPPED_CONTENT["modules"]]


@st.composite
def edited_contents(draw) -> dict:
    """The shipped content after a few random edits (some leave it invalid)."""
    content = copy.deepcopy(SHIPPED_CONTENT)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["field", "hours", "remove", "swap", "header", "rename", "competence"]))
        modules = content["modules"]
        if not modules:
            break
        i = draw(st.integers(0, len(modules) - 1))
        if op == "field":
            key = draw(st.sampled_from(["title", "summary", "preparation"]))
            modules[i][key] = draw(TEXT)
        elif op == "hours":
            modules[i]["duration_hours"] = draw(st.sampled_from([1, 1.5, 2.25, 3, 7, 7.5]))
        elif op == "remove":
            content = curriculum_drafts.remove_item(content, "modules", modules[i]["code"])
        elif op == "swap":
            j = draw(st.integers(0, len(modules) - 1))
            modules[i], modules[j] = modules[j], modules[i]
        elif op == "header":
            content["curriculum"]["title"] = draw(TEXT)
        elif op == "rename":
            new_code = draw(st.from_regex(r"\A[A-Z][A-Z0-9-]{0,6}\Z"))
            assume(new_code not in [m["code"] for m in modules])
            content = curriculum_drafts.replace_item(
                content, "modules", modules[i]["code"], {**modules[i], "code": new_code}
            )
        elif op == "competence":
            profile = draw(st.sampled_from(content["profiles"]))
            if profile["competences"]:
                profile["competences"][0]["name"] = draw(TEXT)
    return content


def _same(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


@settings(max_examples=150, deadline=None)
@given(edited_contents(), edited_contents())
def test_the_diff_is_empty_exactly_when_the_contents_are_the_same(a, b):
    assert (curriculum_drafts.diff(a, b) == []) == _same(a, b)
    assert curriculum_drafts.diff(a, a) == []
    # Every change names a section and, for items, a code in one of the two contents.
    for change in curriculum_drafts.diff(a, b):
        assert change.section in curriculum_drafts.SECTION_NAMES


@settings(max_examples=150, deadline=None)
@given(edited_contents())
def test_valid_content_survives_the_toml_file_and_the_database_json_exactly(content):
    assume(curriculum_drafts.problems(content) == [])
    again = tomllib.loads(curriculum.to_toml(content))
    assert curriculum.content_hash(again) == curriculum.content_hash(content)
    stored = curriculum.content_from_stored(curriculum.stored_content(content))
    assert curriculum.content_hash(stored) == curriculum.content_hash(content)
    assert curriculum_drafts.diff(content, again) == []


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(MODULE_CODES), st.from_regex(r"\A[A-Z][A-Z0-9-]{0,6}\Z"))
def test_renaming_a_module_in_a_valid_draft_keeps_it_valid(code, new_code):
    assume(new_code not in MODULE_CODES)
    _index, module = curriculum_drafts.find_item(SHIPPED_CONTENT, "modules", code)
    renamed = curriculum_drafts.replace_item(SHIPPED_CONTENT, "modules", code, {**module, "code": new_code})
    assert curriculum_drafts.problems(renamed) == []
    assert curriculum_drafts.problems(SHIPPED_CONTENT) == []  # the argument is not changed


async def test_a_coordinator_of_another_partnership_finds_no_such_draft(demo_client):
    from intro.demo.west_zealand import DEMO_PASSWORD
    from intro.people import accounts

    draft_id = await _start_draft(demo_client)
    other = (await Partnership.insert(Partnership(name="Nordjylland")).returning(Partnership.id))[0]["id"]
    person = await accounts.create_person(None, "anden.koordinator@intro.example", "Anne Anden", DEMO_PASSWORD)
    await accounts.grant_role(None, person, "coordinator", partnership_id=other)
    await demo_client.post("/logout", data={"_csrf_token": demo_client.cookies.get("csrftoken")})
    await login(demo_client, "anden.koordinator@intro.example")
    for url in (f"/curriculum/drafts/{draft_id}", f"/curriculum/drafts/{draft_id}/diff",
                f"/curriculum/drafts/{draft_id}/file.toml"):
        assert (await demo_client.get(url)).status_code == 404, url
    refused = await post_form(demo_client, f"/curriculum/drafts/{draft_id}/publish")
    assert refused.status_code == 404
    listing = await demo_client.get("/curriculum/drafts")
    assert f"/curriculum/drafts/{draft_id}" not in listing.text
    # Nor may they start a draft for a partnership they do not coordinate.
    version = await _version()
    first = await Partnership.select(Partnership.id).where(Partnership.id != other).first()
    response = await post_form(demo_client, "/curriculum/drafts", {"version": version["id"], "partnership": first["id"]})
    assert response.status_code == 400 and "Vælg et samarbejde, du er koordinator for." in response.text


def _profile_form(profile: dict) -> dict:
    competences = profile.get("competences", [])
    return {
        "code": profile["code"], "name": profile["name"], "kind": profile["kind"],
        "description": profile.get("description", ""),
        "competence_code": [c["code"] for c in competences],
        "competence_name": [c["name"] for c in competences],
        "competence_description": [c.get("description", "") for c in competences],
    }


@settings(max_examples=100, deadline=None)
@given(edited_contents())
def test_saving_a_form_without_changes_changes_nothing(content):
    """Every module, strand and profile read into its form and saved back is the same
    content, so the diff shows only what the coordinator really edited."""
    for module in content["modules"]:
        again = curriculum_drafts.keep_unchanged(module, curriculum.module_from_form(curriculum.module_to_form(module)))
        assert _same(again, module), module["code"]
    for strand in content["strands"]:
        form = {"code": strand["code"], "name": strand["name"], "description": strand.get("description", "")}
        assert _same(curriculum_drafts.keep_unchanged(strand, curriculum_drafts.strand_from_form(form)), strand)
    for profile in content["profiles"]:
        again = curriculum_drafts.keep_unchanged(profile, curriculum_drafts.profile_from_form(_profile_form(profile)))
        assert _same(again, profile), profile["code"]
