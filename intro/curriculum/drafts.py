"""Curriculum drafts: the next version of a partnership's curriculum, edited in the browser.

A draft holds its content in the shape of a curriculum file (see `intro.curriculum.versions`), so
one validator, one loader and one TOML writer serve the file and the browser alike:

- `start` copies any version's content; `upload` reads a TOML file. Either may be edited.
- Edits replace one item (a module, a strand, a profile with its competences) or the
  header, and may leave the content invalid while the coordinator works: `problems`
  lists every problem by field, live as they type and again on publishing.
- `diff` compares the draft with the version it came from, item by item, in words.
- `publish` loads valid content as a new immutable version (the same path as
  `curriculum sync`) and closes the draft; cohorts only ever choose versions, so a
  draft is never offered to a cohort.

Every operation that changes a draft writes its audit line in the same transaction.
Who may touch a draft is decided in `intro.access.curriculum_draft_to_edit`.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from typing import Any

from intro import audit, clock
from intro.curriculum import versions as curriculum
from intro.db import write_transaction
from intro.errors import Invalid
from intro.i18n import _
from intro.tables import CurriculumDraft, CurriculumVersion, Partnership

DRAFT_FILE = _("udkast")
MAX_UPLOAD_BYTES = 1_000_000
KINDS = ("strands", "profiles", "modules")


# --------------------------------------------------------------------------------------
# Pure edits over a content dict. Each returns a new dict; the argument is not changed.


def problems(content: dict) -> list[curriculum.Problem]:
    """Every problem in the draft's content, as the validator reports it for a file."""
    return curriculum.validate(content, DRAFT_FILE)


def _items(content: dict, kind: str) -> list:
    items = content.get(kind)
    return items if isinstance(items, list) else []


def find_item(content: dict, kind: str, code: str) -> tuple[int, dict] | None:
    """(index, item) of the item of `kind` with this code, or None."""
    for index, item in enumerate(_items(content, kind)):
        if isinstance(item, dict) and item.get("code") == code:
            return index, item
    return None


def replace_item(content: dict, kind: str, old_code: str | None, item: dict) -> dict:
    """The content with item `old_code` of `kind` replaced by `item` (appended when
    `old_code` is None or not found). A renamed module or strand is renamed where other
    modules refer to it too, so a rename alone never breaks a reference."""
    new = copy.deepcopy(content)
    items = [*_items(new, kind)]
    found = find_item(new, kind, old_code) if old_code is not None else None
    if found is None:
        items.append(item)
    else:
        items[found[0]] = item
    new[kind] = items
    new_code = item.get("code")
    if found is not None and old_code and new_code != old_code:
        for module in _items(new, "modules"):
            if not isinstance(module, dict):
                continue
            if kind == "modules" and isinstance(module.get("prerequisites"), list):
                module["prerequisites"] = [
                    new_code if p == old_code else p for p in module["prerequisites"]
                ]
            if kind == "strands" and module.get("strand") == old_code:
                module["strand"] = new_code
    return new


def _plain(value: Any) -> Any:
    """A value as a form gives it back: texts trimmed, empty texts and lists as nothing."""
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").strip()
    if isinstance(value, dict):
        value = {k: _plain(v) for k, v in value.items() if _plain(v) is not None}
    if isinstance(value, list):
        value = [_plain(v) for v in value]
    return None if value in ("", [], {}) else value


def keep_unchanged(old: dict, new: dict) -> dict:
    """`new` (an item read from a form) with every field the form only re-wrote — the
    same once trimmed, or empty both before and after — put back as `old` had it, so
    saving a form without changes changes nothing and the diff shows only real edits
    (a file's "prerequisites = []" or a multi-line text's last newline)."""
    merged: dict[str, Any] = {}
    for key in [*new, *(k for k in old if k not in new)]:
        if key in old and _plain(old[key]) == _plain(new.get(key)):
            merged[key] = old[key]
        elif key in new:
            if isinstance(new[key], dict) and isinstance(old.get(key), dict):
                merged[key] = keep_unchanged(old[key], new[key])
            else:
                merged[key] = new[key]
    return merged


