"""Administration: municipalities, partnerships, venues and the audit log (the users
pages are in `admin_users`). The admin guard sits on the router, so no page under
/admin can be added without it."""

from __future__ import annotations

from litestar import Request, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro import audit
from intro.errors import Invalid
from intro.i18n import _
from intro.insight import overview
from intro.people import organisation
from intro.people.accounts import User
from intro.tables import Role
from intro.web import admin_master_data, admin_users, forms
from intro.web.auth import requires
from intro.web.forms import FormData

NOTICES = {
    "municipality_created": _("Kommunen er oprettet."),
    "venue_created": _("Lokationen er oprettet."),
    "partnership_created": _("Samarbejdet er oprettet."),
    "members_saved": _("Medlemskommunerne er gemt."),
    "membership_added": _("Medlemskabet er registreret."),
    "membership_ended": _("Medlemskabets slutdato er gemt."),
    "partnership_saved": _("Samarbejdet er gemt."),
    "partnership_retired": _("Samarbejdet er udgået: det bliver i historikken, men kan ikke vælges til noget nyt."),
    "partnership_restored": _("Samarbejdet kan vælges igen."),
}

# Where an object in the audit log can be looked at.
OBJECT_PAGES = {
    "person": "/admin/users/",
    "partnership": "/admin/partnerships/",
    "municipality": "/admin/municipalities/",
    "venue": "/admin/venues/",
}


def _page(template: str, context: dict, errors: dict | None = None) -> Template:
    """A page; with errors it is a form refused as bad input (400)."""
    return Template(
        template, context={**context, "errors": errors or {}}, status_code=400 if errors else 200
    )


@get("/", name="admin_overview")
async def admin_overview() -> Template:
    return Template("admin/index.html", context={"counts": await overview.admin_overview()})


# --------------------------------------------------------------------------------------
# Municipalities


async def _municipalities_page(
    form: dict, errors: dict | None = None, notice: str | None = None
) -> Template:
    context = {
        "municipalities": await organisation.list_municipalities(),
        "form": form,
        "notice": NOTICES.get(notice or ""),
    }
    return _page("admin/municipalities.html", context, errors)


@get("/municipalities", name="admin_municipalities")
async def municipalities(notice: FromQuery[str | None] = None) -> Template:
    return await _municipalities_page({}, notice=notice)


@post("/municipalities", name="admin_municipality_create")
async def municipality_create(
    request: Request[User, None, None], data: FormData
) -> Template | Redirect:
    try:
        await organisation.create_municipality(
            request.user.id,
            forms.text(data, "code"),
            forms.text(data, "name"),
            forms.text(data, "region"),
        )
    except Invalid as invalid:
        return await _municipalities_page(forms.kept(data), invalid.errors)
    return Redirect("/admin/municipalities?notice=municipality_created", status_code=303)


# --------------------------------------------------------------------------------------
# Partnerships


async def _partnerships_page(
    form: dict, errors: dict | None = None, notice: str | None = None
) -> Template:
    context = {
        "partnerships": await organisation.list_partnerships(),
        "municipalities": await organisation.municipality_choices(),
        "form": form,
        "notice": NOTICES.get(notice or ""),
    }
    return _page("admin/partnerships.html", context, errors)


@get("/partnerships", name="admin_partnerships")
async def partnerships(notice: FromQuery[str | None] = None) -> Template:
    return await _partnerships_page({}, notice=notice)


@post("/partnerships", name="admin_partnership_create")
async def partnership_create(
    request: Request[User, None, None], data: FormData
) -> Template | Redirect:
    member_ids = forms.ids(data, "members")
    try:
        if member_ids is None:
            raise Invalid({"members": _("En af de valgte kommuner findes ikke.")})
        partnership_id = await organisation.create_partnership(
            request.user.id, forms.text(data, "name"), forms.text(data, "description"), member_ids
        )
    except Invalid as invalid:
        return await _partnerships_page(forms.kept(data), invalid.errors)
    return Redirect(
        f"/admin/partnerships/{partnership_id}?notice=partnership_created", status_code=303
    )


async def _partnership_or_404(partnership_id: int) -> dict:
    partnership = await organisation.partnership_detail(partnership_id)
    if partnership is None:
        raise NotFoundException()
    return partnership


async def _partnership_page(
    partnership: dict,
    chosen: list[str],
    errors: dict | None = None,
    notice: str | None = None,
    form: dict | None = None,
) -> Template:
    context = {
        "form": form or {},
        "partnership": partnership,
        "municipalities": await organisation.municipality_choices(
            {m["id"] for m in partnership["members"]}
        ),
        "chosen": chosen,
        "notice": NOTICES.get(notice or ""),
    }
    return _page("admin/partnership.html", context, errors)


@get("/partnerships/{partnership_id:int}", name="admin_partnership")
async def partnership(
    partnership_id: FromPath[int], notice: FromQuery[str | None] = None
) -> Template:
    found = await _partnership_or_404(partnership_id)
    return await _partnership_page(found, [str(m["id"]) for m in found["members"]], notice=notice)


