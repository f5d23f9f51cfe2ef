"""Access ends with employment.

A current employment from HR gives the person the participant role in that municipality
(`intro.hr.employments.apply_records`, which also gives it back on a re-hire). This module
takes it away again: when none of the person's employments in the municipality is still
running, or ended less than the grace period ago (the INTRO_ACCESS_GRACE_DAYS setting),
the participant role there ends. If that leaves the person with no role at all, their
sign-ins end and their calendar feeds stop. Each step is in the audit log.

Only participant roles of people who have employments in that municipality are touched:
a participant role given by hand to someone HR knows nothing about stays, and staff roles
(coordinator, instructor, chief, admin) are never changed by HR data.

`end_lapsed_access` is meant to run nightly (`python app.py end-lapsed-access`), since
the grace period runs out without anything arriving from HR. Until it has run, every
request asks the same rule (`lapsed_among`, from `accounts.load_user`): a lapsed grant
gives nothing, and someone left with only lapsed grants is treated as signed out and
their feeds answer as stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from intro import audit, clock
from intro.db import Prepared, any_of, write_transaction
from intro.settings import get_settings
from intro.tables import CalendarFeedToken, Employment, LoginSession, Role, RoleGrant


@dataclass(frozen=True)
class Lapsed:
    grant_id: int
    person_id: int
    municipality_id: int
    last_end: date


async def lapsed_participant_grants(today: date, grace_days: int) -> list[Lapsed]:
    """Participant grants whose person has employments in the grant's municipality, none
    of them running on `today - grace_days` or later (end None, or end on or after that
    day). Ordered by grant id."""
    grants = await RoleGrant.select(RoleGrant.id, RoleGrant.person, RoleGrant.municipality, RoleGrant.role).where(
        RoleGrant.role == Role.participant.value
    )
    return await lapsed_among(grants, today, grace_days)


# Read at every request of a participant (accounts.load_user): built once (intro.db.Prepared).
_EMPLOYMENT_ENDS = Prepared(
    lambda people: Employment.select(Employment.person, Employment.municipality, Employment.end_date).where(
        any_of(Employment.person, people)
    ),
    "people",
)


async def lapsed_among(grants: list[dict], today: date, grace_days: int) -> list[Lapsed]:
    """THE rule of when HR-given access has lapsed, for the nightly command and for every
    request (`accounts.load_user`), so access ends on the day the grace period runs out
    whether or not the command has run yet. `grants`: RoleGrant rows with id, person,
    municipality and role; only participant grants can lapse (see the module docstring).
    Reads the employments in one query, none when there is no participant grant.
    Raises ValueError for a negative `grace_days`."""
    if grace_days < 0:
        raise ValueError("grace_days must not be negative")
    grants = [g for g in grants if g["role"] == Role.participant.value]
    if not grants:
        return []
    since = today - timedelta(days=grace_days)
    ends: dict[tuple[int, int], date | None] = {}
    for row in await _EMPLOYMENT_ENDS.run(people=sorted({g["person"] for g in grants})):
        key = (row["person"], row["municipality"])
        if key in ends and ends[key] is None:
            continue
        end = row["end_date"]
        ends[key] = None if end is None else max(end, ends.get(key) or end)
    lapsed = []
    for g in sorted(grants, key=lambda g: g["id"]):
        key = (g["person"], g["municipality"])
        if key not in ends:  # HR knows nothing about this person here: not ours to end
            continue
        last_end = ends[key]
        if last_end is not None and last_end < since:
            lapsed.append(Lapsed(g["id"], g["person"], g["municipality"], last_end))
    return lapsed


async def end_lapsed_access(
    today: date | None = None, grace_days: int | None = None, *, dry_run: bool = False
) -> list[Lapsed]:
    """End every lapsed participant grant (see `lapsed_participant_grants`), each in one
    transaction with its audit line; a person left without any role also loses every
    sign-in and calendar feed. With `dry_run`, only say which grants would end.
    `grace_days` defaults to the INTRO_ACCESS_GRACE_DAYS setting."""
    today = today or clock.today()
    grace_days = get_settings().access_grace_days if grace_days is None else grace_days
    lapsed = await lapsed_participant_grants(today, grace_days)
    if dry_run:
        return lapsed
    for item in lapsed:
        async with write_transaction(RoleGrant._meta.db):
            await RoleGrant.delete().where(RoleGrant.id == item.grant_id)
            await audit.record(
                None, "role.revoke", "person", item.person_id,
                role=Role.participant.value, municipality=item.municipality_id,
                reason="employment_ended", last_day=item.last_end.isoformat(),
            )
            if not await RoleGrant.exists().where(RoleGrant.person == item.person_id):
                await LoginSession.delete().where(LoginSession.person == item.person_id)
                feeds = await CalendarFeedToken.update({CalendarFeedToken.revoked_at: clock.now()}).where(
                    (CalendarFeedToken.owner == item.person_id) & CalendarFeedToken.revoked_at.is_null()
                ).returning(CalendarFeedToken.id)
                await audit.record(
                    None, "person.access_ended", "person", item.person_id,
                    reason="employment_ended", feeds_stopped=len(feeds),
                )
    return lapsed
