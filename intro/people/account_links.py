"""One-time links by e-mail that let a person set a password: invitations for new
people and resets for a forgotten password (issue 16).

The rules, each held in one place:

- **Only a hash is stored.** A link's token is HMAC-SHA256(secret key, nonce) with a
  random nonce. `AccountLink.token_hash` holds SHA-256 of the token; the queued e-mail
  holds a placeholder with the nonce, which the sender turns into the link when it
  sends (`fill_links`, called by `intro.planning.notices.build_message`). So neither the table
  nor the outbox holds a link that works, and none can be made without the secret key.
- **A link works once, before it expires, and only while it is the person's newest.**
  `_LIVE` is that condition; `set_password_with_link` ends the link in the same UPDATE
  that checks it, so two tabs (or two workers) can never both use one link. Issuing a
  link ends the person's earlier links; a changed password ends all of them
  (`intro.people.accounts.set_password`), and with them every sign-in session.
- **A reset request gets the same answer whether or not the address exists**, and is
  throttled per address and per client address (`request_reset`). Requests are counted
  whether or not the address has an account, so the throttle says nothing either.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from intro import audit, clock
from intro.db import any_of, insert_many, write_transaction
from intro.errors import Invalid
from intro.i18n import _
from intro.people import privacy, providers
from intro.people.accounts import MIN_PASSWORD_LENGTH, normalise_email, set_password
from intro.settings import get_settings
from intro.tables import (
    AccountLink,
    AccountLinkPurpose,
    Notice,
    NoticeKind,
    PasswordResetRequest,
    Person,
)
from intro.timefmt import da_time, da_weekday_date, local

LINK_PATH = "/access/"
# In a queued e-mail: where the sender puts the link. The nonce is URL-safe base64.
_PLACEHOLDER = re.compile(r"\[\[intro-link:([A-Za-z0-9_-]{16,64})\]\]")
TOKEN_MAX_LENGTH = 100


# --------------------------------------------------------------------------------------
# Tokens (pure, given the secret key)


def token_for(nonce: str, secret_key: str | None = None) -> str:
    """The token a nonce stands for: URL-safe base64 of HMAC-SHA256(secret key, nonce),
    43 characters. Raises nothing; any string is a nonce."""
    key = (secret_key or get_settings().secret_key).encode()
    digest = hmac.new(key, b"intro-account-link:" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    """What is stored: hex SHA-256 of the token (64 characters)."""
    return hashlib.sha256(token.encode()).hexdigest()


def placeholder(nonce: str) -> str:
    return f"[[intro-link:{nonce}]]"


def fill_links(body: str, base_url: str | None = None, secret_key: str | None = None) -> str:
    """The e-mail body with each link placeholder replaced by its working link, e.g.
    https://intro.kommune.dk/access/<token>. Bodies without one come back unchanged."""
    base = (base_url or get_settings().base_url).rstrip("/")
    return _PLACEHOLDER.sub(lambda m: base + LINK_PATH + token_for(m.group(1), secret_key), body)


# --------------------------------------------------------------------------------------
# The messages (pure)


@functools.lru_cache(maxsize=16)  # an import's thousands of invitations share one
def _expires_text(expires_at: datetime) -> str:
    return _("{day} kl. {time}").format(day=da_weekday_date(local(expires_at)), time=da_time(expires_at))