@post("/partnerships/{partnership_id:int}/members", name="admin_partnership_members")
async def partnership_members(
    request: Request[User, None, None], partnership_id: FromPath[int], data: FormData
) -> Template | Redirect:
    found = await _partnership_or_404(partnership_id)
    member_ids = forms.ids(data, "members")
    try:
        if member_ids is None:
            raise Invalid({"members": _("En af de valgte kommuner findes ikke.")})
        await organisation.set_members(request.user.id, partnership_id, member_ids)
    except Invalid as invalid:
        return await _partnership_page(found, forms.values(data, "members"), invalid.errors)
    return Redirect(f"/admin/partnerships/{partnership_id}?notice=members_saved", status_code=303)


@post("/partnerships/{partnership_id:int}/memberships", name="admin_membership_add")
async def membership_add(
    request: Request[User, None, None], partnership_id: FromPath[int], data: FormData
) -> Template | Redirect:
    """Record a membership from a date (a join, a rejoin, or a past spell with its end)."""
    found = await _partnership_or_404(partnership_id)
    try:
        await organisation.add_membership(
            request.user.id,
            partnership_id,
            forms.optional_id(data, "municipality"),
            forms.text(data, "joined_on", 20),
            forms.text(data, "left_on", 20),
        )
    except Invalid as invalid:
        return await _partnership_page(
            found, [str(m["id"]) for m in found["members"]], invalid.errors, form=forms.kept(data)
        )
    return Redirect(f"/admin/partnerships/{partnership_id}?notice=membership_added", status_code=303)


@post(
    "/partnerships/{partnership_id:int}/memberships/{membership_id:int}/end",
    name="admin_membership_end",
)
async def membership_end(
    request: Request[User, None, None],
    partnership_id: FromPath[int],
    membership_id: FromPath[int],
    data: FormData,
) -> Template | Redirect:
    """End one membership (or move its end) from a date."""
    found = await _partnership_or_404(partnership_id)
    try:
        await organisation.end_membership(
            request.user.id, partnership_id, membership_id, forms.text(data, "left_on", 20)
        )
    except Invalid as invalid:
        if "membership" in invalid.errors:
            raise NotFoundException() from None
        errors = {f"left_on_{membership_id}": message for message in invalid.errors.values()}
        return await _partnership_page(
            found, [str(m["id"]) for m in found["members"]], errors, form=forms.kept(data)
        )
    return Redirect(f"/admin/partnerships/{partnership_id}?notice=membership_ended", status_code=303)


# --------------------------------------------------------------------------------------
# Venues


async def _venues_page(
    form: dict, errors: dict | None = None, notice: str | None = None
) -> Template:
    context = {
        "venues": await organisation.list_venues(),
        "municipalities": await organisation.municipality_choices(),
        "form": form,
        "notice": NOTICES.get(notice or ""),
    }
    return _page("admin/venues.html", context, errors)


@get("/venues", name="admin_venues")
async def venues(notice: FromQuery[str | None] = None) -> Template:
    return await _venues_page({}, notice=notice)


@post("/venues", name="admin_venue_create")
async def venue_create(request: Request[User, None, None], data: FormData) -> Template | Redirect:
    try:
        await organisation.create_venue(
            request.user.id,
            name=forms.text(data, "name"),
            municipality_id=forms.optional_id(data, "municipality"),
            address=forms.text(data, "address"),
            postcode=forms.text(data, "postcode"),
            city=forms.text(data, "city"),
            capacity=forms.text(data, "capacity", 20),
            accessibility=forms.text(data, "accessibility"),
        )
    except Invalid as invalid:
        return await _venues_page(forms.kept(data), invalid.errors)
    return Redirect("/admin/venues?notice=venue_created", status_code=303)


# --------------------------------------------------------------------------------------
# Audit log


@get("/audit", name="admin_audit")
async def audit_log(
    page: FromQuery[int] = 1, object_type: FromQuery[str | None] = None
) -> Template:
    object_type = object_type or None
    return Template(
        "admin/audit.html",
        context={
            "log": await audit.log_page(page, object_type),
            "object_types": await audit.object_types(),
            "object_type": object_type,
            "action_names": audit.ACTION_NAMES,
            "object_type_names": audit.OBJECT_TYPE_NAMES,
            "object_pages": OBJECT_PAGES,
        },
    )


ROUTES = [
    Router(
        path="/admin",
        guards=[requires(Role.admin)],
        route_handlers=[
            admin_overview,
            municipalities,
            municipality_create,
            partnerships,
            partnership_create,
            partnership,
            partnership_members,
            membership_add,
            membership_end,
            venues,
            venue_create,
            audit_log,
            *admin_users.HANDLERS,
            *admin_master_data.HANDLERS,
        ],
    )
]
