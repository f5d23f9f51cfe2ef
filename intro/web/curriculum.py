"""Browsing the shared curriculum, and adding a municipality's local modules."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro import access
from intro.curriculum import versions as curriculum
from intro.errors import Invalid
from intro.i18n import _
from intro.people.accounts import User
from intro.tables import Municipality, Role
from intro.web import forms
from intro.web.auth import requires
from intro.web.forms import FormData

ANY_ROLE = requires(Role.participant, Role.coordinator, Role.instructor, Role.chief, Role.admin)
CURRICULUM_EDITORS = requires(Role.coordinator, Role.admin)


@get("/curriculum", guards=[ANY_ROLE], name="curriculum_versions")
async def versions(request: Request[User, None, None]) -> Template:
    return Template(
        "curriculum/versions.html",
        context={
            "versions": await curriculum.list_versions(),
            "may": access.curriculum_permissions(request.user),
        },
    )


async def _toning_choices(user: User) -> list[dict]:
    """The municipalities whose toning of the profiles the user may edit (issue 17)."""
    if not access.curriculum_permissions(user).may_tone:
        return []  # an admin may tone any of the 98, which would drown the page in links
    ids = sorted(await access.local_curriculum_municipalities(user)) or [0]
    return await Municipality.select(Municipality.id, Municipality.name).where(
        Municipality.id.is_in(ids) & Municipality.retired_at.is_null()
    ).order_by(Municipality.name)


async def _version_or_404(version_id: int) -> dict:
    detail = await curriculum.version_detail(version_id)
    if detail is None:
        raise NotFoundException()
    return detail


@get("/curriculum/{version_id:int}", guards=[ANY_ROLE], name="curriculum_version")
async def version(
    request: Request[User, None, None], version_id: FromPath[int], notice: FromQuery[str | None] = None
) -> Template:
    detail = await _version_or_404(version_id)
    return Template(
        "curriculum/version.html",
        context={
            **detail,
            "may": access.curriculum_permissions(request.user),
            "published": notice == "published",
            "toning_municipalities": await _toning_choices(request.user),
        },
    )


@get(
    "/curriculum/{version_id:int}/modules/{module_id:int}",
    guards=[ANY_ROLE],
    name="curriculum_module",
)
async def module(
    request: Request[User, None, None], version_id: FromPath[int], module_id: FromPath[int]
) -> Template:
    detail = await _version_or_404(version_id)
    found = detail["module_by_id"].get(module_id)
    if found is None:
        raise NotFoundException()
    strand = next(s for s in detail["strands"] if s["id"] == found["strand"])
    return Template(
        "curriculum/module.html",
        context={
            "version": detail["version"],
            "module": found,
            "strand": strand,
            "can_edit_local": found["municipality"] is not None
            and found["municipality"] in await access.local_curriculum_municipalities(request.user),
        },
    )


async def _editable_municipalities(user: User) -> list[dict]:
    """Admins may add local modules for any municipality; a coordinator for the
    member municipalities of their partnerships."""
    query = Municipality.select(Municipality.id, Municipality.name).where(
        Municipality.retired_at.is_null()
    ).order_by(Municipality.name)
    allowed = await access.local_module_municipalities(user)
    if allowed is not None:
        query = query.where(Municipality.id.is_in(sorted(allowed) or [0]))
    return await query


def _form_context(detail: dict, municipalities: list[dict], form: dict, errors: dict) -> dict:
    return {
        **detail,
        "municipalities": municipalities,
        "formats": list(curriculum.FORMAT_NAMES.items()),
        "form": form,
        "errors": errors,
    }


@get(
    "/curriculum/{version_id:int}/local-modules/new",
    guards=[CURRICULUM_EDITORS],
    name="local_module_new",
)
async def local_module_form(request: Request[User, None, None], version_id: FromPath[int]) -> Template:
    detail = await _version_or_404(version_id)
    municipalities = await _editable_municipalities(request.user)
    return Template(
        "curriculum/local_module_form.html",
        context=_form_context(detail, municipalities, {"days": "1"}, {}),
    )


@post(
    "/curriculum/{version_id:int}/local-modules",
    guards=[CURRICULUM_EDITORS],
    name="local_module_create",
)
async def local_module_create(
    request: Request[User, None, None],
    version_id: FromPath[int],
    data: FormData,
) -> Template | Redirect:
    detail = await _version_or_404(version_id)
    municipalities = await _editable_municipalities(request.user)
    allowed = {m["id"] for m in municipalities}
    form = forms.for_page(data)
    for name in ("competences", "prerequisites"):  # lists of checkboxes, shown again as lists
        if name in data:
            form[name] = forms.values(data, name)
    municipality_id = forms.optional_id(data, "municipality") or 0
    errors: dict[str, str] = {}
    if municipality_id not in allowed:
        errors["municipality"] = _("Vælg en kommune i dit samarbejde.")
    else:
        try:
            module_id = await curriculum.add_local_module(
                request.user.id, version_id, municipality_id, form
            )
        except Invalid as invalid:
            errors = invalid.errors
        else:
            return Redirect(f"/curriculum/{version_id}/modules/{module_id}", status_code=303)
    return Template(
        "curriculum/local_module_form.html",
        context=_form_context(detail, municipalities, form, errors),
        status_code=400,
    )


ROUTES = [versions, version, module, local_module_form, local_module_create]