def compose_invitation(
    full_name: str, email: str, link: str, expires_at: datetime, provider_login: str | None = None
) -> tuple[str, str]:
    """(subject, body) of the Danish invitation e-mail. `link` is usually a placeholder;
    `provider_login` the address of Intro's login page when the person's municipality
    has its own sign-in, which they may use instead of a password."""
    subject = _("Velkommen til Intro – vælg din adgangskode")
    body = "\n".join(
        [
            _("Hej {name}").format(name=full_name),
            "",
            _(
                "Du er oprettet i Intro, hvor du følger dit introforløb som ny medarbejder i "
                "jobcentret: kursusdage, lokale opgaver og transferopgaver."
            ),
            "",
            _("Vælg din adgangskode her:"),
            link,
            "",
            _("Linket virker én gang og udløber {when}.").format(when=_expires_text(expires_at)),
            _("Bagefter logger du ind med din e-mailadresse, {email}.").format(email=email),
            *(
                [
                    "",
                    _(
                        "Din kommune har sit eget login til Intro. Du kan også bruge det i stedet for "
                        "en adgangskode: vælg «Log ind med din kommunes login» på {login}."
                    ).format(login=provider_login),
                ]
                if provider_login
                else []
            ),
            "",
            _("Venlig hilsen"),
            _("Intro – fælles introduktionsuddannelse"),
            "",
            "-- ",
            _(
                "Du får denne e-mail, fordi du er oprettet som bruger i Intro. Den er sendt "
                "automatisk. Er det en fejl, så kontakt din koordinator."
            ),
        ]
    )
    return subject, body + "\n"


def compose_reset(full_name: str, link: str, expires_at: datetime) -> tuple[str, str]:
    """(subject, body) of the Danish e-mail with a reset link."""
    subject = _("Nulstil din adgangskode til Intro")
    body = "\n".join(
        [
            _("Hej {name}").format(name=full_name),
            "",
            _("Der er bedt om en ny adgangskode til din bruger i Intro. Vælg den her:"),
            link,
            "",
            _("Linket virker én gang og udløber {when}.").format(when=_expires_text(expires_at)),
            _(
                "Har du ikke selv bedt om det, kan du se bort fra denne e-mail: din "
                "adgangskode er ikke ændret."
            ),
            "",
            _("Venlig hilsen"),
            _("Intro – fælles introduktionsuddannelse"),
            "",
            "-- ",
            _("Du får denne e-mail, fordi der er bedt om en ny adgangskode. Den er sendt automatisk."),
        ]
    )
    return subject, body + "\n"


# --------------------------------------------------------------------------------------
# Issuing links (each queues its e-mail in the same transaction)


_LIVE_NOW = lambda now: AccountLink.ended_at.is_null() & (AccountLink.expires_at > now)  # noqa: E731


async def invite_many(actor_id: int | None, person_ids: list[int]) -> list[int]:
    """`invite_if_needed` for many people at once (an HR import of thousands of new
    hires): the same rule and the same rows (link, e-mail in the outbox, audit line),
    read and written in a fixed number of bulk queries however many people. Joins the
    caller's transaction. Returns the ids of the people invited."""
    now = clock.now()
    rows = await Person.select(
        Person.id, Person.email, Person.full_name, Person.is_active, Person.password_hash, Person.last_login_at
    ).where(any_of(Person.id, person_ids))
    live = {
        r["person"]
        for r in await AccountLink.select(AccountLink.person).where(any_of(AccountLink.person, person_ids) & _LIVE_NOW(now))
    }
    order = {person_id: i for i, person_id in enumerate(person_ids)}
    people = sorted(
        (
            p for p in rows
            if p["is_active"] and p["password_hash"] is None and not has_signed_in(p) and p["id"] not in live
        ),
        key=lambda p: order[p["id"]],
    )
    if not people:
        return []
    settings = get_settings()
    expires_at = now + timedelta(days=settings.invitation_days)
    domains = {d for p in await providers.all_providers() for d in p.allowed_domains}
    links, notices = [], []
    for person in people:
        nonce = secrets.token_urlsafe(24)
        links.append({
            "person": person["id"], "purpose": AccountLinkPurpose.invitation.value,
            "token_hash": token_hash(token_for(nonce)), "created_at": now, "created_by": actor_id,
            "expires_at": expires_at,
        })
        has_provider = normalise_email(person["email"]).rpartition("@")[2] in domains
        subject, body = compose_invitation(
            person["full_name"], person["email"], placeholder(nonce), expires_at,
            provider_login=settings.base_url + "/login" if has_provider else None,
        )
        notices.append({
            "recipient": person["id"], "email": person["email"], "subject": subject, "body": body, "session": None,
            "kind": NoticeKind.invitation.value, "created_at": now, "attempts": 0, "next_attempt_at": now,
        })
    ids = [p["id"] for p in people]
    async with write_transaction(Person._meta.db):
        await AccountLink.update({AccountLink.ended_at: now}).where(
            any_of(AccountLink.person, ids) & AccountLink.ended_at.is_null()
        )
        await insert_many(AccountLink, links)
        await insert_many(Notice, notices)
        await audit.record_many([(actor_id, "account_link.invitation", "person", i, {}) for i in ids])
    return ids


