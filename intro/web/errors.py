"""Error pages in Danish that never show internals (no stack traces, no SQL, no data).

Pages get the error page; the API (/api/…) and clients asking for JSON get the API's
problem shape, {"status", "detail", "errors": {field: message}}, for every 4xx,
including the framework's own validation errors. A database that cannot be reached
(PostgreSQL restarting, SQLite locked) answers 503 with Retry-After instead of 500.
"""

from __future__ import annotations

import logging
import sqlite3

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.response import Redirect, Template

from intro.errors import Forbidden, Invalid, NotFound
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
    409: (_("Konflikt"), _("Ændringen passer ikke med det, der allerede er gemt.")),
    429: (_("For mange forespørgsler"), _("Vent lidt, og prøv igen.")),
    500: (
        _("Der opstod en fejl"),
        _("Fejlen er registreret. Prøv igen om lidt; fortsætter den, så kontakt support."),
    ),
    503: (
        _("Intro er midlertidigt utilgængelig"),
        _("Databasen svarer ikke lige nu. Prøv igen om et øjeblik; intet er gået tabt."),
    ),
}
# Seconds a client should wait before trying again when the database is unreachable
# (a PostgreSQL restart takes a few seconds).
RETRY_AFTER = "5"


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )


def _error_response(
    request: Request,
    status: int,
    problems: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    title, text = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    headers = {"Cache-Control": "no-store", **(headers or {})}
    if _wants_json(request):
        return Response(
            {"status": status, "detail": title, "errors": problems or {}},
            status_code=status,
            media_type=MediaType.JSON,
            headers=headers,
        )
    return Template(
        "errors/error.html",
        context={"status": status, "title": title, "text": text, "problems": problems or {}},
        status_code=status,
        headers=headers,
    )


def not_signed_in(request: Request, _exc: Exception) -> Response:
    target = login_redirect(request.url.path)
    if request.headers.get("hx-request"):
        return Response("", status_code=401, headers={"HX-Redirect": target})
    if request.url.path.startswith("/api/"):
        return Response(
            {"status": 401, "detail": "API-nøglen mangler, er ukendt eller tilbagekaldt.", "errors": {}},
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


def _field_problems(extra) -> dict[str, str]:
    """{field: message} from what an HTTPException carries: the input gate's dict, or
    the framework's validation list ([{"key": …, "message": …, "source": …}])."""
    if isinstance(extra, dict):
        return {str(k): str(v) for k, v in extra.items()}
    problems: dict[str, str] = {}
    for item in extra or []:
        if isinstance(item, dict):
            key = str(item.get("key") or item.get("source") or "request")
            problems.setdefault(key, str(item.get("message", "")))
    return problems


def http_error(request: Request, exc: HTTPException) -> Response:
    # The messages name only the request's own fields, never stored data.
    problems = _field_problems(exc.extra) if exc.status_code == 400 else {}
    headers = {"Allow": exc.headers["Allow"]} if exc.headers and "Allow" in exc.headers else None
    return _error_response(request, exc.status_code, problems, headers)


def refused(request: Request, exc: Invalid) -> Response:
    """Bad input that no handler turned into its form page: a 400 naming the fields."""
    return _error_response(request, 400, exc.errors)


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the database cannot be reached now, as
    opposed to a fault in a query: connection refused or lost, PostgreSQL starting or
    shutting down, too many connections, SQLite locked or its file out of reach."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ConnectionError | TimeoutError) or (
            isinstance(exc, OSError) and not isinstance(exc, _FILE_ERRORS)
        ):
            return True
        if isinstance(exc, sqlite3.OperationalError) and (
            "locked" in str(exc) or "unable to open" in str(exc)
        ):
            return True
        module = type(exc).__module__ or ""
        if module.startswith("asyncpg") and type(exc).__name__ in _PG_UNAVAILABLE:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


# OSErrors about files, not about reaching a server.
_FILE_ERRORS = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError)

# asyncpg's names for "the server is not there now" (SQLSTATE classes 08, 57P0x, 53300).
_PG_UNAVAILABLE = {
    "CannotConnectNowError",
    "ConnectionDoesNotExistError",
    "ConnectionFailureError",
    "ConnectionRejectionError",
    "ClientCannotConnectError",
    "AdminShutdownError",
    "CrashShutdownError",
    "TooManyConnectionsError",
    "InterfaceError",
    "PostgresConnectionError",
}


def server_error(request: Request, exc: Exception) -> Response:
    if database_unavailable(exc):
        log.warning("Database unavailable on %s %s: %r", request.method, request.url.path, exc)
        return _error_response(request, 503, headers={"Retry-After": RETRY_AFTER})
    log.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_response(request, 500)


EXCEPTION_HANDLERS = {
    NotAuthorizedException: not_signed_in,
    PermissionDeniedException: forbidden,
    Forbidden: forbidden,
    NotFoundException: not_found,
    NotFound: not_found,
    Invalid: refused,
    HTTPException: http_error,
    Exception: server_error,
}
