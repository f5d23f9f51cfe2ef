"""The shared curriculum: read a version file, validate it, load it into the database.

A curriculum file is TOML (see curriculum/README.md). Validation reports every problem
at once, each with the file and the path of the field. Loading is idempotent: the same
content is never loaded twice, and changed content becomes a new version, so a version
that cohorts use is never modified.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from intro import audit
from intro.db import write_transaction
from intro.errors import Invalid
from intro.i18n import _, ngettext
from intro.tables import (
    Cohort,
    Competence,
    CurriculumVersion,
    Module,
    ModuleCompetence,
    ModuleFormat,
    ModulePrerequisite,
    Municipality,
    Profile,
    ProfileKind,
    Strand,
)
from intro.timefmt import hours as hours_text

LABEL_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$")
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MODULE_CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,39}$")
MAX_HOURS_PER_DAY = 7.5

FORMAT_NAMES = {
    ModuleFormat.classroom.value: _("Holdundervisning"),
    ModuleFormat.online.value: _("Online"),
    ModuleFormat.on_the_job.value: _("I eget jobcenter"),
}


@dataclass(frozen=True)
class Problem:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


class CurriculumInvalid(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


# --------------------------------------------------------------------------------------
# Validation: pure functions over the parsed file.

_ALLOWED_KEYS = {
    "": {"curriculum", "strands", "profiles", "modules"},
    "curriculum": {"label", "title", "valid_from", "description"},
    "strand": {"code", "name", "description"},
    "profile": {"code", "name", "kind", "description", "competences"},
    "competence": {"code", "name", "description"},
    "module": {
        "code", "title", "strand", "format", "duration_hours", "days", "summary",
        "objectives", "competences", "prerequisites", "preparation", "transfer",
    },
    "transfer": {"title", "assignment"},
}


class _Checker:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, path, message))

    def keys(self, table: Any, kind: str, path: str) -> None:
        if isinstance(table, dict):
            for key in sorted(set(table) - _ALLOWED_KEYS[kind]):
                self.add(f"{path}.{key}" if path else key, _("ukendt felt"))

    def text(self, table: dict, key: str, path: str, required: bool = True) -> str:
        value = table.get(key)
        if value is None:
            if required:
                self.add(f"{path}.{key}", _("mangler"))
            return ""
        if not isinstance(value, str):
            self.add(f"{path}.{key}", _("skal være tekst"))
            return ""
        if required and not value.strip():
            self.add(f"{path}.{key}", _("må ikke være tom"))
        return value.strip()

    def table_list(self, data: dict, key: str, path: str) -> list[dict]:
        value = data.get(key)
        if value is None:
            self.add(f"{path}{key}", _("mangler"))
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.add(f"{path}{key}", _("skal være en liste af tabeller ([[{key}]])").format(key=key))
            return []
        if not value:
            self.add(f"{path}{key}", _("skal have mindst ét element"))
        return value

    def string_list(self, table: dict, key: str, path: str, required: bool) -> list[str]:
        value = table.get(key)
        if value is None:
            if required:
                self.add(f"{path}.{key}", _("mangler"))
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(f"{path}.{key}", _("skal være en liste af tekster"))
            return []
        for i, item in enumerate(value):
            if not item.strip():
                self.add(f"{path}.{key}[{i}]", _("må ikke være tom"))
        if required and not value:
            self.add(f"{path}.{key}", _("skal have mindst ét element"))
        return [v.strip() for v in value]


def _where(kind: str, index: int, code: str) -> str:
    return f"{kind}[{index}]" + (f" ({code})" if code else "")


def check_module(
    check: _Checker,
    module: dict,
    path: str,
    strands: set[str],
    competences: set[str],
) -> tuple[str, list[str]]:
    """Check one module's own fields. Returns (code, prerequisites); references to
    other modules are checked by the caller, who knows them all."""
    check.keys(module, "module", path)
    code = check.text(module, "code", path)
    if code and not MODULE_CODE_PATTERN.match(code):
        check.add(f"{path}.code", _("kun store bogstaver A-Z, cifre og bindestreg"))
    check.text(module, "title", path)
    strand = check.text(module, "strand", path)
    if strand and strand not in strands:
        check.add(f"{path}.strand", _("ukendt spor '{code}'").format(code=strand))
    fmt = check.text(module, "format", path)
    if fmt and fmt not in FORMAT_NAMES:
        check.add(
            f"{path}.format",
            _("skal være en af {values}").format(values=", ".join(FORMAT_NAMES)),
        )
    hours = module.get("duration_hours")
    days = module.get("days", 1)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 20:
        check.add(f"{path}.days", _("skal være et helt antal dage fra 1 til 20"))
        days = 1
    if hours is None:
        check.add(f"{path}.duration_hours", _("mangler"))
    elif (
        isinstance(hours, bool)
        or not isinstance(hours, int | float)
        or hours <= 0
        or round(hours * 4) != hours * 4
    ):
        check.add(
            f"{path}.duration_hours",
            _("skal være et positivt antal timer i hele kvarter, fx 3 eller 1.5"),
        )
    elif hours / days > MAX_HOURS_PER_DAY:
        check.add(
            f"{path}.duration_hours",
            ngettext(
                "{hours} timer på {days} dag er mere end {max} timer om dagen",
                "{hours} timer på {days} dage er mere end {max} timer om dagen", days,
            ).format(hours=hours_text(hours), days=days, max=hours_text(MAX_HOURS_PER_DAY)),
        )
    if "summary" in module:
        check.text(module, "summary", path, required=False)
    if "preparation" in module:
        check.text(module, "preparation", path, required=False)
    check.string_list(module, "objectives", path, required=True)
    for i, competence in enumerate(check.string_list(module, "competences", path, required=True)):
        if competence and competence not in competences:
            check.add(
                f"{path}.competences[{i}]", _("ukendt kompetence '{code}'").format(code=competence)
            )
    prerequisites = check.string_list(module, "prerequisites", path, required=False)
    transfer = module.get("transfer")
    if not isinstance(transfer, dict):
        check.add(f"{path}.transfer", _("mangler (en transferopgave med title og assignment)"))
    else:
        check.keys(transfer, "transfer", f"{path}.transfer")
        check.text(transfer, "title", f"{path}.transfer")
        check.text(transfer, "assignment", f"{path}.transfer")
    return code, prerequisites


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A prerequisite cycle as a list of codes (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt in graph and nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def validate(data: dict, file: str) -> list[Problem]:
    """Every problem in a parsed curriculum file; an empty list means it is good."""
    check = _Checker(file)
    check.keys(data, "", "")

    head = data.get("curriculum")
    if not isinstance(head, dict):
        check.add("curriculum", _("mangler ([curriculum] med label og title)"))
    else:
        check.keys(head, "curriculum", "curriculum")
        label = check.text(head, "label", "curriculum")
        if label and not LABEL_PATTERN.match(label):
            check.add("curriculum.label", _("kun bogstaver, cifre, punktum, - og _ (fx 2026.1)"))
        check.text(head, "title", "curriculum")
        if "valid_from" in head and not isinstance(head["valid_from"], date):
            check.add("curriculum.valid_from", _("skal være en dato, fx 2026-01-01"))

    strand_codes: set[str] = set()
    for i, strand in enumerate(check.table_list(data, "strands", "")):
        path = _where("strands", i, str(strand.get("code", "")))
        check.keys(strand, "strand", path)
        code = check.text(strand, "code", path)
        check.text(strand, "name", path)
        if code and not CODE_PATTERN.match(code):
            check.add(f"{path}.code", _("kun små bogstaver a-z, cifre og bindestreg"))
        if code in strand_codes:
            check.add(f"{path}.code", _("koden '{code}' er brugt før").format(code=code))
        strand_codes.add(code)

    competence_codes: set[str] = set()
    profile_codes: set[str] = set()
    base_profiles = 0
    for i, profile in enumerate(check.table_list(data, "profiles", "")):
        path = _where("profiles", i, str(profile.get("code", "")))
        check.keys(profile, "profile", path)
        code = check.text(profile, "code", path)
        check.text(profile, "name", path)
        if code and not CODE_PATTERN.match(code):
            check.add(f"{path}.code", _("kun små bogstaver a-z, cifre og bindestreg"))
        if code in profile_codes:
            check.add(f"{path}.code", _("koden '{code}' er brugt før").format(code=code))
        profile_codes.add(code)
        kind = check.text(profile, "kind", path)
        if kind == ProfileKind.base.value:
            base_profiles += 1
        elif kind and kind != ProfileKind.specialist.value:
            check.add(f"{path}.kind", _("skal være base eller specialist"))
        for j, competence in enumerate(check.table_list(profile, "competences", f"{path}.")):
            cpath = f"{path}." + _where("competences", j, str(competence.get("code", "")))
            check.keys(competence, "competence", cpath)
            ccode = check.text(competence, "code", cpath)
            check.text(competence, "name", cpath)
            if ccode and not CODE_PATTERN.match(ccode):
                check.add(f"{cpath}.code", _("kun små bogstaver a-z, cifre og bindestreg"))
            if ccode in competence_codes:
                check.add(f"{cpath}.code", _("koden '{code}' er brugt før").format(code=ccode))
            competence_codes.add(ccode)
    if "profiles" in data and base_profiles != 1:
        check.add("profiles", _("der skal være præcis én basisprofil (kind = \"base\")"))

    graph: dict[str, list[str]] = {}
    prerequisite_paths: list[tuple[str, str]] = []
    for i, module in enumerate(check.table_list(data, "modules", "")):
        path = _where("modules", i, str(module.get("code", "")))
        code, prerequisites = check_module(check, module, path, strand_codes, competence_codes)
        if code in graph:
            check.add(f"{path}.code", _("koden '{code}' er brugt før").format(code=code))
        graph.setdefault(code, []).extend(prerequisites)
        for j, prerequisite in enumerate(prerequisites):
            prerequisite_paths.append((f"{path}.prerequisites[{j}]", prerequisite))
            if prerequisite == code:
                check.add(f"{path}.prerequisites[{j}]", _("et modul kan ikke forudsætte sig selv"))
    for path, prerequisite in prerequisite_paths:
        if prerequisite and prerequisite not in graph:
            check.add(path, _("ukendt modul '{code}'").format(code=prerequisite))
    cycle = _find_cycle({k: [p for p in v if p != k] for k, v in graph.items()})
    if cycle:
        check.add(
            "modules",
            _("forudsætningerne danner en cirkel: {cycle}").format(cycle=" → ".join(cycle)),
        )
    return check.problems


def read_file(path: Path) -> dict:
    """Parse and validate one file; raise CurriculumInvalid with every problem."""
    name = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise CurriculumInvalid([Problem(name, "(fil)", _("filen skal være gemt som UTF-8"))]) from None
    except tomllib.TOMLDecodeError as error:
        raise CurriculumInvalid([Problem(name, "(syntaks)", str(error))]) from None
    problems = validate(data, name)
    if problems:
        raise CurriculumInvalid(problems)
    return data


def content_hash(data: dict) -> str:
    """Hash of the content, not the text: comments and layout do not make a new version."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --------------------------------------------------------------------------------------
