"""Pages to get into Intro without an admin typing a password (issue 16): a forgotten
password, the one-time link from an invitation or reset e-mail, the invitations a
chief or coordinator can send again, and one's own sign-ins."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro import access
from intro.errors import Invalid
from intro.i18n import _
from intro.people import account_links, providers, sign_ins
from intro.people.accounts import User
from intro.tables import AccountLinkPurpose, Role
from intro.web import forms
from intro.web.auth import SESSION_COOKIE, _cookie_value, requires

INVITERS = requires(Role.chief, Role.coordinator)


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


# --------------------------------------------------------------------------------------
# Forgotten password (public)


@get("/password/forgot", opt={"public": True}, name="password_forgot", sync_to_thread=False)
def forgot_page() -> Template:
    return Template("account/forgot.html", context={"email": "", "errors": {}, "sent": False, "throttled": None})


@post("/password/forgot", opt={"public": True}, name="password_forgot_submit")
async def forgot_submit(request: Request, data: forms.FormData) -> Template:
    email = forms.text(data, "email", 254).strip()
    if not email:
        return Template(
            "account/forgot.html",
            context={"email": "", "errors": {"email": _("Skriv din e-mailadresse.")}, "sent": False, "throttled": None},
            status_code=400,
        )
    try:
        await account_links.request_reset(email, _client(request))
    except account_links.Throttled as throttled:
        return Template(
            "account/forgot.html",
            context={"email": email, "errors": {}, "sent": False, "throttled": str(throttled)},
            status_code=429,
        )
    # The same answer whether or not the address has an account.
    return Template("account/forgot.html", context={"email": email, "errors": {}, "sent": True, "throttled": None})


# --------------------------------------------------------------------------------------
# The link from the e-mail (public; the token is the key)

_REFUSED_STATUS = {
    account_links.LinkProblem.unknown: 404,
    account_links.LinkProblem.used: 410,
    account_links.LinkProblem.expired: 410,
}


def _refused(refused: account_links.LinkRefused) -> Template:
    return Template(
        "account/link.html",
        context={"holder": None, "problem": str(refused), "errors": {}},
        status_code=_REFUSED_STATUS[refused.problem],
    )


async def _link_page(holder: account_links.LinkHolder, errors: dict | None = None, status: int = 200) -> Template:
    return Template(
        "account/link.html",
        context={
            "holder": holder,
            # Their municipality's own sign-in works too, instead of a password.
            "provider": await providers.provider_for_email(holder.email),
            "is_invitation": holder.purpose is AccountLinkPurpose.invitation,
            "problem": None,
            "errors": errors or {},
        },
        status_code=status,
    )


@get("/access/{token:str}", opt={"public": True}, name="account_link")
async def link_page(token: FromPath[str]) -> Template:
    # Opening the page never uses the link: mail scanners open links too.
    try:
        holder = await account_links.holder_of(token)
    except account_links.LinkRefused as refused:
        return _refused(refused)
    return await _link_page(holder)


@post("/access/{token:str}", opt={"public": True}, name="account_link_submit")
async def link_submit(request: Request, token: FromPath[str], data: forms.FormData) -> Template | Redirect:
    password = forms.text(data, "password", 2048)
    repeated = forms.text(data, "password_repeat", 2048)
    try:
        await account_links.set_password_with_link(token, password, repeated)
    except account_links.LinkRefused as refused:
        return _refused(refused)
    except Invalid as invalid:
        return await _link_page(await account_links.holder_of(token), invalid.errors, status=400)
    # Every session of the person has ended, this browser's too: sign in afresh.
    response = Redirect("/login?password_set=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --------------------------------------------------------------------------------------
# Invitations (chiefs and coordinators)

NOTICES = {"sent": _("Invitationen er sendt igen. Det tidligere link virker ikke længere.")}


@get("/invitations", guards=[INVITERS], name="invitations")
async def invitations_page(request: Request[User, None, None], notice: FromQuery[str | None] = None) -> Template:
    people = await account_links.not_signed_in(await access.invitable_people(request.user))
    return Template(
        "account/invitations.html",
        context={"people": people, "notice": NOTICES.get(notice or ""), "errors": {}},
    )


@post("/invitations/{person_id:int}", guards=[INVITERS], name="invitation_send")
async def invitation_send(request: Request[User, None, None], person_id: FromPath[int]) -> Template | Redirect:
    person_id = await access.person_to_invite(request.user, person_id)
    try:
        await account_links.invite(request.user.id, person_id)
    except Invalid as invalid:
        people = await account_links.not_signed_in(await access.invitable_people(request.user))
        return Template(
            "account/invitations.html",
            context={"people": people, "notice": None, "errors": invalid.errors},
            status_code=400,
        )
    return Redirect("/invitations?notice=sent", status_code=303)


# --------------------------------------------------------------------------------------
# One's own sign-ins (everyone signed in)


@get("/me/sessions", name="my_sessions")
async def sessions_page(request: Request[User, None, None], notice: FromQuery[str | None] = None) -> Template:
    current = _cookie_value(request.scope, SESSION_COOKIE)
    return Template(
        "account/sessions.html",
        context={
            "sessions": await sign_ins.sessions_of(request.user.id, current),
            "notice": _("Log-ind er afsluttet.") if notice == "ended" else None,
        },
    )


@post("/me/sessions/end-all", name="my_sessions_end_all")
async def sessions_end_all(request: Request[User, None, None]) -> Redirect:
    await sign_ins.end_all_own_sessions(request.user.id)
    response = Redirect("/login?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@post("/me/sessions/{session_id:int}/end", name="my_session_end")
async def session_end(request: Request[User, None, None], session_id: FromPath[int]) -> Redirect:
    current = _cookie_value(request.scope, SESSION_COOKIE)
    was_current = any(
        s["id"] == session_id and s["current"] for s in await sign_ins.sessions_of(request.user.id, current)
    )
    await sign_ins.end_own_session(request.user.id, session_id)
    if was_current:
        response = Redirect("/login?signed_out=1", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    return Redirect("/me/sessions?notice=ended", status_code=303)


ROUTES = [
    forgot_page,
    forgot_submit,
    link_page,
    link_submit,
    invitations_page,
    invitation_send,
    sessions_page,
    sessions_end_all,
    session_end,
]
