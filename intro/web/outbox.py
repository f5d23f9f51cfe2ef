"""The notice outbox page for admins and coordinators (issue 17)."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro import access
from intro.errors import Invalid
from intro.i18n import _
from intro.people.accounts import User
from intro.planning import notices, outbox
from intro.tables import Role
from intro.web.auth import requires

OUTBOX_READERS = requires(Role.admin, Role.coordinator)


def _status(value: str | None) -> outbox.OutboxStatus:
    try:
        return outbox.OutboxStatus(value or "failed")
    except ValueError:
        return outbox.OutboxStatus.failed


async def _page(user: User, status: outbox.OutboxStatus, notice: str | None = None, errors: dict | None = None) -> Template:
    scope = access.notices_scope(user)
    return Template(
        "outbox/index.html",
        context={
            "status": status.value,
            "statuses": [(s.value, outbox.STATUS_NAMES[s]) for s in outbox.OutboxStatus],
            "counts": await outbox.counts(scope),
            "notices": await outbox.list_notices(scope, status),
            "max_attempts": notices.MAX_ATTEMPTS,
            "notice": {"resent": _("Beskeden sendes igen ved næste udsendelse.")}.get(notice or ""),
            "errors": errors or {},
        },
        status_code=400 if errors else 200,
    )


@get("/notices", guards=[OUTBOX_READERS], name="outbox")
async def outbox_page(
    request: Request[User, None, None], status: FromQuery[str | None] = None, notice: FromQuery[str | None] = None
) -> Template:
    return await _page(request.user, _status(status), notice)


@post("/notices/{notice_id:int}/resend", guards=[OUTBOX_READERS], name="outbox_resend")
async def outbox_resend(request: Request[User, None, None], notice_id: FromPath[int]) -> Template | Redirect:
    found = await outbox.notice_in_scope(access.notices_scope(request.user), notice_id)
    if found is None:
        raise NotFoundException()
    try:
        await outbox.resend(request.user.id, found)
    except Invalid as invalid:
        return await _page(request.user, outbox.status_of(found), errors=invalid.errors)
    return Redirect("/notices?status=waiting&notice=resent", status_code=303)


ROUTES = [outbox_page, outbox_resend]
