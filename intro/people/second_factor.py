"""A second factor after the password: an authenticator app (TOTP, RFC 6238, by pyotp)
with one-time recovery codes (issue 16, section 4).

Rules:
- Who must: admins and chiefs, when `second_factor_required` is set (they see personal
  data across a municipality). Anyone may set one up. Not asked after a sign-in through
  the municipality's provider: the provider handles that (`intro.people.providers`).
- A code is accepted once: the step it belongs to must be later than the last step
  accepted (`SecondFactor.last_step`), so a code seen over a shoulder cannot be replayed.
  Codes of the step before and after are accepted (30 s of clock difference).
- A recovery code works once; only its hash is stored. New codes replace all old ones.
- A sign-in waiting for a code (`SecondFactorChallenge`) lasts CHALLENGE_MINUTES and
  allows CHALLENGE_TRIES wrong codes; then the password must be typed again.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import pyotp
import segno

from intro import audit, clock
from intro.db import write_transaction
from intro.errors import Invalid
from intro.i18n import _
from intro.settings import get_settings
from intro.tables import RecoveryCode, Role, RoleGrant, SecondFactor, SecondFactorChallenge

ISSUER_NAME = "Intro"
RECOVERY_CODES = 10
CHALLENGE_MINUTES = 10
CHALLENGE_TRIES = 5
WRONG_CODE = _("Koden er forkert eller allerede brugt. Skriv den kode, din app viser nu.")
TOO_MANY = _("For mange forkerte koder. Log ind med din adgangskode igen.")


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _normalised(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch.isalnum()).lower()[:32]


async def required_for(person_id: int) -> bool:
    """Must this person use a second factor after their password?"""
    if not get_settings().second_factor_required:
        return False
    return await RoleGrant.exists().where(
        (RoleGrant.person == person_id) & RoleGrant.role.is_in([Role.admin.value, Role.chief.value])
    )


async def is_enabled(person_id: int) -> bool:
    return await SecondFactor.exists().where(
        (SecondFactor.person == person_id) & SecondFactor.confirmed_at.is_not_null()
    )


async def asked_at_sign_in(person_id: int) -> bool:
    """After a right password: ask for a code (or to set the app up)?"""
    return await is_enabled(person_id) or await required_for(person_id)


# --------------------------------------------------------------------------------------
# Setting the app up


async def pending_secret(person_id: int, create: bool = True) -> str | None:
    """The secret of the person's app while it is being set up (made on first call, or
    None when `create` is false and none is made yet). Raises Invalid if an app is
    already set up."""
    row = await SecondFactor.select(SecondFactor.secret, SecondFactor.confirmed_at).where(
        SecondFactor.person == person_id
    ).first()
    if row and row["confirmed_at"] is not None:
        raise Invalid({"code": _("Du har allerede en godkendelsesapp sat op.")})
    if row:
        return row["secret"]
    if not create:
        return None
    secret = pyotp.random_base32()
    await SecondFactor.insert(SecondFactor(person=person_id, secret=secret, last_step=0))
    return secret


def provisioning(email: str, secret: str) -> tuple[str, str]:
    """(otpauth:// URI for the app, the same as a QR code in an SVG data URI)."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER_NAME)
    return uri, segno.make(uri, error="m").svg_data_uri(scale=4)


def _step_of(secret: str, code: str) -> int | None:
    """The 30-second step whose code this is (the one before, now or the one after)."""
    totp = pyotp.TOTP(secret)
    code = _normalised(code)
    if len(code) != 6 or not code.isdigit():
        return None
    now = clock.now()
    for offset in (-1, 0, 1):
        at = now + timedelta(seconds=offset * totp.interval)
        if secrets.compare_digest(totp.at(at), code):
            return totp.timecode(at)
    return None


async def confirm_setup(person_id: int, code: str) -> list[str]:
    """Turn the app on with a code from it; returns the new recovery codes (shown once).
    Raises Invalid (field "code") for a wrong code."""
    async with write_transaction(SecondFactor._meta.db):
        secret = await pending_secret(person_id)
        step = _step_of(secret, code)
        if step is None:
            raise Invalid({"code": WRONG_CODE})
        await SecondFactor.update({SecondFactor.confirmed_at: clock.now(), SecondFactor.last_step: step}).where(
            SecondFactor.person == person_id
        )
        codes = await _new_recovery_codes(person_id)
        await audit.record(person_id, "second_factor.enable", "person", person_id)
    return codes


async def _new_recovery_codes(person_id: int) -> list[str]:
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    await RecoveryCode.delete().where(RecoveryCode.person == person_id)
    await RecoveryCode.insert(*[RecoveryCode(person=person_id, code_hash=_hash(_normalised(c))) for c in codes])
    return codes


async def new_recovery_codes(person_id: int) -> list[str]:
    """Replace the person's recovery codes; returns the new ones (shown once)."""
    if not await is_enabled(person_id):
        raise Invalid({"code": _("Sæt først en godkendelsesapp op.")})
    async with write_transaction(RecoveryCode._meta.db):
        codes = await _new_recovery_codes(person_id)
        await audit.record(person_id, "second_factor.recovery_codes", "person", person_id)
    return codes


async def recovery_codes_left(person_id: int) -> int:
    return await RecoveryCode.count().where((RecoveryCode.person == person_id) & RecoveryCode.used_at.is_null())


async def disable(person_id: int) -> None:
    """Turn the app off. Raises Invalid for someone who must use one."""
    if await required_for(person_id):
        raise Invalid({"code": _("Du skal bruge en godkendelsesapp, fordi du kan se persondata for en hel kommune.")})
    async with write_transaction(SecondFactor._meta.db):
        await SecondFactor.delete().where(SecondFactor.person == person_id)
        await RecoveryCode.delete().where(RecoveryCode.person == person_id)
        await audit.record(person_id, "second_factor.disable", "person", person_id)


async def check_code(person_id: int, code: str) -> bool:
    """Accept a code from the person's app (each step once) or an unused recovery code
    (then used up). False for anything else."""
    async with write_transaction(SecondFactor._meta.db):
        row = await SecondFactor.select(SecondFactor.secret, SecondFactor.last_step).where(
            (SecondFactor.person == person_id) & SecondFactor.confirmed_at.is_not_null()
        ).first()
        if row is None:
            return False
        step = _step_of(row["secret"], code)
        if step is not None:
            # Only a later step than the last one accepted: a code works once.
            accepted = await SecondFactor.update({SecondFactor.last_step: step}).where(
                (SecondFactor.person == person_id) & (SecondFactor.last_step < step)
            ).returning(SecondFactor.id)
            return bool(accepted)
        used = await RecoveryCode.update({RecoveryCode.used_at: clock.now()}).where(
            (RecoveryCode.person == person_id)
            & (RecoveryCode.code_hash == _hash(_normalised(code)))
            & RecoveryCode.used_at.is_null()
        ).returning(RecoveryCode.id)
        if used:
            await audit.record(person_id, "second_factor.recovery_code_used", "person", person_id)
        return bool(used)


# --------------------------------------------------------------------------------------
# A sign-in waiting for a code


async def open_challenge(person_id: int, next_path: str) -> str:
    """After a right password: a token for the browser (a cookie) that stands for "this
    person, waiting for a code". Only its hash is stored."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    await SecondFactorChallenge.delete().where(SecondFactorChallenge.expires_at < now)
    await SecondFactorChallenge.insert(
        SecondFactorChallenge(
            token_hash=_hash(token), person=person_id, next_path=next_path[:500],
            expires_at=now + timedelta(minutes=CHALLENGE_MINUTES), failures=0,
        )
    )
    return token


async def challenge(token: str | None) -> dict | None:
    """The waiting sign-in ("person", "next_path") or None if unknown or expired."""
    if not token or len(token) > 100:
        return None
    return await SecondFactorChallenge.select(
        SecondFactorChallenge.id, SecondFactorChallenge.person, SecondFactorChallenge.next_path
    ).where(
        (SecondFactorChallenge.token_hash == _hash(token)) & (SecondFactorChallenge.expires_at > clock.now())
    ).first()


async def close_challenge(challenge_id: int) -> None:
    await SecondFactorChallenge.delete().where(SecondFactorChallenge.id == challenge_id)


class ChallengeEnded(Exception):
    """Too many wrong codes: the waiting sign-in is gone."""


async def count_failure(challenge_id: int) -> None:
    """One more wrong code. Raises ChallengeEnded (and ends it) at CHALLENGE_TRIES."""
    rows = await SecondFactorChallenge.update(
        {SecondFactorChallenge.failures: SecondFactorChallenge.failures + 1}
    ).where(SecondFactorChallenge.id == challenge_id).returning(SecondFactorChallenge.failures)
    if not rows or rows[0]["failures"] >= CHALLENGE_TRIES:
        await close_challenge(challenge_id)
        raise ChallengeEnded(TOO_MANY)
