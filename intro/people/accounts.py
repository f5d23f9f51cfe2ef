"""People, passwords, sign-in sessions and role grants."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from piccolo.columns.combination import WhereRaw

from intro import audit, clock
from intro.db import Prepared, write_transaction
from intro.errors import Invalid, NotFound
from intro.hr import offboarding
from intro.i18n import _
from intro.settings import get_settings
from intro.tables import (
    AccountLink,
    LoginAttempt,
    LoginSession,
    Municipality,
    Partnership,
    Person,
    Role,
    RoleGrant,
)

_hasher = PasswordHasher()
# Verified against when no such person exists, so a wrong e-mail address costs the
# same time as a wrong password and timing does not reveal who has an account.
_DUMMY_HASH = _hasher.hash("intro-dummy-password")

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10

ROLE_NAMES = {
    Role.participant: _("Deltager"),
    Role.coordinator: _("Koordinator"),
    Role.instructor: _("Underviser"),
    Role.chief: _("Chef"),
    Role.admin: _("Administrator"),
}


@dataclass(frozen=True)
class Grant:
    role: Role
    municipality_id: int | None = None
    partnership_id: int | None = None


@dataclass(frozen=True)
class User:
    """The signed-in person and what they may do. Built once per request."""

    id: int
    email: str
    full_name: str
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def roles(self) -> set[Role]:
        return {g.role for g in self.grants}

    def has(self, *roles: Role) -> bool:
        return any(g.role in roles for g in self.grants)

    @property
    def is_admin(self) -> bool:
        return self.has(Role.admin)

    def municipalities(self, role: Role) -> set[int]:
        return {g.municipality_id for g in self.grants if g.role == role and g.municipality_id}

    def partnerships(self, role: Role) -> set[int]:
        return {g.partnership_id for g in self.grants if g.role == role and g.partnership_id}


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()




# --------------------------------------------------------------------------------------
# Signing in


class SignInRefused(Exception):
    """Sign-in failed. The message never says whether the e-mail address exists.
    `locked` is true when the address has had too many failures lately."""

    def __init__(self, message: str, locked: bool = False):
        super().__init__(message)
        self.locked = locked


WRONG_CREDENTIALS = _("E-mail eller adgangskode er forkert.")
TOO_MANY_ATTEMPTS = _(
    "For mange mislykkede forsøg på at logge ind. Vent {minutes} minutter, og prøv igen."
)


async def authenticate(email: str, password: str, remote_addr: str = "") -> int:
    """Return the id of the person these credentials belong to, or raise SignInRefused.

    After `login_max_failures` failures for one e-mail address, or
    `login_max_failures_per_client` failures from one client address (whatever the
    e-mails), within the window, every try is refused until the window has passed,
    whether the password is right or not."""
    settings = get_settings()
    email = normalise_email(email)
    window_start = clock.now() - timedelta(minutes=settings.login_window_minutes)
    failures = await LoginAttempt.count().where(
        (LoginAttempt.email == email) & (LoginAttempt.attempted_at > window_start)
    )
    from_client = (
        await LoginAttempt.count().where(
            (LoginAttempt.remote_addr == remote_addr[:64]) & (LoginAttempt.attempted_at > window_start)
        )
        if remote_addr
        else 0
    )
    if failures >= settings.login_max_failures or from_client >= settings.login_max_failures_per_client:
        raise SignInRefused(
            TOO_MANY_ATTEMPTS.format(minutes=settings.login_window_minutes), locked=True
        )

    person = (
        await Person.select(Person.id, Person.password_hash, Person.is_active)
        .where(Person.email == email)
        .first()
    )
    stored_hash = person["password_hash"] if person and person["is_active"] else None
    if not _password_matches(stored_hash or _DUMMY_HASH, password) or not stored_hash:
        await LoginAttempt.insert(LoginAttempt(email=email[:254], remote_addr=remote_addr[:64]))
        # Old attempts say nothing any more; keep the table small.
        await LoginAttempt.delete().where(LoginAttempt.attempted_at < clock.now() - timedelta(days=1))
        raise SignInRefused(WRONG_CREDENTIALS)

    await LoginAttempt.delete().where(LoginAttempt.email == email)
    update: dict = {Person.last_login_at: clock.now()}
    if _hasher.check_needs_rehash(stored_hash):
        update[Person.password_hash] = hash_password(password)
    await Person.update(update).where(Person.id == person["id"])
    return person["id"]


def _password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


async def start_session(person_id: int, user_agent: str = "") -> str:
    """Create a sign-in session; return the token for the cookie (only its hash is kept).
    `user_agent` (the browser's header, cut to 300 characters) lets the person tell
    their sign-ins apart on their sessions page."""
    token = secrets.token_urlsafe(32)
    await LoginSession.delete().where(
        (LoginSession.person == person_id) & (LoginSession.expires_at < clock.now())
    )
    await LoginSession.insert(
        LoginSession(
            token_hash=_token_hash(token),
            person=person_id,
            expires_at=clock.now() + timedelta(days=get_settings().session_days),
            user_agent=(user_agent or "")[:300],
        )
    )
    return token


async def end_session(token: str) -> None:
    await LoginSession.delete().where(LoginSession.token_hash == _token_hash(token))


async def end_all_sessions(person_id: int) -> None:
    await LoginSession.delete().where(LoginSession.person == person_id)


# Every request reads these; built once (naming a joined column costs Piccolo ~0.3 ms).
_SESSION_COLUMNS = (
    LoginSession.person.id,
    LoginSession.person.email,
    LoginSession.person.full_name,
    LoginSession.person.is_active,
)


# Read on every signed-in request: built once (intro.db.Prepared).
_SESSION_USER = Prepared(
    lambda token_hash, now: LoginSession.select(*_SESSION_COLUMNS)
    .where((LoginSession.token_hash == token_hash) & (LoginSession.expires_at > now))
    .limit(1),
    "token_hash", "now", first=True,
)
_GRANTS = Prepared(
    lambda person: RoleGrant.select(
        RoleGrant.id, RoleGrant.person, RoleGrant.role, RoleGrant.municipality, RoleGrant.partnership
    ).where(RoleGrant.person == person),
    "person",
)


async def user_for_session(token: str | None) -> User | None:
    """The user a session cookie belongs to, or None if it is unknown, expired or the
    person has been deactivated."""
    if not token or len(token) > 200:
        return None
    row = await _SESSION_USER.run(token_hash=_token_hash(token), now=clock.now())
    if not row or not row["person.is_active"]:
        return None
    user, lapsed = await _load_user(row["person.id"], row["person.email"], row["person.full_name"])
    if lapsed and not user.grants:
        return None  # access ended with employment (offboarding), even before the nightly run
    return user


async def load_user(person_id: int, email: str | None = None, full_name: str | None = None) -> User:
    """The person with their roles as they hold today: a participant role from HR whose
    employment ended more than the grace period ago gives nothing, even before the
    nightly `end-lapsed-access` has removed it (`offboarding.lapsed_among`).
    Raises NotFound for an unknown person."""
    return (await _load_user(person_id, email, full_name))[0]


async def _load_user(person_id: int, email: str | None, full_name: str | None) -> tuple[User, bool]:
    """load_user, and whether any grant had lapsed."""
    if email is None or full_name is None:
        person = await Person.select(Person.email, Person.full_name).where(
            Person.id == person_id
        ).first()
        if person is None:
            raise NotFound()
        email, full_name = person["email"], person["full_name"]
    grants = await _GRANTS.run(person=person_id)
    lapsed = {
        item.grant_id
        for item in await offboarding.lapsed_among(grants, clock.today(), get_settings().access_grace_days)
    }
    user = User(
        id=person_id,
        email=email,
        full_name=full_name,
        grants=tuple(
            Grant(Role(g["role"]), g["municipality"], g["partnership"]) for g in grants if g["id"] not in lapsed
        ),
    )
    return user, bool(lapsed)


# --------------------------------------------------------------------------------------
# Managing people and roles (admin)


def _validate_person(email: str, full_name: str, password: str | None) -> dict[str, str]:
    errors = {}
    if not EMAIL_PATTERN.match(email):
        errors["email"] = _("Skriv en gyldig e-mailadresse, fx navn@kommune.dk.")
    if not full_name.strip():
        errors["full_name"] = _("Skriv personens fulde navn.")
    elif len(full_name) > 200:
        errors["full_name"] = _("Navnet må højst være 200 tegn.")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = _("Adgangskoden skal være mindst {n} tegn.").format(
            n=MIN_PASSWORD_LENGTH
        )
    return errors


async def create_person(
    actor_id: int | None,
    email: str,
    full_name: str,
    password: str | None = None,
    *,
    password_hash: str | None = None,
) -> int:
    email = normalise_email(email)
    full_name = (full_name or "").strip()
    errors = _validate_person(email, full_name, password)
    if not errors and await Person.exists().where(Person.email == email):
        errors["email"] = _("Der findes allerede en bruger med denne e-mailadresse.")
    if errors:
        raise Invalid(errors)
    if password is not None:
        password_hash = hash_password(password)
    async with write_transaction(Person._meta.db):
        row = await Person.insert(
            Person(email=email, full_name=full_name, password_hash=password_hash)
        ).returning(Person.id)
        person_id = row[0]["id"]
        # No password or hash in the log: only that one was set.
        await audit.record(
            actor_id,
            "person.create",
            "person",
            person_id,
            email=email,
            full_name=full_name,
            password_set=password_hash is not None,
        )
    return person_id


async def set_password(actor_id: int | None, person_id: int, password: str) -> None:
    """Set a person's password. Every sign-in session and every unused link to set a
    password of theirs ends with it. Raises Invalid for a password shorter than
    MIN_PASSWORD_LENGTH."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise Invalid(
            {"password": _("Adgangskoden skal være mindst {n} tegn.").format(n=MIN_PASSWORD_LENGTH)}
        )
    async with write_transaction(Person._meta.db):
        await Person.update({Person.password_hash: hash_password(password)}).where(
            Person.id == person_id
        )
        await LoginSession.delete().where(LoginSession.person == person_id)
        # A link to set a password, sent before this change, must not undo it.
        await AccountLink.update({AccountLink.ended_at: clock.now()}).where(
            (AccountLink.person == person_id) & AccountLink.ended_at.is_null()
        )
        await audit.record(actor_id, "person.set_password", "person", person_id)


