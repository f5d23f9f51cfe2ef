"""Administration of people: finding them, creating them, their roles, password and
whether they may sign in. Mounted by `admin` under /admin, whose router holds the
admin guard."""

from __future__ import annotations

import json

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro.calendars import feeds
from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.people import accounts, organisation, privacy
from intro.people.accounts import ROLE_NAMES, User
from intro.tables import Person, Role
from intro.web import forms
from intro.web.forms import FormData

# The list answers a full page or, to htmx, only the table; caches must keep them apart.
VARY = {"Vary": "HX-Request"}

NOTICES = {
    "created": _("Brugeren er oprettet."),
    "granted": _("Rollen er givet."),
    "revoked": _("Rollen er fjernet."),
    "password": _("Adgangskoden er skiftet. Brugeren er logget ud alle steder."),
    "feeds_revoked": _("Alle brugerens kalenderadresser er stoppet."),
    "activated": _("Brugeren er aktiveret og kan logge ind igen."),
    "deactivated": _("Brugeren er deaktiveret og logget ud alle steder."),
    "restricted": _("Behandlingen af personens data er begrænset: personen anonymiseres ikke."),
    "unrestricted": _("Begrænsningen er ophævet."),
    "anonymised": _("Personen er anonymiseret. Tallene i statistikken er uændrede."),
    "details_saved": _("Navn og e-mailadresse er gemt."),
}


def _wants_table_only(request: Request) -> bool:
    # When htmx restores a page missing from its history cache it asks for the whole page.
    return bool(request.headers.get("hx-request")) and not request.headers.get(
        "hx-history-restore-request"
    )


async def _users_page(q: str, form: dict, errors: dict | None = None) -> Template:
    context = {"found": await accounts.find_people(q), "q": q, "form": form, "errors": errors or {}}
    return Template(
        "admin/users.html", context=context, status_code=400 if errors else 200, headers=VARY
    )


@get("/users", name="admin_users")
async def users(request: Request, q: FromQuery[str] = "") -> Template:
    q = q.strip()[: accounts.SEARCH_MAX_LENGTH]
    if _wants_table_only(request):
        context = {"found": await accounts.find_people(q), "q": q}
        return Template("admin/_users_table.html", context=context, headers=VARY)
    return await _users_page(q, {})


@post("/users", name="admin_user_create")
async def user_create(request: Request[User, None, None], data: FormData) -> Template | Redirect:
    password = forms.text(data, "password", 1024)
    try:
        person_id = await accounts.create_person(
            request.user.id,
            forms.text(data, "email", 254),
            forms.text(data, "full_name", 200),
            password or None,
        )
    except Invalid as invalid:
        return await _users_page("", forms.kept(data), invalid.errors)
    return Redirect(f"/admin/users/{person_id}?notice=created", status_code=303)


# --------------------------------------------------------------------------------------
# One person


async def _person_or_404(person_id: int) -> dict:
    person = await accounts.person_detail(person_id)
    if person is None:
        raise NotFoundException()
    return person


async def _user_page(
    request: Request[User, None, None],
    person: dict,
    form: dict | None = None,
    errors: dict | None = None,
    notice: str | None = None,
) -> Template:
    context = {
        "person": person,
        "is_self": person["id"] == request.user.id,
        "roles": [(r.value, ROLE_NAMES[r]) for r in Role],
        "municipalities": await organisation.municipality_choices(),
        "partnerships": await organisation.partnership_choices(),
        "form": form or {},
        "errors": errors or {},
        "notice": NOTICES.get(notice or ""),
    }
    return Template("admin/user.html", context=context, status_code=400 if errors else 200)


@get("/users/{person_id:int}", name="admin_user")
async def user(
    request: Request[User, None, None],
    person_id: FromPath[int],
    notice: FromQuery[str | None] = None,
) -> Template:
    return await _user_page(request, await _person_or_404(person_id), notice=notice)


def _done(person_id: int, notice: str) -> Redirect:
    return Redirect(f"/admin/users/{person_id}?notice={notice}", status_code=303)


@post("/users/{person_id:int}/roles", name="admin_user_grant")
async def user_grant(
    request: Request[User, None, None], person_id: FromPath[int], data: FormData
) -> Template | Redirect:
    person = await _person_or_404(person_id)
    try:
        await accounts.grant_role(
            request.user.id,
            person_id,
            forms.text(data, "role", 20),
            municipality_id=forms.optional_id(data, "municipality"),
            partnership_id=forms.optional_id(data, "partnership"),
        )
    except Invalid as invalid:
        return await _user_page(request, person, forms.kept(data), invalid.errors)
    return _done(person_id, "granted")


@post("/users/{person_id:int}/roles/{grant_id:int}/revoke", name="admin_user_revoke")
async def user_revoke(
    request: Request[User, None, None], person_id: FromPath[int], grant_id: FromPath[int]
) -> Template | Redirect:
    person = await _person_or_404(person_id)
    if not any(g["id"] == grant_id for g in person["grants"]):
        raise NotFoundException()
    try:
        await accounts.revoke_role(request.user.id, grant_id)
    except NotFound:
        raise NotFoundException() from None  # revoked by someone else meanwhile
    except Invalid as invalid:
        return await _user_page(request, person, errors=invalid.errors)
    return _done(person_id, "revoked")


