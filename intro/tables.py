"""Intro's data model.

The database holds every rule it can: foreign keys, unique combinations, not-null and
checks. Foreign keys restrict deletion unless the child is owned by its parent (a role
grant by its person); nothing people may have in their calendars is ever deleted —
sessions are cancelled, enrolments withdrawn.

Instants are `Timestamptz` (UTC); dates of employment and deadlines are local dates.
"""

from __future__ import annotations

from enum import Enum, StrEnum

from piccolo.columns import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    SmallInt,
    Text,
    Time,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.constraints import Check, Unique
from piccolo.table import Table


def _one_of(column: str, enum: type[Enum]) -> str:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"


def _not_blank(column: str) -> str:
    return f"length(trim({column})) > 0"


class Role(StrEnum):
    participant = "participant"
    coordinator = "coordinator"
    instructor = "instructor"
    chief = "chief"
    admin = "admin"


class ModuleFormat(StrEnum):
    classroom = "classroom"
    online = "online"
    on_the_job = "on_the_job"


class ProfileKind(StrEnum):
    base = "base"
    specialist = "specialist"


class EndReason(StrEnum):
    resigned = "resigned"  # opsagt af medarbejderen
    dismissed = "dismissed"  # afskediget
    contract_ended = "contract_ended"  # tidsbegrænset ansættelse udløbet
    retired = "retired"
    moved = "moved"  # skiftet til en anden kommune
    other = "other"


class CohortStatus(StrEnum):
    planning = "planning"  # created, timetable not yet accepted
    active = "active"  # timetable accepted
    completed = "completed"
    cancelled = "cancelled"


class SessionStatus(StrEnum):
    proposed = "proposed"
    scheduled = "scheduled"
    cancelled = "cancelled"


class EnrolmentStatus(StrEnum):
    enrolled = "enrolled"
    waitlisted = "waitlisted"
    withdrawn = "withdrawn"
    completed = "completed"


# Enrolments that hold a place on their cohort: the person is (or was) on it.
ENROLMENT_ON_COHORT = [EnrolmentStatus.enrolled.value, EnrolmentStatus.completed.value]


class AttendanceStatus(StrEnum):
    present = "present"
    absent = "absent"
    excused = "excused"


class PlanItemKind(StrEnum):
    session = "session"
    local_task = "local_task"
    transfer = "transfer"


class PlanItemStatus(StrEnum):
    open = "open"
    done = "done"
    dropped = "dropped"  # no longer part of the plan (e.g. the task was removed)


class AssessmentPhase(StrEnum):
    start = "start"
    midway = "midway"
    end = "end"


class FeedKind(StrEnum):
    person = "person"
    instructor = "instructor"
    cohort = "cohort"
    venue = "venue"
    municipality = "municipality"
    partnership = "partnership"


# --------------------------------------------------------------------------------------
# Organisation


class Municipality(Table):
    """A Danish municipality, identified by its official three-digit code (e.g. 330 Slagelse)."""

    code = Varchar(length=3, unique=True, null=False)
    name = Varchar(length=100, unique=True, null=False)
    region = Varchar(length=50, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    # Retired, not deleted: history keeps pointing at it; hidden from new choices (issue 17).
    retired_at = Timestamptz(null=True, default=None)

    municipality_code_is_three_digits = Check(
        "length(code) = 3 AND substr(code, 1, 1) BETWEEN '0' AND '9' "
        "AND substr(code, 2, 1) BETWEEN '0' AND '9' AND substr(code, 3, 1) BETWEEN '0' AND '9'"
    )
    municipality_name_not_blank = Check(_not_blank("name"))


class Partnership(Table):
    """Municipalities that share one intro programme (samarbejde)."""

    name = Varchar(length=200, unique=True, null=False)
    description = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    retired_at = Timestamptz(null=True, default=None)  # retired, not deleted (issue 17)

    partnership_name_not_blank = Check(_not_blank("name"))


class PartnershipMember(Table):
    """One spell of a municipality's membership of a partnership: from `joined_on`
    (included; NULL: since the partnership began) to `left_on` (excluded; NULL: still a
    member). A municipality that leaves and rejoins has several rows; the rule for "member
    on day d" is intro.people.organisation.members_on. The database holds left_on >= joined_on
    and at most one open row per pair (the partial unique index
    `partnership_member_one_open`, migration m0012; Piccolo cannot declare one on the
    table); that spells do not overlap is checked by organisation._membership_problems
    under a lock of the partnership."""

    partnership = ForeignKey(Partnership, on_delete=OnDelete.cascade, null=False, index=True)
    municipality = ForeignKey(Municipality, on_delete=OnDelete.restrict, null=False, index=True)
    joined_on = Date(null=True, default=None)
    left_on = Date(null=True, default=None)

    partnership_member_left_after_joined = Check("left_on IS NULL OR joined_on IS NULL OR left_on >= joined_on")


class Venue(Table):
    """A place where course days are held, hosted by a member municipality."""

    name = Varchar(length=200, null=False)
    municipality = ForeignKey(Municipality, on_delete=OnDelete.restrict, null=False, index=True)
    address = Varchar(length=200, null=False)
    postcode = Varchar(length=4, null=False)
    city = Varchar(length=100, null=False)
    capacity = Integer(null=False)
    accessibility = Text(default="")
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())

    venue_name_per_municipality = Unique(["municipality", "name"])
    venue_capacity_positive = Check("capacity > 0")
    venue_postcode_four_digits = Check("length(postcode) = 4")
    venue_name_not_blank = Check(_not_blank("name"))
    venue_address_not_blank = Check(_not_blank("address"))