def remove_item(content: dict, kind: str, code: str) -> dict:
    """The content without item `code` of `kind` (what referred to it is then named by
    the validator, not silently changed)."""
    new = copy.deepcopy(content)
    new[kind] = [
        i for i in _items(new, kind) if not (isinstance(i, dict) and i.get("code") == code)
    ]
    return new


def with_header(content: dict, form: dict[str, Any]) -> dict:
    """The content with the [curriculum] header from its form (label, title, valid_from
    as YYYY-MM-DD, description). A date that cannot be read is kept as typed."""
    new = copy.deepcopy(content)
    head: dict[str, Any] = {
        "label": str(form.get("label", "")).strip(),
        "title": str(form.get("title", "")).strip(),
    }
    raw_date = str(form.get("valid_from", "")).strip()
    if raw_date:
        try:
            head["valid_from"] = date.fromisoformat(raw_date)
        except ValueError:
            head["valid_from"] = raw_date
    description = str(form.get("description", "")).replace("\r\n", "\n").strip()
    if description:
        head["description"] = description
    new["curriculum"] = head
    return new


def strand_from_form(form: dict[str, Any]) -> dict:
    strand = {"code": str(form.get("code", "")).strip(), "name": str(form.get("name", "")).strip()}
    description = str(form.get("description", "")).strip()
    if description:
        strand["description"] = description
    return strand


def _column(form: dict[str, Any], name: str) -> list[str]:
    value = form.get(name, [])
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def profile_from_form(form: dict[str, Any]) -> dict:
    """A profile from its form: name, kind, description and the rows of competences
    (`competence_code`, `competence_name`, `competence_description`, one value per row;
    a row left wholly empty is no competence)."""
    profile: dict[str, Any] = {
        "code": str(form.get("code", "")).strip(),
        "name": str(form.get("name", "")).strip(),
        "kind": str(form.get("kind", "")).strip(),
    }
    description = str(form.get("description", "")).strip()
    if description:
        profile["description"] = description
    codes = _column(form, "competence_code")
    names = _column(form, "competence_name")
    descriptions = _column(form, "competence_description")
    competences = []
    for i in range(max(len(codes), len(names), len(descriptions))):
        code = codes[i].strip() if i < len(codes) else ""
        name = names[i].strip() if i < len(names) else ""
        text = descriptions[i].strip() if i < len(descriptions) else ""
        if not (code or name or text):
            continue
        competence = {"code": code, "name": name}
        if text:
            competence["description"] = text
        competences.append(competence)
    profile["competences"] = competences
    return profile


def item_errors(content: dict, kind: str, code: str) -> dict[str, str]:
    """The problems of one item of the content, as form field -> message; problems of
    the whole (a prerequisite cycle) are given under "modules"."""
    found = find_item(content, kind, code)
    if found is None:
        return {}
    index, item = found
    all_problems = problems(content)
    errors = curriculum.field_errors(all_problems, curriculum.item_path(kind, index, item))
    if kind == "profiles":
        for problem in all_problems:
            prefix = curriculum.item_path(kind, index, item) + ".competences"
            if problem.path.startswith(prefix):
                errors.setdefault("competences", f"{problem.path.removeprefix(prefix)}: {problem.message}")
    for problem in all_problems:
        if problem.path == kind:
            errors.setdefault(kind, problem.message)
    return errors


# --------------------------------------------------------------------------------------
# The difference between two contents, in words.


@dataclass(frozen=True)
class Change:
    """One difference: `kind` is "added", "removed", "changed" or "reordered"; `section`
    is curriculum/strands/profiles/competences/modules; `field` and the readable `old`
    and `new` values are set for "changed"."""

    section: str
    code: str
    kind: str
    field: str = ""
    old: str = ""
    new: str = ""


