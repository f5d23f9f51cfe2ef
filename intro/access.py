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

from dataclasses import dataclass

from intro import clock
from intro.errors import NotFound
from intro.people import organisation
from intro.people.accounts import User
from intro.planning.rows import CohortRow, SessionRow
from intro.tables import (
    ENROLMENT_ON_COHORT,
    CatchUpBooking,
    Cohort,
    CurriculumDraft,
    Enrolment,
    FeedKind,
    Municipality,
    Role,
    RoleGrant,
    Session,
    SessionInstructor,
    Venue,
)

# --------------------------------------------------------------------------------------
# The user's own scope: the partnerships and municipalities their grants name
# (DESIGN.md, "Who uses it": coordinators and instructors are scoped to partnerships,
# chiefs and participants to municipalities).


def partnerships_coordinated(user: User) -> set[int]:
    """The partnerships the user coordinates: whose cohorts, timetables, closed periods,
    instructors and enrolments they run (DESIGN.md: the coordinator "runs the programme
    for a partnership")."""
    return user.partnerships(Role.coordinator)


def municipalities_led(user: User) -> set[int]:
    """The municipalities the user is chief of: where they see individuals by name, keep
    local tasks and HR data (DESIGN.md: "own municipality in detail")."""
    return user.municipalities(Role.chief)


def partnership_to_coordinate(user: User, partnership_id: int | None) -> int:
    """The partnership id, if the user coordinates it; NotFound otherwise (ids outside
    the user's work reveal nothing). None means "the one I coordinate": it is that
    partnership when the user coordinates exactly one, NotFound otherwise. Used by the
    programme settings, the conflicts page and creating a cohort."""
    mine = partnerships_coordinated(user)
    if partnership_id is None and len(mine) == 1:
        return next(iter(mine))
    if partnership_id is None or partnership_id not in mine:
        raise NotFound()
    return partnership_id


def municipality_to_lead(user: User, municipality_id: int) -> int:
    """The municipality id, if the user is its chief (its local onboarding tasks are
    theirs to keep); NotFound otherwise."""
    if municipality_id not in municipalities_led(user):
        raise NotFound()
    return municipality_id


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


async def _cohort_row(cohort_id: int) -> CohortRow | None:
    row = await Cohort.select().where(Cohort.id == cohort_id).output(load_json=True).first()
    return None if row is None else CohortRow.from_row(row)


async def cohort_for(user: User, cohort_id: int) -> CohortRow:
    """The cohort, if the user may see it; NotFound otherwise."""
    cohort = await _cohort_row(cohort_id)
    if cohort is None or cohort.partnership not in await visible_partnerships(user):
        raise NotFound()
    return cohort


async def cohort_to_manage(user: User, cohort_id: int) -> CohortRow:
    """The cohort, if the user coordinates its partnership; NotFound otherwise, so ids
    outside the user's work reveal nothing."""
    cohort = await _cohort_row(cohort_id)
    if cohort is None or cohort.partnership not in user.partnerships(Role.coordinator):
        raise NotFound()
    return cohort


async def _session_row(session_id: int) -> SessionRow:
    row = await Session.select().where(Session.id == session_id).first()
    if row is None:
        raise NotFound()
    return SessionRow.from_row(row)


async def session_for(user: User, session_id: int) -> SessionRow:
    """A session of a cohort the user may see."""
    session = await _session_row(session_id)
    await cohort_for(user, session.cohort)
    return session


async def session_to_manage(user: User, session_id: int) -> SessionRow:
    """A session of a cohort the user coordinates; NotFound otherwise."""
    session = await _session_row(session_id)
    await cohort_to_manage(user, session.cohort)
    return session


