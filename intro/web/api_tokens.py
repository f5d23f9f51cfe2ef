"""API tokens for a municipality's HR system, kept by its chief or an administrator."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro import access
from intro.errors import Invalid
from intro.i18n import _
from intro.people import api_tokens
from intro.people.accounts import User
from intro.settings import get_settings
from intro.tables import Role
from intro.web import forms
from intro.web.auth import requires
from intro.web.forms import FormData

HR_KEEPERS = requires(Role.chief, Role.admin)
NOTICES = {"revoked": _("Nøglen er tilbagekaldt. HR-systemet kan ikke længere bruge den.")}


async def _page(
    municipality: dict, *, errors: dict | None = None, form: dict | None = None,
    new_token: str | None = None, notice: str | None = None, status: int = 200,
) -> Template:
    municipality_id, name = municipality["id"], municipality["name"]
    return Template(
        "api_tokens/index.html",
        context={
            "municipality_id": municipality_id,
            "municipality_name": name,
            "tokens": await api_tokens.tokens_of(municipality_id),
            "errors": errors or {},
            "form": form or {},
            "new_token": new_token,
            "notice": NOTICES.get(notice or ""),
            "api_base": get_settings().base_url + "/api/v1",
        },
        status_code=status,
    )


@get("/municipalities/{municipality_id:int}/api-tokens", guards=[HR_KEEPERS], name="api_tokens")
async def tokens_page(
    request: Request[User, None, None], municipality_id: FromPath[int], notice: FromQuery[str | None] = None
) -> Template:
    return await _page(await access.hr_municipality(request.user, municipality_id), notice=notice)


@post("/municipalities/{municipality_id:int}/api-tokens", guards=[HR_KEEPERS], name="api_token_create")
async def token_create(request: Request[User, None, None], municipality_id: FromPath[int], data: FormData) -> Template:
    municipality = await access.hr_municipality(request.user, municipality_id)
    try:
        token = await api_tokens.create_token(request.user.id, municipality["id"], forms.value(data, "name"))
    except Invalid as invalid:
        return await _page(municipality, errors=invalid.errors, form=forms.for_page(data), status=400)
    # Shown once, on this response only (never in a URL, never stored in clear).
    return await _page(municipality, new_token=token)


@post(
    "/municipalities/{municipality_id:int}/api-tokens/{token_id:int}/revoke",
    guards=[HR_KEEPERS],
    name="api_token_revoke",
)
async def token_revoke(
    request: Request[User, None, None], municipality_id: FromPath[int], token_id: FromPath[int]
) -> Redirect:
    municipality_id = (await access.hr_municipality(request.user, municipality_id))["id"]
    await api_tokens.revoke_token(request.user.id, municipality_id, token_id)
    return Redirect(f"/municipalities/{municipality_id}/api-tokens?notice=revoked", status_code=303)


ROUTES = [tokens_page, token_create, token_revoke]