# --------------------------------------------------------------------------------------
# People and access


class Person(Table):
    email = Varchar(length=254, unique=True, null=False)
    full_name = Varchar(length=200, null=False)
    # None: the person cannot sign in with a password (e.g. imported from HR only).
    password_hash = Varchar(length=255, null=True, default=None, secret=True)
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)
    # Data subjects' rights (intro/people/privacy.py): processing restricted (GDPR art. 18) and
    # anonymised (art. 17 / the retention rule). Set only by intro.people.privacy.
    restricted_at = Timestamptz(null=True, default=None)
    anonymised_at = Timestamptz(null=True, default=None)

    person_email_is_lowercase = Check("email = lower(email) AND email LIKE '%_@_%'")
    person_name_not_blank = Check(_not_blank("full_name"))


class RoleGrant(Table):
    """A role held by a person, scoped to a municipality (chief, participant), a
    partnership (coordinator, instructor) or to the whole installation (admin)."""

    person = ForeignKey(Person, on_delete=OnDelete.cascade, null=False, index=True)
    role = Varchar(length=20, null=False, choices=Role)
    municipality = ForeignKey(Municipality, on_delete=OnDelete.restrict, null=True, index=True)
    partnership = ForeignKey(Partnership, on_delete=OnDelete.restrict, null=True, index=True)
    granted_at = Timestamptz(default=TimestamptzNow())
    granted_by = ForeignKey(Person, on_delete=OnDelete.set_null, null=True)

    role_grant_known_role = Check(_one_of("role", Role))
    role_grant_scope_fits_role = Check(
        "(role = 'admin' AND municipality IS NULL AND partnership IS NULL)"
        " OR (role IN ('chief', 'participant') AND municipality IS NOT NULL AND partnership IS NULL)"
        " OR (role IN ('coordinator', 'instructor') AND partnership IS NOT NULL AND municipality IS NULL)"
    )
    # One grant per (person, role, scope): enforced by the unique index
    # `role_grant_once` (an expression index, see the migrations), since NULL scopes
    # never collide in a plain UNIQUE.