# Loading into the database


@dataclass(frozen=True)
class SyncResult:
    version_id: int
    label: str
    revision: int
    created: bool


async def sync_file(path: Path, actor_id: int | None = None) -> SyncResult:
    data = read_file(path)
    digest = content_hash(data)
    head = data["curriculum"]
    label = head["label"].strip()
    existing = (
        await CurriculumVersion.select(CurriculumVersion.id, CurriculumVersion.revision)
        .where(CurriculumVersion.content_hash == digest)
        .first()
    )
    if existing:
        return SyncResult(existing["id"], label, existing["revision"], created=False)

    db = CurriculumVersion._meta.db
    async with write_transaction(db):
        latest = (
            await CurriculumVersion.select(CurriculumVersion.revision)
            .where(CurriculumVersion.label == label)
            .order_by(CurriculumVersion.revision, ascending=False)
            .first()
        )
        revision = (latest["revision"] + 1) if latest else 1
        version_id = (
            await CurriculumVersion.insert(
                CurriculumVersion(
                    label=label,
                    revision=revision,
                    title=head["title"].strip(),
                    source_file=path.name,
                    content_hash=digest,
                    valid_from=head.get("valid_from"),
                )
            ).returning(CurriculumVersion.id)
        )[0]["id"]
        strand_ids = {}
        for position, strand in enumerate(data["strands"]):
            strand_ids[strand["code"]] = (
                await Strand.insert(
                    Strand(
                        curriculum_version=version_id,
                        code=strand["code"],
                        name=strand["name"].strip(),
                        description=strand.get("description", "").strip(),
                        position=position,
                    )
                ).returning(Strand.id)
            )[0]["id"]
        competence_ids = {}
        for position, profile in enumerate(data["profiles"]):
            profile_id = (
                await Profile.insert(
                    Profile(
                        curriculum_version=version_id,
                        code=profile["code"],
                        name=profile["name"].strip(),
                        kind=profile["kind"],
                        description=profile.get("description", "").strip(),
                        position=position,
                    )
                ).returning(Profile.id)
            )[0]["id"]
            for cpos, competence in enumerate(profile["competences"]):
                competence_ids[competence["code"]] = (
                    await Competence.insert(
                        Competence(
                            curriculum_version=version_id,
                            profile=profile_id,
                            code=competence["code"],
                            name=competence["name"].strip(),
                            description=competence.get("description", "").strip(),
                            position=cpos,
                        )
                    ).returning(Competence.id)
                )[0]["id"]
        module_ids = {}
        for position, module in enumerate(data["modules"]):
            module_ids[module["code"]] = await _insert_module(
                version_id, strand_ids[module["strand"]], None, module, position
            )
        await _insert_links(data["modules"], module_ids, competence_ids)
        await audit.record(
            actor_id,
            "curriculum.load",
            "curriculum_version",
            version_id,
            label=label,
            revision=revision,
            file=path.name,
        )
    return SyncResult(version_id, label, revision, created=True)


