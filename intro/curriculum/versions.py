"""The shared curriculum: read a version file, validate it, load it into the database.

A curriculum file is TOML (see curriculum/README.md). Validation reports every problem
at once, each with the file and the path of the field. Loading is idempotent: the same
content is never loaded twice, and changed content becomes a new version, so a version
that cohorts use is never modified.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import tomli_w

from intro import audit, clock
from intro.db import write_transaction
from intro.errors import Invalid, NotFound
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


def item_path(kind: str, index: int, item: Any) -> str:
    """Where the validator reports the problems of item `index` of `kind` ("modules",
    "strands", "profiles"), e.g. "modules[3] (LOV-1)"."""
    code = item.get("code", "") if isinstance(item, dict) else ""
    return _where(kind, index, str(code))


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
    """Load one file (see `load_content`); raises CurriculumInvalid with every problem."""
    return await load_content(read_file(path), path.name, actor_id)


def stored_content(data: dict) -> dict:
    """The parsed content as JSON can hold it: dates become ISO text (2026-01-01). The
    content hash is the same either way, because it is taken over the same text."""
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


def content_from_stored(stored: dict) -> dict:
    """Back from `stored_content`: `curriculum.valid_from`, the one date a valid file
    has, is a date again, so the content dumps as TOML exactly as the file had it."""
    data = json.loads(json.dumps(stored))
    head = data.get("curriculum")
    if isinstance(head, dict) and isinstance(head.get("valid_from"), str):
        with contextlib.suppress(ValueError):  # else kept as text; the validator names it
            head["valid_from"] = date.fromisoformat(head["valid_from"])
    return data


async def load_content(
    data: dict, source_file: str, actor_id: int | None, action: str = "curriculum.load"
) -> SyncResult:
    """Load validated content as a new immutable version, or find the version that has
    exactly this content already (then nothing is written: created=False). A new
    version under an existing label gets the next revision. Written in one transaction
    with its audit line (`action`)."""
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
                    source_file=source_file,
                    content_hash=digest,
                    valid_from=head.get("valid_from"),
                    content=stored_content(data),
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
            action,
            "curriculum_version",
            version_id,
            label=label,
            revision=revision,
            file=source_file,
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


def _lines(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]


def module_from_form(form: dict[str, Any]) -> dict:
    """A module as the curriculum file holds it, from the module form's fields (every
    value text; `objectives` one per line; `competences` and `prerequisites` as lists of
    codes or lines). Nothing is checked here: what cannot be read is kept as typed, so
    `check_module` names the field (hours "abc" stay "abc"). Empty optional fields are
    left out, as a file would leave them out."""
    raw_hours = str(form.get("duration_hours", "")).replace(",", ".").strip()
    hours: Any
    try:
        hours = float(raw_hours)
    except ValueError:
        hours = raw_hours
    else:
        if not math.isfinite(hours):
            hours = raw_hours
        elif hours.is_integer():
            hours = int(hours)
    raw_days = str(form.get("days", "1")).strip() or "1"
    days: Any = int(raw_days) if raw_days.isdigit() else raw_days
    module: dict[str, Any] = {
        "code": str(form.get("code", "")).strip().upper(),
        "title": str(form.get("title", "")).strip(),
        "strand": str(form.get("strand", "")).strip(),
        "format": str(form.get("format", "")).strip(),
    }
    if raw_hours:
        module["duration_hours"] = hours
    module["days"] = days
    for key in ("summary",):
        if str(form.get(key, "")).strip():
            module[key] = str(form[key]).strip()
    module["objectives"] = _lines(form.get("objectives"))
    module["competences"] = _lines(form.get("competences"))
    if _lines(form.get("prerequisites")):
        module["prerequisites"] = _lines(form.get("prerequisites"))
    if str(form.get("preparation", "")).strip():
        module["preparation"] = str(form["preparation"]).strip()
    module["transfer"] = {
        "title": str(form.get("transfer_title", "")).strip(),
        "assignment": str(form.get("transfer_assignment", "")).replace("\r\n", "\n").strip(),
    }
    return module


def module_to_form(module: dict) -> dict[str, Any]:
    """The module form's fields for a module of a curriculum file (inverse of
    `module_from_form` for the fields the form has)."""
    transfer = module.get("transfer") if isinstance(module.get("transfer"), dict) else {}
    hours = module.get("duration_hours", "")
    return {
        "code": module.get("code", ""),
        "title": module.get("title", ""),
        "strand": module.get("strand", ""),
        "format": module.get("format", ""),
        "duration_hours": str(hours).replace(".", ","),
        "days": str(module.get("days", 1)),
        "summary": module.get("summary", ""),
        "objectives": "\n".join(str(o) for o in module.get("objectives", []) or []),
        "competences": [str(c) for c in module.get("competences", []) or []],
        "prerequisites": [str(p) for p in module.get("prerequisites", []) or []],
        "preparation": module.get("preparation", ""),
        "transfer_title": transfer.get("title", ""),
        "transfer_assignment": transfer.get("assignment", ""),
    }


def field_errors(problems: list[Problem], prefix: str) -> dict[str, str]:
    """The problems under one path (e.g. "modules[3] (LOV-1)") as form field -> message,
    the first message per field: "...transfer.title" is the field transfer_title."""
    errors: dict[str, str] = {}
    for problem in problems:
        if problem.path == prefix or problem.path.startswith(prefix + "."):
            field_name = problem.path.removeprefix(prefix).lstrip(".").split("[")[0]
            errors.setdefault(field_name.replace(".", "_") or "code", problem.message)
    return errors


async def _local_module_checked(
    version_id: int, municipality_id: int, form: dict[str, Any], module_id: int | None = None
) -> tuple[dict, dict[str, int], dict[str, int], dict[str, int]]:
    """The module from its form, checked by the file's rules against the version (its
    strands, the shared competences and the municipality's own, the other modules).
    Returns (module, strand ids, competence ids, module ids) or raises Invalid."""
    strands = {
        r["code"]: r["id"]
        for r in await Strand.select(Strand.code, Strand.id).where(
            Strand.curriculum_version == version_id
        )
    }
    competences = {
        r["code"]: r["id"]
        for r in await Competence.select(Competence.code, Competence.id).where(
            (Competence.curriculum_version == version_id)
            & (Competence.municipality.is_null() | (Competence.municipality == municipality_id))
        )
    }
    modules = {
        r["code"]: r["id"]
        for r in await Module.select(Module.code, Module.id).where(
            Module.curriculum_version == version_id
        )
        if r["id"] != module_id
    }
    municipality = await Municipality.select(Municipality.code).where(
        Municipality.id == municipality_id
    ).first()
    if not strands or municipality is None:
        raise Invalid({"municipality": _("Ukendt kommune eller læreplan.")})

    module = module_from_form(form)
    code = module["code"]
    check = _Checker("")
    check_module(check, module, "module", set(strands), set(competences))
    errors = field_errors(check.problems, "module")
    for prerequisite in module.get("prerequisites", []):
        if prerequisite not in modules:
            errors.setdefault(
                "prerequisites", _("ukendt modul '{code}'").format(code=prerequisite)
            )
    if code and code in modules:
        errors.setdefault("code", _("koden '{code}' er brugt før").format(code=code))
    if errors:
        raise Invalid(errors)
    return module, strands, competences, modules


async def add_local_module(
    actor_id: int | None, version_id: int, municipality_id: int, form: dict[str, Any]
) -> int:
    """A municipality's own module on top of a shared version. The version's shared
    content is not touched; the module is validated by the same rules as the file."""
    module, strands, competences, modules = await _local_module_checked(
        version_id, municipality_id, form
    )
    code = module["code"]
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


async def local_module(module_id: int) -> dict | None:
    """A local module's row (municipality set), or None for a shared or unknown one."""
    row = await Module.select().where(
        (Module.id == module_id) & Module.municipality.is_not_null()
    ).output(load_json=True).first()
    return row