def _readable(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(_readable(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_readable(v)}" for k, v in value.items())
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _flat(item: dict, skip: set[str]) -> dict[str, Any]:
    """Fields of an item, nested tables as dotted names (transfer.title)."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key in skip:
            continue
        if isinstance(value, dict):
            for sub, sub_value in value.items():
                out[f"{key}.{sub}"] = sub_value
        else:
            out[key] = value
    return out


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _diff_fields(section: str, code: str, old: dict, new: dict) -> list[Change]:
    changes = []
    for key in sorted(set(old) | set(new)):
        if not _same(old.get(key), new.get(key)):
            changes.append(
                Change(section, code, "changed", key, _readable(old.get(key)), _readable(new.get(key)))
            )
    return changes


def _keyed(items: list) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for i, item in enumerate(items):
        if isinstance(item, dict):
            out.setdefault(str(item.get("code", f"#{i}")), item)
        else:
            out.setdefault(f"#{i}", {"value": item})
    return out


def _diff_items(section: str, old_items: list, new_items: list, skip: set[str]) -> list[Change]:
    old, new = _keyed(old_items), _keyed(new_items)
    changes = [Change(section, code, "removed") for code in old if code not in new]
    changes += [Change(section, code, "added") for code in new if code not in old]
    for code in old:
        if code in new:
            changes += _diff_fields(section, code, _flat(old[code], skip), _flat(new[code], skip))
    common_old = [c for c in old if c in new]
    common_new = [c for c in new if c in old]
    if common_old != common_new:
        changes.append(Change(section, "", "reordered"))
    return changes


def _competences(content: dict) -> list:
    out = []
    for profile in _items(content, "profiles"):
        if isinstance(profile, dict):
            for competence in profile.get("competences", []) or []:
                if isinstance(competence, dict):
                    out.append({**competence, "profile": profile.get("code", "")})
                else:
                    out.append(competence)
    return out


def diff(old: dict, new: dict) -> list[Change]:
    """Every difference between two curriculum contents, item by item (by code): the
    header's fields, strands, profiles, competences (with the profile they are in) and
    modules. Empty exactly when the two have the same content (the same JSON)."""
    old_head = old.get("curriculum") if isinstance(old.get("curriculum"), dict) else {}
    new_head = new.get("curriculum") if isinstance(new.get("curriculum"), dict) else {}
    changes = _diff_fields("curriculum", "", old_head, new_head)
    changes += _diff_items("strands", _items(old, "strands"), _items(new, "strands"), set())
    changes += _diff_items("profiles", _items(old, "profiles"), _items(new, "profiles"), {"competences"})
    changes += _diff_items("competences", _competences(old), _competences(new), set())
    changes += _diff_items("modules", _items(old, "modules"), _items(new, "modules"), set())
    if not changes and not _same(old, new):
        # What the item view cannot show (two items with one code, a section that is not
        # a list, keys unknown to the file format) is still a difference.
        changes.append(Change("curriculum", "", "changed", _("øvrigt indhold")))
    return changes


# --------------------------------------------------------------------------------------
# Operations


def _to_row(content: dict) -> dict:
    return curriculum.stored_content(content)


def draft_content(draft: dict) -> dict:
    """The draft's content with its date as a date (see `curriculum.content_from_stored`)."""
    stored = draft["content"]
    if isinstance(stored, str):
        stored = json.loads(stored)
    return curriculum.content_from_stored(stored or {})


async def base_content(draft: dict) -> dict:
    """The content of the version the draft came from ({} for an uploaded file with none)."""
    if draft["base_version"] is None:
        return {}
    return await curriculum.version_content(draft["base_version"]) or {}


async def start(actor_id: int, partnership_id: int, version_id: int) -> int:
    """A new draft for the partnership holding a copy of the version's content.
    Raises Invalid (field "version") when there is no such version."""
    content = await curriculum.version_content(version_id)
    if content is None:
        raise Invalid({"version": _("Vælg en version at tage udgangspunkt i.")})
    return await _create(actor_id, partnership_id, version_id, content, "curriculum.draft_start")


async def upload(
    actor_id: int, partnership_id: int, filename: str, raw: bytes, base_version_id: int | None
) -> int:
    """A new draft from an uploaded curriculum file. The file must be UTF-8 TOML; its
    content may have problems (they are listed on the draft). Raises Invalid (field
    "file") for a file that cannot be read, and nothing is written."""
    if not raw:
        raise Invalid({"file": _("Vælg en TOML-fil med en læreplan.")})
    if len(raw) > MAX_UPLOAD_BYTES:
        raise Invalid({"file": _("Filen er for stor (højst 1 MB).")})
    try:
        content = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise Invalid({"file": _("Filen skal være gemt som UTF-8.")}) from None
    except tomllib.TOMLDecodeError as error:
        raise Invalid({"file": _("Filen er ikke gyldig TOML: {error}").format(error=error)}) from None
    except RecursionError:
        raise Invalid({"file": _("Filen er ikke gyldig TOML: den er indlejret for dybt.")}) from None
    if base_version_id is not None and not await CurriculumVersion.exists().where(
        CurriculumVersion.id == base_version_id
    ):
        base_version_id = None
    return await _create(
        actor_id, partnership_id, base_version_id, content, "curriculum.draft_upload", file=filename[:200]
    )


async def _create(
    actor_id: int, partnership_id: int, version_id: int | None, content: dict, action: str, **details: Any
) -> int:
    if not await Partnership.exists().where(Partnership.id == partnership_id):
        raise Invalid({"partnership": _("Vælg et samarbejde.")})
    async with write_transaction(CurriculumDraft._meta.db):
        draft_id = (
            await CurriculumDraft.insert(
                CurriculumDraft(
                    partnership=partnership_id,
                    base_version=version_id,
                    content=_to_row(content),
                    created_by=actor_id,
                )
            ).returning(CurriculumDraft.id)
        )[0]["id"]
        await audit.record(
            actor_id, action, "curriculum_draft", draft_id, version=version_id, partnership=partnership_id, **details
        )
    return draft_id


def _must_be_open(draft: dict) -> None:
    if draft["published_at"] is not None or draft["discarded_at"] is not None:
        raise Invalid({"draft": _("Udkastet er lukket og kan ikke ændres.")})


async def save(actor_id: int, draft: dict, content: dict, action: str, **details: Any) -> None:
    """Store the draft's new content with its audit line (`action`, e.g.
    "curriculum.draft_edit"). Raises Invalid when the draft is published or discarded;
    the check is in the UPDATE itself, so a publish at the same moment cannot be undone."""
    _must_be_open(draft)
    async with write_transaction(CurriculumDraft._meta.db):
        updated = await CurriculumDraft.update(
            {CurriculumDraft.content: _to_row(content), CurriculumDraft.updated_at: clock.now()}
        ).where(
            (CurriculumDraft.id == draft["id"])
            & CurriculumDraft.published_at.is_null()
            & CurriculumDraft.discarded_at.is_null()
        ).returning(CurriculumDraft.id)
        if not updated:
            raise Invalid({"draft": _("Udkastet er lukket og kan ikke ændres.")})
        await audit.record(actor_id, action, "curriculum_draft", draft["id"], **details)


async def publish(actor_id: int, draft: dict) -> curriculum.SyncResult:
    """Load the draft's content as a new immutable version and close the draft.
    Raises CurriculumInvalid with every problem when the content is not valid, and
    Invalid when it is closed or has exactly the content of an existing version.
    All or nothing: the version, the closed draft and the audit lines in one transaction."""
    _must_be_open(draft)
    content = draft_content(draft)
    found = problems(content)
    if found:
        raise curriculum.CurriculumInvalid(found)
    existing = await CurriculumVersion.select(
        CurriculumVersion.label, CurriculumVersion.revision
    ).where(CurriculumVersion.content_hash == curriculum.content_hash(content)).first()
    if existing:
        raise Invalid(
            {
                "draft": _("Udkastet har præcis samme indhold som version {label} (revision {revision}).").format(
                    **existing
                )
            }
        )
    async with write_transaction(CurriculumDraft._meta.db):
        result = await curriculum.load_content(
            content, f"{DRAFT_FILE}-{draft['id']}", actor_id, action="curriculum.publish"
        )
        closed = await CurriculumDraft.update(
            {CurriculumDraft.published_version: result.version_id, CurriculumDraft.published_at: clock.now()}
        ).where(
            (CurriculumDraft.id == draft["id"])
            & CurriculumDraft.published_at.is_null()
            & CurriculumDraft.discarded_at.is_null()
        ).returning(CurriculumDraft.id)
        if not closed:
            raise Invalid({"draft": _("Udkastet er lukket og kan ikke ændres.")})
    return result


async def discard(actor_id: int, draft: dict) -> None:
    """Close the draft without publishing; it stays in the history."""
    _must_be_open(draft)
    async with write_transaction(CurriculumDraft._meta.db):
        await CurriculumDraft.update({CurriculumDraft.discarded_at: clock.now()}).where(
            (CurriculumDraft.id == draft["id"]) & CurriculumDraft.published_at.is_null()
        )
        await audit.record(actor_id, "curriculum.draft_discard", "curriculum_draft", draft["id"])


async def drafts_of(partnership_ids: set[int]) -> list[dict]:
    """The open drafts of these partnerships, newest first, with the base version's label."""
    if not partnership_ids:
        return []
    return await CurriculumDraft.select(
        CurriculumDraft.id,
        CurriculumDraft.updated_at,
        CurriculumDraft.partnership.name.as_alias("partnership_name"),
        CurriculumDraft.base_version.label.as_alias("base_label"),
        CurriculumDraft.base_version.revision.as_alias("base_revision"),
        CurriculumDraft.content,
    ).where(
        CurriculumDraft.partnership.is_in(sorted(partnership_ids))
        & CurriculumDraft.published_at.is_null()
        & CurriculumDraft.discarded_at.is_null()
    ).order_by(CurriculumDraft.updated_at, ascending=False).output(load_json=True)


# --------------------------------------------------------------------------------------
# Words for the pages: where a problem or a change is, in the coordinator's terms.

SECTION_NAMES = {
    "curriculum": _("Læreplanen"),
    "strands": _("Spor"),
    "profiles": _("Profil"),
    "competences": _("Kompetence"),
    "modules": _("Modul"),
}
FIELD_NAMES = {
    "label": _("Versionsnavn"),
    "title": _("Titel"),
    "valid_from": _("Gælder fra"),
    "description": _("Beskrivelse"),
    "code": _("Kode"),
    "name": _("Navn"),
    "kind": _("Type"),
    "profile": _("Profil"),
    "strand": _("Spor"),
    "format": _("Form"),
    "duration_hours": _("Varighed i timer"),
    "days": _("Antal kursusdage"),
    "summary": _("Kort beskrivelse"),
    "objectives": _("Læringsmål"),
    "competences": _("Kompetencer"),
    "prerequisites": _("Forudsætninger"),
    "preparation": _("Forberedelse"),
    "transfer": _("Transferopgave"),
    "transfer.title": _("Transferopgavens titel"),
    "transfer.assignment": _("Transferopgave"),
}
_ITEM = re.compile(r"^(strands|profiles|modules)\[(\d+)\](?: \(([^)]*)\))?(?:\.(.*))?$")
_SUB = re.compile(r"^(competences|objectives|prerequisites)\[(\d+)\](?: \(([^)]*)\))?(?:\.(.*))?$")


def field_name(path: str) -> str:
    """A field path of the file format in words: "transfer.title" -> "Transferopgavens titel",
    "competences[2] (basis-x).name" -> "Kompetencer basis-x: Navn"."""
    sub = _SUB.match(path)
    if sub:
        kind, index, code, rest = sub.groups()
        label = f"{FIELD_NAMES[kind]} {code or int(index) + 1}"
        return f"{label}: {field_name(rest)}" if rest else label
    return FIELD_NAMES.get(path, path)


@dataclass(frozen=True)
class Described:
    where: str  # "Modul LOV-1", "Læreplanen"
    field: str  # "Varighed i timer"
    message: str
    kind: str  # strands/profiles/modules, or "" for the header and the whole
    index: int | None


def describe(problem: curriculum.Problem) -> Described:
    """A validator problem as the draft page shows it, with the item it belongs to."""
    match = _ITEM.match(problem.path)
    if match:
        kind, index, code, rest = match.groups()
        where = f"{SECTION_NAMES[kind]} {code or '#' + str(int(index) + 1)}"
        return Described(where, field_name(rest or ""), problem.message, kind, int(index))
    if problem.path.startswith("curriculum"):
        rest = problem.path.removeprefix("curriculum").lstrip(".")
        return Described(SECTION_NAMES["curriculum"], field_name(rest), problem.message, "", None)
    return Described(SECTION_NAMES["curriculum"], field_name(problem.path), problem.message, "", None)
