"""Signing in through the municipality's own identity provider (issue 16, section 1):
the start, the provider's answer, and the admin page that sets a provider up."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.people import providers
from intro.people.accounts import User
from intro.settings import get_settings
from intro.tables import Municipality, Role
from intro.web import forms
from intro.web.auth import _cookie_value, requires, safe_next
from intro.web.auth import signed_in as start_session_for

STATE_COOKIE = "intro_oidc_state"
ADMIN = requires(Role.admin)


def _login_page(message: str, email: str = "", next_path: str = "/", status: int = 400) -> Template:
    return Template(
        "auth/login.html",
        context={
            "next": next_path, "email": email, "error": None, "provider_error": message,
            "signed_out": False, "password_set": False, "providers_exist": True,
        },
        status_code=status,
    )


@post("/login/provider", opt={"public": True}, name="login_provider")
async def login_provider(data: forms.FormData) -> Template | Redirect:
    email = forms.text(data, "email", 254).strip()
    next_path = safe_next(forms.text(data, "next", 500))
    provider = await providers.provider_for_email(email) if email else None
    if provider is None:
        return _login_page(
            _("Der er ikke sat kommunalt login op for {email} i Intro. Log ind med adgangskode.").format(email=email)
            if email
            else _("Skriv din e-mailadresse, så finder Intro din kommunes login."),
            email, next_path,
        )
    try:
        url, state = await providers.start(provider, next_path)
    except providers.ProviderRefused as refused:
        return _login_page(str(refused), email, next_path, status=502)
    response = Redirect(url, status_code=303)
    settings = get_settings()
    # Lax: sent along when the provider sends the browser back (a top-level GET).
    response.set_cookie(
        STATE_COOKIE, state, max_age=providers.SIGN_IN_MINUTES * 60, httponly=True,
        secure=settings.secure_cookies, samesite="lax", path=providers.CALLBACK_PATH,
    )
    return response


@get(providers.CALLBACK_PATH, opt={"public": True}, name="login_provider_callback")
async def login_provider_callback(request: Request) -> Template | Redirect:
    query = request.query_params  # ("state" is a name Litestar keeps for itself)
    try:
        signed_in = await providers.finish(
            state=str(query.get("state", ""))[:200], cookie_state=_cookie_value(request.scope, STATE_COOKIE),
            code=str(query.get("code", ""))[:2000], error=str(query.get("error", ""))[:200],
        )
    except providers.ProviderRefused as refused:
        status = 502 if str(refused) == providers.PROVIDER_DOWN else 400
        response = _login_page(str(refused), status=status)
        response.delete_cookie(STATE_COOKIE, path=providers.CALLBACK_PATH)
        return response
    # No second factor here: the provider handles that.
    response = await start_session_for(request, signed_in.person_id, safe_next(signed_in.next_path))
    response.delete_cookie(STATE_COOKIE, path=providers.CALLBACK_PATH)
    return response


# --------------------------------------------------------------------------------------
# Admin: a municipality's provider


async def _municipality(municipality_id: int) -> dict:
    row = await Municipality.select(Municipality.id, Municipality.name).where(Municipality.id == municipality_id).first()
    if row is None:
        raise NotFound()
    return row


def _form_of(provider: providers.Provider | None) -> dict:
    if provider is None:
        return {"password_sign_in": "1"}
    return {
        "issuer": provider.issuer, "client_id": provider.client_id,
        "client_secret_env": provider.client_secret_env,
        "allowed_domains": " ".join(provider.allowed_domains),
        "password_sign_in": "1" if provider.password_sign_in else "",
    }


def _admin_page(municipality: dict, form: dict, errors: dict | None = None, saved: bool = False, status: int = 200) -> Template:
    return Template(
        "admin/provider.html",
        context={
            "municipality": municipality, "form": form, "errors": errors or {}, "saved": saved,
            "callback_url": providers.callback_url(),
        },
        status_code=status,
    )


@get("/admin/municipalities/{municipality_id:int}/sign-in", guards=[ADMIN], name="admin_provider")
async def provider_page(municipality_id: FromPath[int], saved: FromQuery[str | None] = None) -> Template:
    municipality = await _municipality(municipality_id)
    return _admin_page(municipality, _form_of(await providers.provider_of(municipality_id)), saved=bool(saved))


@post("/admin/municipalities/{municipality_id:int}/sign-in", guards=[ADMIN], name="admin_provider_save")
async def provider_save(
    request: Request[User, None, None], municipality_id: FromPath[int], data: forms.FormData
) -> Template | Redirect:
    municipality = await _municipality(municipality_id)
    try:
        await providers.save_provider(
            request.user.id, municipality_id,
            issuer=forms.text(data, "issuer", 600),
            client_id=forms.text(data, "client_id", 300),
            client_secret_env=forms.text(data, "client_secret_env", 200),
            allowed_domains=forms.text(data, "allowed_domains", 2000),
            password_sign_in=bool(forms.text(data, "password_sign_in", 5)),
        )
    except Invalid as invalid:
        return _admin_page(municipality, forms.kept(data), invalid.errors, status=400)
    return Redirect(f"/admin/municipalities/{municipality_id}/sign-in?saved=1", status_code=303)


ROUTES = [login_provider, login_provider_callback, provider_page, provider_save]
