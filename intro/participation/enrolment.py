"""Enrolment in cohorts: places, reserved seats per municipality, and the wait-list.

A cohort has `capacity` places. Each member municipality may have seats reserved;
the places not reserved are open to everyone. A person holds a place when their
municipality has a reserved seat left, or an open place is left (`Places`).

Rules, each held in one place:
- A person is active (enrolled or wait-listed) on at most one cohort at a time: the
  partial unique index `enrolment_one_active_per_person` (migration m0006) holds it;
  `enrol` and `move` check it first only to say so in Danish.
- The wait-list is first come, first served among the places that fit: it is ordered by
  `requested_at`, then id, and `fill_places` walks it in that order, giving a place to
  everyone who fits one. Every operation that frees or changes places — enrol,
  withdraw, move, change_places — ends by calling `fill_places` on each cohort it
  touched, inside its transaction. A newcomer joins the end of the queue first, so they
  get a place only when nobody earlier fits it; and nobody is ever left waiting while a
  place fits them.
- Someone who has completed the programme is enrolled again only with a reason, which
  the audit log keeps.

Changes run in one write transaction that first locks the cohorts (in id order), so two
enrolments at once can never both take the last place.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from intro import audit, clock
from intro.db import write_transaction
from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.inputs import checked_text
from intro.participation import plan
from intro.people import account_links, privacy
from intro.people.organisation import in_force_on
from intro.planning.rows import CohortRow
from intro.tables import (
    ENROLMENT_ON_COHORT,
    Cohort,
    CohortSeats,
    Enrolment,
    EnrolmentStatus,
    Municipality,
    PartnershipMember,
    Person,
    Role,
    RoleGrant,
)

PLACE_HOLDING = ENROLMENT_ON_COHORT


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


ACTIVE = [EnrolmentStatus.enrolled.value, EnrolmentStatus.waitlisted.value]


async def _lock_cohort(cohort_id: int) -> CohortRow:
    """Read the cohort inside the transaction, locking it on PostgreSQL (SQLite's
    BEGIN IMMEDIATE already holds the only write lock)."""
    query = Cohort.select().where(Cohort.id == cohort_id)
    if Cohort._meta.db.engine_type == "postgres":
        query = query.lock_rows()
    cohort = await query.first()
    if cohort is None:
        raise NotFound()
    return CohortRow.from_row(cohort)


def _breaks_one_active(error: Exception) -> bool:
    """Did the database refuse a second active enrolment for one person? (A concurrent
    enrolment on another cohort can get past the friendly check; the index stops it.)"""
    text = str(error)
    return "enrolment_one_active_per_person" in text or "enrolment.person" in text


async def _active_elsewhere(person_id: int, cohort_id: int | None = None) -> dict | None:
    query = Enrolment.select(
        Enrolment.id, Enrolment.cohort, Enrolment.status, Enrolment.cohort.name.as_alias("cohort_name")
    ).where((Enrolment.person == person_id) & Enrolment.status.is_in(ACTIVE))
    if cohort_id is not None:
        query = query.where(Enrolment.cohort != cohort_id)
    return await query.first()


def _active_words(row: dict) -> str:
    """'tilmeldt Hold B' or 'på venteliste til Hold B'."""
    if row["status"] == EnrolmentStatus.waitlisted.value:
        return _("på venteliste til {cohort}").format(cohort=row["cohort_name"])
    return _("tilmeldt {cohort}").format(cohort=row["cohort_name"])


def _completed_words(row: dict) -> str:
    """'gennemført Hold A 2025' (the year it was confirmed, local)."""
    when = row["completed_at"]
    year = when.astimezone(clock.local_now().tzinfo).year if when else ""
    return _("gennemført {cohort} {year}").format(cohort=row["cohort_name"], year=year).strip()


async def eligible_people(cohort: CohortRow, municipality_ids: set[int] | None = None) -> list[dict]:
    """Candidates to enrol: people with the participant role in the cohort's member
    municipalities (or only in `municipality_ids`), not already on this cohort.

    Each row has person, municipality, full_name, municipality_name and:
    - `blocked`: why the person is not offered (e.g. "tilmeldt Hold B"), or None;
    - `completed`: e.g. "gennemført Hold A 2025" when they have completed the programme
      — offered only together with a reason for enrolling them again."""
    members = {
        r["municipality"]
        for r in await PartnershipMember.select(PartnershipMember.municipality).where(
            (PartnershipMember.partnership == cohort.partnership) & in_force_on(clock.today())  # a new choice: today
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
    people = sorted({g["person"] for g in grants}) or [0]
    rows = await Enrolment.select(
        Enrolment.person, Enrolment.cohort, Enrolment.status, Enrolment.completed_at,
        Enrolment.cohort.name.as_alias("cohort_name"),
    ).where(Enrolment.person.is_in(people) & (Enrolment.status != EnrolmentStatus.withdrawn.value))
    on_this = {r["person"] for r in rows if r["cohort"] == cohort.id}
    blocked = {r["person"]: _active_words(r) for r in rows if r["status"] in ACTIVE}
    completed: dict[int, str] = {}
    for r in sorted(rows, key=lambda r: r["completed_at"] or clock.now()):
        if r["status"] == EnrolmentStatus.completed.value:
            completed[r["person"]] = _completed_words(r)
    candidates = [
        {**g, "blocked": blocked.get(g["person"]), "completed": completed.get(g["person"])}
        for g in grants
        if g["person"] not in on_this
    ]
    candidates.sort(key=lambda g: (g["municipality_name"], g["full_name"]))
    return candidates


async def _check_may_enrol(cohort: CohortRow, person_id: int, municipality_id: int, reason: str) -> str:
    """Raise Invalid unless the person may be put forward for the cohort; returns the
    words for a completed programme ('' when none), which then need a reason."""
    if cohort.is_closed:
        raise Invalid({"person": _("Holdet er afsluttet; der kan ikke tilmeldes flere.")})
    is_participant = await RoleGrant.exists().where(
        (RoleGrant.person == person_id)
        & (RoleGrant.role == Role.participant.value)
        & (RoleGrant.municipality == municipality_id)
    )
    is_member = await PartnershipMember.exists().where(
        (PartnershipMember.partnership == cohort.partnership)
        & (PartnershipMember.municipality == municipality_id)
        & in_force_on(clock.today())  # enrolling is a new choice: members today
    )
    if not is_participant or not is_member:
        raise Invalid({"person": _("Vælg en nyansat fra en af samarbejdets kommuner.")})
    await privacy.check_processing_allowed([person_id])
    name = await person_name(person_id)
    active = await _active_elsewhere(person_id, cohort.id)
    if active is not None:
        raise Invalid({"person": _(
            "{name} er allerede {where}. Brug «Flyt til andet hold» for at flytte personen."
        ).format(name=name, where=_active_words(active))})
    done = await Enrolment.select(
        Enrolment.completed_at, Enrolment.cohort.name.as_alias("cohort_name")
    ).where(
        (Enrolment.person == person_id) & (Enrolment.status == EnrolmentStatus.completed.value)
    ).order_by(Enrolment.completed_at, ascending=False).first()
    if done is not None and not reason:
        raise Invalid({"reason": _(
            "{name} har {done}. Skriv en begrundelse, hvis personen skal tage forløbet igen."
        ).format(name=name, done=_completed_words(done))})
    return _completed_words(done) if done else ""


async def _queue(actor_id: int, cohort_id: int, person_id: int, municipality_id: int) -> int:
    """Put the person at the end of the cohort's wait-list (reusing a withdrawn row: one
    row per person and cohort). `fill_places` decides whether they get a place."""
    existing = await Enrolment.select(Enrolment.id, Enrolment.status).where(
        (Enrolment.cohort == cohort_id) & (Enrolment.person == person_id)
    ).first()
    if existing and existing["status"] != EnrolmentStatus.withdrawn.value:
        raise Invalid({"person": _("Personen er allerede på holdet eller på ventelisten.")})
    now = clock.now()
    values = {
        Enrolment.municipality: municipality_id,
        Enrolment.status: EnrolmentStatus.waitlisted.value,
        Enrolment.requested_at: now,
        Enrolment.enrolled_at: None,
        Enrolment.withdrawn_at: None,
        Enrolment.withdrawal_reason: "",
        Enrolment.enrolled_by: actor_id,
    }
    if existing:
        await Enrolment.update(values).where(Enrolment.id == existing["id"])
        return existing["id"]
    rows = await Enrolment.insert(
        Enrolment(
            cohort=cohort_id, person=person_id, municipality=municipality_id,
            status=EnrolmentStatus.waitlisted.value, requested_at=now, enrolled_by=actor_id,
        )
    ).returning(Enrolment.id)
    return rows[0]["id"]


async def _status(enrolment_id: int) -> str:
    row = await Enrolment.select(Enrolment.status).where(Enrolment.id == enrolment_id).first()
    return row["status"]


async def enrol(
    actor_id: int, cohort_id: int, person_id: int, municipality_id: int, reason: str = ""
) -> str:
    """Put a person forward for a cohort. Returns the resulting status: "enrolled", or
    "waitlisted" when no place fits them (or someone earlier in the queue took it).
    The rules and errors are those of `enrol_many`."""
    statuses = await enrol_many(actor_id, cohort_id, [(person_id, municipality_id)], reason)
    return statuses[person_id]


async def enrol_many(
    actor_id: int, cohort_id: int, people: list[tuple[int, int]], reason: str = ""
) -> dict[int, str]:
    """Put several people — (person id, municipality id) pairs — forward for a cohort at
    once, all or none, in the order given. Returns each person's status ("enrolled" or
    "waitlisted").

    Raises Invalid and writes nothing when any of them may not be enrolled: field
    "person" when the cohort is closed, a person is not a new hire of a member
    municipality, or is already active on a cohort; field "reason" when someone has
    completed the programme and no reason is given (the reason is kept in the audit
    log); field "person" naming anyone whose processing is restricted (GDPR art. 18,
    `privacy.check_processing_allowed`)."""
    reason = (reason or "").strip()[:500]
    people = list(dict.fromkeys(people))
    if not people:
        raise Invalid({"person": _("Vælg mindst én nyansat at tilmelde.")})
    try:
        async with write_transaction(Cohort._meta.db):
            cohort = await _lock_cohort(cohort_id)
            problems: dict[str, list[str]] = {}
            done: dict[int, str] = {}
            for person_id, municipality_id in people:
                try:
                    done[person_id] = await _check_may_enrol(cohort, person_id, municipality_id, reason)
                except Invalid as invalid:
                    for field_name, message in invalid.errors.items():
                        problems.setdefault(field_name, []).append(message)
            if problems:
                raise Invalid({f: " ".join(dict.fromkeys(m)) for f, m in problems.items()})
            queued = {
                person_id: await _queue(actor_id, cohort_id, person_id, municipality_id)
                for person_id, municipality_id in people
            }
            await fill_places(actor_id, cohort, newcomers=set(queued.values()))
            statuses = {}
            for person_id, enrolment_id in queued.items():
                statuses[person_id] = await _status(enrolment_id)
                details = {"cohort": cohort_id, "person": person_id, "status": statuses[person_id]}
                if done[person_id]:
                    details.update(again_after=done[person_id], reason=reason)
                await audit.record(actor_id, "enrolment.create", "enrolment", enrolment_id, **details)
                # Someone who cannot sign in yet is invited with the enrolment (issue 16).
                await account_links.invite_if_needed(actor_id, person_id)
    except Invalid:
        raise
    except Exception as error:
        if _breaks_one_active(error):
            raise Invalid({"person": _("Personen er allerede tilmeldt et andet hold.")}) from error
        raise
    for person_id in statuses:
        await plan.sync_plan(person_id)
    return statuses


async def withdraw(actor_id: int, enrolment_id: int, reason: str) -> list[int]:
    """Take a person off a cohort or its wait-list, keeping the row as history. Moves
    up whoever now fits from the wait-list; returns their enrolment ids.
    Raises Invalid (field "reason") without a reason or when the person is not active."""
    reason = checked_text(reason, "reason", 500, multiline=True)
    if not reason:
        raise Invalid({"reason": _("Skriv kort, hvorfor personen afmeldes.")})
    enrolment = await Enrolment.select().where(Enrolment.id == enrolment_id).first()
    if enrolment is None:
        raise NotFound()
    await privacy.check_processing_allowed([enrolment["person"]], "reason")
    async with write_transaction(Cohort._meta.db):
        cohort = await _lock_cohort(enrolment["cohort"])
        if await _status(enrolment_id) not in ACTIVE:
            raise Invalid({"reason": _("Personen er ikke tilmeldt holdet.")})
        await _set_withdrawn(enrolment_id, reason)
        await audit.record(
            actor_id, "enrolment.withdraw", "enrolment", enrolment_id,
            cohort=cohort.id, person=enrolment["person"], reason=reason,
        )
        promoted = await fill_places(actor_id, cohort)
    await _sync_plans([enrolment["person"]], promoted)
    return promoted


async def _set_withdrawn(enrolment_id: int, reason: str) -> None:
    await Enrolment.update(
        {
            Enrolment.status: EnrolmentStatus.withdrawn.value,
            Enrolment.withdrawn_at: clock.now(),
            Enrolment.withdrawal_reason: reason,
        }
    ).where(Enrolment.id == enrolment_id)


async def _sync_plans(people: list[int], promoted: list[int]) -> None:
    moved_up = await Enrolment.select(Enrolment.person).where(Enrolment.id.is_in(promoted or [0]))
    for person_id in dict.fromkeys([*people, *(r["person"] for r in moved_up)]):
        await plan.sync_plan(person_id)


async def move(actor_id: int, enrolment_id: int, to_cohort_id: int, reason: str = "") -> str:
    """"Flyt til andet hold": move an active person from their cohort to another of the
    same partnership, in one transaction. The old enrolment is kept as history
    (withdrawn, reason "Flyttet til …"); attendance and catch-ups belong to the person
    and stay. On the new cohort they join the queue like anyone else. Both cohorts'
    wait-lists then move up. Returns the new status ("enrolled" or "waitlisted").
    Raises Invalid (field "cohort") for the same cohort, a closed cohort or another
    partnership's; NotFound for an unknown enrolment or cohort."""
    reason = (reason or "").strip()[:400]
    enrolment = await Enrolment.select().where(Enrolment.id == enrolment_id).first()
    if enrolment is None:
        raise NotFound()
    if enrolment["cohort"] == to_cohort_id:
        raise Invalid({"cohort": _("Vælg et andet hold end det, personen er på.")})
    await privacy.check_processing_allowed([enrolment["person"]], "cohort")
    async with write_transaction(Cohort._meta.db):
        locked = {c: await _lock_cohort(c) for c in sorted({enrolment["cohort"], to_cohort_id})}
        source, target = locked[enrolment["cohort"]], locked[to_cohort_id]
        if await _status(enrolment_id) not in ACTIVE:
            raise Invalid({"cohort": _("Personen er ikke tilmeldt holdet.")})
        if target.partnership != source.partnership or target.is_closed:
            raise Invalid({"cohort": _("Vælg et hold i samarbejdet, som ikke er afsluttet.")})
        why = _("Flyttet til {cohort}").format(cohort=target.name)
        await _set_withdrawn(enrolment_id, f"{why}: {reason}" if reason else why)
        new_id = await _queue(actor_id, to_cohort_id, enrolment["person"], enrolment["municipality"])
        promoted = await fill_places(actor_id, source)
        promoted += await fill_places(actor_id, target, newcomers={new_id})
        status = await _status(new_id)
        await audit.record(
            actor_id, "enrolment.move", "enrolment", new_id, person=enrolment["person"],
            from_cohort=source.id, cohort=target.id, status=status, reason=reason,
        )
    await _sync_plans([enrolment["person"]], promoted)
    return status


