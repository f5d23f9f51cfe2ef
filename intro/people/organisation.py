"""Partnerships, municipalities and venues: the named operations an admin uses.
Each validates its input, writes in one transaction and leaves a line in the audit log."""

from __future__ import annotations

import re

from intro import audit
from intro.db import write_transaction
from intro.errors import Invalid
from intro.i18n import _
from intro.inputs import checked_text
from intro.people.municipality_codes import municipality_code_problem
from intro.tables import Municipality, Partnership, PartnershipMember, Venue

CODE_PATTERN = re.compile(r"^\d{3}$")
POSTCODE_PATTERN = re.compile(r"^\d{4}$")


def _text(value: str | None, limit: int, field: str, *, multiline: bool = False) -> str:
    """The text without surrounding blanks; Invalid naming the field and the limit when
    it does not fit its column (never cut)."""
    return checked_text(value, field, limit, multiline=multiline)


async def create_municipality(actor_id: int | None, code: str, name: str, region: str = "") -> int:
    code, name, region = _text(code, 10, "code"), _text(name, 100, "name"), _text(region, 50, "region")
    errors = {}
    if problem := municipality_code_problem(code):
        errors["code"] = problem
    elif await Municipality.exists().where(Municipality.code == code):
        errors["code"] = _("Der findes allerede en kommune med kode {code}.").format(code=code)
    if not name:
        errors["name"] = _("Skriv kommunens navn.")
    elif await Municipality.exists().where(Municipality.name == name):
        errors["name"] = _("Der findes allerede en kommune med dette navn.")
    if errors:
        raise Invalid(errors)
    async with write_transaction(Municipality._meta.db):
        row = await Municipality.insert(
            Municipality(code=code, name=name, region=region)
        ).returning(Municipality.id)
        await audit.record(
            actor_id, "municipality.create", "municipality", row[0]["id"], code=code, name=name
        )
    return row[0]["id"]


async def create_partnership(
    actor_id: int | None, name: str, description: str = "", member_ids: list[int] | None = None
) -> int:
    name, description = _text(name, 200, "name"), _text(description, 2000, "description", multiline=True)
    member_ids = sorted(set(member_ids or []))
    errors = {}
    if not name:
        errors["name"] = _("Skriv samarbejdets navn.")
    elif await Partnership.exists().where(Partnership.name == name):
        errors["name"] = _("Der findes allerede et samarbejde med dette navn.")
    if member_ids:
        known = await Municipality.count().where(Municipality.id.is_in(member_ids))
        if known != len(member_ids):
            errors["members"] = _("En af de valgte kommuner findes ikke.")
    if errors:
        raise Invalid(errors)
    async with write_transaction(Partnership._meta.db):
        row = await Partnership.insert(
            Partnership(name=name, description=description)
        ).returning(Partnership.id)
        partnership_id = row[0]["id"]
        if member_ids:
            await PartnershipMember.insert(
                *[PartnershipMember(partnership=partnership_id, municipality=m) for m in member_ids]
            )
        await audit.record(
            actor_id,
            "partnership.create",
            "partnership",
            partnership_id,
            name=name,
            members=member_ids,
        )
    return partnership_id


async def set_members(actor_id: int | None, partnership_id: int, member_ids: list[int]) -> None:
    """Make the partnership's members exactly these municipalities."""
    member_ids = sorted(set(member_ids))
    if member_ids:
        known = await Municipality.count().where(Municipality.id.is_in(member_ids))
        if known != len(member_ids):
            raise Invalid({"members": _("En af de valgte kommuner findes ikke.")})
    current = {
        r["municipality"]
        for r in await PartnershipMember.select(PartnershipMember.municipality).where(
            PartnershipMember.partnership == partnership_id
        )
    }
    added, removed = set(member_ids) - current, current - set(member_ids)
    if not added and not removed:
        return
    async with write_transaction(Partnership._meta.db):
        if removed:
            await PartnershipMember.delete().where(
                (PartnershipMember.partnership == partnership_id)
                & PartnershipMember.municipality.is_in(sorted(removed))
            )
        if added:
            await PartnershipMember.insert(
                *[
                    PartnershipMember(partnership=partnership_id, municipality=m)
                    for m in sorted(added)
                ]
            )
        await audit.record(
            actor_id,
            "partnership.set_members",
            "partnership",
            partnership_id,
            added=sorted(added),
            removed=sorted(removed),
        )