class LoginSession(Table):
    """A signed-in browser. The cookie holds a random token; only its hash is stored,
    so sessions survive restarts, work across workers and can be revoked."""

    token_hash = Varchar(length=64, unique=True, null=False)
    person = ForeignKey(Person, on_delete=OnDelete.cascade, null=False, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(null=False, index=True)
    last_seen_at = Timestamptz(default=TimestamptzNow())
    # The browser's own description (User-Agent), cut short: shown to the person on
    # their list of sign-ins so they can tell their devices apart (issue 16).
    user_agent = Varchar(length=300, default="")


class AccountLinkPurpose(StrEnum):
    invitation = "invitation"  # a new person sets their first password
    reset = "reset"  # a person who forgot their password sets a new one


class AccountLink(Table):
    """A one-time link sent by e-mail that lets a person set a password (issue 16).

    Only the SHA-256 of the link's token is stored; the token itself is made from the
    secret key when the e-mail is sent (see `intro.people.account_links`), so neither this
    table nor the outbox holds a link that works. A link works once, before
    `expires_at`, and only while it is the person's newest: a newer link, a changed
    password or a use ends it (`ended_at`)."""

    person = ForeignKey(Person, on_delete=OnDelete.cascade, null=False, index=True)
    purpose = Varchar(length=20, null=False, choices=AccountLinkPurpose)
    token_hash = Varchar(length=64, unique=True, null=False)
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = ForeignKey(Person, on_delete=OnDelete.set_null, null=True)
    expires_at = Timestamptz(null=False)
    used_at = Timestamptz(null=True, default=None)
    ended_at = Timestamptz(null=True, default=None)

    account_link_known_purpose = Check(_one_of("purpose", AccountLinkPurpose))
    account_link_used_means_ended = Check("used_at IS NULL OR ended_at IS NOT NULL")
    account_link_expires_after_creation = Check("expires_at > created_at")


class IdentityProvider(Table):
    """A municipality's own sign-in (OpenID Connect: Entra ID, AD FS and the like), set
    up by an admin (issue 16). The client secret is never stored: `client_secret_env`
    names the environment variable that holds it (INTRO_OIDC_…). The provider only
    vouches for an e-mail address; it never creates people or roles."""

    municipality = ForeignKey(Municipality, on_delete=OnDelete.cascade, null=False, unique=True)
    issuer = Varchar(length=500, null=False)
    client_id = Varchar(length=200, null=False)
    client_secret_env = Varchar(length=100, null=False)
    # E-mail domains the provider may vouch for, lower case, separated by spaces.
    allowed_domains = Text(null=False, default="")
    # False: this municipality's people sign in through the provider only.
    password_sign_in = Boolean(default=True)
    updated_at = Timestamptz(default=TimestamptzNow())

    identity_provider_issuer_not_blank = Check(_not_blank("issuer"))
    identity_provider_client_id_not_blank = Check(_not_blank("client_id"))


class ProviderSignIn(Table):
    """A sign-in through a provider under way: from the redirect to the provider until
    its answer comes back, at most a few minutes, used once. `state_hash` is SHA-256 of
    the `state` sent along (which the browser also holds in a cookie)."""

    state_hash = Varchar(length=64, unique=True, null=False)
    provider = ForeignKey(IdentityProvider, on_delete=OnDelete.cascade, null=False, index=True)
    nonce = Varchar(length=100, null=False)
    code_verifier = Varchar(length=128, null=False, secret=True)
    next_path = Varchar(length=500, null=False, default="/")
    expires_at = Timestamptz(null=False, index=True)


class SecondFactor(Table):
    """A person's authenticator app (TOTP, RFC 6238), issue 16. Unconfirmed until the
    person has typed a code from it; `last_step` is the 30-second step of the last
    code accepted, so a code is never accepted twice."""

    person = ForeignKey(Person, on_delete=OnDelete.cascade, null=False, unique=True)
    secret = Varchar(length=64, null=False, secret=True)
    created_at = Timestamptz(default=TimestamptzNow())
    confirmed_at = Timestamptz(null=True, default=None)
    last_step = Integer(null=False, default=0)


class RecoveryCode(Table):
    """One-time codes for when the authenticator app is lost; only their hashes."""

    person = ForeignKey(Person, on_delete=OnDelete.cascade, null=False, index=True)
    code_hash = Varchar(length=64, null=False)
    used_at = Timestamptz(null=True, default=None)

    recovery_code_once = Unique(["person", "code_hash"])


class SecondFactorChallenge(Table):
    """Between a right password and a right second-factor code: a few minutes, a few
    tries. The browser holds the token (a cookie); only its hash is here."""

    token_hash = Varchar(length=64, unique=True, null=False)
    person = ForeignKey(Person, on_delete=OnDelete.cascade, null=False, index=True)
    next_path = Varchar(length=500, null=False, default="/")
    expires_at = Timestamptz(null=False)
    failures = Integer(null=False, default=0)


class PasswordResetRequest(Table):
    """Every request for a reset link, whether the address has an account or not, so
    requests can be throttled per address and per client without telling who exists."""

    email = Varchar(length=254, null=False, index=True)
    remote_addr = Varchar(length=64, default="", index=True)
    requested_at = Timestamptz(default=TimestamptzNow(), index=True)


class LoginAttempt(Table):
    """Failed sign-ins, to slow down password guessing per e-mail address."""

    email = Varchar(length=254, null=False, index=True)
    attempted_at = Timestamptz(default=TimestamptzNow(), index=True)
    remote_addr = Varchar(length=64, default="")


class AuditLog(Table):
    """Every change to personal data and to the organisation, who made it and when."""

    occurred_at = Timestamptz(default=TimestamptzNow(), index=True)
    actor = ForeignKey(Person, on_delete=OnDelete.set_null, null=True, index=True)
    action = Varchar(length=80, null=False)
    object_type = Varchar(length=60, null=False)
    object_id = Varchar(length=60, null=False, default="")
    details = JSON(default="{}")

    audit_log_action_not_blank = Check(_not_blank("action"))


# --------------------------------------------------------------------------------------
# The shared curriculum. A version is immutable once loaded; changed content becomes a
# new version.


class CurriculumVersion(Table):
    label = Varchar(length=40, null=False)  # from the file, e.g. "2026.1"
    revision = SmallInt(null=False, default=1)  # a changed file under the same label
    title = Varchar(length=200, null=False)
    source_file = Varchar(length=200, null=False)
    content_hash = Varchar(length=64, unique=True, null=False)
    valid_from = Date(null=True, default=None)
    loaded_at = Timestamptz(default=TimestamptzNow())
    # The content exactly as published (the parsed file, dates as ISO text), so a version
    # downloads as a file that `curriculum sync` reads back to the same content hash.
    # NULL for versions loaded before it was kept (issue 17): they are rebuilt from rows.
    content = JSON(null=True, default=None)

    curriculum_version_label_revision = Unique(["label", "revision"])
    curriculum_version_revision_positive = Check("revision >= 1")


class CurriculumDraft(Table):
    """A partnership's coordinators' work on a new curriculum version, edited in the browser
    (issue 17). `content` has the shape of a curriculum file and may be invalid while it is
    worked on; publishing validates it and loads it as a new immutable version, after which
    the draft is read-only. A draft is never a version, so it is never offered to cohorts."""

    partnership = ForeignKey(Partnership, on_delete=OnDelete.restrict, null=False, index=True)
    base_version = ForeignKey(CurriculumVersion, on_delete=OnDelete.restrict, null=True)
    content = JSON(default="{}")
    created_by = ForeignKey(Person, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    published_version = ForeignKey(CurriculumVersion, on_delete=OnDelete.restrict, null=True)
    published_at = Timestamptz(null=True, default=None)
    discarded_at = Timestamptz(null=True, default=None)

    curriculum_draft_published_has_time = Check(
        "(published_version IS NULL) = (published_at IS NULL)"
    )
    curriculum_draft_not_both_published_and_discarded = Check(
        "published_at IS NULL OR discarded_at IS NULL"
    )


class Strand(Table):
    """Spor: legislation, the good conversation, cross-disciplinary work, ..."""

    curriculum_version = ForeignKey(CurriculumVersion, on_delete=OnDelete.cascade, null=False)
    code = Varchar(length=40, null=False)
    name = Varchar(length=200, null=False)
    description = Text(default="")
    position = SmallInt(default=0)

    strand_code_per_version = Unique(["curriculum_version", "code"])


class Profile(Table):
    """Fagprofil: the base profile everyone shares, or a specialist profile. Its code
    is stable across versions (employments refer to it by code)."""

    curriculum_version = ForeignKey(CurriculumVersion, on_delete=OnDelete.cascade, null=False)
    code = Varchar(length=40, null=False)
    name = Varchar(length=200, null=False)
    kind = Varchar(length=20, null=False, choices=ProfileKind)
    description = Text(default="")
    position = SmallInt(default=0)

    profile_code_per_version = Unique(["curriculum_version", "code"])
    profile_known_kind = Check(_one_of("kind", ProfileKind))


class Competence(Table):
    curriculum_version = ForeignKey(CurriculumVersion, on_delete=OnDelete.cascade, null=False)
    profile = ForeignKey(Profile, on_delete=OnDelete.cascade, null=False, index=True)
    code = Varchar(length=40, null=False)
    name = Varchar(length=200, null=False)
    description = Text(default="")
    position = SmallInt(default=0)
    # A municipality's own competence on top of a shared profile (local toning, issue 17);
    # NULL for the shared competences of the curriculum file.
    municipality = ForeignKey(Municipality, on_delete=OnDelete.restrict, null=True, index=True)

    competence_code_per_version = Unique(["curriculum_version", "code"])


class Module(Table):
    """Modul. Shared modules come from the curriculum file; a municipality may add
    local modules on top of a version ("lokal toning"): those have `municipality`."""

    curriculum_version = ForeignKey(CurriculumVersion, on_delete=OnDelete.cascade, null=False)
    strand = ForeignKey(Strand, on_delete=OnDelete.cascade, null=False, index=True)
    municipality = ForeignKey(Municipality, on_delete=OnDelete.restrict, null=True, index=True)
    code = Varchar(length=40, null=False)
    title = Varchar(length=200, null=False)
    summary = Text(default="")
    format = Varchar(length=20, null=False, choices=ModuleFormat)
    duration_minutes = Integer(null=False)  # teaching time, all course days together
    days = SmallInt(null=False, default=1)  # course days the module is split over
    objectives = JSON(default="[]")  # learning objectives, in order
    preparation = Text(default="")
    transfer_title = Varchar(length=200, null=False)
    transfer_assignment = Text(null=False)
    position = SmallInt(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    # A retired local module is no longer offered to new cohorts; cohorts that have it keep
    # it (issue 17). Shared modules are never retired: a new version leaves them out.
    retired_at = Timestamptz(null=True, default=None)

    module_code_per_version = Unique(["curriculum_version", "code"])
    module_known_format = Check(_one_of("format", ModuleFormat))
    module_duration_positive = Check("duration_minutes > 0 AND duration_minutes <= 6000")
    module_days_positive = Check("days >= 1 AND days <= 20")
    module_title_not_blank = Check(_not_blank("title"))
    module_transfer_not_blank = Check(_not_blank("transfer_assignment"))


class ProfileToning(Table):
    """A municipality's own description of a shared profile (local toning, issue 17): shown
    to its people beside the shared description; its own competences are `Competence`
    rows with `municipality` set."""

    profile = ForeignKey(Profile, on_delete=OnDelete.cascade, null=False, index=True)
    municipality = ForeignKey(Municipality, on_delete=OnDelete.restrict, null=False, index=True)
    description = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())

    profile_toning_once = Unique(["profile", "municipality"])


class ModuleCompetence(Table):
    module = ForeignKey(Module, on_delete=OnDelete.cascade, null=False, index=True)
    competence = ForeignKey(Competence, on_delete=OnDelete.cascade, null=False, index=True)

    module_competence_once = Unique(["module", "competence"])


class ModulePrerequisite(Table):
    module = ForeignKey(Module, on_delete=OnDelete.cascade, null=False, index=True)
    requires = ForeignKey(Module, on_delete=OnDelete.cascade, null=False, index=True)

    module_prerequisite_once = Unique(["module", "requires"])
    module_prerequisite_not_itself = Check("module <> requires")


# --------------------------------------------------------------------------------------
# Instructors


class InstructorQualification(Table):
    """Which modules (by code, across versions) an instructor may teach."""

    person = ForeignKey(Person, on_delete=OnDelete.cascade, null=False, index=True)
    module_code = Varchar(length=40, null=False)

    instructor_qualification_once = Unique(["person", "module_code"])


# --------------------------------------------------------------------------------------
# Cohorts and sessions


class ClosedPeriod(Table):
    """Weeks a partnership holds no course days (summer, Christmas, school holidays)."""

    partnership = ForeignKey(Partnership, on_delete=OnDelete.cascade, null=False, index=True)
    name = Varchar(length=100, null=False)
    start_date = Date(null=False)
    end_date = Date(null=False)

    closed_period_ends_after_start = Check("end_date >= start_date")


class Cohort(Table):
    """Hold: a group of new hires from the member municipalities who follow the
    curriculum together."""

    partnership = ForeignKey(Partnership, on_delete=OnDelete.restrict, null=False, index=True)
    curriculum_version = ForeignKey(
        CurriculumVersion, on_delete=OnDelete.restrict, null=False, index=True
    )
    name = Varchar(length=120, null=False)
    status = Varchar(length=20, null=False, default="planning", choices=CohortStatus)
    start_date = Date(null=False)
    capacity = SmallInt(null=False)
    day_start = Time(null=False)  # local time, Europe/Copenhagen
    day_end = Time(null=False)
    # e.g. {"weekdays": [1, 3]} (Monday = 0) or {"dates": ["2027-02-03", ...]}
    rhythm = JSON(default="{}")
    created_by = ForeignKey(Person, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())

    cohort_name_per_partnership = Unique(["partnership", "name"])
    cohort_known_status = Check(_one_of("status", CohortStatus))
    cohort_capacity_positive = Check("capacity > 0")
    cohort_day_ends_after_start = Check("day_end > day_start")
    cohort_name_not_blank = Check(_not_blank("name"))


class CohortSeats(Table):
    """Seats a member municipality has in a cohort."""

    cohort = ForeignKey(Cohort, on_delete=OnDelete.cascade, null=False, index=True)
    municipality = ForeignKey(Municipality, on_delete=OnDelete.restrict, null=False, index=True)
    seats = SmallInt(null=False)

    cohort_seats_once = Unique(["cohort", "municipality"])
    cohort_seats_seats_not_negative = Check("seats >= 0")


class CohortModule(Table):
    """The modules a cohort follows: the version's shared modules and chosen local ones."""

    cohort = ForeignKey(Cohort, on_delete=OnDelete.cascade, null=False, index=True)
    module = ForeignKey(Module, on_delete=OnDelete.restrict, null=False, index=True)

    cohort_module_once = Unique(["cohort", "module"])


class Session(Table):
    """Kursusdag: one dated occurrence of a module (or one day of a multi-day module)."""

    cohort = ForeignKey(Cohort, on_delete=OnDelete.restrict, null=False, index=True)
    module = ForeignKey(Module, on_delete=OnDelete.restrict, null=False, index=True)
    part = SmallInt(null=False, default=1)  # day 1, 2 ... of the module
    starts_at = Timestamptz(null=False, index=True)
    ends_at = Timestamptz(null=False)
    # NULL only for online sessions
    venue = ForeignKey(Venue, on_delete=OnDelete.restrict, null=True, index=True)
    status = Varchar(length=20, null=False, default="proposed", choices=SessionStatus)
    # Goes up with every change of time, place or status; calendar feeds use it as SEQUENCE.
    revision = Integer(null=False, default=0)
    # Stable identifier for calendars (iCalendar UID); never changes.
    uid = Varchar(length=80, unique=True, null=False)
    change_reason = Text(default="")
    # Saved despite hard conflicts: the coordinator's reason (also in the audit log);
    # the conflicts page keeps listing the conflict with it. Empty when none.
    override_reason = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())

    session_part_per_module = Unique(["cohort", "module", "part"])
    session_ends_after_start = Check("ends_at > starts_at")
    session_known_status = Check(_one_of("status", SessionStatus))
    session_revision_not_negative = Check("revision >= 0")
    session_part_positive = Check("part >= 1")


class SessionInstructor(Table):
    session = ForeignKey(Session, on_delete=OnDelete.cascade, null=False, index=True)
    person = ForeignKey(Person, on_delete=OnDelete.restrict, null=False, index=True)

    session_instructor_once = Unique(["session", "person"])


class Enrolment(Table):
    """Tilmelding. A withdrawal keeps the row (status withdrawn); the wait-list is
    ordered by `requested_at`, then `id`.

    A person holds at most one active (enrolled or waitlisted) enrolment: the partial
    unique index `enrolment_one_active_per_person` (migration m0006; Piccolo cannot
    declare partial indexes) holds it. Places and the wait-list are changed only
    through `intro.participation.enrolment`."""

    cohort = ForeignKey(Cohort, on_delete=OnDelete.restrict, null=False, index=True)
    person = ForeignKey(Person, on_delete=OnDelete.restrict, null=False, index=True)
    # The municipality whose seat the person takes.
    municipality = ForeignKey(Municipality, on_delete=OnDelete.restrict, null=False, index=True)
    status = Varchar(length=20, null=False, choices=EnrolmentStatus)
    requested_at = Timestamptz(default=TimestamptzNow())
    enrolled_at = Timestamptz(null=True, default=None)
    withdrawn_at = Timestamptz(null=True, default=None)
    withdrawal_reason = Text(default="")
    completed_at = Timestamptz(null=True, default=None)
    enrolled_by = ForeignKey(Person, on_delete=OnDelete.set_null, null=True)

    enrolment_once_per_cohort = Unique(["cohort", "person"])
    enrolment_known_status = Check(_one_of("status", EnrolmentStatus))
    enrolment_withdrawn_has_time = Check("status <> 'withdrawn' OR withdrawn_at IS NOT NULL")
    enrolment_completed_has_time = Check("status <> 'completed' OR completed_at IS NOT NULL")


class Attendance(Table):
    session = ForeignKey(Session, on_delete=OnDelete.restrict, null=False, index=True)
    person = ForeignKey(Person, on_delete=OnDelete.restrict, null=False, index=True)
    status = Varchar(length=20, null=False, choices=AttendanceStatus)
    recorded_at = Timestamptz(default=TimestamptzNow())
    recorded_by = ForeignKey(Person, on_delete=OnDelete.set_null, null=True)
    note = Text(default="")

    attendance_once = Unique(["session", "person"])
    attendance_known_status = Check(_one_of("status", AttendanceStatus))


# --------------------------------------------------------------------------------------
# Employment (HR data) and the intro plan


class Employment(Table):
    """Ansættelse. Retention is counted from these."""

    person = ForeignKey(Person, on_delete=OnDelete.restrict, null=False, index=True)
    municipality = ForeignKey(Municipality, on_delete=OnDelete.restrict, null=False, index=True)
    job_function = Varchar(length=120, null=False)
    profile_code = Varchar(length=40, null=True, default=None)  # specialist profile
    start_date = Date(null=False, index=True)
    end_date = Date(null=True, default=None)
    end_reason = Varchar(length=20, null=True, default=None, choices=EndReason)
    # The HR system's own key, so re-imports update instead of duplicating.
    external_ref = Varchar(length=100, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())

    employment_external_ref_per_municipality = Unique(["municipality", "external_ref"])
    employment_ends_after_start = Check("end_date IS NULL OR end_date >= start_date")
    employment_reason_only_when_ended = Check("end_reason IS NULL OR end_date IS NOT NULL")
    employment_known_end_reason = Check("end_reason IS NULL OR " + _one_of("end_reason", EndReason))
    employment_job_function_not_blank = Check(_not_blank("job_function"))


class LocalTaskTemplate(Table):
    """A municipality's onboarding task, due a number of days after employment start."""

    municipality = ForeignKey(Municipality, on_delete=OnDelete.cascade, null=False, index=True)
    title = Varchar(length=200, null=False)
    description = Text(default="")
    due_after_days = SmallInt(null=False, default=7)
    position = SmallInt(default=0)
    is_active = Boolean(default=True)

    local_task_template_due_not_negative = Check("due_after_days >= 0")
    local_task_template_title_not_blank = Check(_not_blank("title"))


class PlanItem(Table):
    """One line of a person's intro plan: a course day, a local task or a transfer
    assignment. `source_key` says what the item was built from, so that rebuilding a
    plan updates items instead of duplicating them or losing what was done."""

    person = ForeignKey(Person, on_delete=OnDelete.restrict, null=False, index=True)
    enrolment = ForeignKey(Enrolment, on_delete=OnDelete.restrict, null=True, index=True)
    kind = Varchar(length=20, null=False, choices=PlanItemKind)
    source_key = Varchar(length=80, null=False)
    session = ForeignKey(Session, on_delete=OnDelete.restrict, null=True, index=True)
    module = ForeignKey(Module, on_delete=OnDelete.restrict, null=True, index=True)
    task_template = ForeignKey(LocalTaskTemplate, on_delete=OnDelete.set_null, null=True)
    title = Varchar(length=200, null=False)
    description = Text(default="")
    due_date = Date(null=True, default=None, index=True)
    status = Varchar(length=20, null=False, default="open", choices=PlanItemStatus)
    done_at = Timestamptz(null=True, default=None)
    # Transfer assignment answer: what the person tried, what happened, shared or not.
    answer_tried = Text(default="")
    answer_outcome = Text(default="")
    shared_with_colleagues = Boolean(null=True, default=None)
    answered_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())

    plan_item_source_per_person = Unique(["person", "source_key"])
    plan_item_known_kind = Check(_one_of("kind", PlanItemKind))
    plan_item_known_status = Check(_one_of("status", PlanItemStatus))
    plan_item_session_item_has_session = Check("kind <> 'session' OR session IS NOT NULL")
    plan_item_transfer_item_has_module = Check("kind <> 'transfer' OR module IS NOT NULL")
    plan_item_done_has_time = Check("status <> 'done' OR done_at IS NOT NULL")