@post("/users/{person_id:int}/password", name="admin_user_password")
async def user_password(
    request: Request[User, None, None], person_id: FromPath[int], data: FormData
) -> Template | Redirect:
    person = await _person_or_404(person_id)
    try:
        await accounts.set_password(request.user.id, person_id, forms.text(data, "password", 1024))
    except Invalid as invalid:
        return await _user_page(request, person, errors=invalid.errors)
    return _done(person_id, "password")


@post("/users/{person_id:int}/active", name="admin_user_active")
async def user_active(
    request: Request[User, None, None], person_id: FromPath[int], data: FormData
) -> Template | Redirect:
    person = await _person_or_404(person_id)
    choice = forms.text(data, "active", 5)
    try:
        if choice not in ("1", "0"):
            raise Invalid({"active": _("Vælg, om brugeren skal være aktiv.")})
        await accounts.set_active(request.user.id, person_id, choice == "1")
    except Invalid as invalid:
        return await _user_page(request, person, errors=invalid.errors)
    return _done(person_id, "activated" if choice == "1" else "deactivated")


@post("/users/{person_id:int}/feeds/revoke", name="admin_user_feeds_revoke")
async def user_feeds_revoke(request: Request[User, None, None], person_id: FromPath[int]) -> Redirect:
    """End every calendar feed the person has made (e.g. a lost phone, a leaver)."""
    await _person_or_404(person_id)
    await feeds.revoke_all(request.user.id, person_id)
    return _done(person_id, "feeds_revoked")


# --------------------------------------------------------------------------------------
# The person's data: access, restriction, anonymisation (intro/people/privacy.py)


async def _privacy_page(person_id: int, actor_id: int, errors: dict | None = None, notice: str | None = None) -> Template:
    person = await Person.select(
        Person.id, Person.full_name, Person.email, Person.restricted_at, Person.anonymised_at
    ).where(Person.id == person_id).first()
    if person is None:
        raise NotFoundException()
    # The summary is what the export holds, so reading it is an export too (and logged).
    # A refused request shows the page again and changes nothing, the log included.
    data = await privacy.export(actor_id, person_id, record=not errors)
    sections = [
        (privacy.SECTION_TITLES[key], data[key]) for key in data if key != "person"
    ]
    return Template(
        "admin/privacy.html",
        context={"person": person, "data": data, "sections": sections, "errors": errors or {},
                 "notice": NOTICES.get(notice or "")},
        status_code=400 if errors else 200,
    )


@get("/users/{person_id:int}/privacy", name="admin_user_privacy")
async def user_privacy(
    request: Request[User, None, None], person_id: FromPath[int], notice: FromQuery[str | None] = None
) -> Template:
    """Everything Intro holds about the person, readable, with the rights' actions."""
    return await _privacy_page(person_id, request.user.id, notice=notice)


@get("/users/{person_id:int}/export.json", name="admin_user_export")
async def user_export(request: Request[User, None, None], person_id: FromPath[int]) -> Response:
    """Everything Intro holds about the person as a JSON file (GDPR art. 15 and 20)."""
    try:
        data = await privacy.export(request.user.id, person_id)
    except NotFound:
        raise NotFoundException() from None
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str, sort_keys=True)
    return Response(
        body.encode("utf-8"),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="intro-person-{person_id}.json"'},
    )


@post("/users/{person_id:int}/restrict", name="admin_user_restrict")
async def user_restrict(
    request: Request[User, None, None], person_id: FromPath[int], data: FormData
) -> Template | Redirect:
    choice = forms.text(data, "restricted", 5)
    try:
        if choice not in ("1", "0"):
            raise Invalid({"restricted": _("Vælg, om behandlingen skal begrænses.")})
        await privacy.set_restricted(request.user.id, person_id, choice == "1")
    except NotFound:
        raise NotFoundException() from None
    except Invalid as invalid:
        return await _privacy_page(person_id, request.user.id, invalid.errors)
    return Redirect(
        f"/admin/users/{person_id}/privacy?notice={'restricted' if choice == '1' else 'unrestricted'}",
        status_code=303,
    )


@post("/users/{person_id:int}/anonymise", name="admin_user_anonymise")
async def user_anonymise(
    request: Request[User, None, None], person_id: FromPath[int], data: FormData
) -> Template | Redirect:
    try:
        if forms.text(data, "confirm", 5) != "1":
            raise Invalid({"confirm": _("Bekræft, at personen skal anonymiseres. Det kan ikke fortrydes.")})
        await privacy.anonymise(request.user.id, person_id, reason="request")
    except NotFound:
        raise NotFoundException() from None
    except Invalid as invalid:
        return await _privacy_page(person_id, request.user.id, invalid.errors)
    return Redirect(f"/admin/users/{person_id}/privacy?notice=anonymised", status_code=303)


HANDLERS = [
    users, user_create, user, user_grant, user_revoke, user_password, user_active, user_feeds_revoke,
    user_privacy, user_export, user_restrict, user_anonymise,
]
