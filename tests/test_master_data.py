"""Master data (issue 17): the official municipality codes, correcting municipalities,
venues, partnerships and people, and retiring instead of deleting."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from intro.demo.national_data import MUNICIPALITIES
from intro.people import master_data, organisation
from intro.people.municipality_codes import OFFICIAL, municipality_code_problem
from intro.planning import cohort_forms
from intro.tables import AuditLog, Municipality, Partnership, PartnershipMember, Person, Venue
from tests.conftest import login, post_form

ADMIN = "admin@intro.example"


def test_the_official_list_has_the_98_municipalities():
    assert len(OFFICIAL) == 98
    assert all(len(code) == 3 and code.isdigit() for code in OFFICIAL)
    assert len({name for name, _region in OFFICIAL.values()}) == 98
    # The national demo data was built from the same list.
    assert {code: name for code, (name, _r) in OFFICIAL.items()} == {m[0]: m[1] for m in MUNICIPALITIES}
    assert "999" not in OFFICIAL and "411" not in OFFICIAL  # Christiansø is no municipality


@given(st.one_of(st.sampled_from(sorted(OFFICIAL)), st.from_regex(r"\A\d{3}\Z"), st.text(max_size=5)))
def test_a_code_is_accepted_exactly_when_it_is_official(code):
    assert (municipality_code_problem(code) is None) == (code in OFFICIAL)


async def _state() -> list:
    return [
        await Municipality.select().order_by(Municipality.id),
        await AuditLog.count(),
    ]


async def test_fantasia_999_is_refused_on_create_and_on_edit_and_nothing_changes(demo_client):
    await login(demo_client, ADMIN)
    before = await _state()
    created = await post_form(demo_client, "/admin/municipalities", {"code": "999", "name": "Fantasia"})
    assert created.status_code == 400
    assert "999 er ikke en dansk kommunekode" in created.text and 'id="f-code-error"' in created.text
    slagelse = await Municipality.select().where(Municipality.code == "330").first()
    edited = await post_form(
        demo_client, f"/admin/municipalities/{slagelse['id']}", {"code": "999", "name": "Slagelse"}
    )
    assert edited.status_code == 400 and "999 er ikke en dansk kommunekode" in edited.text
    taken = await post_form(
        demo_client, f"/admin/municipalities/{slagelse['id']}", {"code": "370", "name": "Slagelse"}
    )
    assert taken.status_code == 400 and "Der findes allerede en kommune med kode 370" in taken.text
    assert await _state() == before


async def test_an_admin_corrects_a_municipality_and_the_audit_says_what_changed(demo_client):
    await login(demo_client, ADMIN)
    slagelse = await Municipality.select().where(Municipality.code == "330").first()
    page = await demo_client.get("/admin/municipalities")
    assert f'href="/admin/municipalities/{slagelse["id"]}"' in page.text
    response = await post_form(
        demo_client,
        f"/admin/municipalities/{slagelse['id']}",
        {"code": "330", "name": "Slagelse Kommune", "region": "Sjælland"},
    )
    assert response.status_code == 303
    line = await AuditLog.select().where(AuditLog.action == "municipality.update").first()
    assert line is not None and 'Slagelse Kommune' in str(line["details"])
    assert (await Municipality.select().where(Municipality.code == "330").first())["name"] == "Slagelse Kommune"


async def test_a_retired_municipality_stays_in_history_and_leaves_new_choices(demo_client):
    await login(demo_client, ADMIN)
    slagelse = await Municipality.select().where(Municipality.code == "330").first()
    response = await post_form(demo_client, f"/admin/municipalities/{slagelse['id']}/retire", {"retired": "1"})
    assert response.status_code == 303
    assert await Municipality.exists().where(Municipality.id == slagelse["id"])
    assert slagelse["id"] not in {i for i, _n in await organisation.municipality_choices()}
    listing = await demo_client.get("/admin/municipalities")
    assert "udgået" in listing.text
    # A partnership it is a member of keeps it: saving the members form does not drop it.
    member = await PartnershipMember.select().where(PartnershipMember.municipality == slagelse["id"]).first()
    page = await demo_client.get(f"/admin/partnerships/{member['partnership']}")
    assert f'value="{slagelse["id"]}" checked' in page.text
    await post_form(demo_client, f"/admin/municipalities/{slagelse['id']}/retire", {"retired": "0"})
    assert slagelse["id"] in {i for i, _n in await organisation.municipality_choices()}
    assert await AuditLog.count().where(AuditLog.action == "municipality.retire") == 2


async def test_a_venue_is_corrected_and_taken_out_of_use_not_deleted(demo_client):
    await login(demo_client, ADMIN)
    venue = await Venue.select().first()
    form = {k: str(venue[k]) for k in ("name", "address", "postcode", "city", "capacity")}
    bad = await post_form(demo_client, f"/admin/venues/{venue['id']}", {**form, "capacity": "0", "postcode": "42"})
    assert bad.status_code == 400
    assert 'id="f-capacity-error"' in bad.text and 'id="f-postcode-error"' in bad.text
    assert await Venue.select().where(Venue.id == venue["id"]).first() == venue
    good = await post_form(demo_client, f"/admin/venues/{venue['id']}", {**form, "capacity": "31"})
    assert good.status_code == 303
    assert (await Venue.select(Venue.capacity).where(Venue.id == venue["id"]).first())["capacity"] == 31

    member = await PartnershipMember.select().where(PartnershipMember.municipality == venue["municipality"]).first()
    offered = {v["id"] for v in (await cohort_forms.form_options(member["partnership"]))["venues"]}
    assert venue["id"] in offered
    await post_form(demo_client, f"/admin/venues/{venue['id']}/active", {"active": "0"})
    offered = {v["id"] for v in (await cohort_forms.form_options(member["partnership"]))["venues"]}
    assert venue["id"] not in offered
    assert await Venue.exists().where(Venue.id == venue["id"])


async def test_a_partnership_is_renamed_and_retired(demo_client):
    await login(demo_client, ADMIN)
    partnership = await Partnership.select().first()
    response = await post_form(
        demo_client, f"/admin/partnerships/{partnership['id']}", {"name": "Vestsjællands introsamarbejde", "description": "Nyt"}
    )
    assert response.status_code == 303
    blank = await post_form(demo_client, f"/admin/partnerships/{partnership['id']}", {"name": " "})
    assert blank.status_code == 400 and "Skriv samarbejdets navn." in blank.text
    await post_form(demo_client, f"/admin/partnerships/{partnership['id']}/retire", {"retired": "1"})
    assert partnership["id"] not in {i for i, _n in await organisation.partnership_choices()}
    page = await demo_client.get(f"/admin/partnerships/{partnership['id']}")
    assert "Vestsjællands introsamarbejde" in page.text and "udgået" in page.text


async def test_a_person_is_renamed_and_signs_in_with_the_corrected_address(demo_client):
    await login(demo_client, ADMIN)
    sara = await Person.select().where(Person.email == "deltager@intro.example").first()
    taken = await post_form(
        demo_client, f"/admin/users/{sara['id']}/details", {"full_name": "Sara", "email": ADMIN}
    )
    assert taken.status_code == 400 and "Der findes allerede en bruger" in taken.text
    bad = await post_form(demo_client, f"/admin/users/{sara['id']}/details", {"full_name": "", "email": "x"})
    assert bad.status_code == 400 and 'id="f-full_name-error"' in bad.text and 'id="f-email-error"' in bad.text
    assert await Person.select().where(Person.id == sara["id"]).first() == sara
    ok = await post_form(
        demo_client, f"/admin/users/{sara['id']}/details", {"full_name": "Sara Berg Holm", "email": " Sara.Holm@Intro.Example "}
    )
    assert ok.status_code == 303
    after = await Person.select().where(Person.id == sara["id"]).first()
    assert (after["full_name"], after["email"]) == ("Sara Berg Holm", "sara.holm@intro.example")
    await demo_client.post("/logout", data={"_csrf_token": demo_client.cookies.get("csrftoken")})
    assert (await login(demo_client, "sara.holm@intro.example")).status_code == 303
    line = await AuditLog.select().where(AuditLog.action == "person.update").first()
    assert "deltager@intro.example" in str(line["details"])


async def test_unknown_ids_are_not_found(db):
    import pytest

    from intro.errors import NotFound

    for call in (
        master_data.update_municipality(None, 999999, "330", "X"),
        master_data.set_venue_active(None, 999999, False),
        master_data.update_person(None, 999999, "X", "x@intro.example"),
    ):
        with pytest.raises(NotFound):
            await call