async def _insert_module(
    version_id: int, strand_id: int, municipality_id: int | None, module: dict, position: int
) -> int:
    transfer = module["transfer"]
    row = await Module.insert(
        Module(
            curriculum_version=version_id,
            strand=strand_id,
            municipality=municipality_id,
            code=module["code"],
            title=module["title"].strip(),
            summary=module.get("summary", "").strip(),
            format=module["format"],
            duration_minutes=round(module["duration_hours"] * 60),
            days=module.get("days", 1),
            objectives=[o.strip() for o in module["objectives"]],
            preparation=module.get("preparation", "").strip(),
            transfer_title=transfer["title"].strip(),
            transfer_assignment=transfer["assignment"].strip(),
            position=position,
        )
    ).returning(Module.id)
    return row[0]["id"]


async def _insert_links(
    modules: list[dict], module_ids: dict[str, int], competence_ids: dict[str, int]
) -> None:
    links = [
        ModuleCompetence(module=module_ids[m["code"]], competence=competence_ids[c])
        for m in modules
        for c in dict.fromkeys(m["competences"])
    ]
    if links:
        await ModuleCompetence.insert(*links)
    prerequisites = [
        ModulePrerequisite(module=module_ids[m["code"]], requires=module_ids[p])
        for m in modules
        for p in dict.fromkeys(m.get("prerequisites", []))
    ]
    if prerequisites:
        await ModulePrerequisite.insert(*prerequisites)


