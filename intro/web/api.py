"""The JSON API for HR systems: employments of one municipality, by API token.

Documented by the OpenAPI schema at /schema/openapi.json. A token (made by the chief or
an administrator on the municipality's "API-nøgler" page) is sent as
`Authorization: Bearer intro_…` and gives access to its own municipality's employments
only. Employments are addressed by the HR system's own id (`external_ref`), so the HR
system never needs to remember Intro's ids and sending the same data twice is harmless.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from litestar import Request, Response, Router, get, post, put
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import JSONBody, Parameter

from intro.db import write_transaction
from intro.errors import Conflict, Invalid
from intro.hr import employments
from intro.inputs import DB_INT_MAX
from intro.people.api_tokens import TokenScope, resolve
from intro.tables import Employment

EndReasonCode = Literal["resigned", "dismissed", "contract_ended", "retired", "moved", "other"]
Ref = Annotated[str, Parameter(description="HR-systemets eget id for ansættelsen.", max_length=100)]

SECURITY_SCHEME = "HRToken"
SECURITY_COMPONENTS = Components(
    security_schemes={
        SECURITY_SCHEME: SecurityScheme(
            type="http",
            scheme="bearer",
            description="En API-nøgle for én kommune (intro_…), oprettet af kommunens chef eller en administrator.",
        )
    }
)


class EmploymentIn(msgspec.Struct, forbid_unknown_fields=True):
    """An employment as the HR system states it. PUT it again with changes to update it.
    A record as GET returns it may be sent back unchanged: `external_ref` and
    `municipality_code` must then be the address's and the token's, `updated_at` is
    ignored."""

    full_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200, description="Fulde navn.")]
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254, description="Arbejdsmail; genkender personen.")]
    job_function: Annotated[str, msgspec.Meta(min_length=1, max_length=120, description="Stilling, fx Jobkonsulent.")]
    start_date: Annotated[date, msgspec.Meta(description="Første ansættelsesdag.")]
    profile_code: Annotated[
        str | None, msgspec.Meta(description="Specialiseret fagprofil (virksomhed, kompetencematch, udvikling, helhed).")
    ] = None
    end_date: Annotated[date | None, msgspec.Meta(description="Sidste ansættelsesdag, hvis ansættelsen er slut.")] = None
    end_reason: Annotated[EndReasonCode | None, msgspec.Meta(description="Fratrædelsesårsag; kræver end_date.")] = None
    external_ref: Annotated[str, msgspec.Meta(max_length=100, description="Samme som i adressen, hvis det sendes med.")] | None = None
    municipality_code: Annotated[str, msgspec.Meta(max_length=10, description="Nøglens kommunekode, hvis den sendes med.")] | None = None
    updated_at: Annotated[datetime | None, msgspec.Meta(description="Ignoreres (sættes af Intro).")] = None


class EmploymentEnd(msgspec.Struct, forbid_unknown_fields=True):
    end_date: Annotated[date, msgspec.Meta(description="Sidste ansættelsesdag.")]
    end_reason: EndReasonCode


class EmploymentOut(msgspec.Struct):
    external_ref: str
    full_name: str
    email: str
    municipality_code: str
    job_function: str
    profile_code: str | None
    start_date: date
    end_date: date | None
    end_reason: str | None
    updated_at: datetime


class EmploymentList(msgspec.Struct):
    items: list[EmploymentOut]
    total: int
    limit: int
    offset: int


class Problem(msgspec.Struct):
    """Every 4xx answer of the API (also the framework's own, see intro/web/errors.py)."""

    status: int
    detail: str
    errors: dict[str, str]


NOT_FOUND = {404: ResponseSpec(data_container=Problem, description="Ingen ansættelse med dette id i kommunen.")}
REFUSED = {400: ResponseSpec(data_container=Problem, description="Felter med fejl, hver med en besked.")}
TAKEN = {
    409: ResponseSpec(
        data_container=Problem,
        description="E-mailen tilhører en person, som kommunens ansættelser ikke kan knyttes til.",
    )
}
UNAUTHORISED = {401: ResponseSpec(data_container=Problem, description="API-nøglen mangler, er ukendt eller tilbagekaldt.")}


async def require_token(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    scope = await resolve(token.strip()) if scheme.lower() == "bearer" else None
    if scope is None:
        raise NotAuthorizedException(detail="API-nøglen mangler, er ukendt eller tilbagekaldt.")
    connection.state.api_scope = scope


def _scope(request: Request) -> TokenScope:
    return request.state.api_scope


_COLUMNS = (
    Employment.id,
    Employment.external_ref,
    Employment.job_function,
    Employment.profile_code,
    Employment.start_date,
    Employment.end_date,
    Employment.end_reason,
    Employment.updated_at,
    Employment.person.full_name.as_alias("full_name"),
    Employment.person.email.as_alias("email"),
    Employment.municipality.code.as_alias("municipality_code"),
)


def _out(row: dict) -> EmploymentOut:
    return EmploymentOut(
        external_ref=row["external_ref"],
        full_name=row["full_name"],
        email=row["email"],
        municipality_code=row["municipality_code"],
        job_function=row["job_function"],
        profile_code=row["profile_code"],
        start_date=row["start_date"],
        end_date=row["end_date"],
        end_reason=row["end_reason"],
        updated_at=row["updated_at"],
    )


async def _one(scope: TokenScope, ref: str) -> dict | None:
    return await Employment.select(*_COLUMNS).where(
        (Employment.municipality == scope.municipality_id) & (Employment.external_ref == ref)
    ).first()


def _problem(invalid: Invalid) -> Response[Problem]:
    # Field names from the write path are "<row>.<field>"; the API writes one row.
    errors = {name.split(".", 1)[-1]: message for name, message in invalid.errors.items()}
    status = 409 if isinstance(invalid, Conflict) else 400
    return Response(Problem(status=status, detail="Ansættelsen blev ikke gemt.", errors=errors), status_code=status)


def _not_found() -> Response[Problem]:
    return Response(Problem(status=404, detail="Ansættelsen findes ikke.", errors={}), status_code=404)


@get(
    "/employments",
    summary="Kommunens ansættelser",
    description="Nyeste ændring sidst; brug `updated_since` for kun ændringer.",
    responses={**REFUSED, **UNAUTHORISED},
)
async def list_employments(
    request: Request,
    updated_since: Annotated[datetime | None, Parameter(description="Kun ansættelser ændret efter dette tidspunkt.")] = None,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    offset: Annotated[int, Parameter(ge=0, le=DB_INT_MAX)] = 0,
) -> EmploymentList:
    scope = _scope(request)
    where = Employment.municipality == scope.municipality_id
    if updated_since is not None:
        where = where & (Employment.updated_at > updated_since)
    total = await Employment.count().where(where)
    rows = await Employment.select(*_COLUMNS).where(where).order_by(Employment.updated_at).order_by(
        Employment.id
    ).limit(limit).offset(offset)
    return EmploymentList(items=[_out(r) for r in rows], total=total, limit=limit, offset=offset)


@get("/employments/{external_ref:str}", summary="Én ansættelse", responses={**NOT_FOUND, **REFUSED, **UNAUTHORISED})
async def get_employment(request: Request, external_ref: Ref) -> Response[EmploymentOut]:
    row = await _one(_scope(request), external_ref)
    if row is None:
        return _not_found()
    return Response(_out(row))


@put(
    "/employments/{external_ref:str}",
    summary="Opret eller opdatér en ansættelse",
    description="201 når ansættelsen er ny, 200 når den er opdateret eller uændret.",
    responses={201: ResponseSpec(data_container=EmploymentOut, description="Oprettet."), **REFUSED, **TAKEN, **UNAUTHORISED},
)
async def put_employment(request: Request, external_ref: Ref, data: JSONBody[EmploymentIn]) -> Response[EmploymentOut]:
    scope = _scope(request)
    echoed = {}
    if data.external_ref is not None and data.external_ref != external_ref:
        echoed["external_ref"] = "Skal være det samme som ansættelsens id i adressen, eller udelades."
    if data.municipality_code is not None and data.municipality_code != scope.municipality_code:
        echoed["municipality_code"] = "Skal være API-nøglens kommunekode, eller udelades."
    if echoed:
        return _problem(Invalid(echoed))
    record = employments.EmploymentRecord(
        external_ref=external_ref,
        full_name=data.full_name,
        email=data.email,
        municipality_code=scope.municipality_code,
        job_function=data.job_function,
        profile_code=data.profile_code or None,
        start_date=data.start_date,
        end_date=data.end_date,
        end_reason=data.end_reason,
    )
    try:
        async with write_transaction(Employment._meta.db):
            applied = await employments.apply_records(
                [record], None, allowed={scope.municipality_id}, source=f"api:{scope.name}"
            )
    except Invalid as invalid:
        return _problem(invalid)
    row = await _one(scope, external_ref)
    return Response(_out(row), status_code=201 if applied.created else 200)


@post(
    "/employments/{external_ref:str}/end",
    summary="Afslut en ansættelse",
    status_code=200,
    responses={**NOT_FOUND, **REFUSED, **TAKEN, **UNAUTHORISED},
)
async def end_employment(request: Request, external_ref: Ref, data: JSONBody[EmploymentEnd]) -> Response[EmploymentOut]:
    scope = _scope(request)
    try:
        async with write_transaction(Employment._meta.db):
            row = await _one(scope, external_ref)
            if row is None:
                return _not_found()
            record = employments.EmploymentRecord(
                external_ref=external_ref,
                full_name=row["full_name"],
                email=row["email"],
                municipality_code=scope.municipality_code,
                job_function=row["job_function"],
                profile_code=row["profile_code"],
                start_date=row["start_date"],
                end_date=data.end_date,
                end_reason=data.end_reason,
            )
            await employments.apply_records(
                [record], None, allowed={scope.municipality_id}, source=f"api:{scope.name}"
            )
    except Invalid as invalid:
        return _problem(invalid)
    return Response(_out(await _one(scope, external_ref)))


router = Router(
    path="/api/v1",
    route_handlers=[list_employments, get_employment, put_employment, end_employment],
    guards=[require_token],
    opt={"public": True},  # no sign-in session: the token is the credential
    tags=["Ansættelser"],
    security=[{SECURITY_SCHEME: []}],
)
ROUTES = [router]
