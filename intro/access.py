"""Who may see and change what, decided in one place.

Handlers load cohorts and sessions only through these functions, so a page never holds
an object its user may not see: an object outside the user's scope is "not found"
(404), exactly as one that does not exist — ids reveal nothing.

Scopes: a coordinator and an instructor belong to partnerships; a chief and a
participant to a municipality, and through it to the partnerships it is a member of
today (a municipality that left a partnership no longer sees its cohorts; its past stays
in the dashboard's figures, see organisation.members_on).
The installation admin runs the system, not the programme, and gets no access to
cohorts or people's progress through this module.
"""

from __future__ import annotations

from intro import clock
from intro.errors import NotFound
from intro.people import organisation
from intro.people.accounts import User
from intro.tables import (
    Cohort,
    CurriculumDraft,
    Municipality,
    Role,
    RoleGrant,
    Session,
    SessionInstructor,
)


async def member_municipalities(partnership_ids: set[int] | list[int]) -> set[int]:
    """The municipalities that are members of the partnerships today: who a coordinator
    works with and a chief's scope are about now (organisation.members_on's rule)."""
    return await organisation.members_on(partnership_ids, clock.today())


async def partnerships_of(municipality_ids: set[int]) -> set[int]:
    """The partnerships the municipalities are members of today."""
    return await organisation.partnerships_on(municipality_ids, clock.today())


async def visible_partnerships(user: User) -> set[int]:
    """Partnerships whose cohorts the user may see: as coordinator or instructor, or as a
    chief of a member municipality."""
    direct = user.partnerships(Role.coordinator) | user.partnerships(Role.instructor)
    return direct | await partnerships_of(user.municipalities(Role.chief))


async def cohort_for(user: User, cohort_id: int) -> dict:
    """The cohort, if the user may see it; NotFound otherwise."""
    cohort = await Cohort.select().where(Cohort.id == cohort_id).output(load_json=True).first()
    if cohort is None or cohort["partnership"] not in await visible_partnerships(user):
        raise NotFound()
    return cohort


async def cohort_to_manage(user: User, cohort_id: int) -> dict:
    """The cohort, if the user coordinates its partnership; NotFound otherwise, so ids
    outside the user's work reveal nothing."""
    cohort = await Cohort.select().where(Cohort.id == cohort_id).output(load_json=True).first()
    if cohort is None or cohort["partnership"] not in user.partnerships(Role.coordinator):
        raise NotFound()
    return cohort


async def session_for(user: User, session_id: int) -> dict:
    """A session of a cohort the user may see."""
    session = await Session.select().where(Session.id == session_id).first()
    if session is None:
        raise NotFound()
    await cohort_for(user, session["cohort"])
    return session


async def session_to_manage(user: User, session_id: int) -> dict:
    session = await Session.select().where(Session.id == session_id).first()
    if session is None:
        raise NotFound()
    await cohort_to_manage(user, session["cohort"])
    return session


async def may_take_attendance(user: User, session: dict) -> bool:
    """The coordinator of the session's partnership, or an instructor of the session."""
    cohort = await Cohort.select(Cohort.partnership).where(Cohort.id == session["cohort"]).first()
    if cohort and cohort["partnership"] in user.partnerships(Role.coordinator):
        return True
    return await SessionInstructor.exists().where(
        (SessionInstructor.session == session["id"]) & (SessionInstructor.person == user.id)
    )


async def hr_municipality(user: User, municipality_id: int) -> dict:
    """The municipality (id, name, code), if the user keeps its HR data — its file imports
    and API tokens: its chief, or an administrator. Anything else is 'not found'."""
    if not user.is_admin and municipality_id not in user.municipalities(Role.chief):
        raise NotFound()
    row = await Municipality.select(Municipality.id, Municipality.name, Municipality.code).where(
        Municipality.id == municipality_id
    ).first()
    if row is None:
        raise NotFound()
    return row


async def invitable_people(user: User) -> set[int]:
    """The people whose invitation to Intro the user may see and send again (issue 16):
    new hires (participants) of the municipalities the user works with — a chief's own
    municipality, and every member municipality of a partnership the user coordinates
    (the people the coordinator may enrol)."""
    municipalities = user.municipalities(Role.chief) | await member_municipalities(
        user.partnerships(Role.coordinator)
    )
    if not municipalities:
        return set()
    rows = await RoleGrant.select(RoleGrant.person).where(
        (RoleGrant.role == Role.participant.value) & RoleGrant.municipality.is_in(sorted(municipalities))
    )
    return {r["person"] for r in rows}


async def person_to_invite(user: User, person_id: int) -> int:
    """The person's id if the user may send them an invitation; NotFound otherwise."""
    if person_id not in await invitable_people(user):
        raise NotFound()
    return person_id
def curriculum_keeper_partnerships(user: User) -> set[int]:
    """The partnerships whose curriculum the user keeps (drafts, publishing): those they
    coordinate. The admin runs the installation, not the programme's content."""
    return user.partnerships(Role.coordinator)


async def curriculum_draft_to_edit(user: User, draft_id: int) -> dict:
    """The curriculum draft, if the user keeps its partnership's curriculum; NotFound
    otherwise (also for drafts of other partnerships: ids reveal nothing)."""
    draft = await CurriculumDraft.select().where(CurriculumDraft.id == draft_id).output(
        load_json=True
    ).first()
    if draft is None or draft["partnership"] not in curriculum_keeper_partnerships(user):
        raise NotFound()
    return draft


def notices_scope(user: User) -> set[int] | None:
    """Which notices the outbox page shows the user: None for an admin (all of them),
    otherwise the partnerships they coordinate (notices about their cohorts' days)."""
    if user.is_admin:
        return None
    return user.partnerships(Role.coordinator)


async def local_curriculum_municipalities(user: User) -> set[int]:
    """The municipalities whose local curriculum (local modules, toned profiles) the user
    keeps: every one for an admin; for a coordinator, the member municipalities of the
    partnerships they coordinate."""
    if user.is_admin:
        return {r["id"] for r in await Municipality.select(Municipality.id)}
    return await member_municipalities(user.partnerships(Role.coordinator))
