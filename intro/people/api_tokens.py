"""API tokens for HR systems: one municipality each.

A token is 192 random bits shown once when it is made; only its SHA-256 is stored, so
a copy of the database gives nobody access. Revoking is immediate. A token carries no
person's rights: it can read and write employments of its own municipality and nothing
else, and every change made with it is logged with the token's name.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, timedelta

from intro import audit, clock
from intro.db import write_transaction
from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.tables import ApiToken

PREFIX = "intro_"
# Writing "last used" on every call would make each read a write; once a minute tells
# the chief the same thing.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenScope:
    token_id: int
    name: str
    municipality_id: int
    municipality_code: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(actor_id: int, municipality_id: int, name: str) -> str:
    """Make a token; returns it (the only time it is seen)."""
    name = (name or "").strip()
    if not name:
        raise Invalid({"name": _("Giv nøglen et navn, fx navnet på HR-systemet.")})
    if len(name) > 120:
        raise Invalid({"name": _("Navnet må højst være 120 tegn.")})
    token = PREFIX + secrets.token_urlsafe(24)
    async with write_transaction(ApiToken._meta.db):
        row = await ApiToken.insert(
            ApiToken(
                municipality=municipality_id, name=name, token_hash=_hash(token), created_by=actor_id
            )
        ).returning(ApiToken.id)
        await audit.record(
            actor_id, "api_token.create", "api_token", row[0]["id"],
            name=name, municipality=municipality_id,
        )
    return token


async def revoke_token(actor_id: int, municipality_id: int, token_id: int) -> None:
    async with write_transaction(ApiToken._meta.db):
        token = await ApiToken.select(ApiToken.id, ApiToken.name, ApiToken.revoked_at).where(
            (ApiToken.id == token_id) & (ApiToken.municipality == municipality_id)
        ).first()
        if token is None:
            raise NotFound()
        if token["revoked_at"] is not None:
            return
        await ApiToken.update(
            {ApiToken.revoked_at: clock.now(), ApiToken.revoked_by: actor_id}
        ).where(ApiToken.id == token_id)
        await audit.record(
            actor_id, "api_token.revoke", "api_token", token_id,
            name=token["name"], municipality=municipality_id,
        )


async def tokens_of(municipality_id: int) -> list[dict]:
    return await ApiToken.select(
        ApiToken.id,
        ApiToken.name,
        ApiToken.created_at,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        ApiToken.created_by.full_name.as_alias("created_by_name"),
    ).where(ApiToken.municipality == municipality_id).order_by(ApiToken.created_at, ascending=False)


async def resolve(token: str | None) -> TokenScope | None:
    """The live token's scope, or None for an unknown or revoked token."""
    if not token or len(token) > 200 or not token.startswith(PREFIX):
        return None
    row = await ApiToken.select(
        ApiToken.id,
        ApiToken.name,
        ApiToken.municipality,
        ApiToken.last_used_at,
        ApiToken.municipality.code.as_alias("code"),
    ).where((ApiToken.token_hash == _hash(token)) & ApiToken.revoked_at.is_null()).first()
    if row is None:
        return None
    now = clock.now()
    last = row["last_used_at"]
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    if last is None or last < now - TOUCH_EVERY:
        await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == row["id"])
    return TokenScope(
        token_id=row["id"], name=row["name"], municipality_id=row["municipality"], municipality_code=row["code"]
    )
