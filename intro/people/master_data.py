"""Correcting and retiring master data (issue 17): municipalities, venues, partnerships and
people's names and e-mail addresses.

Nothing that history points at is deleted. A municipality or partnership is *retired*
(`retired_at`), a venue taken out of use (`is_active`), a person deactivated
(`accounts.set_active`): they stay on every cohort, enrolment and employment that names
them and are hidden from new choices (`organisation.municipality_choices`,
`organisation.partnership_choices`, the planner's venue options). Each operation
validates, writes in one transaction and leaves an audit line with what changed.
"""

from __future__ import annotations

from typing import Any

from intro import audit, clock
from intro.db import write_transaction
from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.people.accounts import _validate_person, normalise_email
from intro.people.municipality_codes import municipality_code_problem
from intro.people.organisation import POSTCODE_PATTERN
from intro.tables import Municipality, Partnership, Person, Venue


def _text(value: Any, limit: int) -> str:
    return str(value or "").strip()[:limit]


def _changes(before: dict, after: dict) -> dict[str, list]:
    """{field: [old, new]} for the fields that change, for the audit line."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


async def update_municipality(
    actor_id: int | None, municipality_id: int, code: str, name: str, region: str = ""
) -> None:
    """Correct a municipality's code, name and region. The code must be one of the 98
    official codes (`municipality_codes`) and, like the name, not another's. Raises
    NotFound for an unknown id and Invalid naming the fields."""
    current = await Municipality.select().where(Municipality.id == municipality_id).first()
    if current is None:
        raise NotFound()
    code, name, region = _text(code, 10), _text(name, 100), _text(region, 50)
    errors: dict[str, str] = {}
    problem = municipality_code_problem(code)
    if problem:
        errors["code"] = problem
    elif await Municipality.exists().where(
        (Municipality.code == code) & (Municipality.id != municipality_id)
    ):
        errors["code"] = _("Der findes allerede en kommune med kode {code}.").format(code=code)
    if not name:
        errors["name"] = _("Skriv kommunens navn.")
    elif await Municipality.exists().where(
        (Municipality.name == name) & (Municipality.id != municipality_id)
    ):
        errors["name"] = _("Der findes allerede en kommune med dette navn.")
    if errors:
        raise Invalid(errors)
    changes = _changes(current, {"code": code, "name": name, "region": region})
    if not changes:
        return
    async with write_transaction(Municipality._meta.db):
        await Municipality.update(
            {Municipality.code: code, Municipality.name: name, Municipality.region: region}
        ).where(Municipality.id == municipality_id)
        await audit.record(actor_id, "municipality.update", "municipality", municipality_id, **changes)


async def set_municipality_retired(actor_id: int | None, municipality_id: int, retired: bool) -> None:
    """Retire a municipality (hidden from new choices; history keeps it) or bring it back."""
    if not await Municipality.exists().where(Municipality.id == municipality_id):
        raise NotFound()
    async with write_transaction(Municipality._meta.db):
        await Municipality.update({Municipality.retired_at: clock.now() if retired else None}).where(
            Municipality.id == municipality_id
        )
        await audit.record(actor_id, "municipality.retire", "municipality", municipality_id, retired=retired)


async def update_partnership(actor_id: int | None, partnership_id: int, name: str, description: str) -> None:
    """Correct a partnership's name and description; the name stays unique."""
    current = await Partnership.select().where(Partnership.id == partnership_id).first()
    if current is None:
        raise NotFound()
    name, description = _text(name, 200), _text(description, 2000)
    if not name:
        raise Invalid({"name": _("Skriv samarbejdets navn.")})
    if await Partnership.exists().where((Partnership.name == name) & (Partnership.id != partnership_id)):
        raise Invalid({"name": _("Der findes allerede et samarbejde med dette navn.")})
    changes = _changes(current, {"name": name, "description": description})
    if not changes:
        return
    async with write_transaction(Partnership._meta.db):
        await Partnership.update({Partnership.name: name, Partnership.description: description}).where(
            Partnership.id == partnership_id
        )
        await audit.record(actor_id, "partnership.update", "partnership", partnership_id, **changes)