async def set_active(actor_id: int | None, person_id: int, active: bool) -> None:
    if not active and actor_id is not None and actor_id == person_id:
        # Deactivating oneself ends one's own session at once and, for the last
        # administrator, locks everybody out of the administration.
        raise Invalid(
            {"active": _("Du kan ikke deaktivere dig selv. Bed en anden administrator om det.")}
        )
    async with write_transaction(Person._meta.db):
        await Person.update({Person.is_active: active}).where(Person.id == person_id)
        if not active:
            await LoginSession.delete().where(LoginSession.person == person_id)
        await audit.record(actor_id, "person.set_active", "person", person_id, active=active)


SCOPE_OF_ROLE = {
    Role.admin: None,
    Role.chief: "municipality",
    Role.participant: "municipality",
    Role.coordinator: "partnership",
    Role.instructor: "partnership",
}


async def grant_role(
    actor_id: int | None,
    person_id: int,
    role: str,
    municipality_id: int | None = None,
    partnership_id: int | None = None,
) -> int:
    """Give a person a role. Chiefs and participants belong to a municipality,
    coordinators and instructors to a partnership; an admin to no scope."""
    errors: dict[str, str] = {}
    try:
        role_ = Role(role)
    except ValueError:
        raise Invalid({"role": _("Vælg en rolle.")}) from None
    scope = SCOPE_OF_ROLE[role_]
    if scope == "municipality":
        partnership_id = None
        if not municipality_id or not await Municipality.exists().where(
            Municipality.id == municipality_id
        ):
            errors["municipality"] = _("Vælg den kommune, rollen gælder for.")
    elif scope == "partnership":
        municipality_id = None
        if not partnership_id or not await Partnership.exists().where(
            Partnership.id == partnership_id
        ):
            errors["partnership"] = _("Vælg det samarbejde, rollen gælder for.")
    else:
        municipality_id = partnership_id = None
    if not await Person.exists().where(Person.id == person_id):
        errors["person"] = _("Brugeren findes ikke.")
    if not errors:
        duplicate = RoleGrant.exists().where(
            (RoleGrant.person == person_id) & (RoleGrant.role == role_.value)
        )
        duplicate = duplicate.where(
            RoleGrant.municipality == municipality_id
            if municipality_id
            else RoleGrant.municipality.is_null()
        ).where(
            RoleGrant.partnership == partnership_id
            if partnership_id
            else RoleGrant.partnership.is_null()
        )
        if await duplicate:
            errors["role"] = _("Brugeren har allerede denne rolle med dette omfang.")
    if errors:
        raise Invalid(errors)
    async with write_transaction(RoleGrant._meta.db):
        row = await RoleGrant.insert(
            RoleGrant(
                person=person_id,
                role=role_.value,
                municipality=municipality_id,
                partnership=partnership_id,
                granted_by=actor_id,
            )
        ).returning(RoleGrant.id)
        await audit.record(
            actor_id,
            "role.grant",
            "person",
            person_id,
            role=role_.value,
            municipality=municipality_id,
            partnership=partnership_id,
        )
    return row[0]["id"]