async def change_places(actor_id: int, cohort_id: int, capacity: int, seats: dict[int, int]) -> list[int]:
    """Change a cohort's places: `capacity` (1–200) and reserved `seats` per member
    municipality (missing: none reserved). Nobody loses a place, so the capacity cannot
    go below the places taken. The wait-list moves up at once; returns who moved up.
    Raises Invalid (fields "capacity", "seats") and changes nothing on bad input."""
    async with write_transaction(Cohort._meta.db):
        cohort = await _lock_cohort(cohort_id)
        members = {
            r["municipality"]
            for r in await PartnershipMember.select(PartnershipMember.municipality).where(
                (PartnershipMember.partnership == cohort.partnership) & in_force_on(clock.today())  # seats from now on
            )
        }
        taken = sum((await _places(cohort_id, cohort.capacity)).taken.values())
        errors = {}
        if not 1 <= capacity <= 200:
            errors["capacity"] = _("Antal pladser skal være et helt tal fra 1 til 200.")
        elif capacity < taken:
            errors["capacity"] = _("Holdet har allerede {taken} tilmeldte; antal pladser kan ikke være færre.").format(taken=taken)
        if any(m not in members for m in seats) or any(not 0 <= n <= 200 for n in seats.values()):
            errors["seats"] = _("Reserverede pladser skal være hele tal fra 0 og kun for samarbejdets kommuner.")
        elif sum(seats.values()) > capacity:
            errors["seats"] = _("Kommunernes pladser ({sum}) er flere end holdets {cap} pladser.").format(sum=sum(seats.values()), cap=capacity)
        if errors:
            raise Invalid(errors)
        await Cohort.update({Cohort.capacity: capacity}).where(Cohort.id == cohort_id)
        await CohortSeats.delete().where(CohortSeats.cohort == cohort_id)
        rows = [CohortSeats(cohort=cohort_id, municipality=m, seats=n) for m, n in seats.items() if n]
        if rows:
            await CohortSeats.insert(*rows)
        await audit.record(
            actor_id, "cohort.change_places", "cohort", cohort_id,
            capacity=capacity, seats={str(m): n for m, n in seats.items()},
        )
        promoted = await fill_places(actor_id, replace(cohort, capacity=capacity))
    await _sync_plans([], promoted)
    return promoted