async def set_partnership_retired(actor_id: int | None, partnership_id: int, retired: bool) -> None:
    """Retire a partnership (hidden from new choices; its cohorts stay) or bring it back."""
    if not await Partnership.exists().where(Partnership.id == partnership_id):
        raise NotFound()
    async with write_transaction(Partnership._meta.db):
        await Partnership.update({Partnership.retired_at: clock.now() if retired else None}).where(
            Partnership.id == partnership_id
        )
        await audit.record(actor_id, "partnership.retire", "partnership", partnership_id, retired=retired)


async def update_venue(actor_id: int | None, venue_id: int, form: dict[str, Any]) -> None:
    """Correct a venue's name, address, postcode, city, capacity and accessibility (its
    host municipality is history and stays). Raises Invalid naming the fields."""
    current = await Venue.select().where(Venue.id == venue_id).first()
    if current is None:
        raise NotFound()
    new = {
        "name": _text(form.get("name"), 200),
        "address": _text(form.get("address"), 200),
        "postcode": _text(form.get("postcode"), 10),
        "city": _text(form.get("city"), 100),
        "accessibility": _text(form.get("accessibility"), 2000),
    }
    errors: dict[str, str] = {}
    if not new["name"]:
        errors["name"] = _("Skriv lokationens navn.")
    elif await Venue.exists().where(
        (Venue.municipality == current["municipality"]) & (Venue.name == new["name"]) & (Venue.id != venue_id)
    ):
        errors["name"] = _("Kommunen har allerede en lokation med dette navn.")
    if not new["address"]:
        errors["address"] = _("Skriv adressen (vej og nummer).")
    if not POSTCODE_PATTERN.match(new["postcode"]):
        errors["postcode"] = _("Postnummeret skal være fire cifre.")
    if not new["city"]:
        errors["city"] = _("Skriv bynavnet.")
    raw_capacity = _text(form.get("capacity"), 20)
    if raw_capacity.isdigit() and 1 <= int(raw_capacity) <= 1000:
        new["capacity"] = int(raw_capacity)
    else:
        errors["capacity"] = _("Kapaciteten skal være et helt tal mellem 1 og 1000.")
    if errors:
        raise Invalid(errors)
    changes = _changes(current, new)
    if not changes:
        return
    async with write_transaction(Venue._meta.db):
        await Venue.update({getattr(Venue, k): v for k, v in new.items()}).where(Venue.id == venue_id)
        await audit.record(actor_id, "venue.update", "venue", venue_id, **changes)


async def set_venue_active(actor_id: int | None, venue_id: int, active: bool) -> None:
    """Take a venue out of use (no longer offered to the planner) or back into use."""
    if not await Venue.exists().where(Venue.id == venue_id):
        raise NotFound()
    async with write_transaction(Venue._meta.db):
        await Venue.update({Venue.is_active: active}).where(Venue.id == venue_id)
        await audit.record(actor_id, "venue.set_active", "venue", venue_id, active=active)


async def update_person(actor_id: int | None, person_id: int, full_name: str, email: str) -> None:
    """Correct a person's name and e-mail address (the address they sign in with; it
    stays unique and lower-case). Notices already queued keep the address they had."""
    current = await Person.select(Person.id, Person.full_name, Person.email).where(Person.id == person_id).first()
    if current is None:
        raise NotFound()
    email, full_name = normalise_email(email), (full_name or "").strip()
    errors = _validate_person(email, full_name, None)
    if "email" not in errors and await Person.exists().where((Person.email == email) & (Person.id != person_id)):
        errors["email"] = _("Der findes allerede en bruger med denne e-mailadresse.")
    if errors:
        raise Invalid(errors)
    changes = _changes(current, {"full_name": full_name, "email": email})
    if not changes:
        return
    async with write_transaction(Person._meta.db):
        await Person.update({Person.full_name: full_name, Person.email: email}).where(Person.id == person_id)
        await audit.record(actor_id, "person.update", "person", person_id, **changes)
