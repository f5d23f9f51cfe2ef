"""Loading curriculum files into the database: idempotent, new content becomes a new
version, nothing half-written, and local modules on top of a version."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from intro.curriculum import versions as curriculum
from intro.curriculum.versions import CurriculumInvalid, sync_directory, sync_file
from intro.errors import Invalid
from intro.tables import (
    AuditLog,
    Competence,
    CurriculumVersion,
    Module,
    ModuleCompetence,
    ModulePrerequisite,
    Municipality,
    Profile,
    Strand,
)

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "curriculum").glob("*.toml"))[0]


async def counts() -> dict[str, int]:
    return {
        t.__name__: await t.count()
        for t in (CurriculumVersion, Strand, Profile, Competence, Module, ModuleCompetence, ModulePrerequisite)
    }


async def test_syncing_the_same_file_again_changes_nothing(db):
    before = await counts()
    assert before["CurriculumVersion"] == 1
    result = await sync_file(SHIPPED)
    assert result.created is False
    assert await counts() == before


async def test_the_loaded_version_matches_the_file(db):
    data = curriculum.read_file(SHIPPED)
    version = await CurriculumVersion.select().first()
    assert version["label"] == data["curriculum"]["label"]
    assert await Module.count() == len(data["modules"])
    first = data["modules"][0]
    module = await Module.select().where(Module.code == first["code"]).first()
    assert module["duration_minutes"] == round(first["duration_hours"] * 60)
    assert json.loads(module["objectives"]) == [o.strip() for o in first["objectives"]]
    links = await ModuleCompetence.count().where(ModuleCompetence.module == module["id"])
    assert links == len(set(first["competences"]))


async def test_a_comment_change_is_not_a_new_version(db, tmp_path):
    copy = tmp_path / SHIPPED.name
    copy.write_text("# en ny kommentar\n" + SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    assert (await sync_file(copy)).created is False


async def test_changed_content_becomes_a_new_revision_and_the_old_is_untouched(db, tmp_path):
    old = await CurriculumVersion.select().first()
    old_titles = {m["code"]: m["title"] for m in await Module.select(Module.code, Module.title)}
    changed = tmp_path / SHIPPED.name
    text = SHIPPED.read_text(encoding="utf-8")
    changed.write_text(text.replace('title = "Beskæftigelsesindsatsen', 'title = "Ny titel: Beskæftigelsesindsatsen', 1), encoding="utf-8")
    result = await sync_file(changed)
    assert result.created is True
    assert result.label == old["label"] and result.revision == old["revision"] + 1
    assert await CurriculumVersion.count() == 2
    # The first version's modules are exactly as before.
    still = {
        m["code"]: m["title"]
        for m in await Module.select(Module.code, Module.title).where(Module.curriculum_version == old["id"])
    }
    assert still == old_titles
    assert await AuditLog.exists().where(AuditLog.action == "curriculum.load")


async def test_a_broken_file_writes_nothing(db, tmp_path):
    folder = tmp_path / "curriculum"
    folder.mkdir()
    shutil.copy(SHIPPED, folder / "2026.1.toml")
    text = SHIPPED.read_text(encoding="utf-8").replace('label = "2026.1"', 'label = "2027.1"')
    (folder / "2027.1.toml").write_text(
        text.replace('prerequisites = ["LOV-1"]', 'prerequisites = ["LOV-99"]', 1), encoding="utf-8"
    )
    before = await counts()
    with pytest.raises(CurriculumInvalid) as error:
        await sync_directory(folder)
    assert any("LOV-99" in p.message and p.file == "2027.1.toml" for p in error.value.problems)
    assert await counts() == before


async def _local_form(**changes) -> dict:
    form = {
        "code": "LOK-NAE-1",
        "title": "Næstveds samarbejde med uddannelsesinstitutionerne",
        "strand": "tvaerfaglig",
        "format": "classroom",
        "duration_hours": "3",
        "days": "1",
        "objectives": "Kender de lokale uddannelsestilbud\nKan henvise til studievejledningen",
        "competences": ["basis-samarbejde"],
        "prerequisites": ["LOV-1"],
        "transfer_title": "Besøg en uddannelsesinstitution",
        "transfer_assignment": "Aftal et besøg, og fortæl kollegerne om det på næste teammøde.",
    }
    form.update(changes)
    return form


async def test_a_municipality_adds_a_local_module_without_touching_the_shared_ones(db):
    version = await CurriculumVersion.select().first()
    naestved = (await Municipality.insert(Municipality(code="370", name="Næstved")).returning(Municipality.id))[0]["id"]
    shared_before = await Module.count()
    module_id = await curriculum.add_local_module(None, version["id"], naestved, await _local_form())
    module = await Module.select().where(Module.id == module_id).first()
    assert module["municipality"] == naestved and module["duration_minutes"] == 180
    assert await Module.count() == shared_before + 1
    assert await ModulePrerequisite.exists().where(ModulePrerequisite.module == module_id)
    detail = await curriculum.version_detail(version["id"])
    assert detail["module_by_id"][module_id]["municipality_name"] == "Næstved"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "LOV-1"}, "code"),
        ({"strand": "ukendt"}, "strand"),
        ({"duration_hours": "0"}, "duration_hours"),
        ({"duration_hours": "tre"}, "duration_hours"),
        ({"objectives": ""}, "objectives"),
        ({"competences": []}, "competences"),
        ({"prerequisites": ["XX-1"]}, "prerequisites"),
        ({"transfer_assignment": " "}, "transfer_assignment"),
        ({"format": "webinar"}, "format"),
    ],
)
async def test_bad_local_module_names_the_field_and_writes_nothing(db, changes, field):
    version = await CurriculumVersion.select().first()
    naestved = (await Municipality.insert(Municipality(code="370", name="Næstved")).returning(Municipality.id))[0]["id"]
    before = await Module.count()
    with pytest.raises(Invalid) as error:
        await curriculum.add_local_module(None, version["id"], naestved, await _local_form(**changes))
    assert field in error.value.errors
    assert await Module.count() == before
