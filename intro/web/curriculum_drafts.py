"""Curriculum drafts in the browser: start from a version or a file, edit the header,
strands, profiles and modules with live validation, see the difference, publish.

Every handler loads its draft through `access.curriculum_draft_to_edit`, so a draft of
another partnership is "not found". The versions' own TOML download is here too."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro import access, audit
from intro.curriculum import drafts as curriculum_drafts
from intro.curriculum import versions as curriculum
from intro.errors import Invalid
from intro.i18n import _
from intro.people.accounts import User
from intro.tables import CurriculumVersion, Partnership, ProfileKind, Role
from intro.web import forms
from intro.web.auth import requires
from intro.web.forms import FormData, Upload

KEEPERS = requires(Role.coordinator)
ANY_ROLE = requires(Role.participant, Role.coordinator, Role.instructor, Role.chief, Role.admin)
UPLOAD_BODY_LIMIT = curriculum_drafts.MAX_UPLOAD_BYTES + 64 * 1024

KIND_TEMPLATES = {
    "modules": "curriculum/draft_module.html",
    "strands": "curriculum/draft_strand.html",
    "profiles": "curriculum/draft_profile.html",
}
NOTICES = {
    "saved": _("Ændringen er gemt i udkastet."),
    "removed": _("Elementet er fjernet fra udkastet."),
    "started": _("Udkastet er oprettet. Ret det, se forskellen og udgiv det som en ny version."),
}


def _kind_or_404(kind: str) -> str:
    if kind not in KIND_TEMPLATES:
        raise NotFoundException()
    return kind


async def _partnership_choices(user: User) -> list[tuple[int, str]]:
    ids = sorted(access.curriculum_keeper_partnerships(user)) or [0]
    rows = await Partnership.select(Partnership.id, Partnership.name).where(
        Partnership.id.is_in(ids)
    ).order_by(Partnership.name)
    return [(r["id"], r["name"]) for r in rows]


async def _version_choices() -> list[tuple[int, str]]:
    rows = await CurriculumVersion.select(
        CurriculumVersion.id, CurriculumVersion.label, CurriculumVersion.revision, CurriculumVersion.title
    ).order_by(CurriculumVersion.id, ascending=False)
    return [
        (r["id"], r["label"] + (f" ({_('revision')} {r['revision']})" if r["revision"] > 1 else "") + " – " + r["title"])
        for r in rows
    ]


async def _drafts_page(user: User, form: dict, errors: dict, status: int = 200) -> Template:
    return Template(
        "curriculum/drafts.html",
        context={
            "drafts": await curriculum_drafts.drafts_of(access.curriculum_keeper_partnerships(user)),
            "partnerships": await _partnership_choices(user),
            "versions": await _version_choices(),
            "form": form,
            "errors": errors,
        },
        status_code=status,
    )


@get("/curriculum/drafts", guards=[KEEPERS], name="curriculum_drafts")
async def drafts(request: Request[User, None, None], version: FromQuery[int | None] = None) -> Template:
    versions = await _version_choices()
    partnerships = await _partnership_choices(request.user)
    form = {
        "version": str(version) if version else (str(versions[0][0]) if versions else ""),
        "partnership": str(partnerships[0][0]) if len(partnerships) == 1 else "",
    }
    return await _drafts_page(request.user, form, {})


def _chosen_partnership(user: User, data: dict) -> int:
    partnership_id = forms.optional_id(data, "partnership")
    if partnership_id not in access.curriculum_keeper_partnerships(user):
        raise Invalid({"partnership": _("Vælg et samarbejde, du er koordinator for.")})
    return partnership_id  # type: ignore[return-value]


@post("/curriculum/drafts", guards=[KEEPERS], name="curriculum_draft_start")
async def draft_start(request: Request[User, None, None], data: FormData) -> Template | Redirect:
    try:
        partnership_id = _chosen_partnership(request.user, data)
        version_id = forms.optional_id(data, "version")
        if version_id is None:
            raise Invalid({"version": _("Vælg en version at tage udgangspunkt i.")})
        draft_id = await curriculum_drafts.start(request.user.id, partnership_id, version_id)
    except Invalid as invalid:
        return await _drafts_page(request.user, forms.kept(data), invalid.errors, 400)
    return Redirect(f"/curriculum/drafts/{draft_id}?notice=started", status_code=303)


@post(
    "/curriculum/drafts/upload",
    guards=[KEEPERS],
    name="curriculum_draft_upload",
    request_max_body_size=UPLOAD_BODY_LIMIT,
)
async def draft_upload(request: Request[User, None, None], data: Upload) -> Template | Redirect:
    file = data.get("file")
    kept = {k: str(v) for k, v in data.items() if not isinstance(v, UploadFile)}
    try:
        partnership_id = _chosen_partnership(request.user, kept)
        if not isinstance(file, UploadFile) or not file.filename:
            raise Invalid({"file": _("Vælg en TOML-fil med en læreplan.")})
        raw = await file.read(curriculum_drafts.MAX_UPLOAD_BYTES + 1)
        await file.close()
        draft_id = await curriculum_drafts.upload(
            request.user.id, partnership_id, file.filename, raw, forms.optional_id(kept, "version")
        )
    except Invalid as invalid:
        return await _drafts_page(request.user, kept, invalid.errors, 400)
    return Redirect(f"/curriculum/drafts/{draft_id}?notice=started", status_code=303)


def _problem_rows(draft_id: int, content: dict) -> list[dict]:
    rows = []
    for problem in curriculum_drafts.problems(content):
        described = curriculum_drafts.describe(problem)
        link = (
            f"/curriculum/drafts/{draft_id}/items/{described.kind}/{described.index}"
            if described.kind
            else f"/curriculum/drafts/{draft_id}#header"
        )
        rows.append({**described.__dict__, "link": link})
    return rows


async def _draft_page(
    draft: dict, notice: str | None = None, errors: dict | None = None, status: int = 200
) -> Template:
    content = curriculum_drafts.draft_content(draft)
    head = content.get("curriculum") if isinstance(content.get("curriculum"), dict) else {}
    base = None
    if draft["base_version"]:
        base = await CurriculumVersion.select(
            CurriculumVersion.id, CurriculumVersion.label, CurriculumVersion.revision
        ).where(CurriculumVersion.id == draft["base_version"]).first()
    return Template(
        "curriculum/draft.html",
        context={
            "draft": draft,
            "base": base,
            "header": {
                "label": head.get("label", ""),
                "title": head.get("title", ""),
                "valid_from": str(head.get("valid_from", "")),
                "description": head.get("description", ""),
            },
            "items": {kind: [i if isinstance(i, dict) else {} for i in content.get(kind, []) or []]
                      if isinstance(content.get(kind), list) else [] for kind in KIND_TEMPLATES},
            "problems": _problem_rows(draft["id"], content),
            "is_open": draft["published_at"] is None and draft["discarded_at"] is None,
            "notice": NOTICES.get(notice or ""),
            "errors": errors or {},
        },
        status_code=status,
    )


@get("/curriculum/drafts/{draft_id:int}", guards=[KEEPERS], name="curriculum_draft")
async def draft_view(
    request: Request[User, None, None], draft_id: FromPath[int], notice: FromQuery[str | None] = None
) -> Template:
    draft = await access.curriculum_draft_to_edit(request.user, draft_id)
    return await _draft_page(draft, notice)


@post("/curriculum/drafts/{draft_id:int}/header", guards=[KEEPERS], name="curriculum_draft_header")
async def draft_header(
    request: Request[User, None, None], draft_id: FromPath[int], data: FormData
) -> Template | Redirect:
    draft = await access.curriculum_draft_to_edit(request.user, draft_id)
    content = curriculum_drafts.with_header(curriculum_drafts.draft_content(draft), data)
    try:
        await curriculum_drafts.save(request.user.id, draft, content, "curriculum.draft_edit", part="curriculum")
    except Invalid as invalid:
        return await _draft_page(draft, errors=invalid.errors, status=400)
    return Redirect(f"/curriculum/drafts/{draft_id}?notice=saved#header", status_code=303)


# --------------------------------------------------------------------------------------
# One item (module, strand, profile): the form, the live check, saving, removing.


def _item_from_form(kind: str, data: dict) -> dict:
    form = forms.kept(data)
    if kind == "modules":
        return curriculum.module_from_form(form)
    if kind == "strands":
        return curriculum_drafts.strand_from_form(form)
    return curriculum_drafts.profile_from_form(form)


def _form_from_item(kind: str, item: dict) -> dict:
    if kind == "modules":
        return curriculum.module_to_form(item)
    form = {k: v for k, v in item.items() if not isinstance(v, list | dict)}
    if kind == "profiles":
        competences = [c for c in item.get("competences", []) or [] if isinstance(c, dict)]
        form["competence_rows"] = [
            {"code": c.get("code", ""), "name": c.get("name", ""), "description": c.get("description", "")}
            for c in competences
        ]
    return {k: ("" if v is None else v) for k, v in form.items()}


def _item_context(draft: dict, kind: str, content: dict, form: dict, errors: dict, old_code: str | None) -> dict:
    strands = [s for s in content.get("strands", []) or [] if isinstance(s, dict)] if isinstance(content.get("strands"), list) else []
    profiles = [p for p in content.get("profiles", []) or [] if isinstance(p, dict)] if isinstance(content.get("profiles"), list) else []
    modules = [m for m in content.get("modules", []) or [] if isinstance(m, dict)] if isinstance(content.get("modules"), list) else []
    if kind == "profiles":
        rows = list(form.get("competence_rows") or [])
        if not rows and "competence_code" in form:
            codes = forms.values(form, "competence_code")
            names = forms.values(form, "competence_name")
            texts = forms.values(form, "competence_description")
            rows = [
                {"code": c, "name": names[i] if i < len(names) else "", "description": texts[i] if i < len(texts) else ""}
                for i, c in enumerate(codes)
                if c or (i < len(names) and names[i]) or (i < len(texts) and texts[i])
            ]
        form = {**form, "competence_rows": rows + [{"code": "", "name": "", "description": ""}] * 3}
    return {
        "draft": draft,
        "kind": kind,
        "form": form,
        "errors": errors,
        "old_code": old_code,
        "strands": strands,
        "profiles": profiles,
        "modules": [m for m in modules if m.get("code") != old_code],
        "formats": list(curriculum.FORMAT_NAMES.items()),
        "profile_kinds": [(ProfileKind.base.value, _("Basisprofil (fælles for alle)")), (ProfileKind.specialist.value, _("Specialprofil"))],
        "field_names": curriculum_drafts.FIELD_NAMES,
    }


def _open_or_refuse(draft: dict) -> None:
    if draft["published_at"] is not None or draft["discarded_at"] is not None:
        raise NotFoundException()


@get("/curriculum/drafts/{draft_id:int}/items/{kind:str}/new", guards=[KEEPERS], name="curriculum_draft_item_new")
async def item_new(request: Request[User, None, None], draft_id: FromPath[int], kind: FromPath[str]) -> Template:
    draft = await access.curriculum_draft_to_edit(request.user, draft_id)
    _kind_or_404(kind)
    _open_or_refuse(draft)
    content = curriculum_drafts.draft_content(draft)
    form = {"days": "1"} if kind == "modules" else {}
    return Template(KIND_TEMPLATES[kind], context=_item_context(draft, kind, content, form, {}, None))


@get("/curriculum/drafts/{draft_id:int}/items/{kind:str}/{index:int}", guards=[KEEPERS], name="curriculum_draft_item")
async def item_edit(
    request: Request[User, None, None], draft_id: FromPath[int], kind: FromPath[str], index: FromPath[int]
) -> Template:
    draft = await access.curriculum_draft_to_edit(request.user, draft_id)
    _kind_or_404(kind)
    _open_or_refuse(draft)
    content = curriculum_drafts.draft_content(draft)
    items = content.get(kind) if isinstance(content.get(kind), list) else []
    if not 0 <= index < len(items) or not isinstance(items[index], dict):
        raise NotFoundException()
    item = items[index]
    code = str(item.get("code", ""))
    errors = curriculum_drafts.item_errors(content, kind, code)
    return Template(
        KIND_TEMPLATES[kind],
        context=_item_context(draft, kind, content, _form_from_item(kind, item), errors, code),
    )


def _candidate(draft: dict, kind: str, data: dict) -> tuple[dict, dict, str | None]:
    """(content with the form's item in place, the item, the old code or None)."""
    old_code = forms.text(data, "old_code", 100) if "old_code" in data else None
    item = _item_from_form(kind, data)
    current = curriculum_drafts.draft_content(draft)
    found = curriculum_drafts.find_item(current, kind, old_code) if old_code else None
    if found is not None:
        item = curriculum_drafts.keep_unchanged(found[1], item)
    content = curriculum_drafts.replace_item(current, kind, old_code or None, item)
    return content, item, old_code or None


def _item_errors_or_duplicate(content: dict, kind: str, item: dict, old_code: str | None) -> dict:
    errors = curriculum_drafts.item_errors(content, kind, str(item.get("code", "")))
    same_code = [i for i in content.get(kind, []) if isinstance(i, dict) and i.get("code") == item.get("code")]
    if len(same_code) > 1:
        errors.setdefault("code", _("koden '{code}' er brugt før").format(code=item.get("code")))
    return errors


@post("/curriculum/drafts/{draft_id:int}/items/{kind:str}/check", guards=[KEEPERS], name="curriculum_draft_item_check")
async def item_check(
    request: Request[User, None, None], draft_id: FromPath[int], kind: FromPath[str], data: FormData
) -> Template:
    """The live check while the coordinator types (an htmx fragment): the problems the
    item would have if saved now, by field."""
    draft = await access.curriculum_draft_to_edit(request.user, draft_id)
    _kind_or_404(kind)
    content, item, old_code = _candidate(draft, kind, data)
    errors = _item_errors_or_duplicate(content, kind, item, old_code)
    return Template(
        "curriculum/_draft_check.html",
        context={"errors": errors, "field_names": curriculum_drafts.FIELD_NAMES},
    )


@post("/curriculum/drafts/{draft_id:int}/items/{kind:str}", guards=[KEEPERS], name="curriculum_draft_item_save")
async def item_save(
    request: Request[User, None, None], draft_id: FromPath[int], kind: FromPath[str], data: FormData
) -> Template | Redirect:
    """Save the item into the draft. An item with problems is saved too (a draft may be
    unfinished) unless its code is missing or taken, which would make it unreachable;
    the problems stay listed on the draft and block publishing."""
    draft = await access.curriculum_draft_to_edit(request.user, draft_id)
    _kind_or_404(kind)
    content, item, old_code = _candidate(draft, kind, data)
    errors = _item_errors_or_duplicate(content, kind, item, old_code)
    blocking = {k: v for k, v in errors.items() if k == "code"}
    if not str(item.get("code", "")).strip():
        blocking["code"] = _("Koden mangler.")
    try:
        if blocking:
            raise Invalid(blocking)
        await curriculum_drafts.save(
            request.user.id, draft, content, "curriculum.draft_edit", part=kind, code=item.get("code"), old_code=old_code
        )
    except Invalid as invalid:
        return Template(
            KIND_TEMPLATES[kind],
            context=_item_context(draft, kind, curriculum_drafts.draft_content(draft), forms.kept(data), {**errors, **invalid.errors}, old_code),
            status_code=400,
        )
    return Redirect(f"/curriculum/drafts/{draft_id}?notice=saved#{kind}", status_code=303)


@post("/curriculum/drafts/{draft_id:int}/items/{kind:str}/remove", guards=[KEEPERS], name="curriculum_draft_item_remove")
async def item_remove(
    request: Request[User, None, None], draft_id: FromPath[int], kind: FromPath[str], data: FormData
) -> Template | Redirect:
    draft = await access.curriculum_draft_to_edit(request.user, draft_id)
    _kind_or_404(kind)
    code = forms.text(data, "code", 100)
    content = curriculum_drafts.draft_content(draft)
    if curriculum_drafts.find_item(content, kind, code) is None:
        return await _draft_page(draft, errors={"draft": _("Elementet findes ikke i udkastet.")}, status=400)
    try:
        await curriculum_drafts.save(
            request.user.id, draft, curriculum_drafts.remove_item(content, kind, code), "curriculum.draft_remove", part=kind, code=code
        )
    except Invalid as invalid:
        return await _draft_page(draft, errors=invalid.errors, status=400)
    return Redirect(f"/curriculum/drafts/{draft_id}?notice=removed", status_code=303)


# --------------------------------------------------------------------------------------
# The difference, publishing, discarding, files.


@get("/curriculum/drafts/{draft_id:int}/diff", guards=[KEEPERS], name="curriculum_draft_diff")
async def draft_diff(request: Request[User, None, None], draft_id: FromPath[int]) -> Template:
    draft = await access.curriculum_draft_to_edit(request.user, draft_id)
    base = await curriculum_drafts.base_content(draft)
    changes = curriculum_drafts.diff(base, curriculum_drafts.draft_content(draft))
    base_version = None
    if draft["base_version"]:
        base_version = await CurriculumVersion.select().where(CurriculumVersion.id == draft["base_version"]).first()
    return Template(
        "curriculum/draft_diff.html",
        context={
            "draft": draft,
            "base": base_version,
            "changes": changes,
            "section_names": curriculum_drafts.SECTION_NAMES,
            "field_name": curriculum_drafts.field_name,
        },
    )


@post("/curriculum/drafts/{draft_id:int}/publish", guards=[KEEPERS], name="curriculum_draft_publish")
async def draft_publish(request: Request[User, None, None], draft_id: FromPath[int]) -> Template | Redirect:
    draft = await access.curriculum_draft_to_edit(request.user, draft_id)
    try:
        result = await curriculum_drafts.publish(request.user.id, draft)
    except curriculum.CurriculumInvalid:
        return await _draft_page(
            draft, errors={"draft": _("Udkastet kan ikke udgives, før problemerne nedenfor er rettet.")}, status=400
        )
    except Invalid as invalid:
        return await _draft_page(draft, errors=invalid.errors, status=400)
    return Redirect(f"/curriculum/{result.version_id}?notice=published", status_code=303)


@post("/curriculum/drafts/{draft_id:int}/discard", guards=[KEEPERS], name="curriculum_draft_discard")
async def draft_discard(request: Request[User, None, None], draft_id: FromPath[int]) -> Template | Redirect:
    draft = await access.curriculum_draft_to_edit(request.user, draft_id)
    try:
        await curriculum_drafts.discard(request.user.id, draft)
    except Invalid as invalid:
        return await _draft_page(draft, errors=invalid.errors, status=400)
    return Redirect("/curriculum/drafts", status_code=303)


def _toml_response(text: str, filename: str) -> Response:
    return Response(
        content=text.encode("utf-8"),
        media_type="application/toml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _safe_name(label: Any) -> str:
    text = "".join(ch for ch in str(label) if ch.isalnum() or ch in "._-")
    return text or "laereplan"


@get("/curriculum/drafts/{draft_id:int}/file.toml", guards=[KEEPERS], name="curriculum_draft_file")
async def draft_file(request: Request[User, None, None], draft_id: FromPath[int]) -> Response | Template:
    draft = await access.curriculum_draft_to_edit(request.user, draft_id)
    content = curriculum_drafts.draft_content(draft)
    head = content.get("curriculum") if isinstance(content.get("curriculum"), dict) else {}
    try:
        text = curriculum.to_toml(content)
    except (TypeError, ValueError):
        # An uploaded file may hold what TOML cannot write back (e.g. mixed arrays).
        return await _draft_page(
            draft, errors={"draft": _("Udkastet kan ikke skrives som TOML; ret problemerne først.")}, status=400
        )
    await audit.record(request.user.id, "curriculum.draft_download", "curriculum_draft", draft_id)
    return _toml_response(text, f"{_safe_name(head.get('label'))}-udkast.toml")


@get("/curriculum/{version_id:int}/file.toml", guards=[ANY_ROLE], name="curriculum_version_file")
async def version_file(request: Request[User, None, None], version_id: FromPath[int]) -> Response:
    """A published version as a curriculum file that `curriculum sync` reads back to the
    same content (and so to the same version)."""
    content = await curriculum.version_content(version_id)
    if content is None:
        raise NotFoundException()
    await audit.record(request.user.id, "curriculum.download", "curriculum_version", version_id)
    return _toml_response(curriculum.to_toml(content), f"{_safe_name(content['curriculum'].get('label'))}.toml")


ROUTES = [
    drafts,
    draft_start,
    draft_upload,
    draft_view,
    draft_header,
    item_new,
    item_edit,
    item_check,
    item_save,
    item_remove,
    draft_diff,
    draft_publish,
    draft_discard,
    draft_file,
    version_file,
]
