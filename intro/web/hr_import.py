"""Employments from the HR system's CSV file: upload, preview, commit or discard.

A chief works on their own municipality, an administrator on any; a chief who asks for
another municipality's page or import gets 404, as if it did not exist. Nothing of the
file's content goes into an address or a log line."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro import access
from intro.errors import Invalid
from intro.hr import csv_reader
from intro.hr import imports as hr_import
from intro.i18n import _
from intro.people.accounts import User
from intro.tables import EmploymentImportStatus, Role
from intro.web.auth import requires
from intro.web.forms import Upload

IMPORTERS = requires(Role.chief, Role.admin)
# The file may be 5 MB; the form around it adds a little. A bigger body is refused
# before it is read (413).
UPLOAD_BODY_LIMIT = csv_reader.MAX_BYTES + 64 * 1024

NOTICES = {
    "discarded": _("Filen er kasseret. Intet er indlæst, og Intros kopi af filen er slettet."),
    "committed": _("Ansættelserne er indlæst."),
}


def _base(municipality_id: int) -> str:
    return f"/municipalities/{municipality_id}/employments"


async def _page(
    municipality: dict, errors: dict, notice: str | None = None, status: int = 200
) -> Template:
    return Template(
        "employments/index.html",
        context={
            "municipality": municipality,
            "base": _base(municipality["id"]),
            "counts": await hr_import.employment_counts(municipality["id"]),
            "imports": await hr_import.imports_of(municipality["id"]),
            "columns": csv_reader.COLUMNS,
            "max_mb": csv_reader.MAX_BYTES // (1024 * 1024),
            "max_rows": f"{csv_reader.MAX_ROWS:,}".replace(",", "."),
            "errors": errors,
            "notice": NOTICES.get(notice or ""),
        },
        status_code=status,
    )


async def _import_page(
    municipality: dict,
    stored: dict,
    *,
    notice: str | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> Template:
    preview = None
    if stored["status"] == EmploymentImportStatus.previewed.value:
        preview = await hr_import.preview_of(stored)
    shown = preview.shown_rows() if preview else []
    return Template(
        "employments/import.html",
        context={
            "municipality": municipality,
            "base": _base(municipality["id"]),
            "stored": stored,
            "preview": preview,
            "shown": shown,
            "shown_lines": {r.line for r in shown},
            "earlier": await hr_import.earlier_commit_of_same_file(stored),
            "notice": NOTICES.get(notice or ""),
            "refusal": refusal,
            "problems_listed": 100,
        },
        status_code=status,
    )


@get("/municipalities/{municipality_id:int}/employments", guards=[IMPORTERS], name="employments")
async def employments_page(
    request: Request[User, None, None],
    municipality_id: FromPath[int],
    notice: FromQuery[str | None] = None,
) -> Template:
    municipality = await access.hr_municipality(request.user, municipality_id)
    return await _page(municipality, {}, notice)


@get(
    "/municipalities/{municipality_id:int}/employments/example.csv",
    guards=[IMPORTERS],
    name="employments_example",
)
async def example_csv(
    request: Request[User, None, None], municipality_id: FromPath[int]
) -> Response:
    municipality = await access.hr_municipality(request.user, municipality_id)
    code = municipality["code"]
    rows = [
        "Ansættelses-id;Navn;E-mail;Kommunekode;Stilling;Fagprofil;Startdato;Slutdato;Fratrædelsesårsag",
        f"HR-10231;Anne Sørensen;anne.soerensen@example.org;{code};Jobkonsulent;;01-03-2026;;",
        f"HR-10232;Bo Ærenlund;bo.aerenlund@example.org;{code};Virksomhedskonsulent;virksomhed;15-03-2026;;",
        f"HR-09876;Åse Holm;aase.holm@example.org;{code};Sagsbehandler, sygedagpenge;helhed;01-09-2025;31-01-2026;opsagt",
    ]
    # With a byte-order mark, so Excel shows the Danish letters right when opening it.
    content = ("\r\n".join(rows) + "\r\n").encode("utf-8-sig")
    return Response(
        content,
        media_type="text/csv",  # Litestar adds "; charset=utf-8" to text/ types
        headers={"Content-Disposition": 'attachment; filename="ansaettelser-eksempel.csv"'},
    )


@post(
    "/municipalities/{municipality_id:int}/employments/imports",
    guards=[IMPORTERS],
    name="employment_import_upload",
    request_max_body_size=UPLOAD_BODY_LIMIT,
)
async def upload(
    request: Request[User, None, None], municipality_id: FromPath[int], data: Upload
) -> Template | Redirect:
    municipality = await access.hr_municipality(request.user, municipality_id)
    file = data.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return await _page(
            municipality, {"file": _("Vælg en CSV-fil fra HR-systemet.")}, status=400
        )
    content = await file.read(csv_reader.MAX_BYTES + 1)
    await file.close()
    try:
        import_id = await hr_import.store_upload(
            request.user.id, municipality["id"], file.filename, content
        )
    except csv_reader.FileRefused as refused:
        return await _page(municipality, {"file": str(refused)}, status=400)
    return Redirect(f"{_base(municipality['id'])}/imports/{import_id}", status_code=303)


@get(
    "/municipalities/{municipality_id:int}/employments/imports/{import_id:int}",
    guards=[IMPORTERS],
    name="employment_import",
)
async def import_page(
    request: Request[User, None, None],
    municipality_id: FromPath[int],
    import_id: FromPath[int],
    notice: FromQuery[str | None] = None,
) -> Template:
    municipality = await access.hr_municipality(request.user, municipality_id)
    stored = await hr_import.import_of(municipality["id"], import_id)
    return await _import_page(municipality, stored, notice=notice)


@post(
    "/municipalities/{municipality_id:int}/employments/imports/{import_id:int}/commit",
    guards=[IMPORTERS],
    name="employment_import_commit",
)
async def commit(
    request: Request[User, None, None], municipality_id: FromPath[int], import_id: FromPath[int]
) -> Template | Redirect:
    municipality = await access.hr_municipality(request.user, municipality_id)
    try:
        await hr_import.commit(request.user.id, municipality["id"], import_id)
    except hr_import.AlreadyDone as done:
        stored = await hr_import.import_of(municipality["id"], import_id)
        return await _import_page(municipality, stored, refusal=str(done), status=409)
    except Invalid:
        # The preview, read again, shows every problem by line and column.
        stored = await hr_import.import_of(municipality["id"], import_id)
        return await _import_page(
            municipality,
            stored,
            refusal=_("Intet er indlæst: filen har problemer. Ret filen, og indlæs den igen."),
            status=400,
        )
    return Redirect(
        f"{_base(municipality['id'])}/imports/{import_id}?notice=committed", status_code=303
    )


@post(
    "/municipalities/{municipality_id:int}/employments/imports/{import_id:int}/discard",
    guards=[IMPORTERS],
    name="employment_import_discard",
)
async def discard(
    request: Request[User, None, None], municipality_id: FromPath[int], import_id: FromPath[int]
) -> Template | Redirect:
    municipality = await access.hr_municipality(request.user, municipality_id)
    try:
        await hr_import.discard(municipality["id"], import_id)
    except hr_import.AlreadyDone as done:
        stored = await hr_import.import_of(municipality["id"], import_id)
        return await _import_page(municipality, stored, refusal=str(done), status=409)
    return Redirect(f"{_base(municipality['id'])}?notice=discarded", status_code=303)


ROUTES = [employments_page, example_csv, upload, import_page, commit, discard]