async def mark_completed(actor_id: int, enrolment_id: int, **details) -> None:
    """Record that an enrolled person has completed their cohort (the caller has
    checked the completion rule). The place stays theirs; no one moves up."""
    async with write_transaction(Enrolment._meta.db):
        row = await Enrolment.select(Enrolment.person, Enrolment.status).where(Enrolment.id == enrolment_id).first()
        if row is None:
            raise NotFound()
        if row["status"] != EnrolmentStatus.enrolled.value:
            raise Invalid({"enrolment": _("Kun tilmeldte kan gennemføre holdet.")})
        await privacy.check_processing_allowed([row["person"]], "enrolment")
        await Enrolment.update(
            {Enrolment.status: EnrolmentStatus.completed.value, Enrolment.completed_at: clock.now()}
        ).where(Enrolment.id == enrolment_id)
        await audit.record(actor_id, "enrolment.complete", "enrolment", enrolment_id, person=row["person"], **details)


async def fill_places(actor_id: int | None, cohort: CohortRow, newcomers: set[int] = frozenset()) -> list[int]:
    """THE wait-list rule, used by every operation that frees or changes places: walk
    the wait-list in queue order (requested_at, then id) and give a place to everyone a
    place fits. Must run inside the transaction that locked `cohort` (its id and capacity
    count). Returns the ids of the enrolments moved up, in queue order. Everyone
    moved up gets an audit line, except `newcomers` (enrolments just queued, whose
    own operation logs them).

    Someone whose processing is restricted (privacy's rule, GDPR art. 18) keeps their
    place in the queue but is passed over: giving them a place would be processing."""
    places = await _places(cohort.id, cohort.capacity)
    waiting = await Enrolment.select(Enrolment.id, Enrolment.person, Enrolment.municipality).where(
        (Enrolment.cohort == cohort.id) & (Enrolment.status == EnrolmentStatus.waitlisted.value)
        & privacy.unrestricted(Enrolment.person)
    ).order_by(Enrolment.requested_at).order_by(Enrolment.id)
    promoted = []
    now = clock.now()
    for w in waiting:
        if places.has_place_for(w["municipality"]):
            places = places.with_one_more(w["municipality"])
            await Enrolment.update(
                {Enrolment.status: EnrolmentStatus.enrolled.value, Enrolment.enrolled_at: now}
            ).where(Enrolment.id == w["id"])
            promoted.append(w["id"])
            if w["id"] not in newcomers:
                await audit.record(
                    actor_id, "enrolment.move_up", "enrolment", w["id"], cohort=cohort.id, person=w["person"]
                )
    return promoted