class Reflection(Table):
    person = ForeignKey(Person, on_delete=OnDelete.restrict, null=False, index=True)
    module = ForeignKey(Module, on_delete=OnDelete.restrict, null=True, index=True)
    body = Text(null=False)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())

    reflection_body_not_blank = Check(_not_blank("body"))


class SelfAssessment(Table):
    """Selvvurdering: a score from 1 (not yet) to 5 (confident) per competence, at the
    start, midway and at the end of the programme."""

    person = ForeignKey(Person, on_delete=OnDelete.restrict, null=False, index=True)
    competence = ForeignKey(Competence, on_delete=OnDelete.restrict, null=False, index=True)
    phase = Varchar(length=10, null=False, choices=AssessmentPhase)
    score = SmallInt(null=False)
    assessed_at = Timestamptz(default=TimestamptzNow())

    self_assessment_once_per_phase = Unique(["person", "competence", "phase"])
    self_assessment_known_phase = Check(_one_of("phase", AssessmentPhase))
    self_assessment_score_in_scale = Check("score BETWEEN 1 AND 5")


# --------------------------------------------------------------------------------------
# Calendar feeds


class CalendarFeedToken(Table):
    """A secret feed URL. Only the SHA-256 of the token is stored; the URL says nothing
    about whose feed it is. `owner` is who made it and whose access it is bounded by."""

    owner = ForeignKey(Person, on_delete=OnDelete.cascade, null=False, index=True)
    kind = Varchar(length=20, null=False, choices=FeedKind)
    token_hash = Varchar(length=64, unique=True, null=False)
    cohort = ForeignKey(Cohort, on_delete=OnDelete.cascade, null=True)
    venue = ForeignKey(Venue, on_delete=OnDelete.cascade, null=True)
    municipality = ForeignKey(Municipality, on_delete=OnDelete.cascade, null=True)
    partnership = ForeignKey(Partnership, on_delete=OnDelete.cascade, null=True)
    include_deadlines = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)

    calendar_feed_token_known_kind = Check(_one_of("kind", FeedKind))
    calendar_feed_token_target_fits_kind = Check(
        "(kind IN ('person', 'instructor') AND cohort IS NULL AND venue IS NULL"
        " AND municipality IS NULL AND partnership IS NULL)"
        " OR (kind = 'cohort' AND cohort IS NOT NULL)"
        " OR (kind = 'venue' AND venue IS NOT NULL)"
        " OR (kind = 'municipality' AND municipality IS NOT NULL)"
        " OR (kind = 'partnership' AND partnership IS NOT NULL)"
    )