async def update_local_module(actor_id: int | None, module_id: int, form: dict[str, Any]) -> None:
    """Correct a municipality's local module, checked as when it was added. Cohorts that
    have it see the correction; the audit line keeps the fields as they were, so the
    history is kept. Raises NotFound for a shared or unknown module, Invalid by field."""
    current = await local_module(module_id)
    if current is None:
        raise NotFound()
    module, strands, competences, modules = await _local_module_checked(
        current["curriculum_version"], current["municipality"], form, module_id
    )
    transfer = module["transfer"]
    values = {
        Module.code: module["code"],
        Module.title: module["title"].strip(),
        Module.summary: module.get("summary", "").strip(),
        Module.strand: strands[module["strand"]],
        Module.format: module["format"],
        Module.duration_minutes: round(module["duration_hours"] * 60),
        Module.days: module.get("days", 1),
        Module.objectives: [o.strip() for o in module["objectives"]],
        Module.preparation: module.get("preparation", "").strip(),
        Module.transfer_title: transfer["title"].strip(),
        Module.transfer_assignment: transfer["assignment"].strip(),
    }
    before = {
        column._meta.name: current[column._meta.name]
        for column in values
        if current[column._meta.name] != values[column]
    }
    async with write_transaction(Module._meta.db):
        await Module.update(values).where(Module.id == module_id)
        await ModuleCompetence.delete().where(ModuleCompetence.module == module_id)
        await ModulePrerequisite.delete().where(ModulePrerequisite.module == module_id)
        await _insert_links([module], {**modules, module["code"]: module_id}, competences)
        await audit.record(
            actor_id, "curriculum.update_local_module", "module", module_id, before=before,
        )