async def sync_directory(directory: Path, actor_id: int | None = None) -> list[SyncResult]:
    """Load every version file in the folder, oldest label first. All files are
    validated before anything is written."""
    files = sorted(directory.glob("*.toml"))
    problems: list[Problem] = []
    for path in files:
        try:
            read_file(path)
        except CurriculumInvalid as error:
            problems.extend(error.problems)
    if problems:
        raise CurriculumInvalid(problems)
    return [await sync_file(path, actor_id) for path in files]


# --------------------------------------------------------------------------------------
# Local modules ("lokal toning")


async def add_local_module(
    actor_id: int | None, version_id: int, municipality_id: int, form: dict[str, Any]
) -> int:
    """A municipality's own module on top of a shared version. The version's shared
    content is not touched; the module is validated by the same rules as the file."""
    strands = {
        r["code"]: r["id"]
        for r in await Strand.select(Strand.code, Strand.id).where(
            Strand.curriculum_version == version_id
        )
    }
    competences = {
        r["code"]: r["id"]
        for r in await Competence.select(Competence.code, Competence.id).where(
            Competence.curriculum_version == version_id
        )
    }
    modules = {
        r["code"]: r["id"]
        for r in await Module.select(Module.code, Module.id).where(
            Module.curriculum_version == version_id
        )
    }
    municipality = await Municipality.select(Municipality.code).where(
        Municipality.id == municipality_id
    ).first()
    if not strands or municipality is None:
        raise Invalid({"municipality": _("Ukendt kommune eller læreplan.")})

    def lines(value: Any) -> list[str]:
        if isinstance(value, list):
            return [str(v).strip() for v in value if str(v).strip()]
        return [line.strip() for line in str(value or "").splitlines() if line.strip()]

    raw_hours = str(form.get("duration_hours", "")).replace(",", ".").strip()
    try:
        hours: Any = float(raw_hours)
    except ValueError:
        hours = raw_hours or None
    try:
        days: Any = int(str(form.get("days", "1")).strip() or "1")
    except ValueError:
        days = -1
    code = str(form.get("code", "")).strip().upper()
    module = {
        "code": code,
        "title": str(form.get("title", "")),
        "strand": str(form.get("strand", "")),
        "format": str(form.get("format", "")),
        "duration_hours": hours,
        "days": days,
        "summary": str(form.get("summary", "")),
        "objectives": lines(form.get("objectives")),
        "competences": lines(form.get("competences")),
        "prerequisites": lines(form.get("prerequisites")),
        "preparation": str(form.get("preparation", "")),
        "transfer": {
            "title": str(form.get("transfer_title", "")),
            "assignment": str(form.get("transfer_assignment", "")),
        },
    }
    check = _Checker("")
    check_module(check, module, "module", set(strands), set(competences))
    errors: dict[str, str] = {}
    for problem in check.problems:
        field_name = problem.path.removeprefix("module.").split("[")[0].replace(".", "_")
        errors.setdefault(field_name, problem.message)
    for prerequisite in module["prerequisites"]:
        if prerequisite not in modules:
            errors.setdefault(
                "prerequisites", _("ukendt modul '{code}'").format(code=prerequisite)
            )
    if code and code in modules:
        errors.setdefault("code", _("koden '{code}' er brugt før").format(code=code))
    if errors:
        raise Invalid(errors)

    async with write_transaction(Module._meta.db):
        module_id = await _insert_module(
            version_id, strands[module["strand"]], municipality_id, module, 100
        )
        await _insert_links([module], {**modules, code: module_id}, competences)
        await audit.record(
            actor_id,
            "curriculum.add_local_module",
            "module",
            module_id,
            code=code,
            municipality=municipality_id,
            version=version_id,
        )
    return module_id


