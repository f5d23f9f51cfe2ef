"""Partnerships, municipalities and venues: the named operations an admin uses.
Each validates its input, writes in one transaction and leaves a line in the audit log."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from piccolo.columns.combination import Combinable

from intro import audit, clock
from intro.db import write_transaction
from intro.errors import Invalid
from intro.i18n import _
from intro.inputs import checked_text, membership_window, outside_window, parse_date
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
    """A new partnership and its founding members, whose memberships have no joined_on
    ("since the partnership began", so records entered for earlier years count); later
    joins are dated (set_members, add_membership). Returns its id; Invalid by field
    (name, members) for a blank or taken name or an unknown municipality."""
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
    """Make the partnership's members from today exactly these municipalities, keeping
    the history: a municipality that is no longer chosen has its membership ended with
    `left_on` = today (clock.today()), a newly chosen one gets a membership from today.
    Rows of the past are never changed or deleted. Invalid (field "members") for an
    unknown municipality, or when a new membership would overlap one already recorded
    (e.g. a membership that starts in the future); nothing is changed then."""
    member_ids = sorted(set(member_ids))
    if member_ids:
        known = await Municipality.count().where(Municipality.id.is_in(member_ids))
        if known != len(member_ids):
            raise Invalid({"members": _("En af de valgte kommuner findes ikke.")})
    today = clock.today()
    async with write_transaction(Partnership._meta.db):
        await _lock_partnership(partnership_id)
        current = await members_on(partnership_id, today)
        added, removed = set(member_ids) - current, current - set(member_ids)
        if not added and not removed:
            return
        for municipality_id in sorted(added):
            if problems := await _membership_problems(partnership_id, municipality_id, today, None):
                raise Invalid({"members": next(iter(problems.values()))})
        if removed:
            await PartnershipMember.update({PartnershipMember.left_on: today}).where(
                (PartnershipMember.partnership == partnership_id)
                & PartnershipMember.municipality.is_in(sorted(removed))
                & in_force_on(today)
            )
        if added:
            await PartnershipMember.insert(
                *[
                    PartnershipMember(partnership=partnership_id, municipality=m, joined_on=today)
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
            on=today.isoformat(),
        )


# --------------------------------------------------------------------------------------
# Members over time (issue 17)
#
# A membership row says that a municipality is a member of a partnership from `joined_on`
# (included) until `left_on` (excluded): it is in force on day d when
#     (joined_on is NULL or joined_on <= d) and (left_on is NULL or d < left_on).
# NULL joined_on means "since the partnership began" (founding members and rows made
# before memberships had dates); NULL left_on means "still a member". A municipality may
# leave and join again: one row per spell, and the spells of one pair never overlap.


def in_force(joined_on: date | None, left_on: date | None, day: date) -> bool:
    """Is a membership from `joined_on` (included) to `left_on` (excluded, None: still
    a member) in force on `day`? The rule in_force_on writes as SQL, for rows already
    read (e.g. the dashboard's per-hire check)."""
    return (joined_on is None or joined_on <= day) and (left_on is None or day < left_on)


def in_force_on(day: date) -> Combinable:
    """Where-clause on PartnershipMember: the rows in force on `day` (see in_force)."""
    pm = PartnershipMember
    return (pm.joined_on.is_null() | (pm.joined_on <= day)) & (pm.left_on.is_null() | (pm.left_on > day))


def in_force_during(first: date | None, last: date | None) -> Combinable:
    """Where-clause on PartnershipMember: rows in force on at least one day of the period
    from `first` to `last`, both included (None: unbounded on that side)."""
    pm = PartnershipMember
    clause = pm.id.is_not_null()
    if last is not None:
        clause &= pm.joined_on.is_null() | (pm.joined_on <= last)
    if first is not None:
        clause &= pm.left_on.is_null() | (pm.left_on > first)
    return clause


def _ids(ids: int | Iterable[int]) -> list[int]:
    return [ids] if isinstance(ids, int) else sorted(set(ids))


async def members_on(partnership_ids: int | Iterable[int], day: date) -> set[int]:
    """The municipalities (ids) that are members of the partnership(s) on `day`.

    THE question "who is a member" for every page, and which day to ask about is the
    caller's, by this rule:
    - Pages about now and new choices (enrolling a person, reserving seats, planning a
      cohort and its venues, approving instructors, local curriculum, the coordinator's
      start page, admin lists): today, `clock.today()`. A municipality that left is no
      longer offered.
    - Who may see what (access: a chief's cohorts, people and feeds; a coordinator's
      municipalities): today as well, the least privilege. A chief of a municipality that
      left no longer opens the partnership's cohorts, also those its people attended;
      its past stays in the dashboard.
    - Figures about the past use the period the figure is about: the dashboard offers a
      chief every partnership the municipality has been a member of up to today
      (partnerships_during), shows in the comparison the municipalities that were members
      in the reporting period (member_during), and counts a hire in figures with others'
      people only if the municipality was a member on the hire's first day (member_on).
    """
    ids = _ids(partnership_ids)
    if not ids:
        return set()
    rows = await PartnershipMember.select(PartnershipMember.municipality).where(
        PartnershipMember.partnership.is_in(ids) & in_force_on(day)
    )
    return {r["municipality"] for r in rows}


async def members_during(
    partnership_ids: int | Iterable[int], first: date | None, last: date | None
) -> set[int]:
    """The municipalities that were members of the partnership(s) on at least one day
    from `first` to `last` (both included; None: unbounded). See members_on for which
    day or period each page asks about."""
    ids = _ids(partnership_ids)
    if not ids:
        return set()
    rows = await PartnershipMember.select(PartnershipMember.municipality).where(
        PartnershipMember.partnership.is_in(ids) & in_force_during(first, last)
    )
    return {r["municipality"] for r in rows}


async def partnerships_on(municipality_ids: int | Iterable[int], day: date) -> set[int]:
    """The partnerships (ids) the municipality(-ies) are members of on `day`; the same
    rule and choice of day as members_on."""
    ids = _ids(municipality_ids)
    if not ids:
        return set()
    rows = await PartnershipMember.select(PartnershipMember.partnership).where(
        PartnershipMember.municipality.is_in(ids) & in_force_on(day)
    )
    return {r["partnership"] for r in rows}


async def partnerships_during(
    municipality_ids: int | Iterable[int], first: date | None, last: date | None
) -> set[int]:
    """The partnerships the municipality(-ies) were members of on at least one day from
    `first` to `last` (both included; None: unbounded)."""
    ids = _ids(municipality_ids)
    if not ids:
        return set()
    rows = await PartnershipMember.select(PartnershipMember.partnership).where(
        PartnershipMember.municipality.is_in(ids) & in_force_during(first, last)
    )
    return {r["partnership"] for r in rows}


async def membership_spells(partnership_id: int) -> dict[int, list[tuple[date | None, date | None]]]:
    """Every membership of the partnership as {municipality: [(joined_on, left_on), ...]}
    ordered by joined_on, for figures that check many days at once with in_force."""
    rows = await PartnershipMember.select(
        PartnershipMember.municipality, PartnershipMember.joined_on, PartnershipMember.left_on
    ).where(PartnershipMember.partnership == partnership_id)
    return spells_by_municipality(rows)


def spells_by_municipality(rows: Iterable[dict]) -> dict[int, list[tuple[date | None, date | None]]]:
    """Membership rows (dicts with municipality, joined_on, left_on) as
    {municipality: [(joined_on, left_on), ...]} ordered by joined_on (pure)."""
    spells: dict[int, list[tuple[date | None, date | None]]] = {}
    for r in sorted(rows, key=lambda r: (r["joined_on"] or date.min)):
        spells.setdefault(r["municipality"], []).append((r["joined_on"], r["left_on"]))
    return spells


def member_on(spells: dict[int, list[tuple[date | None, date | None]]], municipality: int, day: date) -> bool:
    """Was `municipality` a member on `day`, by membership_spells' rows (pure)."""
    return any(in_force(j, left, day) for j, left in spells.get(municipality, ()))


def member_during(
    spells: dict[int, list[tuple[date | None, date | None]]], municipality: int, first: date, last: date
) -> bool:
    """Was `municipality` a member on at least one day from `first` to `last` (both
    included), by membership_spells' rows (pure; the rule of in_force_during)."""
    return any(
        (j is None or j <= last) and (left is None or left > first)
        for j, left in spells.get(municipality, ())
    )


async def _lock_partnership(partnership_id: int) -> None:
    """Serialise membership changes of one partnership, so the overlap check and the
    write see the same rows: SQLite's write transaction already holds the database;
    PostgreSQL locks the partnership's row until the transaction ends."""
    if Partnership._meta.db.engine_type == "postgres":
        await Partnership.raw("SELECT id FROM partnership WHERE id = {} FOR UPDATE", partnership_id)


def _overlaps(a: tuple[date | None, date | None], b: tuple[date | None, date | None]) -> bool:
    """Do two spells [joined, left) share a day? None is unbounded; an empty spell
    (left == joined) shares none."""
    (a_from, a_to), (b_from, b_to) = a, b
    if (a_to is not None and a_from is not None and a_to <= a_from) or (
        b_to is not None and b_from is not None and b_to <= b_from
    ):
        return False
    a_starts_before_b_ends = b_to is None or a_from is None or a_from < b_to
    b_starts_before_a_ends = a_to is None or b_from is None or b_from < a_to
    return a_starts_before_b_ends and b_starts_before_a_ends


async def _membership_problems(
    partnership_id: int,
    municipality_id: int,
    joined_on: date | None,
    left_on: date | None,
    except_id: int | None = None,
) -> dict[str, str]:
    """THE check for a membership row (new or changed): left_on on or after joined_on,
    and no day shared with another row of the same partnership and municipality.
    {field: Danish message}, empty when the row may be written."""
    if joined_on is not None and left_on is not None and left_on < joined_on:
        return {"left_on": _("Udtrædelsesdatoen kan ikke ligge før indtrædelsesdatoen.")}
    others = await PartnershipMember.select(
        PartnershipMember.id, PartnershipMember.joined_on, PartnershipMember.left_on
    ).where(
        (PartnershipMember.partnership == partnership_id)
        & (PartnershipMember.municipality == municipality_id)
    )
    for other in others:
        if other["id"] == except_id:
            continue
        if _overlaps((joined_on, left_on), (other["joined_on"], other["left_on"])):
            return {
                "joined_on": _(
                    "Kommunen er allerede medlem i en del af perioden ({spell}). "
                    "Et medlemskab må ikke overlappe et andet."
                ).format(spell=_spell_text(other["joined_on"], other["left_on"]))
            }
    if left_on is None and any(
        o["left_on"] is None for o in others if o["id"] != except_id
    ):
        return {"left_on": _("Kommunen har allerede et åbent medlemskab af samarbejdet.")}
    return {}


def _spell_text(joined_on: date | None, left_on: date | None) -> str:
    start = joined_on.strftime("%d.%m.%Y") if joined_on else _("fra start")
    end = left_on.strftime("%d.%m.%Y") if left_on else _("nu")
    return f"{start}–{end}"


def _membership_date(value: date | str | None, field: str, *, required: bool) -> date | None:
    """A membership date from a form or a caller: a date, an ISO text, or blank (None
    when not required). Invalid naming the field otherwise, or outside membership_window."""
    if isinstance(value, date):
        day = value
    elif value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Invalid({field: _("Skriv en dato (åååå-mm-dd).")})
        return None
    else:
        day = parse_date(value)
        if day is None:
            raise Invalid({field: _("Datoen skal skrives som åååå-mm-dd og være en rigtig dag.")})
    if problem := outside_window(day, membership_window(clock.today())):
        raise Invalid({field: problem})
    return day


async def add_membership(
    actor_id: int | None,
    partnership_id: int,
    municipality_id: int | None,
    joined_on: date | str | None,
    left_on: date | str | None = None,
) -> int:
    """Record that a municipality is a member from `joined_on` (and until `left_on`,
    excluded, when given): a join, or a rejoin after an earlier membership ended, or a
    past membership entered afterwards. Returns the row's id. Invalid by field
    (municipality, joined_on, left_on) for an unknown or retired municipality, a date
    that is not a day within membership_window, left_on before joined_on, or a spell
    that overlaps another of the same municipality; nothing is written then."""
    errors: dict[str, str] = {}
    try:
        joined = _membership_date(joined_on, "joined_on", required=True)
    except Invalid as invalid:
        errors.update(invalid.errors)
        joined = None
    try:
        left = _membership_date(left_on, "left_on", required=False)
    except Invalid as invalid:
        errors.update(invalid.errors)
        left = None
    if not municipality_id or not await Municipality.exists().where(
        (Municipality.id == municipality_id) & Municipality.retired_at.is_null()
    ):
        errors["municipality"] = _("Vælg en kommune.")
    if not await Partnership.exists().where(Partnership.id == partnership_id):
        errors["partnership"] = _("Samarbejdet findes ikke.")
    if errors:
        raise Invalid(errors)
    async with write_transaction(Partnership._meta.db):
        await _lock_partnership(partnership_id)
        if problems := await _membership_problems(partnership_id, municipality_id, joined, left):
            raise Invalid(problems)
        row = await PartnershipMember.insert(
            PartnershipMember(
                partnership=partnership_id, municipality=municipality_id, joined_on=joined, left_on=left
            )
        ).returning(PartnershipMember.id)
        await audit.record(
            actor_id,
            "partnership.membership_add",
            "partnership",
            partnership_id,
            municipality=municipality_id,
            joined_on=joined.isoformat() if joined else None,
            left_on=left.isoformat() if left else None,
        )
    return row[0]["id"]


async def end_membership(
    actor_id: int | None, partnership_id: int, membership_id: int, left_on: date | str | None
) -> None:
    """End (or move the end of) one membership row of the partnership: the municipality
    is a member until `left_on`, excluded. NotFound-like Invalid ("membership") when the
    row is not the partnership's; Invalid ("left_on") for a date that is not a day within
    membership_window, before the row's joined_on, or making it overlap a later spell of
    the same municipality; nothing is written then."""
    row = await PartnershipMember.select(
        PartnershipMember.id, PartnershipMember.municipality, PartnershipMember.joined_on
    ).where(
        (PartnershipMember.id == membership_id) & (PartnershipMember.partnership == partnership_id)
    ).first()
    if row is None:
        raise Invalid({"membership": _("Medlemskabet findes ikke i dette samarbejde.")})
    left = _membership_date(left_on, "left_on", required=True)
    async with write_transaction(Partnership._meta.db):
        await _lock_partnership(partnership_id)
        if problems := await _membership_problems(
            partnership_id, row["municipality"], row["joined_on"], left, except_id=membership_id
        ):
            raise Invalid({"left_on": next(iter(problems.values()))})
        await PartnershipMember.update({PartnershipMember.left_on: left}).where(
            PartnershipMember.id == membership_id
        )
        await audit.record(
            actor_id,
            "partnership.membership_end",
            "partnership",
            partnership_id,
            municipality=row["municipality"],
            membership=membership_id,
            left_on=left.isoformat(),
        )


async def membership_history(partnership_id: int) -> list[dict]:
    """Every membership row of the partnership, for the admin page: id, municipality id,
    name and code, joined_on, left_on (None: open) and `current` (in force today);
    by municipality name, then joined_on."""
    rows = await PartnershipMember.select(
        PartnershipMember.id,
        PartnershipMember.municipality,
        PartnershipMember.municipality.name.as_alias("name"),
        PartnershipMember.municipality.code.as_alias("code"),
        PartnershipMember.joined_on,
        PartnershipMember.left_on,
    ).where(PartnershipMember.partnership == partnership_id)
    today = clock.today()
    for r in rows:
        r["current"] = in_force(r["joined_on"], r["left_on"], today)
    return sorted(rows, key=lambda r: (r["name"], r["joined_on"] or date.min))


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
    """The partnerships the municipality is a member of today (see members_on)."""
    return sorted(await partnerships_on(municipality_id, clock.today()))


# --------------------------------------------------------------------------------------
# Looking things up (admin)


async def list_municipalities() -> list[dict]:
    """Every municipality by name, with the names of the partnerships it belongs to
    today (see members_on)."""
    municipalities = await Municipality.select(
        Municipality.id, Municipality.code, Municipality.name, Municipality.region, Municipality.retired_at
    ).order_by(Municipality.name)
    memberships = await PartnershipMember.select(
        PartnershipMember.municipality,
        PartnershipMember.partnership.name.as_alias("partnership_name"),
    ).where(in_force_on(clock.today())).order_by(PartnershipMember.partnership.name)
    names: dict[int, list[str]] = {}
    for m in memberships:
        names.setdefault(m["municipality"], []).append(m["partnership_name"])
    for m in municipalities:
        m["partnerships"] = names.get(m["id"], [])
    return municipalities


async def _members_by_partnership(partnership_ids: list[int]) -> dict[int, list[dict]]:
    """The members today (see members_on) of each partnership, by name."""
    if not partnership_ids:
        return {}
    rows = await PartnershipMember.select(
        PartnershipMember.partnership,
        PartnershipMember.municipality.id.as_alias("id"),
        PartnershipMember.municipality.code.as_alias("code"),
        PartnershipMember.municipality.name.as_alias("name"),
    ).where(PartnershipMember.partnership.is_in(partnership_ids) & in_force_on(clock.today())).order_by(
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
    partnership["history"] = await membership_history(partnership_id)
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