async def may_take_attendance(user: User, session: SessionRow) -> bool:
    """The coordinator of the session's partnership, or an instructor of the session."""
    cohort = await Cohort.select(Cohort.partnership).where(Cohort.id == session.cohort).first()
    if cohort and cohort["partnership"] in user.partnerships(Role.coordinator):
        return True
    return await SessionInstructor.exists().where(
        (SessionInstructor.session == session.id) & (SessionInstructor.person == user.id)
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


# --------------------------------------------------------------------------------------
# What the user may do on one cohort, and whose people they work with on it.


@dataclass(frozen=True)
class CohortPermissions:
    """What the user may do on one cohort, decided once per request (cohort_permissions)
    and handed to the handler and its template, which ask it instead of the user's roles.

    - may_plan: the coordinator of the cohort's partnership: the timetable, its course
      days, places, moving people, confirming completion, certificates, conflicts.
    - may_enrol: the coordinator, or the chief of a member municipality (DESIGN.md: the
      coordinator enrols and wait-lists people; a chief sends their own new hires).
    - enrols_from: whose people the user enrols and sees by name on the roster: None for
      everyone (the coordinator), else the user's own member municipalities.
    - follows: whose progress the user follows on the grid: None for everyone (the
      coordinator, and the partnership's instructors, who teach them all), else a chief's
      own member municipalities (a chief sees individuals only in their own municipality).
    """

    may_plan: bool
    may_enrol: bool
    enrols_from: frozenset[int] | None
    follows: frozenset[int] | None

    @property
    def may_confirm_completion(self) -> bool:
        """Confirming completion and issuing certificates: the coordinator's."""
        return self.may_plan

    @property
    def sees_everyone_enrolled(self) -> bool:
        return self.enrols_from is None

    @property
    def follows_everyone(self) -> bool:
        return self.follows is None

    def may_enrol_from(self, municipality_id: int) -> bool:
        """May the user enrol (or withdraw) a person of this municipality?"""
        return self.may_enrol and (self.enrols_from is None or municipality_id in self.enrols_from)


async def cohort_permissions(user: User, cohort: CohortRow) -> CohortPermissions:
    """What the user may do on `cohort` (a cohort row they may see, from cohort_for).
    Reads the partnership's member municipalities only for a user who is not its
    coordinator but is a chief somewhere."""
    partnership = cohort.partnership
    if partnership in partnerships_coordinated(user):
        return CohortPermissions(may_plan=True, may_enrol=True, enrols_from=None, follows=None)
    chief_of = municipalities_led(user)
    own_here = frozenset(chief_of & await member_municipalities({partnership})) if chief_of else frozenset()
    instructs = partnership in user.partnerships(Role.instructor)
    return CohortPermissions(
        may_plan=False,
        may_enrol=bool(own_here),
        enrols_from=own_here,
        follows=None if instructs else own_here,
    )


async def people_to_enrol(user: User, cohort_id: int) -> tuple[CohortRow, CohortPermissions]:
    """The cohort and the user's permissions on it, if the user may enrol people on it:
    its coordinator (everyone), or a chief of a member municipality (their own people
    only: `enrols_from`). NotFound otherwise."""
    cohort = await cohort_for(user, cohort_id)
    permissions = await cohort_permissions(user, cohort)
    if not permissions.may_enrol:
        raise NotFound()
    return cohort, permissions


async def enrolment_to_withdraw(user: User, enrolment_id: int) -> dict:
    """The enrolment (its cohort and municipality), if the user may withdraw it: they may
    enrol people on its cohort from its municipality. NotFound otherwise."""
    row = await Enrolment.select(Enrolment.cohort, Enrolment.municipality).where(Enrolment.id == enrolment_id).first()
    if row is None:
        raise NotFound()
    _cohort, permissions = await people_to_enrol(user, row["cohort"])
    if not permissions.may_enrol_from(row["municipality"]):
        raise NotFound()
    return row


async def people_to_follow(user: User, cohort_id: int) -> tuple[CohortRow, CohortPermissions]:
    """The cohort and the user's permissions on it, for following its participants'
    progress: the coordinator and the partnership's instructors see everyone, a chief
    the people of their own municipality (`follows`). NotFound when the user may not
    see the cohort."""
    cohort = await cohort_for(user, cohort_id)
    return cohort, await cohort_permissions(user, cohort)


# --------------------------------------------------------------------------------------
# Calendars


async def session_for_calendar(user: User, session_id: int) -> None:
    """May the user add this course day to their calendar? A participant may for the
    days of their own cohorts (enrolled or completed) and the days they booked to catch
    up; staff for the sessions of cohorts they may see (session_for). NotFound
    otherwise."""
    session = await Session.select(Session.id, Session.cohort).where(Session.id == session_id).first()
    if session is None:
        raise NotFound()
    if user.has(Role.participant):
        own = await Enrolment.exists().where(
            (Enrolment.person == user.id) & (Enrolment.cohort == session["cohort"])
            & Enrolment.status.is_in(ENROLMENT_ON_COHORT)
        ) or await CatchUpBooking.exists().where(
            (CatchUpBooking.person == user.id) & (CatchUpBooking.session == session_id) & CatchUpBooking.cancelled_at.is_null()
        )
        if own:
            return
    await session_for(user, session_id)


@dataclass(frozen=True)
class FeedScope:
    """Every calendar feed the user may subscribe to (see feed_target_allowed):
    own_days — their course days (participants); teaching_days — their teaching days
    (instructors); cohort_partnerships — the cohorts of these partnerships
    (visible_partnerships); partnerships — the days of partnerships they coordinate;
    municipalities — the days in municipalities they lead or whose partnership they
    coordinate; venue_municipalities — venues hosted by their partnerships' members."""

    own_days: bool
    teaching_days: bool
    cohort_partnerships: set[int]
    partnerships: set[int]
    municipalities: set[int]
    venue_municipalities: set[int]


async def feed_scope(user: User) -> FeedScope:
    """The user's FeedScope (for the page listing the feeds they may make)."""
    coordinated = partnerships_coordinated(user)
    members = await member_municipalities(coordinated)
    return FeedScope(
        own_days=user.has(Role.participant),
        teaching_days=user.has(Role.instructor),
        cohort_partnerships=await visible_partnerships(user),
        partnerships=coordinated,
        municipalities=municipalities_led(user) | members,
        venue_municipalities=members,
    )


async def feed_target_allowed(user: User, kind: str, target_id: int | None) -> bool:
    """May the user see this one feed (FeedKind `kind`, about `target_id`)? The rules of
    FeedScope, checked for one target only: this runs on every fetch of every feed, so
    a feed never shows more than its owner may see today."""
    if kind == FeedKind.person.value:
        return target_id is None and user.has(Role.participant)
    if kind == FeedKind.instructor.value:
        return target_id is None and user.has(Role.instructor)
    if target_id is None:
        return False
    coordinated = partnerships_coordinated(user)
    if kind == FeedKind.partnership.value:
        return target_id in coordinated
    if kind == FeedKind.cohort.value:
        cohort = await Cohort.select(Cohort.partnership).where(Cohort.id == target_id).first()
        return cohort is not None and cohort["partnership"] in await visible_partnerships(user)
    if kind == FeedKind.municipality.value:
        return target_id in municipalities_led(user) or target_id in await member_municipalities(coordinated)
    if kind == FeedKind.venue.value:
        venue = await Venue.select(Venue.municipality).where(Venue.id == target_id).first()
        return venue is not None and venue["municipality"] in await member_municipalities(coordinated)
    return False


# --------------------------------------------------------------------------------------
# Curriculum and evaluations


@dataclass(frozen=True)
class CurriculumPermissions:
    """What the user may do with the shared curriculum's pages: may_add_local (add a
    local module: coordinators and the admin, who keep local curricula — see
    local_curriculum_municipalities), may_draft (start a draft of a new version: the
    coordinators who keep the curriculum — curriculum_keeper_partnerships), may_tone
    (the toning links: coordinators; an admin may tone any of the 98 municipalities,
    which would drown the page in links, so gets none)."""

    may_add_local: bool
    may_draft: bool
    may_tone: bool


def curriculum_permissions(user: User) -> CurriculumPermissions:
    """The user's CurriculumPermissions."""
    coordinator = user.has(Role.coordinator)
    return CurriculumPermissions(
        may_add_local=coordinator or user.is_admin,
        may_draft=coordinator,
        may_tone=coordinator and not user.is_admin,
    )


async def local_module_municipalities(user: User) -> set[int] | None:
    """The municipalities the user may add local modules for: None for every one (the
    admin runs the installation), else the member municipalities of the partnerships
    they coordinate."""
    if user.is_admin:
        return None
    return await member_municipalities(partnerships_coordinated(user))


def evaluations_to_read(user: User) -> dict:
    """Whose evaluation results the user reads, as the keyword arguments of
    intro.participation.evaluations.results: a coordinator those of their partnerships'
    modules ({"partnership_ids": …}); an instructor (only) their own teaching
    ({"instructor_id": …})."""
    if user.has(Role.coordinator):
        return {"partnership_ids": partnerships_coordinated(user)}
    return {"instructor_id": user.id}
