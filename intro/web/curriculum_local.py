"""A municipality's local curriculum (issue 17): correcting and retiring its local modules,
and toning a shared profile with its own description and competences. Who may is
`access.local_curriculum_municipalities`; anything outside it is "not found"."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro import access
from intro.curriculum import toning
from intro.curriculum import versions as curriculum
from intro.errors import Invalid, NotFound
from intro.people.accounts import User
from intro.tables import Role
from intro.web import forms
from intro.web.auth import requires
from intro.web.forms import FormData

KEEPERS = requires(Role.coordinator, Role.admin)


async def _local_module_or_404(user: User, version_id: int, module_id: int) -> dict:
    module = await curriculum.local_module(module_id)
    if (
        module is None
        or module["curriculum_version"] != version_id
        or module["municipality"] not in await access.local_curriculum_municipalities(user)
    ):
        raise NotFoundException()
    return module


async def _module_form_page(version_id: int, module: dict, form: dict, errors: dict) -> Template:
    detail = await curriculum.version_detail(version_id)
    if detail is None:
        raise NotFoundException()
    return Template(
        "curriculum/local_module_form.html",
        context={
            **detail,
            "municipalities": [{"id": module["municipality"], "name": module.get("municipality_name", "")}],
            "formats": list(curriculum.FORMAT_NAMES.items()),
            "form": form,
            "errors": errors,
            "editing": module,
        },
        status_code=400 if errors else 200,
    )


def _form_of(detail_module: dict) -> dict:
    return {
        "code": detail_module["code"],
        "title": detail_module["title"],
        "strand": detail_module["strand_code"],
        "format": detail_module["format"],
        "duration_hours": str(detail_module["duration_minutes"] / 60).removesuffix(".0").replace(".", ","),
        "days": str(detail_module["days"]),
        "summary": detail_module["summary"],
        "objectives": "\n".join(detail_module["objectives"] or []),
        "competences": [c["code"] for c in detail_module["competences"]],
        "prerequisites": [p["code"] for p in detail_module["prerequisites"]],
        "preparation": detail_module["preparation"],
        "transfer_title": detail_module["transfer_title"],
        "transfer_assignment": detail_module["transfer_assignment"],
        "municipality": str(detail_module["municipality"]),
    }


@get("/curriculum/{version_id:int}/modules/{module_id:int}/edit", guards=[KEEPERS], name="local_module_edit")
async def local_module_edit(request: Request[User, None, None], version_id: FromPath[int], module_id: FromPath[int]) -> Template:
    await _local_module_or_404(request.user, version_id, module_id)
    detail = await curriculum.version_detail(version_id)
    shown = detail["module_by_id"][module_id]
    strand_codes = {s["id"]: s["code"] for s in detail["strands"]}
    return await _module_form_page(version_id, shown, _form_of({**shown, "strand_code": strand_codes[shown["strand"]]}), {})


@post("/curriculum/{version_id:int}/modules/{module_id:int}", guards=[KEEPERS], name="local_module_update")
async def local_module_update(
    request: Request[User, None, None], version_id: FromPath[int], module_id: FromPath[int], data: FormData
) -> Template | Redirect:
    module = await _local_module_or_404(request.user, version_id, module_id)
    form = forms.kept(data)
    for name in ("competences", "prerequisites"):
        form[name] = forms.values(data, name)
    try:
        await curriculum.update_local_module(request.user.id, module_id, form)
    except Invalid as invalid:
        return await _module_form_page(version_id, module, form, invalid.errors)
    return Redirect(f"/curriculum/{version_id}/modules/{module_id}", status_code=303)


@post("/curriculum/{version_id:int}/modules/{module_id:int}/retire", guards=[KEEPERS], name="local_module_retire")
async def local_module_retire(
    request: Request[User, None, None], version_id: FromPath[int], module_id: FromPath[int], data: FormData
) -> Redirect:
    await _local_module_or_404(request.user, version_id, module_id)
    retired = forms.text(data, "retired", 5) != "0"
    await curriculum.set_local_module_retired(request.user.id, module_id, retired)
    return Redirect(f"/curriculum/{version_id}/modules/{module_id}", status_code=303)


# --------------------------------------------------------------------------------------
# Toning a shared profile


async def _toning_or_404(user: User, version_id: int, profile_id: int, municipality_id: int) -> dict:
    if municipality_id not in await access.local_curriculum_municipalities(user):
        raise NotFoundException()
    try:
        found = await toning.toning(profile_id, municipality_id)
    except NotFound:
        raise NotFoundException() from None
    if found["profile"]["curriculum_version"] != version_id:
        raise NotFoundException()
    return found


def _toning_page(version_id: int, found: dict, form: dict, errors: dict, saved: bool = False) -> Template:
    rows = form.get("rows") or []
    return Template(
        "curriculum/toning.html",
        context={
            "version_id": version_id,
            **found,
            "form": form,
            "rows": rows + [{"code": "", "name": "", "description": ""}] * 3,
            "errors": errors,
            "saved": saved,
        },
        status_code=400 if errors else 200,
    )


@get(
    "/curriculum/{version_id:int}/profiles/{profile_id:int}/toning/{municipality_id:int}",
    guards=[KEEPERS],
    name="profile_toning",
)
async def profile_toning(
    request: Request[User, None, None], version_id: FromPath[int], profile_id: FromPath[int], municipality_id: FromPath[int],
    saved: FromQuery[bool] = False,
) -> Template:
    found = await _toning_or_404(request.user, version_id, profile_id, municipality_id)
    form = {
        "description": found["description"],
        "rows": [{"code": c["code"], "name": c["name"], "description": c["description"]} for c in found["local"]],
    }
    return _toning_page(version_id, found, form, {}, saved)


@post(
    "/curriculum/{version_id:int}/profiles/{profile_id:int}/toning/{municipality_id:int}",
    guards=[KEEPERS],
    name="profile_toning_save",
)
async def profile_toning_save(
    request: Request[User, None, None], version_id: FromPath[int], profile_id: FromPath[int], municipality_id: FromPath[int],
    data: FormData,
) -> Template | Redirect:
    found = await _toning_or_404(request.user, version_id, profile_id, municipality_id)
    try:
        await toning.save_toning(request.user.id, profile_id, municipality_id, data)
    except Invalid as invalid:
        form = {"description": forms.text(data, "description", 4000), "rows": toning.competence_rows(data)}
        return _toning_page(version_id, found, form, invalid.errors)
    return Redirect(
        f"/curriculum/{version_id}/profiles/{profile_id}/toning/{municipality_id}?saved=1", status_code=303
    )


ROUTES = [local_module_edit, local_module_update, local_module_retire, profile_toning, profile_toning_save]