# --------------------------------------------------------------------------------------
# Scheduling aids (issue 3)


class CohortPreferredVenue(Table):
    """Venues the coordinator prefers for a cohort; the proposer tries them first."""

    cohort = ForeignKey(Cohort, on_delete=OnDelete.cascade, null=False, index=True)
    venue = ForeignKey(Venue, on_delete=OnDelete.restrict, null=False, index=True)

    cohort_preferred_venue_once = Unique(["cohort", "venue"])


class BusyCalendar(Table):
    """An instructor's own calendar of busy times: an iCalendar URL that Intro reads,
    or an uploaded .ics file. Its events, recurring ones expanded, are kept in BusyTime."""

    person = ForeignKey(Person, on_delete=OnDelete.cascade, null=False, index=True)
    source_url = Varchar(length=1000, null=True, default=None)
    source_ics = Text(default="")
    refreshed_at = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())

    busy_calendar_has_source = Check("source_url IS NOT NULL OR length(source_ics) > 0")


class BusyTime(Table):
    calendar = ForeignKey(BusyCalendar, on_delete=OnDelete.cascade, null=False, index=True)
    starts_at = Timestamptz(null=False, index=True)
    ends_at = Timestamptz(null=False)

    busy_time_ends_after_start = Check("ends_at > starts_at")