async def set_local_module_retired(actor_id: int | None, module_id: int, retired: bool) -> None:
    """Retire a local module (no longer offered to new cohorts; cohorts that have it keep
    it) or bring it back. Raises NotFound for a shared or unknown module."""
    if await local_module(module_id) is None:
        raise NotFound()
    async with write_transaction(Module._meta.db):
        await Module.update({Module.retired_at: clock.now() if retired else None}).where(
            Module.id == module_id
        )
        await audit.record(
            actor_id, "curriculum.retire_local_module", "module", module_id, retired=retired
        )


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
    competences = await Competence.select(
        *Competence.all_columns(), Competence.municipality.name.as_alias("municipality_name")
    ).where(Competence.curriculum_version == version_id).order_by(Competence.position)
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


# --------------------------------------------------------------------------------------
# A version as a file again


async def version_content(version_id: int) -> dict | None:
    """The content of a version in the shape of a curriculum file (dates as dates), or
    None if there is no such version. Versions loaded since issue 17 keep the exact
    content they were loaded from; older ones are rebuilt from their rows (shared
    modules only; the header's description was not kept and is left out)."""
    version = await CurriculumVersion.select().where(CurriculumVersion.id == version_id).first()
    if version is None:
        return None
    stored = version.get("content")
    if isinstance(stored, str):
        stored = json.loads(stored)
    if stored:
        return content_from_stored(stored)
    return await _rebuild_content(version)


def _optional(target: dict, key: str, value: str) -> None:
    if value:
        target[key] = value


async def _rebuild_content(version: dict) -> dict:
    version_id = version["id"]
    head: dict[str, Any] = {"label": version["label"], "title": version["title"]}
    if version["valid_from"]:
        head["valid_from"] = version["valid_from"]
    strands = await Strand.select().where(Strand.curriculum_version == version_id).order_by(
        Strand.position
    )
    profiles = await Profile.select().where(Profile.curriculum_version == version_id).order_by(
        Profile.position
    )
    competences = await Competence.select().where(
        (Competence.curriculum_version == version_id) & Competence.municipality.is_null()
    ).order_by(Competence.position)
    modules = await Module.select().where(
        (Module.curriculum_version == version_id) & Module.municipality.is_null()
    ).order_by(Module.position).output(load_json=True)
    module_ids = [m["id"] for m in modules] or [0]
    links = await ModuleCompetence.select(
        ModuleCompetence.module, ModuleCompetence.competence.code.as_alias("code")
    ).where(ModuleCompetence.module.is_in(module_ids)).order_by(ModuleCompetence.id)
    requires = await ModulePrerequisite.select(
        ModulePrerequisite.module, ModulePrerequisite.requires.code.as_alias("code")
    ).where(ModulePrerequisite.module.is_in(module_ids)).order_by(ModulePrerequisite.id)
    strand_code = {s["id"]: s["code"] for s in strands}
    data: dict[str, Any] = {"curriculum": head, "strands": [], "profiles": [], "modules": []}
    for s in strands:
        item = {"code": s["code"], "name": s["name"]}
        _optional(item, "description", s["description"])
        data["strands"].append(item)
    for p in profiles:
        item = {"code": p["code"], "name": p["name"], "kind": p["kind"]}
        _optional(item, "description", p["description"])
        item["competences"] = []
        for c in competences:
            if c["profile"] == p["id"]:
                competence = {"code": c["code"], "name": c["name"]}
                _optional(competence, "description", c["description"])
                item["competences"].append(competence)
        data["profiles"].append(item)
    for m in modules:
        hours = m["duration_minutes"] / 60
        item = {
            "code": m["code"],
            "title": m["title"],
            "strand": strand_code[m["strand"]],
            "format": m["format"],
            "duration_hours": int(hours) if hours.is_integer() else hours,
            "days": m["days"],
        }
        _optional(item, "summary", m["summary"])
        item["objectives"] = list(m["objectives"] or [])
        item["competences"] = [r["code"] for r in links if r["module"] == m["id"]]
        prerequisites = [r["code"] for r in requires if r["module"] == m["id"]]
        if prerequisites:
            item["prerequisites"] = prerequisites
        _optional(item, "preparation", m["preparation"])
        item["transfer"] = {"title": m["transfer_title"], "assignment": m["transfer_assignment"]}
        data["modules"].append(item)
    return data


def to_toml(data: dict) -> str:
    """The content as a curriculum file that `read_file` parses back to the same content
    (the same `content_hash`). Multi-line texts are written as multi-line strings."""
    header = _(
        "# Fælles læreplan, hentet fra Intro. Filen kan rettes og indlæses igen med\n"
        "# «python app.py curriculum sync» eller lægges op som et udkast på siden Læreplan.\n"
    )
    return header + "\n" + tomli_w.dumps(_without_none(data), multiline_strings=True)


def _without_none(value: Any) -> Any:
    """TOML has no null: an empty field is left out, as a file would leave it out."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value if v is not None]
    return value