async def _issue(person: dict, purpose: AccountLinkPurpose, actor_id: int | None) -> int:
    """End the person's earlier links, store a new one and queue its e-mail. Call inside
    a write transaction. Returns the link's id."""
    settings = get_settings()
    now = clock.now()
    lifetime = (
        timedelta(days=settings.invitation_days)
        if purpose is AccountLinkPurpose.invitation
        else timedelta(minutes=settings.reset_link_minutes)
    )
    expires_at = now + lifetime
    nonce = secrets.token_urlsafe(24)
    await AccountLink.update({AccountLink.ended_at: now}).where(
        (AccountLink.person == person["id"]) & AccountLink.ended_at.is_null()
    )
    row = await AccountLink.insert(
        AccountLink(
            person=person["id"],
            purpose=purpose.value,
            token_hash=token_hash(token_for(nonce)),
            created_at=now,
            created_by=actor_id,
            expires_at=expires_at,
        )
    ).returning(AccountLink.id)
    if purpose is AccountLinkPurpose.invitation:
        has_provider = await providers.provider_for_email(person["email"]) is not None
        subject, body = compose_invitation(
            person["full_name"], person["email"], placeholder(nonce), expires_at,
            provider_login=settings.base_url + "/login" if has_provider else None,
        )
        kind = NoticeKind.invitation
    else:
        subject, body = compose_reset(person["full_name"], placeholder(nonce), expires_at)
        kind = NoticeKind.password_reset
    await Notice.insert(
        Notice(
            recipient=person["id"],
            email=person["email"],
            subject=subject,
            body=body,
            session=None,
            kind=kind.value,
            created_at=now,
            attempts=0,
            next_attempt_at=now,
        )
    )
    await audit.record(actor_id, f"account_link.{purpose.value}", "person", person["id"])
    return row[0]["id"]


async def _person(person_id: int) -> dict | None:
    return await Person.select(
        Person.id, Person.email, Person.full_name, Person.is_active, Person.password_hash, Person.last_login_at
    ).where(Person.id == person_id).first()


def has_signed_in(person: dict) -> bool:
    return person["last_login_at"] is not None


async def invite(actor_id: int | None, person_id: int) -> int:
    """Send (again) an invitation to a person who has not signed in yet: a link to set
    a password, by e-mail through the outbox. Ends any earlier link of theirs. Returns
    the link's id. Raises Invalid when the person is inactive or has signed in before
    (they use "Glemt adgangskode" instead). Who may invite whom: `intro.access`."""
    async with write_transaction(Person._meta.db):
        person = await _person(person_id)
        if person is None or not person["is_active"]:
            raise Invalid({"person": _("Personen er ikke aktiv og kan ikke inviteres.")})
        if has_signed_in(person):
            raise Invalid(
                {"person": _("Personen har allerede logget ind. Glemt adgangskode findes på login-siden.")}
            )
        return await _issue(person, AccountLinkPurpose.invitation, actor_id)