async def revoke_role(actor_id: int | None, grant_id: int) -> None:
    grant = await RoleGrant.select().where(RoleGrant.id == grant_id).first()
    if grant is None:
        raise NotFound()
    if grant["role"] == Role.admin.value and actor_id is not None and grant["person"] == actor_id:
        # Same reason as in set_active: an admin could lock out the last administrator.
        raise Invalid(
            {
                "roles": _(
                    "Du kan ikke fjerne din egen administratorrolle. "
                    "Bed en anden administrator om det."
                )
            }
        )
    async with write_transaction(RoleGrant._meta.db):
        await RoleGrant.delete().where(RoleGrant.id == grant_id)
        await audit.record(
            actor_id,
            "role.revoke",
            "person",
            grant["person"],
            role=grant["role"],
            municipality=grant["municipality"],
            partnership=grant["partnership"],
        )


# --------------------------------------------------------------------------------------
# Looking people up (admin)

PEOPLE_LIMIT = 200
SEARCH_MAX_LENGTH = 100

# Capitals SQLite's lower() leaves alone (it folds ASCII only). Folding them by hand
# lets "øster" find "Østergaard" on SQLite as it does on PostgreSQL.
_CAPITALS = [("Æ", "æ"), ("Ø", "ø"), ("Å", "å"), ("Ä", "ä"), ("Ö", "ö"), ("Ü", "ü"), ("É", "é")]