class CatchUpBooking(Table):
    """A participant booked into another cohort's session of a module they missed."""

    person = ForeignKey(Person, on_delete=OnDelete.restrict, null=False, index=True)
    session = ForeignKey(Session, on_delete=OnDelete.restrict, null=False, index=True)
    missed_session = ForeignKey(Session, on_delete=OnDelete.restrict, null=True)
    booked_by = ForeignKey(Person, on_delete=OnDelete.set_null, null=True)
    booked_at = Timestamptz(default=TimestamptzNow())
    cancelled_at = Timestamptz(null=True, default=None)

    catch_up_booking_once = Unique(["person", "session"])


# --------------------------------------------------------------------------------------
# Change notices (issue 5)


class EvaluationKind(StrEnum):
    evaluation = "evaluation"  # after the module's last day: relevance, usefulness, plans
    follow_up = "follow_up"  # weeks later: used at work? shared with colleagues?


class EvaluationReceipt(Table):
    """That a person has answered one evaluation (never what they answered), so each is
    answered once. Nothing links a receipt to its answer (issue 17)."""

    person = ForeignKey(Person, on_delete=OnDelete.restrict, null=False, index=True)
    cohort = ForeignKey(Cohort, on_delete=OnDelete.restrict, null=False, index=True)
    module = ForeignKey(Module, on_delete=OnDelete.restrict, null=False)
    kind = Varchar(length=20, null=False, choices=EvaluationKind)

    evaluation_receipt_once = Unique(["person", "cohort", "module", "kind"])
    evaluation_receipt_known_kind = Check(_one_of("kind", EvaluationKind))


