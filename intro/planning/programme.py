"""A partnership's programme settings, kept by its coordinators: the periods with no
course days, and which modules each instructor may teach."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from intro import audit, clock
from intro.db import write_transaction
from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.inputs import checked_text
from intro.people.organisation import in_force_on
from intro.tables import (
    ClosedPeriod,
    InstructorQualification,
    Module,
    PartnershipMember,
    Role,
    RoleGrant,
)


async def closed_periods(partnership_id: int, since: date | None = None) -> list[dict]:
    query = ClosedPeriod.select().where(ClosedPeriod.partnership == partnership_id)
    if since:
        query = query.where(ClosedPeriod.end_date >= since)
    return await query.order_by(ClosedPeriod.start_date)


async def add_closed_period(actor_id: int, partnership_id: int, name: str, start: date | None, end: date | None) -> int:
    name = checked_text(name, "name", 100)
    errors = {}
    if not name:
        errors["name"] = _("Giv perioden et navn, fx «Sommerferie 2027».")
    if start is None:
        errors["start_date"] = _("Skriv første dag i perioden, fx 28.06.2027.")
    if end is None:
        errors["end_date"] = _("Skriv sidste dag i perioden, fx 01.08.2027.")
    if start and end and end < start:
        errors["end_date"] = _("Sidste dag skal ligge på eller efter første dag.")
    if start and end and (end - start).days > 120:
        errors["end_date"] = _("En lukkeperiode kan højst vare 120 dage.")
    if errors:
        raise Invalid(errors)
    async with write_transaction(ClosedPeriod._meta.db):
        row = await ClosedPeriod.insert(
            ClosedPeriod(partnership=partnership_id, name=name, start_date=start, end_date=end)
        ).returning(ClosedPeriod.id)
        await audit.record(
            actor_id, "closed_period.add", "partnership", partnership_id,
            name=name, start=start.isoformat(), end=end.isoformat(),
        )
    return row[0]["id"]


async def remove_closed_period(actor_id: int, partnership_id: int, period_id: int) -> None:
    period = await ClosedPeriod.select().where(
        (ClosedPeriod.id == period_id) & (ClosedPeriod.partnership == partnership_id)
    ).first()
    if period is None:
        raise NotFound()
    async with write_transaction(ClosedPeriod._meta.db):
        await ClosedPeriod.delete().where(ClosedPeriod.id == period_id)
        await audit.record(
            actor_id, "closed_period.remove", "partnership", partnership_id,
            name=period["name"], start=period["start_date"].isoformat(), end=period["end_date"].isoformat(),
        )


async def module_codes(partnership_id: int) -> list[dict]:
    """Module codes an instructor can be approved for: every shared module code, and the
    member municipalities' local modules (latest title per code)."""
    members = [
        r["municipality"]
        for r in await PartnershipMember.select(PartnershipMember.municipality).where(
            (PartnershipMember.partnership == partnership_id) & in_force_on(clock.today())  # approvals from now on
        )
    ]
    rows = await Module.select(Module.code, Module.title, Module.municipality, Module.id).where(
        Module.municipality.is_null() | Module.municipality.is_in(members or [0])
    ).order_by(Module.id)
    latest: dict[str, dict] = {}
    for r in rows:
        latest[r["code"]] = r
    return sorted(latest.values(), key=lambda r: (r["municipality"] is not None, r["code"]))


async def instructors(partnership_id: int) -> list[dict]:
    grants = await RoleGrant.select(
        RoleGrant.person, RoleGrant.person.full_name.as_alias("name"), RoleGrant.person.email.as_alias("email")
    ).where((RoleGrant.role == Role.instructor.value) & (RoleGrant.partnership == partnership_id))
    ids = [g["person"] for g in grants]
    qualified: dict[int, set[str]] = defaultdict(set)
    for q in await InstructorQualification.select().where(InstructorQualification.person.is_in(ids or [0])):
        qualified[q["person"]].add(q["module_code"])
    for g in grants:
        g["qualified"] = qualified[g["person"]]
    return sorted(grants, key=lambda g: g["name"])


async def set_qualifications(actor_id: int, partnership_id: int, person_id: int, codes: list[str]) -> None:
    """Make the instructor approved for exactly these module codes."""
    if person_id not in {i["person"] for i in await instructors(partnership_id)}:
        raise NotFound()
    known = {m["code"] for m in await module_codes(partnership_id)}
    wanted = set(codes)
    if wanted - known:
        raise Invalid({"codes": _("Ukendt modul: {codes}").format(codes=", ".join(sorted(wanted - known)))})
    current = {
        q["module_code"]
        for q in await InstructorQualification.select(InstructorQualification.module_code).where(
            InstructorQualification.person == person_id
        )
    }
    # Only codes this partnership knows are touched; approvals for others stay.
    added, removed = wanted - current, (current & known) - wanted
    if not added and not removed:
        return
    async with write_transaction(InstructorQualification._meta.db):
        if removed:
            await InstructorQualification.delete().where(
                (InstructorQualification.person == person_id)
                & InstructorQualification.module_code.is_in(sorted(removed))
            )
        if added:
            await InstructorQualification.insert(
                *[InstructorQualification(person=person_id, module_code=c) for c in sorted(added)]
            )
        await audit.record(
            actor_id, "instructor.qualifications", "person", person_id,
            partnership=partnership_id, added=sorted(added), removed=sorted(removed),
        )
