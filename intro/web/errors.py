"""Error pages in Danish that never show internals (no stack traces, no SQL, no data)."""

from __future__ import annotations

import logging

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.response import Redirect, Template

from intro.errors import Forbidden, NotFound
from intro.i18n import _
from intro.web.auth import login_redirect

log = logging.getLogger("intro")

MESSAGES = {
    400: (_("Forespørgslen kunne ikke behandles"), _("Noget i forespørgslen var ikke gyldigt.")),
    401: (_("Du er ikke logget ind"), _("Log ind for at fortsætte.")),
    403: (
        _("Du har ikke adgang"),
        _("Siden eller handlingen hører ikke til dine roller. Kontakt en administrator, "
          "hvis du mener, du bør have adgang."),
    ),
    404: (_("Siden findes ikke"), _("Tjek adressen, eller gå tilbage til forsiden.")),
    405: (_("Handlingen er ikke tilladt"), _("Siden understøtter ikke denne handling.")),
    429: (_("For mange forespørgsler"), _("Vent lidt, og prøv igen.")),
    500: (
        _("Der opstod en fejl"),
        _("Fejlen er registreret. Prøv igen om lidt; fortsætter den, så kontakt support."),
    ),
}


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )


def _error_response(request: Request, status: int) -> Response:
    title, text = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    if _wants_json(request):
        return Response({"status": status, "error": title}, status_code=status, media_type=MediaType.JSON)
    return Template(
        "errors/error.html",
        context={"status": status, "title": title, "text": text},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def not_signed_in(request: Request, _exc: Exception) -> Response:
    target = login_redirect(request.url.path)
    if request.headers.get("hx-request"):
        return Response("", status_code=401, headers={"HX-Redirect": target})
    if request.url.path.startswith("/api/"):
        return Response(
            {"status": 401, "error": MESSAGES[401][0], "detail": "API-nøglen mangler, er ukendt eller tilbagekaldt."},
            status_code=401,
            media_type=MediaType.JSON,
            headers={"WWW-Authenticate": 'Bearer realm="intro"'},
        )
    if _wants_json(request):
        return _error_response(request, 401)
    return Redirect(target, status_code=303)


def forbidden(request: Request, _exc: Exception) -> Response:
    return _error_response(request, 403)


def not_found(request: Request, _exc: Exception) -> Response:
    return _error_response(request, 404)


def http_error(request: Request, exc: HTTPException) -> Response:
    if request.url.path.startswith("/api/") and exc.status_code == 400:
        # An API client needs to know which field was wrong; the message names only
        # the request's own fields, never stored data.
        return Response(
            {"status": 400, "error": MESSAGES[400][0], "detail": exc.detail, "errors": exc.extra},
            status_code=400,
            media_type=MediaType.JSON,
        )
    return _error_response(request, exc.status_code)


def server_error(request: Request, exc: Exception) -> Response:
    log.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_response(request, 500)


EXCEPTION_HANDLERS = {
    NotAuthorizedException: not_signed_in,
    PermissionDeniedException: forbidden,
    Forbidden: forbidden,
    NotFoundException: not_found,
    NotFound: not_found,
    HTTPException: http_error,
    Exception: server_error,
}