class EvaluationAnswer(Table):
    """One anonymous answer about a module as taught to a cohort: no person and no
    instant, so it cannot be traced back to who gave it. Results are shown only for
    groups of `evaluations.MIN_ANSWERS` or more (issue 17)."""

    cohort = ForeignKey(Cohort, on_delete=OnDelete.restrict, null=False, index=True)
    module = ForeignKey(Module, on_delete=OnDelete.restrict, null=False, index=True)
    kind = Varchar(length=20, null=False, choices=EvaluationKind)
    relevance = SmallInt(null=True, default=None)  # 1-5, evaluation only
    usefulness = SmallInt(null=True, default=None)  # 1-5, evaluation only
    used_at_work = Boolean(null=True, default=None)  # follow-up only
    shared_with_colleagues = Boolean(null=True, default=None)  # follow-up only
    free_text = Text(default="")

    evaluation_answer_known_kind = Check(_one_of("kind", EvaluationKind))
    evaluation_answer_scores_in_scale = Check(
        "(relevance IS NULL OR relevance BETWEEN 1 AND 5)"
        " AND (usefulness IS NULL OR usefulness BETWEEN 1 AND 5)"
    )
    evaluation_answer_fits_kind = Check(
        "(kind = 'evaluation' AND relevance IS NOT NULL AND usefulness IS NOT NULL"
        " AND used_at_work IS NULL AND shared_with_colleagues IS NULL)"
        " OR (kind = 'follow_up' AND relevance IS NULL AND usefulness IS NULL"
        " AND used_at_work IS NOT NULL AND shared_with_colleagues IS NOT NULL)"
    )