def _folded(column: str) -> str:
    sql = f"lower({column})"
    for capital, small in _CAPITALS:
        sql = f"replace({sql}, '{capital}', '{small}')"
    return sql


def like_pattern(term: str) -> str:
    """A LIKE pattern (with ESCAPE '\\') that finds `term` anywhere, taking % and _
    in the term literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def grant_label(role: str, scope_name: str | None) -> str:
    """E.g. "Chef for Slagelse", "Koordinator for Introsamarbejdet Vestsjælland"."""
    name = ROLE_NAMES[Role(role)]
    if not scope_name:
        return name
    return _("{role} for {scope}").format(role=name, scope=scope_name)


@dataclass(frozen=True)
class PeopleFound:
    people: list[dict]  # each with its "grants"
    total: int  # how many match, of which at most `limit` are in `people`

    @property
    def capped(self) -> bool:
        return self.total > len(self.people)


async def grants_of(person_ids: list[int]) -> dict[int, list[dict]]:
    """Every grant of these people with its scope's name, in one query."""
    if not person_ids:
        return {}
    rows = await RoleGrant.select(
        RoleGrant.id,
        RoleGrant.person,
        RoleGrant.role,
        RoleGrant.municipality,
        RoleGrant.partnership,
        RoleGrant.granted_at,
        RoleGrant.municipality.name.as_alias("municipality_name"),
        RoleGrant.partnership.name.as_alias("partnership_name"),
    ).where(RoleGrant.person.is_in(sorted(set(person_ids))))
    order = list(Role)
    for g in rows:
        g["scope_name"] = g["municipality_name"] or g["partnership_name"]
        g["label"] = grant_label(g["role"], g["scope_name"])
    rows.sort(key=lambda g: (order.index(Role(g["role"])), g["scope_name"] or ""))
    result: dict[int, list[dict]] = {}
    for g in rows:
        result.setdefault(g["person"], []).append(g)
    return result


async def find_people(search: str = "", limit: int = PEOPLE_LIMIT) -> PeopleFound:
    """People whose name or e-mail address contains `search` (any case), by name."""
    query = Person.select(
        Person.id, Person.email, Person.full_name, Person.is_active
    ).order_by(Person.full_name, Person.id)
    count = Person.count()
    term = (search or "").strip()[:SEARCH_MAX_LENGTH].lower()
    if term:
        pattern = like_pattern(term)
        matches = WhereRaw(
            f"({_folded('full_name')} LIKE {{}} ESCAPE '\\' OR email LIKE {{}} ESCAPE '\\')",
            pattern,
            pattern,
        )
        query, count = query.where(matches), count.where(matches)
    people = await query.limit(limit)
    grants = await grants_of([p["id"] for p in people])
    for p in people:
        p["grants"] = grants.get(p["id"], [])
    return PeopleFound(people=people, total=await count)


async def person_detail(person_id: int) -> dict | None:
    """A person with their grants; whether a password is set, never the hash."""
    person = await Person.select(
        Person.id,
        Person.email,
        Person.full_name,
        Person.is_active,
        Person.created_at,
        Person.last_login_at,
        Person.password_hash,
    ).where(Person.id == person_id).first()
    if person is None:
        return None
    person["has_password"] = person.pop("password_hash") is not None
    person["grants"] = (await grants_of([person_id])).get(person_id, [])
    return person