async def create_venue(
    actor_id: int | None,
    *,
    name: str,
    municipality_id: int | None,
    address: str,
    postcode: str,
    city: str,
    capacity: str | int,
    accessibility: str = "",
) -> int:
    name, address, city = _text(name, 200, "name"), _text(address, 200, "address"), _text(city, 100, "city")
    postcode = _text(postcode, 10, "postcode")
    accessibility = _text(accessibility, 2000, "accessibility", multiline=True)
    errors = {}
    if not name:
        errors["name"] = _("Skriv lokationens navn.")
    if not municipality_id or not await Municipality.exists().where(
        Municipality.id == municipality_id
    ):
        errors["municipality"] = _("Vælg den kommune, der er vært for lokationen.")
    elif name and await Venue.exists().where(
        (Venue.municipality == municipality_id) & (Venue.name == name)
    ):
        errors["name"] = _("Kommunen har allerede en lokation med dette navn.")
    if not address:
        errors["address"] = _("Skriv adressen (vej og nummer).")
    if not POSTCODE_PATTERN.match(postcode):
        errors["postcode"] = _("Postnummeret skal være fire cifre.")
    if not city:
        errors["city"] = _("Skriv bynavnet.")
    try:
        capacity_value = int(str(capacity).strip())
        if capacity_value < 1 or capacity_value > 1000:
            raise ValueError
    except ValueError:
        errors["capacity"] = _("Kapaciteten skal være et helt tal mellem 1 og 1000.")
        capacity_value = 0
    if errors:
        raise Invalid(errors)
    async with write_transaction(Venue._meta.db):
        row = await Venue.insert(
            Venue(
                name=name,
                municipality=municipality_id,
                address=address,
                postcode=postcode,
                city=city,
                capacity=capacity_value,
                accessibility=accessibility,
            )
        ).returning(Venue.id)
        await audit.record(
            actor_id,
            "venue.create",
            "venue",
            row[0]["id"],
            name=name,
            municipality=municipality_id,
            capacity=capacity_value,
        )
    return row[0]["id"]


async def partnerships_of_municipality(municipality_id: int) -> list[int]:
    rows = await PartnershipMember.select(PartnershipMember.partnership).where(
        PartnershipMember.municipality == municipality_id
    )
    return [r["partnership"] for r in rows]


# --------------------------------------------------------------------------------------
# Looking things up (admin)


async def list_municipalities() -> list[dict]:
    """Every municipality by name, with the names of the partnerships it belongs to."""
    municipalities = await Municipality.select(
        Municipality.id, Municipality.code, Municipality.name, Municipality.region, Municipality.retired_at
    ).order_by(Municipality.name)
    memberships = await PartnershipMember.select(
        PartnershipMember.municipality,
        PartnershipMember.partnership.name.as_alias("partnership_name"),
    ).order_by(PartnershipMember.partnership.name)
    names: dict[int, list[str]] = {}
    for m in memberships:
        names.setdefault(m["municipality"], []).append(m["partnership_name"])
    for m in municipalities:
        m["partnerships"] = names.get(m["id"], [])
    return municipalities


async def _members_by_partnership(partnership_ids: list[int]) -> dict[int, list[dict]]:
    if not partnership_ids:
        return {}
    rows = await PartnershipMember.select(
        PartnershipMember.partnership,
        PartnershipMember.municipality.id.as_alias("id"),
        PartnershipMember.municipality.code.as_alias("code"),
        PartnershipMember.municipality.name.as_alias("name"),
    ).where(PartnershipMember.partnership.is_in(partnership_ids)).order_by(
        PartnershipMember.municipality.name
    )
    members: dict[int, list[dict]] = {}
    for r in rows:
        members.setdefault(r.pop("partnership"), []).append(r)
    return members


async def list_partnerships() -> list[dict]:
    """Every partnership by name, with its member municipalities."""
    partnerships = await Partnership.select(
        Partnership.id, Partnership.name, Partnership.description, Partnership.retired_at
    ).order_by(Partnership.name)
    members = await _members_by_partnership([p["id"] for p in partnerships])
    for p in partnerships:
        p["members"] = members.get(p["id"], [])
    return partnerships


async def partnership_detail(partnership_id: int) -> dict | None:
    partnership = await Partnership.select(
        Partnership.id, Partnership.name, Partnership.description, Partnership.created_at,
        Partnership.retired_at,
    ).where(Partnership.id == partnership_id).first()
    if partnership is None:
        return None
    partnership["members"] = (await _members_by_partnership([partnership_id])).get(
        partnership_id, []
    )
    return partnership


async def list_venues() -> list[dict]:
    """Every venue, by host municipality and name."""
    return await Venue.select(
        Venue.id,
        Venue.name,
        Venue.address,
        Venue.postcode,
        Venue.city,
        Venue.capacity,
        Venue.is_active,
        Venue.municipality.name.as_alias("municipality_name"),
    ).order_by(Venue.municipality.name, Venue.name)


async def municipality_choices(keep: set[int] | None = None) -> list[tuple[int, str]]:
    """Municipalities to choose for something new: retired ones are left out, except
    those in `keep` (already chosen, e.g. a partnership's members, so a form that is
    saved again does not drop them)."""
    rows = await Municipality.select(
        Municipality.id, Municipality.code, Municipality.name
    ).where(
        Municipality.retired_at.is_null() | Municipality.id.is_in(sorted(keep or set()) or [0])
    ).order_by(Municipality.name)
    return [(r["id"], f"{r['name']} ({r['code']})") for r in rows]


async def partnership_choices() -> list[tuple[int, str]]:
    """Partnerships to choose for something new: retired ones are left out."""
    rows = await Partnership.select(Partnership.id, Partnership.name).where(
        Partnership.retired_at.is_null()
    ).order_by(Partnership.name)
    return [(r["id"], r["name"]) for r in rows]