class NoticeKind(StrEnum):
    session_moved = "session_moved"
    session_cancelled = "session_cancelled"
    # A one-time link to set a password (issue 16); the body carries a placeholder the
    # sender turns into the link, see `intro.people.account_links`.
    invitation = "invitation"
    password_reset = "password_reset"


class Notice(Table):
    """An e-mail to one person about a changed course day: an outbox. A change only
    queues its notices (in its own transaction); `intro.planning.notices.send_due` sends them
    later and retries, so a mail server that is down never blocks or loses a change.
    The address is the one the person had when the notice was queued.

    `next_attempt_at` is set while the notice waits and cleared when it is sent, so the
    sender's one query (`next_attempt_at <= now`) is a range scan of its index that
    never walks through the notices already sent."""

    recipient = ForeignKey(Person, on_delete=OnDelete.restrict, null=False, index=True)
    email = Varchar(length=254, null=False)
    subject = Varchar(length=300, null=False)
    body = Text(null=False)
    session = ForeignKey(Session, on_delete=OnDelete.set_null, null=True, index=True)
    kind = Varchar(length=30, null=False, choices=NoticeKind)
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)
    attempts = Integer(null=False, default=0)
    next_attempt_at = Timestamptz(null=True, default=TimestamptzNow(), index=True)
    last_error = Text(default="")
    # Set when the sender gives up after `notices.MAX_ATTEMPTS` failed attempts (issue 17):
    # the notice is no longer tried until someone resends it from the outbox page.
    failed_at = Timestamptz(null=True, default=None)

    notice_known_kind = Check(_one_of("kind", NoticeKind))
    notice_attempts_not_negative = Check("attempts >= 0")
    notice_sent_after_an_attempt = Check("sent_at IS NULL OR attempts >= 1")
    notice_waits_until_sent = Check(
        "(sent_at IS NULL AND next_attempt_at IS NOT NULL)"
        " OR (sent_at IS NOT NULL AND next_attempt_at IS NULL)"
    )
    notice_email_not_blank = Check(_not_blank("email"))
    notice_subject_not_blank = Check(_not_blank("subject"))


# --------------------------------------------------------------------------------------
# HR data in: file imports and the HR systems' API (issue 6)


class EmploymentImportStatus(StrEnum):
    previewed = "previewed"  # read and checked, waiting for the user to commit it
    committed = "committed"
    discarded = "discarded"


class EmploymentImport(Table):
    """A CSV file of employments from a payroll/HR system. The file is kept between the
    preview and the commit, so what is committed is exactly what was previewed; the row
    stays afterwards as the import's history (counts, who, when)."""

    uploaded_by = ForeignKey(Person, on_delete=OnDelete.restrict, null=False, index=True)
    # The municipality the importer acts for; None for an administrator importing rows
    # of several municipalities.
    municipality = ForeignKey(Municipality, on_delete=OnDelete.restrict, null=True, index=True)
    filename = Varchar(length=255, null=False, default="")
    content = Text(null=False)  # the file as text, decoded
    content_sha256 = Varchar(length=64, null=False)
    status = Varchar(length=20, null=False, choices=EmploymentImportStatus)
    rows = Integer(null=False, default=0)
    created = Integer(null=False, default=0)
    updated = Integer(null=False, default=0)
    unchanged = Integer(null=False, default=0)
    uploaded_at = Timestamptz(default=TimestamptzNow())
    committed_at = Timestamptz(null=True, default=None)

    employment_import_known_status = Check(_one_of("status", EmploymentImportStatus))
    employment_import_committed_has_time = Check(
        "status <> 'committed' OR committed_at IS NOT NULL"
    )


class ApiToken(Table):
    """A bearer token for an HR system, scoped to one municipality. Only the SHA-256 of
    the token is stored; the token is shown once when it is made."""

    municipality = ForeignKey(Municipality, on_delete=OnDelete.restrict, null=False, index=True)
    name = Varchar(length=120, null=False)
    token_hash = Varchar(length=64, unique=True, null=False)
    created_by = ForeignKey(Person, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)
    revoked_by = ForeignKey(Person, on_delete=OnDelete.set_null, null=True)
    last_used_at = Timestamptz(null=True, default=None)

    api_token_name_not_blank = Check(_not_blank("name"))


# --------------------------------------------------------------------------------------
# Bookkeeping for caches


# The tables whose every write moves their row in `data_stamp` (by triggers, made by
# migrations m0013 and m0014): what the per-worker caches of the dashboard, the feeds,
# the progress grid and the conflicts page are built from. A table added to a cached view's inputs must be added here and to a migration.
STAMPED_TABLES = (
    "attendance",
    "busy_calendar",
    "busy_time",
    "calendar_feed_token",
    "catch_up_booking",
    "closed_period",
    "cohort",
    "cohort_module",
    "employment",
    "enrolment",
    "instructor_qualification",
    "module",
    "module_prerequisite",
    "municipality",
    "partnership",
    "partnership_member",
    "person",
    "plan_item",
    "profile",
    "role_grant",
    "session",
    "session_instructor",
    "strand",
    "venue",
)


class DataStamp(Table):
    """How often each table in STAMPED_TABLES has been written: database triggers add one
    to `version` in the writing transaction itself (SQLite: per row; PostgreSQL: per
    statement), whatever code path — or process — writes. A cache keeps what it built
    with the versions it was built from and is stale as soon as one of them moved."""

    table_name = Varchar(length=64, unique=True, null=False)
    version = Integer(default=0, null=False)