# --------------------------------------------------------------------------------------
# Reading for the pages: everything a template needs, loaded up front.


async def list_versions() -> list[dict]:
    versions = await CurriculumVersion.select().order_by(CurriculumVersion.loaded_at, ascending=False)
    used = {
        r["curriculum_version"]
        for r in await Cohort.select(Cohort.curriculum_version).distinct()
    }
    module_counts: dict[int, int] = {}
    for r in await Module.select(Module.curriculum_version).where(Module.municipality.is_null()):
        module_counts[r["curriculum_version"]] = module_counts.get(r["curriculum_version"], 0) + 1
    for v in versions:
        v["in_use"] = v["id"] in used
        v["module_count"] = module_counts.get(v["id"], 0)
    return versions


async def version_detail(version_id: int) -> dict | None:
    version = await CurriculumVersion.select().where(CurriculumVersion.id == version_id).first()
    if version is None:
        return None
    strands = await Strand.select().where(Strand.curriculum_version == version_id).order_by(
        Strand.position
    )
    profiles = await Profile.select().where(Profile.curriculum_version == version_id).order_by(
        Profile.position
    )
    competences = await Competence.select().where(
        Competence.curriculum_version == version_id
    ).order_by(Competence.position)
    modules = await Module.select(
        *Module.all_columns(), Module.municipality.name.as_alias("municipality_name")
    ).where(Module.curriculum_version == version_id).order_by(Module.position).order_by(
        Module.code
    ).output(load_json=True)
    module_ids = [m["id"] for m in modules]
    links = (
        await ModuleCompetence.select(ModuleCompetence.module, ModuleCompetence.competence).where(
            ModuleCompetence.module.is_in(module_ids)
        )
        if module_ids
        else []
    )
    prerequisites = (
        await ModulePrerequisite.select(
            ModulePrerequisite.module, ModulePrerequisite.requires
        ).where(ModulePrerequisite.module.is_in(module_ids))
        if module_ids
        else []
    )
    competence_by_id = {c["id"]: c for c in competences}
    module_by_id = {m["id"]: m for m in modules}
    for m in modules:
        m["competences"] = []
        m["prerequisites"] = []
        m["required_by"] = []
        m["format_name"] = FORMAT_NAMES.get(m["format"], m["format"])
        m["hours"] = m["duration_minutes"] / 60
    for c in competences:
        c["modules"] = []
    for link in links:
        competence = competence_by_id[link["competence"]]
        module_by_id[link["module"]]["competences"].append(competence)
        competence["modules"].append(module_by_id[link["module"]])
    for p in prerequisites:
        module_by_id[p["module"]]["prerequisites"].append(module_by_id[p["requires"]])
        module_by_id[p["requires"]]["required_by"].append(module_by_id[p["module"]])
    for s in strands:
        s["modules"] = [m for m in modules if m["strand"] == s["id"]]
        s["hours"] = sum(m["hours"] for m in s["modules"] if m["municipality"] is None)
    for p in profiles:
        p["competences"] = [c for c in competences if c["profile"] == p["id"]]
    version["in_use"] = await Cohort.exists().where(Cohort.curriculum_version == version_id)
    return {
        "version": version,
        "strands": strands,
        "profiles": profiles,
        "modules": modules,
        "module_by_id": module_by_id,
        "shared_hours": sum(m["hours"] for m in modules if m["municipality"] is None),
    }