async def invite_if_needed(actor_id: int | None, person_id: int) -> bool:
    """Invite a person who cannot sign in yet (active, no password, never signed in)
    and has no live link. True if an invitation was queued. Joins the caller's
    transaction (enrolment, HR import), so the invitation is written with the change."""
    person = await _person(person_id)
    if (
        person is None
        or not person["is_active"]
        or person["password_hash"] is not None
        or has_signed_in(person)
        or await privacy.restricted_among([person_id])  # GDPR art. 18: no mail
    ):
        return False
    if await AccountLink.exists().where((AccountLink.person == person_id) & _LIVE_NOW(clock.now())):
        return False
    async with write_transaction(Person._meta.db):
        await _issue(person, AccountLinkPurpose.invitation, actor_id)
    return True


class Throttled(Exception):
    """Too many reset requests lately, from this address or this client."""


RESET_THROTTLED = _(
    "Der er bedt om en ny adgangskode for mange gange. Vent {minutes} minutter, og prøv igen."
)


async def request_reset(email: str, remote_addr: str = "") -> None:
    """Someone asks for a reset link for `email`. If an active person who may sign in
    with a password has that address, a link is queued for them; otherwise nothing is sent. Returns None either way: the
    caller shows the same answer. Raises Throttled (for any address, existing or not)
    after `reset_max_per_address` requests for the address or `reset_max_per_client`
    from the client within `reset_window_minutes`."""
    settings = get_settings()
    email = normalise_email(email)[:254]
    remote_addr = (remote_addr or "")[:64]
    now = clock.now()
    since = now - timedelta(minutes=settings.reset_window_minutes)
    async with write_transaction(PasswordResetRequest._meta.db):
        recent = PasswordResetRequest.count().where(PasswordResetRequest.requested_at > since)
        if await recent.where(PasswordResetRequest.email == email) >= settings.reset_max_per_address:
            raise Throttled(RESET_THROTTLED.format(minutes=settings.reset_window_minutes))
        if remote_addr and await PasswordResetRequest.count().where(
            (PasswordResetRequest.requested_at > since) & (PasswordResetRequest.remote_addr == remote_addr)
        ) >= settings.reset_max_per_client:
            raise Throttled(RESET_THROTTLED.format(minutes=settings.reset_window_minutes))
        await PasswordResetRequest.insert(
            PasswordResetRequest(email=email, remote_addr=remote_addr, requested_at=now)
        )
        # Old requests say nothing any more; keep the table small.
        await PasswordResetRequest.delete().where(PasswordResetRequest.requested_at < now - timedelta(days=1))
        person = await Person.select(
            Person.id, Person.email, Person.full_name, Person.is_active
        ).where(Person.email == email).first()
        # A password would be no use to someone whose municipality allows its own
        # sign-in only: nothing is sent (the answer is the same).
        if person is not None and person["is_active"] and await providers.password_allowed(person["id"]):
            await _issue(person, AccountLinkPurpose.reset, None)


# --------------------------------------------------------------------------------------
# Using a link


class LinkProblem(StrEnum):
    unknown = "unknown"  # never issued, mistyped, or its person is gone or inactive
    used = "used"  # used, or ended by a newer link or a changed password
    expired = "expired"


LINK_PROBLEMS = {
    LinkProblem.unknown: _("Linket findes ikke. Tjek, at du har kopieret hele linket fra e-mailen."),
    LinkProblem.used: _(
        "Linket er allerede brugt eller erstattet af et nyere. Bed om et nyt, hvis du stadig "
        "mangler en adgangskode."
    ),
    LinkProblem.expired: _("Linket er udløbet. Bed om et nyt."),
}


class LinkRefused(Exception):
    def __init__(self, problem: LinkProblem):
        super().__init__(LINK_PROBLEMS[problem])
        self.problem = problem


@dataclass(frozen=True)
class LinkHolder:
    person_id: int
    email: str
    full_name: str
    purpose: AccountLinkPurpose
    expires_at: datetime


async def _lookup(token: str) -> dict | None:
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    return await AccountLink.select(
        AccountLink.id,
        AccountLink.person,
        AccountLink.purpose,
        AccountLink.expires_at,
        AccountLink.ended_at,
        AccountLink.person.email,
        AccountLink.person.full_name,
        AccountLink.person.is_active,
    ).where(AccountLink.token_hash == token_hash(token)).first()


