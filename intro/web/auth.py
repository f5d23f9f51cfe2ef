"""Sign-in: the session middleware, the guards every route goes through, and the
login and logout pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.types import ASGIApp, Receive, Scope, Send

from intro.people import accounts, providers, second_factor
from intro.people.accounts import User
from intro.settings import get_settings
from intro.tables import IdentityProvider, Role
from intro.web import forms
from intro.web.forms import FormData

SESSION_COOKIE = "intro_session"


def _cookie_value(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _sep, v = part.strip().partition("=")
                if k == name:
                    return v
    return None


class SessionMiddleware(ASGIMiddleware):
    """Puts the signed-in `User` (or None) in the scope. Sessions live in the database,
    so they survive restarts and are shared by every worker."""

    def __init__(self) -> None:
        # Static files need no user: skip the session lookup for them.
        self.should_bypass_for_scope = lambda scope: scope["path"].startswith("/static/")

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope["user"] = await accounts.user_for_session(_cookie_value(scope, SESSION_COOKIE))
        await next_app(scope, receive, send)


# --------------------------------------------------------------------------------------
# Guards


def require_login(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Every route needs a signed-in user unless it is marked `opt={"public": True}`."""
    if handler.opt.get("public"):
        return
    if connection.scope.get("user") is None:
        raise NotAuthorizedException()


def requires(*roles: Role):
    """A guard: the user must hold at least one of these roles (in any scope; the
    handler then narrows to what the user's scope covers)."""

    def guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
        user: User | None = connection.scope.get("user")
        if user is None:
            raise NotAuthorizedException()
        if not user.has(*roles):
            raise PermissionDeniedException()

    guard.__name__ = "requires_" + "_or_".join(r.value for r in roles)
    return guard


def safe_next(value: str | None) -> str:
    """Only a path on this site: never an absolute URL (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def login_redirect(path: str) -> str:
    query = urlencode({"next": path}) if path and path != "/" else ""
    return "/login" + (f"?{query}" if query else "")


# --------------------------------------------------------------------------------------
# Pages


@get("/login", opt={"public": True}, name="login")
async def login_page(request: Request, next: FromQuery[str | None] = None) -> Template | Redirect:
    if request.scope.get("user") is not None:
        return Redirect(safe_next(next))
    return Template(
        "auth/login.html",
        context={
            "next": safe_next(next),
            "email": "",
            "error": None,
            "signed_out": bool(request.query_params.get("signed_out")),
            "password_set": bool(request.query_params.get("password_set")),
            "providers_exist": await IdentityProvider.exists(),
        },
    )


@post("/login", opt={"public": True}, name="login_submit")
async def login_submit(
    request: Request,
    data: FormData,
) -> Template | Redirect:
    email = forms.value(data, "email")[:254]
    password = forms.value(data, "password")[:1024]
    next_path = safe_next(forms.value(data, "next", "/"))
    remote = request.client.host if request.client else ""
    try:
        person_id = await accounts.authenticate(email, password, remote)
    except accounts.SignInRefused as refused:
        status = 429 if refused.locked else 400
        return Template(
            "auth/login.html",
            context={"next": next_path, "email": email, "error": str(refused), "signed_out": False},
            status_code=status,
        )
    if not await providers.password_allowed(person_id):
        # Only someone who knew the password learns this (issue 16).
        return Template(
            "auth/login.html",
            context={"next": next_path, "email": email, "error": providers.PASSWORD_OFF, "signed_out": False,
                     "providers_exist": True},
            status_code=400,
        )
    if await second_factor.asked_at_sign_in(person_id):
        # The password was right; the session starts after the code (issue 16).
        challenge = await second_factor.open_challenge(person_id, next_path)
        response = Redirect(SECOND_FACTOR_PATH, status_code=303)
        response.set_cookie(
            CHALLENGE_COOKIE, challenge, max_age=second_factor.CHALLENGE_MINUTES * 60, httponly=True,
            secure=get_settings().secure_cookies, samesite="lax", path=SECOND_FACTOR_PATH,
        )
        return response
    return await signed_in(request, person_id, next_path)


SECOND_FACTOR_PATH = "/login/second-factor"
CHALLENGE_COOKIE = "intro_second_factor"


async def signed_in(request: Request, person_id: int, next_path: str, response: Any = None) -> Any:
    """Start a session for the person (ending this browser's old one) and send the
    browser on to `next_path` (or return `response` with the session cookie set)."""
    old = _cookie_value(request.scope, SESSION_COOKIE)
    if old:
        await accounts.end_session(old)
    token = await accounts.start_session(person_id, request.headers.get("user-agent", ""))
    response = response if response is not None else Redirect(next_path, status_code=303)
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 24 * 3600,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
    )
    return response


@post("/logout", name="logout")
async def logout(request: Request) -> Redirect:
    token = _cookie_value(request.scope, SESSION_COOKIE)
    if token:
        await accounts.end_session(token)
    response = Redirect("/login?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