async def refill_waitlists_of(actor_id: int | None, person_id: int) -> list[int]:
    """Fill the places of every cohort the person is wait-listed on (after their
    restriction is lifted, so they get a place that fits them at their place in the
    queue). Returns the enrolment ids moved up."""
    cohorts = sorted({
        r["cohort"] for r in await Enrolment.select(Enrolment.cohort).where(
            (Enrolment.person == person_id) & (Enrolment.status == EnrolmentStatus.waitlisted.value)
        )
    })
    promoted: list[int] = []
    if not cohorts:
        return promoted
    async with write_transaction(Cohort._meta.db):
        for cohort_id in cohorts:
            promoted += await fill_places(actor_id, await _lock_cohort(cohort_id))
    await _sync_plans([person_id], promoted)
    return promoted


async def places_overview(cohort_id: int) -> dict:
    """Seats per municipality for the enrolment page: rows of municipality name,
    reserved, taken, free (reserved not yet taken), plus open places (total, taken,
    free) and the free places in all."""
    cohort = await Cohort.select(Cohort.capacity, Cohort.partnership).where(Cohort.id == cohort_id).first()
    if cohort is None:
        raise NotFound()
    places = await _places(cohort_id, cohort["capacity"])
    names = {
        r["id"]: r["name"]
        for r in await Municipality.select(Municipality.id, Municipality.name).where(
            Municipality.id.is_in(sorted({*places.seats, *places.taken}) or [0])
        )
    }
    rows = []
    for m in sorted(names, key=names.get):
        reserved, taken = places.seats.get(m, 0), places.taken.get(m, 0)
        rows.append({"name": names[m], "reserved": reserved, "taken": taken, "free": max(0, reserved - taken)})
    total_taken = sum(places.taken.values())
    return {
        "rows": rows,
        "capacity": places.capacity,
        "open": places.open_places,
        "open_taken": places.open_used,
        "open_free": max(0, places.open_places - places.open_used),
        "taken": total_taken,
        "free": max(0, places.capacity - total_taken),
    }


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
