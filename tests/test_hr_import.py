"""Employments from the HR system's CSV file: reading odd files, the preview, the
all-or-nothing commit, re-imports, and who may do it."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from intro.hr import csv_reader
from intro.hr.csv_reader import FileRefused, parse_date, read_csv
from intro.tables import (
    AuditLog,
    Employment,
    EmploymentImport,
    Municipality,
    Person,
    RoleGrant,
)
from tests.conftest import csrf_token, login, post_form

FILES = Path(__file__).parent / "fixtures" / "hr"
CHIEF = "chef.slagelse@intro.example"
OTHER_CHIEF = "chef.naestved@intro.example"
ADMIN = "admin@intro.example"
NAMES = ("Søren Ærbø", "Åse Øhlenschläger", "Bjørn Lærkegård")


def fixture(name: str) -> bytes:
    return (FILES / name).read_bytes()


def lines(*rows: str, newline: str = "\n") -> bytes:
    return newline.join(rows).encode()


def problems(parsed) -> list[str]:
    return [p.text for p in parsed.problems]


# --------------------------------------------------------------------------------------
# Reading files (no database)

HEADER = "Ansættelses-id;Navn;E-mail;Kommunekode;Stilling;Startdato;Slutdato"


def test_quoted_fields_crlf_and_trailing_empty_lines():
    data = lines(
        HEADER,
        'A1;"Holm; Anne";anne@x.dk;330;"Jobkonsulent; unge";01-03-2026;',
        "",
        'A2;Bo Berg;bo@x.dk;330;"Konsulent med',
        'to linjer";2026-03-02;',
        'A3;"Ib ""Ibber"" Dahl";ib@x.dk;330;Jobkonsulent;1.3.2026;',
        ";;;;;;",
        "",
        "",
        newline="\r\n",
    )
    parsed = read_csv(data)
    assert parsed.separator == ";" and parsed.encoding == "utf-8"
    assert problems(parsed) == []
    assert [r.line for r in parsed.rows] == [
        2,
        4,
        6,
    ]  # physical lines; the record on 4-5 starts at 4
    first, second, third = (r.record for r in parsed.rows)
    assert first.full_name == "Holm; Anne" and first.job_function == "Jobkonsulent; unge"
    assert second.job_function == "Konsulent med\r\nto linjer"
    assert third.full_name == 'Ib "Ibber" Dahl'


def test_the_three_encodings_read_danish_letters_right():
    for name, encoding, separator in (
        ("ansatte_utf8_bom.csv", "utf-8-sig", ";"),
        ("ansatte_utf8.csv", "utf-8", ","),
        ("ansatte_cp1252.csv", "cp1252", ";"),
    ):
        parsed = read_csv(fixture(name))
        assert (parsed.encoding, parsed.separator) == (encoding, separator), name
        assert tuple(r.record.full_name for r in parsed.rows) == NAMES, name
        assert problems(parsed) == [], name
    assert read_csv(fixture("ansatte_cp1252.csv")).encoding_name == "Windows-1252 (Excel)"


def test_the_separator_is_the_one_the_header_uses():
    tab = lines(
        "Navn\tE-mail\tKommunekode\tStilling\tStartdato", "Bo\tbo@x.dk\t330\tJob, a\t01-03-2026"
    )
    assert read_csv(tab).separator == "\t"
    assert read_csv(tab).rows[0].record.job_function == "Job, a"
    comma = lines(
        "Navn,E-mail,Kommunekode,Stilling,Startdato", 'Bo,bo@x.dk,330,"Job; a",01-03-2026'
    )
    assert read_csv(comma).separator == ","
    # Excel's own hint on the first line wins over counting.
    declared = lines(
        "sep=,", "Navn,E-mail,Kommunekode,Stilling,Startdato;Noter;x", "Bo,bo@x.dk,330,J,01-03-2026"
    )
    with pytest.raises(FileRefused, match="Startdato"):
        read_csv(declared)  # "Startdato;Noter;x" is one (unknown) column
    declared = lines(
        "sep=,",
        "Navn,E-mail,Kommunekode,Stilling,Startdato,Noter;x",
        "Bo,bo@x.dk,330,J,01-03-2026,",
    )
    parsed = read_csv(declared)
    assert parsed.separator == "," and parsed.rows[0].line == 3
    assert parsed.ignored_columns == ["Noter;x"]
    with pytest.raises(FileRefused, match="linje 1 har ingen af dem"):
        read_csv(lines("Navn E-mail Kommunekode", "Bo bo@x.dk 330"))


def test_headers_match_without_case_spaces_or_danish_letters():
    data = lines(
        "ANSAETTELSES ID;  navn ;E Mail;kommune;Job_Function;PROFIL;ansat fra;fratradt;Aarsag;Leder;",
        "A1;Bo;bo@x.dk;330;J;;01-03-2026;31-03-2026;opsagt;Ib;",
    )
    parsed = read_csv(data)
    assert set(parsed.columns) == {c.field for c in csv_reader.COLUMNS}
    assert parsed.columns["end_date"] == "fratradt"
    assert parsed.ignored_columns == ["Leder"]
    assert parsed.rows[0].record.end_reason == "resigned"


def test_missing_and_doubled_columns_are_named():
    with pytest.raises(FileRefused) as refused:
        read_csv(fixture("mangler_kolonner.csv"))
    message = str(refused.value)
    assert "Stilling (kan hedde" in message and "Startdato (kan hedde" in message
    assert "Navn (kan" not in message
    with pytest.raises(FileRefused, match="'id' og 'Medarbejdernummer' betyder begge"):
        read_csv(
            lines(
                "id;Navn;E-mail;Kommunekode;Stilling;Startdato;Medarbejdernummer",
                "1;B;b@x.dk;330;J;01-03-2026;2",
            )
        )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Filen er tom."),
        (b"\r\n  \r\n", "Filen er tom."),
        (fixture("ansatte.xlsx"), "Excel-regneark"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 20, "Excel-regneark"),
        ("Navn;E-mail".encode("utf-16"), "UTF-16"),
        (b"Navn;E-mail\x00;x\n", "ikke en tekstfil"),
        (HEADER.encode() + b"\n;;;;;;\n", "ingen rækker"),
        (b"x" * (csv_reader.MAX_BYTES + 1), "højst fylde 5 MB"),
    ],
)
def test_files_that_cannot_be_read_are_refused(data, message):
    with pytest.raises(FileRefused, match=message):
        read_csv(data)


def test_too_many_rows_is_refused(monkeypatch):
    monkeypatch.setattr(csv_reader, "MAX_ROWS", 2)
    row = "A{n};Bo;bo{n}@x.dk;330;J;01-03-2026;"
    assert len(read_csv(lines(HEADER, row.format(n=1), row.format(n=2))).rows) == 2
    with pytest.raises(FileRefused, match="mere end 2 rækker"):
        read_csv(lines(HEADER, *(row.format(n=n) for n in range(3))))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01", "2026-03-01"),
        ("01-03-2026", "2026-03-01"),
        ("1.3.2026", "2026-03-01"),
        ("01/03/2026", "2026-03-01"),
        ("1-3-2026", "2026-03-01"),
        ("2026-03-01 00:00:00", "2026-03-01"),
        ("01.03.2026 08:00", "2026-03-01"),
        ("31-02-2026", "'31-02-2026' findes ikke: februar 2026 har kun 28 dage"),
        ("29-02-2028", "2028-02-29"),
        ("29-02-2027", "'29-02-2027' findes ikke: februar 2027 har kun 28 dage"),
        ("31-04-2027", "'31-04-2027' findes ikke: april 2027 har kun 30 dage"),
        ("2027-13-13", "'2027-13-13' findes ikke: der er ingen måned 13"),
        ("00-03-2026", "'00-03-2026' er ikke en dato"),
        ("1/3/26", "ikke et firecifret årstal"),
        ("03/31/2026", "måneden før dagen"),
        ("46082", "Excel-datotal"),
        ("1. marts 2026", "er ikke en dato"),
        ("01-03/2026", "er ikke en dato"),
        ("0001-01-01", "kan ikke passe"),
    ],
)
def test_dates(text, expected):
    if expected[0].isdigit():
        assert parse_date(text).isoformat() == expected
    else:
        with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            parse_date(text)


def test_row_problems_name_line_and_column():
    data = lines(
        "Ansættelses-id;Navn;E-mail;Kommunekode;Stilling;Startdato;Slutdato;Årsag",
        "A1;Bo;bo@x.dk;330;J;01-03-2026;;",
        "",
        "A2;Ib;ib@x.dk;330;J;31-02-2026;;",  # line 4
        "A3;Al;al@x.dk;330;J;01-03-2026;;fyret",  # line 5
        "A4;Ul;ul@x.dk;330;J",  # line 6: too few fields
        "A1;Bo;bo@x.dk;330;J;01-03-2026;;",  # line 7: the same key as line 2
    )
    assert problems(read_csv(data)) == [
        "Linje 4, kolonne 'Startdato': '31-02-2026' findes ikke: februar 2026 har kun 28 dage",
        "Linje 5, kolonne 'Årsag': Ukendt fratrædelsesårsag 'fyret'. Brug fx opsagt, afskediget, udløbet, pension, flyttet, andet.",
        "Linje 6: Linjen har 5 felter, men overskriften har 8. Tjek, om et felt indeholder semikolon uden anførselstegn om, eller om et anførselstegn ikke er lukket.",
        "Linje 7, kolonne 'Ansættelses-id': Ansættelses-id 'A1' står allerede på linje 2.",
    ]


def test_without_an_id_column_the_key_is_email_and_start_date():
    data = lines(
        "Navn;E-mail;Kommunekode;Stilling;Startdato",
        "Bo;Bo@X.dk;330;J;01-03-2026",
        "Bo;bo@x.dk;330;J;2026-03-01",
        "Bo;bo@x.dk;330;J;2026-03-02",
    )
    parsed = read_csv(data)
    assert parsed.key_derived
    keys = [r.record.external_ref for r in parsed.rows]
    assert keys[0].startswith("auto-") and len(keys[0]) <= 100
    assert keys[0] == read_csv(data).rows[0].record.external_ref  # stable
    assert keys[2] != keys[0]
    assert problems(parsed) == [
        "Linje 3, kolonne 'E-mail': Samme e-mail og startdato står allerede på linje 2."
    ]


# --------------------------------------------------------------------------------------
# The pages


async def _id(code: str) -> int:
    return (await Municipality.select(Municipality.id).where(Municipality.code == code).first())[
        "id"
    ]


async def upload(
    client, municipality_id: int, data: bytes, filename: str = "ansatte.csv", token: bool = True
):
    return await client.post(
        f"/municipalities/{municipality_id}/employments/imports",
        files={"file": (filename, data, "text/csv")},
        data={"_csrf_token": csrf_token(client)} if token else {},
    )


async def counts() -> dict[str, int]:
    return {
        "employments": await Employment.count(),
        "people": await Person.count(),
        "grants": await RoleGrant.count(),
        "audit": await AuditLog.count(),
        "committed": await EmploymentImport.count().where(EmploymentImport.status == "committed"),
    }


async def uploaded(client, municipality_id: int, data: bytes, filename: str = "ansatte.csv") -> str:
    """Upload a readable file; the address of its preview."""
    response = await upload(client, municipality_id, data, filename)
    assert response.status_code == 303, response.text[:500]
    return response.headers["location"]


async def test_a_chief_previews_and_commits_a_file(demo_client):
    slagelse = await _id("330")
    await login(demo_client, CHIEF)
    page = await demo_client.get(f"/municipalities/{slagelse}/employments")
    assert page.status_code == 200 and "Ansættelser fra HR i Slagelse" in page.text
    before = await counts()

    preview_url = await uploaded(
        demo_client, slagelse, fixture("ansatte_utf8_bom.csv"), "løn-marts.csv"
    )
    assert preview_url.startswith(f"/municipalities/{slagelse}/employments/imports/")
    assert "soeren" not in preview_url  # nothing of the content in the address
    assert await counts() == before  # read and checked, nothing written
    preview = await demo_client.get(preview_url)
    text = html.unescape(preview.text)
    assert preview.status_code == 200
    assert "UTF-8 med BOM" in text and "semikolon" in text
    assert "Kolonnen 'Ansættelses-id'" in text and "Afdeling" in text  # the ignored column
    for name in NAMES:
        assert name in text
    assert text.count("<strong>Ny ansættelse</strong>") == 3 and "heraf 3 nye personer" in text
    assert "Indlæs alle rækker" in text and "error-summary" not in text

    response = await post_form(demo_client, f"{preview_url}/commit")
    assert response.status_code == 303
    done = await demo_client.get(response.headers["location"])
    assert "Ansættelserne er indlæst." in done.text

    after = await counts()
    assert after["employments"] == before["employments"] + 3
    assert after["people"] == before["people"] + 3
    assert after["committed"] == before["committed"] + 1
    soren = await Person.select().where(Person.email == "soeren.aerboe@slagelse.example").first()
    assert soren["full_name"] == "Søren Ærbø" and soren["password_hash"] is None
    job = await Employment.select().where(Employment.external_ref == "SLA-1001").first()
    assert (job["municipality"], job["job_function"], job["profile_code"]) == (
        slagelse,
        "Jobkonsulent",
        "virksomhed",
    )
    assert job["start_date"].isoformat() == "2026-03-01" and job["end_date"] is None
    aase = await Employment.select().where(Employment.external_ref == "SLA-1002").first()
    assert aase["profile_code"] == "helhed"  # the profile's name in the file
    ended = await Employment.select().where(Employment.external_ref == "SLA-1003").first()
    assert (ended["end_date"].isoformat(), ended["end_reason"]) == ("2026-01-31", "resigned")
    assert await RoleGrant.exists().where(
        (RoleGrant.person == soren["id"])
        & (RoleGrant.role == "participant")
        & (RoleGrant.municipality == slagelse)
    )
    stored = (
        await EmploymentImport.select().where(EmploymentImport.filename == "løn-marts.csv").first()
    )
    assert (stored["status"], stored["created"], stored["updated"], stored["unchanged"]) == (
        "committed",
        3,
        0,
        0,
    )
    assert stored["content"] == ""  # the copy of the file is not kept
    actions = [r["action"] for r in await AuditLog.select(AuditLog.action).where(AuditLog.id > 0)]
    assert actions.count("employment.create") >= 3 and "person.create" in actions
    line = await AuditLog.select().where(AuditLog.action == "employment_import.commit").first()
    assert line["object_type"] == "employment_import" and line["object_id"] == str(stored["id"])

    listing = html.unescape((await demo_client.get(f"/municipalities/{slagelse}/employments")).text)
    assert "løn-marts.csv" in listing and "Indlæst" in listing and "Hanne Skov" in listing


@pytest.mark.parametrize(
    ("name", "read_as"),
    [
        ("ansatte_utf8_bom.csv", "UTF-8 med BOM"),
        ("ansatte_utf8.csv", "UTF-8"),
        ("ansatte_cp1252.csv", "Windows-1252 (Excel)"),
    ],
)
async def test_danish_letters_come_through_in_every_encoding(demo_client, name, read_as):
    slagelse = await _id("330")
    await login(demo_client, CHIEF)
    preview_url = await uploaded(demo_client, slagelse, fixture(name))
    text = html.unescape((await demo_client.get(preview_url)).text)
    assert f"Læst som</dt><dd>{read_as}," in text
    assert all(n in text for n in NAMES)
    assert (await post_form(demo_client, f"{preview_url}/commit")).status_code == 303
    stored = {
        r["full_name"]
        for r in await Person.select(Person.full_name).where(
            Person.email.like("%@slagelse.example")
        )
    }
    assert stored == set(NAMES)


async def test_the_same_file_again_changes_nothing(demo_client):
    slagelse = await _id("330")
    await login(demo_client, CHIEF)
    first = await uploaded(demo_client, slagelse, fixture("ansatte_cp1252.csv"))
    await post_form(demo_client, f"{first}/commit")
    before = await counts()
    employment_lines = await AuditLog.count().where(AuditLog.object_type == "employment")

    again = await uploaded(demo_client, slagelse, fixture("ansatte_cp1252.csv"))
    text = html.unescape((await demo_client.get(again)).text)
    assert text.count("<strong>Uændret</strong>") == 3 and "<strong>Ny ansættelse</strong>" not in text
    assert "Præcis samme fil blev indlæst" in text
    assert (await post_form(demo_client, f"{again}/commit")).status_code == 303

    after = await counts()
    assert after["employments"] == before["employments"] and after["people"] == before["people"]
    assert await AuditLog.count().where(AuditLog.object_type == "employment") == employment_lines
    stored = await EmploymentImport.select().order_by(EmploymentImport.id, ascending=False).first()
    assert (stored["created"], stored["updated"], stored["unchanged"]) == (0, 0, 3)


async def test_a_changed_end_date_ends_the_employment(demo_client):
    slagelse = await _id("330")
    await login(demo_client, CHIEF)
    await post_form(
        demo_client, f"{await uploaded(demo_client, slagelse, fixture('ansatte_utf8.csv'))}/commit"
    )
    changed = fixture("ansatte_utf8.csv").replace(
        b"SLA-2002,\xc3\x85se \xc3\x98hlenschl\xc3\xa4ger,aase.oehlenschlaeger@slagelse.example,330,Jobkonsulent,kompetencematch,2026-02-01,,",
        b"SLA-2002,\xc3\x85se \xc3\x98hlenschl\xc3\xa4ger,aase.oehlenschlaeger@slagelse.example,330,Jobkonsulent,kompetencematch,2026-02-01,2026-05-31,flyttet",
    )
    assert changed != fixture("ansatte_utf8.csv")
    preview_url = await uploaded(demo_client, slagelse, changed)
    text = html.unescape((await demo_client.get(preview_url)).text)
    assert (
        text.count("<strong>Ændres</strong>") == 1 and text.count("<strong>Uændret</strong>") == 2
    )
    assert (
        "slutdato: – → 31.05.2026" in text
        and "fratrædelsesårsag: – → Skiftet til anden kommune" in text
    )

    assert (await post_form(demo_client, f"{preview_url}/commit")).status_code == 303
    job = await Employment.select().where(Employment.external_ref == "SLA-2002").first()
    assert (job["end_date"].isoformat(), job["end_reason"]) == ("2026-05-31", "moved")
    line = (
        await AuditLog.select()
        .where((AuditLog.action == "employment.end") & (AuditLog.object_id == str(job["id"])))
        .first()
    )
    assert line is not None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ukendt_kommunekode.csv", "Linje 3, kolonne 'Kommunekode': Ukendt kommunekode '999'."),
        (
            "naestved_raekker.csv",
            "Linje 3, kolonne 'Kommunekode': Kommunekode 370 er ikke en kommune, du kan indlæse ansættelser for.",
        ),
        (
            "dubletter.csv",
            "Linje 4, kolonne 'Ansættelses-id': Ansættelses-id 'SLA-4201' står allerede på linje 2.",
        ),
        ("forkerte_datoer.csv", "Linje 3, kolonne 'Startdato': '31-02-2026' findes ikke: februar 2026 har kun 28 dage"),
        ("forkerte_datoer.csv", "Linje 4, kolonne 'Slutdato': Slutdatoen ligger før startdatoen."),
    ],
)
async def test_a_file_with_problems_writes_nothing(demo_client, name, message):
    slagelse = await _id("330")
    await login(demo_client, CHIEF)
    before = await counts()
    preview_url = await uploaded(demo_client, slagelse, fixture(name))
    preview = await demo_client.get(preview_url)
    text = html.unescape(preview.text)
    assert 'class="error-summary"' in text and message in text
    line = message.split(",")[0].split()[1]
    assert f'<a href="#linje-{line}">{message}' in text and f'id="linje-{line}"' in text
    assert "Indlæs alle rækker" not in text and "Ret filen, og indlæs den igen." in text

    refused = await post_form(demo_client, f"{preview_url}/commit")
    assert refused.status_code == 400
    assert message in html.unescape(refused.text) and "Intet er indlæst" in html.unescape(
        refused.text
    )
    assert await counts() == before
    assert (
        await EmploymentImport.select(EmploymentImport.status)
        .order_by(EmploymentImport.id, ascending=False)
        .first()
    )["status"] == "previewed"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("mangler_kolonner.csv", "Overskriften (linje 1) mangler kolonner: Stilling"),
        ("ansatte.xlsx", "Filen er et Excel-regneark, ikke en CSV-fil."),
        ("tom.csv", "Filen er tom."),
    ],
)
async def test_a_file_that_cannot_be_read_is_not_kept(demo_client, name, message):
    slagelse = await _id("330")
    await login(demo_client, CHIEF)
    imports = await EmploymentImport.count()
    response = await upload(demo_client, slagelse, fixture(name), name)
    assert response.status_code == 400
    text = html.unescape(response.text)
    assert '<a href="#f-file">' in text and 'id="f-file-error"' in text and message in text
    assert await EmploymentImport.count() == imports


async def test_an_upload_without_a_file_or_token(demo_client):
    slagelse = await _id("330")
    await login(demo_client, CHIEF)
    empty = await post_form(demo_client, f"/municipalities/{slagelse}/employments/imports", {})
    assert empty.status_code == 400 and "Vælg en CSV-fil" in empty.text
    no_token = await upload(demo_client, slagelse, fixture("ansatte_utf8.csv"), token=False)
    assert no_token.status_code == 403
    assert await EmploymentImport.count() == 0


async def test_committing_twice_or_after_discarding_is_refused(demo_client):
    slagelse = await _id("330")
    await login(demo_client, CHIEF)
    preview_url = await uploaded(demo_client, slagelse, fixture("ansatte_utf8.csv"))
    assert (await post_form(demo_client, f"{preview_url}/commit")).status_code == 303
    before = await counts()
    again = await post_form(demo_client, f"{preview_url}/commit")
    assert again.status_code == 409 and "allerede indlæst" in again.text
    assert (await post_form(demo_client, f"{preview_url}/discard")).status_code == 409
    assert await counts() == before

    other = await uploaded(demo_client, slagelse, fixture("ansatte_cp1252.csv"))
    discarded = await post_form(demo_client, f"{other}/discard")
    assert discarded.status_code == 303 and discarded.headers["location"].endswith(
        "?notice=discarded"
    )
    stored = await EmploymentImport.select().order_by(EmploymentImport.id, ascending=False).first()
    assert (stored["status"], stored["content"]) == ("discarded", "")
    late = await post_form(demo_client, f"{other}/commit")
    assert late.status_code == 409 and "kasseret" in late.text
    assert await counts() == before


async def test_the_example_file_reads_without_problems(demo_client):
    slagelse = await _id("330")
    await login(demo_client, CHIEF)
    example = await demo_client.get(f"/municipalities/{slagelse}/employments/example.csv")
    assert example.status_code == 200 and example.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in example.headers["content-disposition"]
    parsed = read_csv(example.content)
    assert parsed.encoding == "utf-8-sig" and {r.record.municipality_code for r in parsed.rows} == {
        "330"
    }
    text = html.unescape(
        (await demo_client.get(await uploaded(demo_client, slagelse, example.content))).text
    )
    assert "error-summary" not in text and "Indlæs alle rækker" in text


async def test_an_admin_imports_for_any_municipality(demo_client):
    naestved = await _id("370")
    await login(demo_client, ADMIN)
    data = (
        fixture("naestved_raekker.csv")
        .replace(b"SLA-4101", b"NAE-4101")
        .replace(b";330;", b";370;")
    )
    preview_url = await uploaded(demo_client, naestved, data)
    assert (await post_form(demo_client, f"{preview_url}/commit")).status_code == 303
    assert (
        await Employment.count().where(
            (Employment.municipality == naestved) & Employment.external_ref.like("NAE-41%")
        )
        == 2
    )


async def test_imports_belong_to_their_municipality(demo_client):
    slagelse, naestved = await _id("330"), await _id("370")
    await login(demo_client, CHIEF)
    preview_url = await uploaded(demo_client, slagelse, fixture("ansatte_utf8.csv"))
    import_id = preview_url.rsplit("/", 1)[1]
    await post_form(demo_client, "/logout")

    await login(demo_client, OTHER_CHIEF)
    for url in (
        f"/municipalities/{slagelse}/employments",
        preview_url,
        f"/municipalities/{slagelse}/employments/example.csv",
    ):
        assert (await demo_client.get(url)).status_code == 404, url
    for url in (
        f"{preview_url}/commit",
        f"{preview_url}/discard",
        f"/municipalities/{slagelse}/employments/imports",
    ):
        assert (await post_form(demo_client, url)).status_code == 404, url
    # Slagelse's import under Næstved's own address: not found either.
    own = f"/municipalities/{naestved}/employments/imports/{import_id}"
    assert (await demo_client.get(own)).status_code == 404
    assert (await post_form(demo_client, f"{own}/commit")).status_code == 404
    assert (
        await EmploymentImport.select(EmploymentImport.status)
        .where(EmploymentImport.id == int(import_id))
        .first()
    )["status"] == "previewed"


@pytest.mark.parametrize(
    "email", ["deltager@intro.example", "koordinator@intro.example", "underviser@intro.example"]
)
async def test_other_roles_may_not_import(demo_client, email):
    slagelse = await _id("330")
    await login(demo_client, CHIEF)
    preview_url = await uploaded(demo_client, slagelse, fixture("ansatte_utf8.csv"))
    await post_form(demo_client, "/logout")
    await login(demo_client, email)
    assert (await demo_client.get(f"/municipalities/{slagelse}/employments")).status_code == 403
    assert (await demo_client.get(preview_url)).status_code == 403
    assert (await upload(demo_client, slagelse, fixture("ansatte_utf8.csv"))).status_code == 403
    assert (await post_form(demo_client, f"{preview_url}/commit")).status_code == 403
    assert await EmploymentImport.count().where(EmploymentImport.status == "committed") == 0


async def test_anonymous_is_sent_to_sign_in(demo_client):
    slagelse = await _id("330")
    response = await demo_client.get(f"/municipalities/{slagelse}/employments")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
