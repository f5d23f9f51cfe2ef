"""Correcting and retiring master data in the administration (issue 17): a municipality's
and a venue's own page, and the forms added to the partnership and user pages. Mounted
on the /admin router, so the admin guard covers every handler here."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.people import master_data, organisation
from intro.people.accounts import User
from intro.tables import Municipality, Venue
from intro.web import admin_users, forms
from intro.web.forms import FormData

NOTICES = {
    "saved": _("Ændringerne er gemt."),
    "retired": _("Den er nu udgået: den bliver i historikken, men kan ikke vælges til noget nyt."),
    "restored": _("Den kan nu vælges igen."),
}


def _done(url: str, notice: str) -> Redirect:
    return Redirect(f"{url}?notice={notice}", status_code=303)


def _choice(data: dict, name: str) -> bool:
    value = forms.text(data, name, 5)
    if value not in ("0", "1"):
        raise Invalid({name: _("Vælg ja eller nej.")})
    return value == "1"


# --------------------------------------------------------------------------------------
# Municipalities


async def _municipality_or_404(municipality_id: int) -> dict:
    row = await Municipality.select().where(Municipality.id == municipality_id).first()
    if row is None:
        raise NotFoundException()
    return row


async def _municipality_page(municipality: dict, form: dict, errors: dict | None = None, notice: str | None = None) -> Template:
    return Template(
        "admin/municipality.html",
        context={"municipality": municipality, "form": form, "errors": errors or {}, "notice": NOTICES.get(notice or "")},
        status_code=400 if errors else 200,
    )


@get("/municipalities/{municipality_id:int}", name="admin_municipality")
async def municipality(municipality_id: FromPath[int], notice: FromQuery[str | None] = None) -> Template:
    found = await _municipality_or_404(municipality_id)
    return await _municipality_page(found, found, notice=notice)


@post("/municipalities/{municipality_id:int}", name="admin_municipality_update")
async def municipality_update(
    request: Request[User, None, None], municipality_id: FromPath[int], data: FormData
) -> Template | Redirect:
    found = await _municipality_or_404(municipality_id)
    try:
        await master_data.update_municipality(
            request.user.id, municipality_id, forms.text(data, "code"), forms.text(data, "name"), forms.text(data, "region")
        )
    except Invalid as invalid:
        return await _municipality_page(found, forms.kept(data), invalid.errors)
    return _done(f"/admin/municipalities/{municipality_id}", "saved")


@post("/municipalities/{municipality_id:int}/retire", name="admin_municipality_retire")
async def municipality_retire(
    request: Request[User, None, None], municipality_id: FromPath[int], data: FormData
) -> Template | Redirect:
    found = await _municipality_or_404(municipality_id)
    try:
        retired = _choice(data, "retired")
        await master_data.set_municipality_retired(request.user.id, municipality_id, retired)
    except Invalid as invalid:
        return await _municipality_page(found, found, invalid.errors)
    return _done(f"/admin/municipalities/{municipality_id}", "retired" if retired else "restored")


# --------------------------------------------------------------------------------------
# Venues


async def _venue_or_404(venue_id: int) -> dict:
    row = await Venue.select(*Venue.all_columns(), Venue.municipality.name.as_alias("municipality_name")).where(
        Venue.id == venue_id
    ).first()
    if row is None:
        raise NotFoundException()
    return row


async def _venue_page(venue: dict, form: dict, errors: dict | None = None, notice: str | None = None) -> Template:
    return Template(
        "admin/venue.html",
        context={"venue": venue, "form": form, "errors": errors or {}, "notice": NOTICES.get(notice or "")},
        status_code=400 if errors else 200,
    )


@get("/venues/{venue_id:int}", name="admin_venue")
async def venue(venue_id: FromPath[int], notice: FromQuery[str | None] = None) -> Template:
    found = await _venue_or_404(venue_id)
    return await _venue_page(found, found, notice=notice)


@post("/venues/{venue_id:int}", name="admin_venue_update")
async def venue_update(request: Request[User, None, None], venue_id: FromPath[int], data: FormData) -> Template | Redirect:
    found = await _venue_or_404(venue_id)
    try:
        await master_data.update_venue(request.user.id, venue_id, forms.kept(data))
    except Invalid as invalid:
        return await _venue_page(found, forms.kept(data), invalid.errors)
    return _done(f"/admin/venues/{venue_id}", "saved")


@post("/venues/{venue_id:int}/active", name="admin_venue_active")
async def venue_active(request: Request[User, None, None], venue_id: FromPath[int], data: FormData) -> Template | Redirect:
    found = await _venue_or_404(venue_id)
    try:
        active = _choice(data, "active")
        await master_data.set_venue_active(request.user.id, venue_id, active)
    except Invalid as invalid:
        return await _venue_page(found, found, invalid.errors)
    return _done(f"/admin/venues/{venue_id}", "restored" if active else "retired")


# --------------------------------------------------------------------------------------
# Partnerships and people: forms on their existing pages


@post("/partnerships/{partnership_id:int}", name="admin_partnership_update")
async def partnership_update(
    request: Request[User, None, None], partnership_id: FromPath[int], data: FormData
) -> Template | Redirect:
    try:
        await master_data.update_partnership(
            request.user.id, partnership_id, forms.text(data, "name"), forms.text(data, "description")
        )
    except NotFound:
        raise NotFoundException() from None
    except Invalid as invalid:
        return await _partnership_refused(partnership_id, invalid.errors)
    return _done(f"/admin/partnerships/{partnership_id}", "partnership_saved")


@post("/partnerships/{partnership_id:int}/retire", name="admin_partnership_retire")
async def partnership_retire(
    request: Request[User, None, None], partnership_id: FromPath[int], data: FormData
) -> Template | Redirect:
    try:
        retired = _choice(data, "retired")
        await master_data.set_partnership_retired(request.user.id, partnership_id, retired)
    except NotFound:
        raise NotFoundException() from None
    except Invalid as invalid:
        return await _partnership_refused(partnership_id, invalid.errors)
    return _done(f"/admin/partnerships/{partnership_id}", "partnership_retired" if retired else "partnership_restored")


async def _partnership_refused(partnership_id: int, errors: dict) -> Template:
    found = await organisation.partnership_detail(partnership_id)
    if found is None:
        raise NotFoundException()
    return Template(
        "admin/partnership.html",
        context={
            "partnership": found,
            "municipalities": await organisation.municipality_choices({m["id"] for m in found["members"]}),
            "chosen": [str(m["id"]) for m in found["members"]],
            "notice": None,
            "errors": errors,
        },
        status_code=400,
    )


@post("/users/{person_id:int}/details", name="admin_user_details")
async def user_details(request: Request[User, None, None], person_id: FromPath[int], data: FormData) -> Template | Redirect:
    try:
        await master_data.update_person(request.user.id, person_id, forms.text(data, "full_name", 300), forms.text(data, "email", 300))
    except NotFound:
        raise NotFoundException() from None
    except Invalid as invalid:
        person = await admin_users._person_or_404(person_id)
        return await admin_users._user_page(request, person, forms.kept(data), invalid.errors)
    return _done(f"/admin/users/{person_id}", "details_saved")


HANDLERS = [
    municipality,
    municipality_update,
    municipality_retire,
    venue,
    venue_update,
    venue_active,
    partnership_update,
    partnership_retire,
    user_details,
]