def _problem(link: dict | None, now: datetime) -> LinkProblem | None:
    """Why a link does not work now, or None if it does."""
    if link is None or not link["person.is_active"]:
        return LinkProblem.unknown
    if link["ended_at"] is not None:
        return LinkProblem.used
    if link["expires_at"] <= now:
        return LinkProblem.expired
    return None


async def holder_of(token: str) -> LinkHolder:
    """Whose link this is, without using it (a mail scanner that opens links must not
    spend them). Raises LinkRefused."""
    link = await _lookup(token)
    problem = _problem(link, clock.now())
    if problem is not None:
        raise LinkRefused(problem)
    return LinkHolder(
        person_id=link["person"],
        email=link["person.email"],
        full_name=link["person.full_name"],
        purpose=AccountLinkPurpose(link["purpose"]),
        expires_at=link["expires_at"],
    )


def check_new_password(password: str, repeated: str) -> dict[str, str]:
    """Field errors for a chosen password (empty if it is fine)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        return {"password": _("Adgangskoden skal være mindst {n} tegn.").format(n=MIN_PASSWORD_LENGTH)}
    if len(password) > 1024:
        return {"password": _("Adgangskoden må højst være 1024 tegn.")}
    if password != repeated:
        return {"password_repeat": _("De to adgangskoder er ikke ens. Skriv den samme i begge felter.")}
    return {}


async def set_password_with_link(token: str, password: str, repeated: str) -> int:
    """Use a link: set the person's password, end the link, their other links and all
    their sign-in sessions, in one transaction. Returns the person's id.

    Raises Invalid (nothing changed, the link still works) for a password that is too
    short or not repeated alike, LinkRefused for a link that does not work."""
    errors = check_new_password(password, repeated)
    if errors:
        await holder_of(token)  # a dead link is the bigger news
        raise Invalid(errors)
    now = clock.now()
    async with write_transaction(AccountLink._meta.db):
        link = await _lookup(token)
        problem = _problem(link, now)
        if problem is not None:
            raise LinkRefused(problem)
        # The check again, in the UPDATE itself: of two concurrent uses only one
        # gets the row back.
        used = await AccountLink.update({AccountLink.used_at: now, AccountLink.ended_at: now}).where(
            (AccountLink.id == link["id"]) & _LIVE_NOW(now)
        ).returning(AccountLink.id)
        if not used:
            raise LinkRefused(LinkProblem.used)
        # Ends every other link and every session of the person, and audits it.
        await set_password(link["person"], link["person"], password)
        await audit.record(link["person"], f"account_link.used.{link['purpose']}", "person", link["person"])
    return link["person"]


# --------------------------------------------------------------------------------------
# Who has not signed in yet (the invitations page)


async def not_signed_in(person_ids: set[int], limit: int = 500) -> list[dict]:
    """Active people among `person_ids` who have never signed in, by name, each with
    when their latest invitation was made and whether it still works."""
    if not person_ids:
        return []
    people = await Person.select(Person.id, Person.email, Person.full_name, Person.created_at).where(
        Person.id.is_in(sorted(person_ids))
        & Person.last_login_at.is_null()
        & (Person.is_active == True)  # noqa: E712
    ).order_by(Person.full_name, Person.id).limit(limit)
    if not people:
        return []
    now = clock.now()
    links = await AccountLink.select(
        AccountLink.person, AccountLink.created_at, AccountLink.expires_at, AccountLink.ended_at
    ).where(AccountLink.person.is_in([p["id"] for p in people])).order_by(AccountLink.created_at)
    latest = {link["person"]: link for link in links}  # ordered: the newest wins
    for p in people:
        link = latest.get(p["id"])
        p["invited_at"] = link["created_at"] if link else None
        p["link_works"] = bool(link and link["ended_at"] is None and link["expires_at"] > now)
        p["link_expires_at"] = link["expires_at"] if link else None
    return people
