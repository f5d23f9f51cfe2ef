"""The second factor's pages (issue 16, section 4): the code after the password, and
one's own authenticator app and recovery codes."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Template

from intro.errors import Invalid
from intro.i18n import _
from intro.people import second_factor
from intro.people.accounts import User
from intro.tables import Person
from intro.web import forms
from intro.web.auth import CHALLENGE_COOKIE, SECOND_FACTOR_PATH, _cookie_value, signed_in


async def _email(person_id: int) -> str:
    return (await Person.select(Person.email).where(Person.id == person_id).first())["email"]


async def _setup_context(person_id: int, create: bool = True) -> dict:
    secret = await second_factor.pending_secret(person_id, create)
    if secret is None:
        return {}
    uri, qr = second_factor.provisioning(await _email(person_id), secret)
    return {"secret": secret, "otpauth_uri": uri, "qr": qr}


async def _challenge_page(challenge: dict, errors: dict | None = None, status: int = 200) -> Template:
    enabled = await second_factor.is_enabled(challenge["person"])
    context = {"enabled": enabled, "errors": errors or {}}
    if not enabled:
        context |= await _setup_context(challenge["person"], create=status < 400)
    return Template("second_factor/login.html", context=context, status_code=status)


def _back_to_login(message: str | None = None, status: int = 303) -> Template | Redirect:
    if message is None:
        return Redirect("/login", status_code=303)
    return Template(
        "auth/login.html",
        context={"next": "/", "email": "", "error": message, "signed_out": False},
        status_code=status,
    )


@get(SECOND_FACTOR_PATH, opt={"public": True}, name="second_factor_login")
async def challenge_page(request: Request) -> Template | Redirect:
    challenge = await second_factor.challenge(_cookie_value(request.scope, CHALLENGE_COOKIE))
    if challenge is None:
        return _back_to_login()
    return await _challenge_page(challenge)


@post(SECOND_FACTOR_PATH, opt={"public": True}, name="second_factor_login_submit")
async def challenge_submit(request: Request, data: forms.FormData) -> Template | Redirect:
    challenge = await second_factor.challenge(_cookie_value(request.scope, CHALLENGE_COOKIE))
    if challenge is None:
        return _back_to_login()
    person_id, code = challenge["person"], forms.text(data, "code", 64)
    if not await second_factor.is_enabled(person_id):
        # Required but not set up yet: set the app up now, then in.
        try:
            codes = await second_factor.confirm_setup(person_id, code)
        except Invalid as invalid:
            return await _failed(challenge, invalid.errors)
        await second_factor.close_challenge(challenge["id"])
        page = Template("second_factor/codes.html", context={"codes": codes, "next": challenge["next_path"]})
        response = await signed_in(request, person_id, challenge["next_path"], page)
        response.delete_cookie(CHALLENGE_COOKIE, path=SECOND_FACTOR_PATH)
        return response
    if not await second_factor.check_code(person_id, code):
        return await _failed(challenge, {"code": second_factor.WRONG_CODE})
    await second_factor.close_challenge(challenge["id"])
    response = await signed_in(request, person_id, challenge["next_path"])
    response.delete_cookie(CHALLENGE_COOKIE, path=SECOND_FACTOR_PATH)
    return response


async def _failed(challenge: dict, errors: dict) -> Template | Redirect:
    try:
        await second_factor.count_failure(challenge["id"])
    except second_factor.ChallengeEnded as ended:
        response = _back_to_login(str(ended), status=429)
        response.delete_cookie(CHALLENGE_COOKIE, path=SECOND_FACTOR_PATH)
        return response
    return await _challenge_page(challenge, errors, status=400)


# --------------------------------------------------------------------------------------
# One's own app (everyone signed in)

NOTICES = {"disabled": _("Godkendelsesappen er slået fra.")}


async def _mine(user: User, errors: dict | None = None, notice: str | None = None, status: int = 200) -> Template:
    enabled = await second_factor.is_enabled(user.id)
    context = {
        "enabled": enabled,
        "required": await second_factor.required_for(user.id),
        "codes_left": await second_factor.recovery_codes_left(user.id) if enabled else 0,
        "errors": errors or {},
        "notice": NOTICES.get(notice or ""),
    }
    # A refused request changes nothing: only the page itself makes the setup's secret.
    if not enabled:
        context |= await _setup_context(user.id, create=status < 400)
    return Template("second_factor/mine.html", context=context, status_code=status)


@get("/me/second-factor", name="my_second_factor")
async def mine_page(request: Request[User, None, None]) -> Template:
    return await _mine(request.user, notice=request.query_params.get("notice"))


@post("/me/second-factor", name="my_second_factor_confirm")
async def mine_confirm(request: Request[User, None, None], data: forms.FormData) -> Template:
    try:
        codes = await second_factor.confirm_setup(request.user.id, forms.text(data, "code", 64))
    except Invalid as invalid:
        return await _mine(request.user, invalid.errors, status=400)
    return Template("second_factor/codes.html", context={"codes": codes, "next": "/me/second-factor"})


@post("/me/second-factor/recovery-codes", name="my_recovery_codes")
async def mine_new_codes(request: Request[User, None, None]) -> Template:
    try:
        codes = await second_factor.new_recovery_codes(request.user.id)
    except Invalid as invalid:
        return await _mine(request.user, invalid.errors, status=400)
    return Template("second_factor/codes.html", context={"codes": codes, "next": "/me/second-factor"})


@post("/me/second-factor/disable", name="my_second_factor_disable")
async def mine_disable(request: Request[User, None, None]) -> Template | Redirect:
    try:
        await second_factor.disable(request.user.id)
    except Invalid as invalid:
        return await _mine(request.user, invalid.errors, status=400)
    return Redirect("/me/second-factor?notice=disabled", status_code=303)


ROUTES = [challenge_page, challenge_submit, mine_page, mine_confirm, mine_new_codes, mine_disable]
