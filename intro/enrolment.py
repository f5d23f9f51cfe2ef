"""Enrolment in cohorts: places, reserved seats per municipality, and the wait-list.

A cohort has `capacity` places. Each member municipality may have seats reserved;
the places not reserved are open to everyone. A person gets a place when their
municipality has a reserved seat left, or an open place is left; otherwise they go on
the wait-list, which is ordered by when they were put forward. When a place frees,
the wait-list is walked in order and everyone who now fits is moved up.

Changes run in one write transaction that first locks the cohort, so two enrolments
at once can never both take the last place.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from intro import audit, clock, plan
from intro.db import write_transaction
from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.inputs import checked_text
from intro.tables import (
    Cohort,
    CohortSeats,
    CohortStatus,
    Enrolment,
    EnrolmentStatus,
    PartnershipMember,
    Person,
    Role,
    RoleGrant,
)

PLACE_HOLDING = [EnrolmentStatus.enrolled.value, EnrolmentStatus.completed.value]


@dataclass(frozen=True)
class Places:
    capacity: int
    seats: dict[int, int]  # reserved per municipality
    taken: dict[int, int]  # places held per municipality

    @property
    def open_places(self) -> int:
        return self.capacity - sum(self.seats.values())

    @property
    def open_used(self) -> int:
        return sum(max(0, n - self.seats.get(m, 0)) for m, n in self.taken.items())

    def has_place_for(self, municipality_id: int) -> bool:
        """Pure: may one more person from this municipality get a place?"""
        if sum(self.taken.values()) >= self.capacity:
            return False
        if self.taken.get(municipality_id, 0) < self.seats.get(municipality_id, 0):
            return True
        return self.open_used < self.open_places

    def with_one_more(self, municipality_id: int) -> Places:
        taken = dict(self.taken)
        taken[municipality_id] = taken.get(municipality_id, 0) + 1
        return Places(self.capacity, self.seats, taken)


async def _places(cohort_id: int, capacity: int) -> Places:
    seats = {
        r["municipality"]: r["seats"]
        for r in await CohortSeats.select(CohortSeats.municipality, CohortSeats.seats).where(
            CohortSeats.cohort == cohort_id
        )
    }
    taken = Counter(
        r["municipality"]
        for r in await Enrolment.select(Enrolment.municipality).where(
            (Enrolment.cohort == cohort_id) & Enrolment.status.is_in(PLACE_HOLDING)
        )
    )
    return Places(capacity, seats, dict(taken))


async def _lock_cohort(cohort_id: int) -> dict:
    """Read the cohort inside the transaction, locking it on PostgreSQL (SQLite's
    BEGIN IMMEDIATE already holds the only write lock)."""
    query = Cohort.select(Cohort.id, Cohort.capacity, Cohort.status, Cohort.partnership).where(
        Cohort.id == cohort_id
    )
    if Cohort._meta.db.engine_type == "postgres":
        query = query.lock_rows()
    cohort = await query.first()
    if cohort is None:
        raise NotFound()
    return cohort


async def eligible_people(cohort: dict, municipality_ids: set[int] | None = None) -> list[dict]:
    """People with the participant role in the cohort's member municipalities (or only
    in `municipality_ids`), not already on the cohort — candidates to enrol."""
    members = {
        r["municipality"]
        for r in await PartnershipMember.select(PartnershipMember.municipality).where(
            PartnershipMember.partnership == cohort["partnership"]
        )
    }
    if municipality_ids is not None:
        members &= municipality_ids
    if not members:
        return []
    grants = await RoleGrant.select(
        RoleGrant.person,
        RoleGrant.municipality,
        RoleGrant.person.full_name.as_alias("full_name"),
        RoleGrant.municipality.name.as_alias("municipality_name"),
    ).where(
        (RoleGrant.role == Role.participant.value)
        & RoleGrant.municipality.is_in(sorted(members))
        & (RoleGrant.person.is_active == True)  # noqa: E712
    )
    already = {
        r["person"]
        for r in await Enrolment.select(Enrolment.person).where(
            (Enrolment.cohort == cohort["id"]) & (Enrolment.status != EnrolmentStatus.withdrawn.value)
        )
    }
    people = [g for g in grants if g["person"] not in already]
    people.sort(key=lambda g: (g["municipality_name"], g["full_name"]))
    return people


async def enrol(actor_id: int, cohort_id: int, person_id: int, municipality_id: int) -> str:
    """Put a person forward for a cohort. Returns the resulting status: enrolled, or
    waitlisted when no place is left for their municipality."""
    async with write_transaction(Cohort._meta.db):
        cohort = await _lock_cohort(cohort_id)
        if cohort["status"] in (CohortStatus.completed.value, CohortStatus.cancelled.value):
            raise Invalid({"person": _("Holdet er afsluttet; der kan ikke tilmeldes flere.")})
        is_participant = await RoleGrant.exists().where(
            (RoleGrant.person == person_id)
            & (RoleGrant.role == Role.participant.value)
            & (RoleGrant.municipality == municipality_id)
        )
        is_member = await PartnershipMember.exists().where(
            (PartnershipMember.partnership == cohort["partnership"])
            & (PartnershipMember.municipality == municipality_id)
        )
        if not is_participant or not is_member:
            raise Invalid({"person": _("Vælg en nyansat fra en af samarbejdets kommuner.")})
        existing = await Enrolment.select().where(
            (Enrolment.cohort == cohort_id) & (Enrolment.person == person_id)
        ).first()
        if existing and existing["status"] != EnrolmentStatus.withdrawn.value:
            raise Invalid({"person": _("Personen er allerede på holdet eller på ventelisten.")})
        places = await _places(cohort_id, cohort["capacity"])
        now = clock.now()
        status = (
            EnrolmentStatus.enrolled.value
            if places.has_place_for(municipality_id)
            else EnrolmentStatus.waitlisted.value
        )
        values = {
            Enrolment.municipality: municipality_id,
            Enrolment.status: status,
            Enrolment.requested_at: now,
            Enrolment.enrolled_at: now if status == EnrolmentStatus.enrolled.value else None,
            Enrolment.withdrawn_at: None,
            Enrolment.withdrawal_reason: "",
            Enrolment.enrolled_by: actor_id,
        }
        if existing:
            await Enrolment.update(values).where(Enrolment.id == existing["id"])
            enrolment_id = existing["id"]
        else:
            enrolment_id = (
                await Enrolment.insert(
                    Enrolment(
                        cohort=cohort_id,
                        person=person_id,
                        municipality=municipality_id,
                        status=status,
                        requested_at=now,
                        enrolled_at=values[Enrolment.enrolled_at],
                        enrolled_by=actor_id,
                    )
                ).returning(Enrolment.id)
            )[0]["id"]
        await audit.record(
            actor_id, "enrolment.create", "enrolment", enrolment_id,
            cohort=cohort_id, person=person_id, status=status,
        )
    await plan.sync_plan(person_id)
    return status


async def withdraw(actor_id: int, enrolment_id: int, reason: str) -> list[int]:
    """Take a person off a cohort or its wait-list, keeping the row as history. Moves
    up whoever now fits from the wait-list; returns their enrolment ids."""
    reason = checked_text(reason, "reason", 500, multiline=True)
    if not reason:
        raise Invalid({"reason": _("Skriv kort, hvorfor personen afmeldes.")})
    enrolment = await Enrolment.select().where(Enrolment.id == enrolment_id).first()
    if enrolment is None:
        raise NotFound()
    async with write_transaction(Cohort._meta.db):
        cohort = await _lock_cohort(enrolment["cohort"])
        current = await Enrolment.select(Enrolment.status).where(Enrolment.id == enrolment_id).first()
        if current["status"] not in (EnrolmentStatus.enrolled.value, EnrolmentStatus.waitlisted.value):
            raise Invalid({"reason": _("Personen er ikke tilmeldt holdet.")})
        await Enrolment.update(
            {
                Enrolment.status: EnrolmentStatus.withdrawn.value,
                Enrolment.withdrawn_at: clock.now(),
                Enrolment.withdrawal_reason: reason,
            }
        ).where(Enrolment.id == enrolment_id)
        await audit.record(
            actor_id, "enrolment.withdraw", "enrolment", enrolment_id,
            cohort=cohort["id"], person=enrolment["person"], reason=reason,
        )
        promoted = await _move_up(actor_id, cohort)
    await plan.sync_plan(enrolment["person"])
    for row in await Enrolment.select(Enrolment.person).where(Enrolment.id.is_in(promoted or [0])):
        await plan.sync_plan(row["person"])
    return promoted


async def _move_up(actor_id: int | None, cohort: dict) -> list[int]:
    places = await _places(cohort["id"], cohort["capacity"])
    waiting = await Enrolment.select(Enrolment.id, Enrolment.person, Enrolment.municipality).where(
        (Enrolment.cohort == cohort["id"]) & (Enrolment.status == EnrolmentStatus.waitlisted.value)
    ).order_by(Enrolment.requested_at).order_by(Enrolment.id)
    promoted = []
    for w in waiting:
        if places.has_place_for(w["municipality"]):
            places = places.with_one_more(w["municipality"])
            await Enrolment.update(
                {Enrolment.status: EnrolmentStatus.enrolled.value, Enrolment.enrolled_at: clock.now()}
            ).where(Enrolment.id == w["id"])
            await audit.record(
                actor_id, "enrolment.move_up", "enrolment", w["id"], cohort=cohort["id"], person=w["person"]
            )
            promoted.append(w["id"])
    return promoted


async def roster(cohort_id: int, municipality_ids: set[int] | None = None) -> dict:
    """The cohort's enrolments, wait-list in order, and the withdrawn (history). With
    `municipality_ids`, individuals are listed only from those municipalities; the
    counts still cover everyone."""
    rows = await Enrolment.select(
        Enrolment.id, Enrolment.person, Enrolment.municipality, Enrolment.status,
        Enrolment.requested_at, Enrolment.enrolled_at, Enrolment.withdrawn_at, Enrolment.withdrawal_reason,
        Enrolment.person.full_name.as_alias("full_name"),
        Enrolment.municipality.name.as_alias("municipality_name"),
    ).where(Enrolment.cohort == cohort_id).order_by(Enrolment.requested_at).order_by(Enrolment.id)
    waitlist = [r for r in rows if r["status"] == EnrolmentStatus.waitlisted.value]
    for position, r in enumerate(waitlist, start=1):
        r["position"] = position
    counts = Counter(r["status"] for r in rows)

    def visible(r):
        return municipality_ids is None or r["municipality"] in municipality_ids

    return {
        "enrolled": sorted(
            (r for r in rows if r["status"] in PLACE_HOLDING and visible(r)),
            key=lambda r: (r["municipality_name"], r["full_name"]),
        ),
        "waitlist": [r for r in waitlist if visible(r)],
        "withdrawn": [r for r in rows if r["status"] == EnrolmentStatus.withdrawn.value and visible(r)],
        "counts": {
            "enrolled": counts[EnrolmentStatus.enrolled.value] + counts[EnrolmentStatus.completed.value],
            "waitlisted": counts[EnrolmentStatus.waitlisted.value],
        },
    }


async def person_name(person_id: int) -> str:
    row = await Person.select(Person.full_name).where(Person.id == person_id).first()
    return row["full_name"] if row else ""
