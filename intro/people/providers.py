"""Signing in through a municipality's own identity provider, by OpenID Connect
(issue 16, section 1).

The flow is the authorization code flow with PKCE, `state` and `nonce`:

1. `start` looks the provider up, makes a random state, nonce and PKCE verifier, keeps
   them in a `ProviderSignIn` row (the state only as a hash) and returns the provider's
   authorization URL (built by Authlib). The browser also keeps the state in a cookie.
2. `finish` takes the provider's answer: the state must match the browser's cookie and
   a row not yet used (the row is deleted on first use, so an answer replayed fails);
   the code is exchanged for tokens (Authlib, client secret from the environment); the
   ID token is verified with the provider's published keys (joserfc, Authlib's JOSE
   library): signature, issuer, audience, expiry and nonce (`verify_id_token`).
3. The e-mail address must be verified by the provider, in one of the domains the admin
   allowed, and belong to an active person **of that municipality** (a role or an
   employment there): the provider vouches for an address; it never creates people or
   roles, and cannot take over someone of another municipality (`person_for`).

Every refusal is a `ProviderRefused` with a Danish message for the person.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import warnings
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from joserfc import errors as jose_errors
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

# Authlib 1.9 warns on import that it runs on httpx rather than its fork httpx2. Intro
# uses httpx (Litestar's test client does too) and the warning said nothing to whoever
# ran `make run`; the same filter is in pyproject for the tests.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "The httpx module is deprecated", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from intro import audit, clock
from intro.db import write_transaction
from intro.errors import Invalid
from intro.i18n import _
from intro.people.accounts import EMAIL_PATTERN, normalise_email
from intro.settings import OIDC_SECRET_NAME, get_settings, oidc_client_secret
from intro.tables import (
    Employment,
    IdentityProvider,
    Municipality,
    Person,
    ProviderSignIn,
    Role,
    RoleGrant,
)

CALLBACK_PATH = "/login/provider/callback"
SIGN_IN_MINUTES = 10  # from the redirect to the provider until its answer must be back
NETWORK_TIMEOUT = 10.0  # seconds for each call to a provider
CLOCK_LEEWAY = 60  # seconds of clock difference allowed between Intro and a provider
METADATA_SECONDS = 600  # how long a provider's discovery document and keys are reused
ALGORITHMS = ["RS256", "PS256", "ES256"]
DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class ProviderRefused(Exception):
    """A sign-in through a provider failed; the message is for the person."""


PROVIDER_DOWN = _(
    "Kommunens login svarer ikke lige nu. Prøv igen om lidt, eller log ind med adgangskode, "
    "hvis du har en."
)
STATE_MISMATCH = _(
    "Login-forsøget passer ikke til denne browser, eller det er allerede brugt. Start forfra "
    "fra login-siden."
)
WRONG_AUDIENCE = _("Svaret fra kommunens login var ikke til Intro (forkert modtager). Du er ikke logget ind.")
EXPIRED = _("Svaret fra kommunens login er udløbet. Start forfra fra login-siden.")
NONCE_MISMATCH = _("Svaret fra kommunens login hører til et andet login-forsøg. Start forfra fra login-siden.")
NOT_VERIFIED = _("Kommunens login har ikke bekræftet din e-mailadresse, så Intro kan ikke bruge den.")
OUTSIDE_DOMAINS = _("E-mailadressen {email} hører ikke til de domæner, {municipality} har godkendt til login.")
NO_PERSON = _(
    "Der er ingen aktiv bruger i Intro med e-mailadressen {email} i {municipality}. Kontakt din koordinator."
)
BAD_TOKEN = _("Svaret fra kommunens login kunne ikke godkendes. Du er ikke logget ind.")
DENIED = _("Kommunens login afviste login-forsøget. Du er ikke logget ind.")


@dataclass(frozen=True)
class Provider:
    id: int
    municipality_id: int
    municipality_name: str
    issuer: str
    client_id: str
    client_secret_env: str
    allowed_domains: tuple[str, ...]
    password_sign_in: bool

    def allows(self, email: str) -> bool:
        return email.rpartition("@")[2] in self.allowed_domains


_COLUMNS = (
    IdentityProvider.id,
    IdentityProvider.municipality,
    IdentityProvider.municipality.name,
    IdentityProvider.issuer,
    IdentityProvider.client_id,
    IdentityProvider.client_secret_env,
    IdentityProvider.allowed_domains,
    IdentityProvider.password_sign_in,
)


def _provider(row: dict) -> Provider:
    return Provider(
        id=row["id"],
        municipality_id=row["municipality"],
        municipality_name=row["municipality.name"],
        issuer=row["issuer"],
        client_id=row["client_id"],
        client_secret_env=row["client_secret_env"],
        allowed_domains=tuple(row["allowed_domains"].split()),
        password_sign_in=row["password_sign_in"],
    )


async def all_providers() -> list[Provider]:
    rows = await IdentityProvider.select(*_COLUMNS).order_by(IdentityProvider.municipality.name)
    return [_provider(r) for r in rows]


async def provider_of(municipality_id: int) -> Provider | None:
    row = await IdentityProvider.select(*_COLUMNS).where(IdentityProvider.municipality == municipality_id).first()
    return _provider(row) if row else None


async def provider_for_email(email: str) -> Provider | None:
    """The provider whose allowed domains hold the address's domain. Domains are
    unique among providers (`save_provider`), so there is at most one."""
    domain = normalise_email(email).rpartition("@")[2]
    if not domain:
        return None
    return next((p for p in await all_providers() if domain in p.allowed_domains), None)


# --------------------------------------------------------------------------------------
# Setting a provider up (admin)


def _valid_issuer(issuer: str) -> bool:
    parts = urlsplit(issuer)
    if parts.scheme == "https" and parts.hostname:
        return True
    # Plain http only on this machine (development and tests): never across a network.
    return parts.scheme == "http" and parts.hostname in LOOPBACK


async def save_provider(
    actor_id: int | None,
    municipality_id: int,
    *,
    issuer: str,
    client_id: str,
    client_secret_env: str,
    allowed_domains: str,
    password_sign_in: bool,
) -> int:
    """Set up (or change) a municipality's provider. Raises Invalid naming each bad
    field: an issuer that is not an https URL (http only on loopback), an empty client
    id, a secret variable not named INTRO_OIDC_…, no domain or a malformed one, or a
    domain another municipality's provider already has. Returns the provider's id."""
    issuer = (issuer or "").strip().rstrip("/")
    client_id = (client_id or "").strip()
    client_secret_env = (client_secret_env or "").strip()
    domains = sorted({d.strip().lower().lstrip("@") for d in re.split(r"[\s,;]+", allowed_domains or "") if d.strip()})
    errors: dict[str, str] = {}
    if not _valid_issuer(issuer) or len(issuer) > 500:
        errors["issuer"] = _("Skriv udbyderens adresse (issuer) som en https-adresse, fx https://login.microsoftonline.com/<tenant>/v2.0.")
    if not client_id or len(client_id) > 200:
        errors["client_id"] = _("Skriv det klient-id, udbyderen har givet Intro.")
    if not OIDC_SECRET_NAME.fullmatch(client_secret_env):
        errors["client_secret_env"] = _(
            "Skriv navnet på den miljøvariabel, der har klienthemmeligheden, fx INTRO_OIDC_SLAGELSE "
            "(store bogstaver, tal og _, og det skal begynde med INTRO_OIDC_)."
        )
    bad = [d for d in domains if not DOMAIN_PATTERN.match(d)]
    if not domains or bad:
        errors["allowed_domains"] = _("Skriv de e-maildomæner, udbyderen må logge ind for, fx slagelse.dk.")
    if not await Municipality.exists().where(Municipality.id == municipality_id):
        errors["municipality"] = _("Kommunen findes ikke.")
    if not errors:
        taken = [
            d
            for p in await all_providers()
            if p.municipality_id != municipality_id
            for d in p.allowed_domains
            if d in domains
        ]
        if taken:
            errors["allowed_domains"] = _("Domænet {domain} bruges allerede af en anden kommunes login.").format(
                domain=taken[0]
            )
    if errors:
        raise Invalid(errors)
    values = {
        IdentityProvider.issuer: issuer,
        IdentityProvider.client_id: client_id,
        IdentityProvider.client_secret_env: client_secret_env,
        IdentityProvider.allowed_domains: " ".join(domains),
        IdentityProvider.password_sign_in: bool(password_sign_in),
        IdentityProvider.updated_at: clock.now(),
    }
    async with write_transaction(IdentityProvider._meta.db):
        existing = await IdentityProvider.select(IdentityProvider.id).where(
            IdentityProvider.municipality == municipality_id
        ).first()
        if existing:
            await IdentityProvider.update(values).where(IdentityProvider.id == existing["id"])
            provider_id = existing["id"]
        else:
            row = await IdentityProvider.insert(
                IdentityProvider(municipality=municipality_id, **{c._meta.name: v for c, v in values.items()})
            ).returning(IdentityProvider.id)
            provider_id = row[0]["id"]
        # The secret's name is configuration, not a secret; the secret itself is never here.
        await audit.record(
            actor_id, "identity_provider.save", "municipality", municipality_id,
            issuer=issuer, client_id=client_id, client_secret_env=client_secret_env,
            allowed_domains=" ".join(domains), password_sign_in=bool(password_sign_in),
        )
    return provider_id


async def password_allowed(person_id: int) -> bool:
    """False when the person belongs (by a role or an employment) to a municipality whose
    provider has password sign-in switched off. Administrators always keep their
    password: somebody must be able to get in when a provider is down."""
    grants = await RoleGrant.select(RoleGrant.role, RoleGrant.municipality).where(RoleGrant.person == person_id)
    if any(g["role"] == Role.admin.value for g in grants):
        return True
    municipalities = {g["municipality"] for g in grants if g["municipality"]}
    municipalities |= {
        e["municipality"]
        for e in await Employment.select(Employment.municipality).where(Employment.person == person_id)
    }
    if not municipalities:
        return True
    return not await IdentityProvider.exists().where(
        IdentityProvider.municipality.is_in(sorted(municipalities)) & (IdentityProvider.password_sign_in == False)  # noqa: E712
    )


PASSWORD_OFF = _("Din kommune bruger sit eget login. Brug «Log ind med din kommunes login».")


# --------------------------------------------------------------------------------------
# Talking to the provider

_metadata_cache: dict[str, tuple[float, dict, dict]] = {}


async def _get_json(client: httpx.AsyncClient, url: str) -> dict:
    response = await client.get(url)
    response.raise_for_status()
    return response.json()


async def provider_metadata(issuer: str, *, refresh: bool = False) -> tuple[dict, dict]:
    """(discovery document, JWKS) of a provider, reused for METADATA_SECONDS. Raises
    ProviderRefused(PROVIDER_DOWN) when either cannot be fetched, or the document names
    another issuer."""
    cached = _metadata_cache.get(issuer)
    if cached and not refresh and time.monotonic() - cached[0] < METADATA_SECONDS:
        return cached[1], cached[2]
    try:
        async with httpx.AsyncClient(timeout=NETWORK_TIMEOUT) as client:
            document = await _get_json(client, issuer + "/.well-known/openid-configuration")
            jwks = await _get_json(client, document["jwks_uri"])
    except (httpx.HTTPError, ValueError, KeyError) as error:
        raise ProviderRefused(PROVIDER_DOWN) from error
    if document.get("issuer") != issuer:
        raise ProviderRefused(PROVIDER_DOWN)
    _metadata_cache[issuer] = (time.monotonic(), document, jwks)
    return document, jwks


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def callback_url() -> str:
    return get_settings().base_url + CALLBACK_PATH


def _client(provider: Provider) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=oidc_client_secret(provider.client_secret_env),
        scope="openid email profile",
        redirect_uri=callback_url(),
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
        timeout=NETWORK_TIMEOUT,
    )


async def start(provider: Provider, next_path: str = "/") -> tuple[str, str]:
    """Begin a sign-in through `provider`. Returns (the provider's authorization URL to
    send the browser to, the state for the browser's cookie). Raises ProviderRefused
    when the provider cannot be reached."""
    document, _jwks = await provider_metadata(provider.issuer)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    now = clock.now()
    await ProviderSignIn.delete().where(ProviderSignIn.expires_at < now)
    await ProviderSignIn.insert(
        ProviderSignIn(
            state_hash=_hash(state),
            provider=provider.id,
            nonce=nonce,
            code_verifier=verifier,
            next_path=next_path[:500],
            expires_at=now + timedelta(minutes=SIGN_IN_MINUTES),
        )
    )
    async with _client(provider) as client:
        url, _state = client.create_authorization_url(
            document["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
        )
    return url, state


def verify_id_token(id_token: str, jwks: dict, *, issuer: str, client_id: str, nonce: str, now: int | None = None) -> dict:
    """The claims of an ID token, after checking its signature against the provider's
    keys (JWKS) and its issuer, audience (and authorized party), expiry and nonce.
    `now` is seconds since the epoch (default: the clock). Raises ProviderRefused with
    the reason for the person."""
    try:
        token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=ALGORITHMS)
    except (jose_errors.JoseError, ValueError) as error:
        raise ProviderRefused(BAD_TOKEN) from error
    claims = token.claims
    at = int(clock.now().timestamp()) if now is None else now
    registry = jwt.JWTClaimsRegistry(
        now=at,
        leeway=CLOCK_LEEWAY,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        nonce={"essential": True},
    )
    try:
        registry.validate(claims)
    except jose_errors.ExpiredTokenError as error:
        raise ProviderRefused(EXPIRED) from error
    except jose_errors.ClaimError as error:
        if getattr(error, "claim", None) == "aud":
            raise ProviderRefused(WRONG_AUDIENCE) from error
        raise ProviderRefused(BAD_TOKEN) from error
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise ProviderRefused(WRONG_AUDIENCE)
    if not secrets.compare_digest(str(claims["nonce"]), nonce):
        raise ProviderRefused(NONCE_MISMATCH)
    return claims


async def _take_sign_in(state: str, cookie_state: str | None) -> dict:
    """The sign-in under way for this state, deleted as it is taken (used once)."""
    if not state or not cookie_state or not secrets.compare_digest(state, cookie_state):
        raise ProviderRefused(STATE_MISMATCH)
    async with write_transaction(ProviderSignIn._meta.db):
        taken = await ProviderSignIn.delete().where(
            (ProviderSignIn.state_hash == _hash(state)) & (ProviderSignIn.expires_at > clock.now())
        ).returning(
            ProviderSignIn.provider, ProviderSignIn.nonce, ProviderSignIn.code_verifier, ProviderSignIn.next_path
        )
    if not taken:
        raise ProviderRefused(STATE_MISMATCH)
    return taken[0]


async def _claims_from_provider(provider: Provider, sign_in: dict, code: str) -> dict:
    document, jwks = await provider_metadata(provider.issuer)
    try:
        async with _client(provider) as client:
            tokens = await client.fetch_token(
                document["token_endpoint"], code=code, code_verifier=sign_in["code_verifier"]
            )
            id_token = tokens.get("id_token")
            if not id_token:
                raise ProviderRefused(BAD_TOKEN)
            header_kid = extract_compact(id_token.encode()).headers().get("kid")
            if header_kid and header_kid not in {k.get("kid") for k in jwks.get("keys", [])}:
                # The provider has rolled its keys since we fetched them.
                document, jwks = await provider_metadata(provider.issuer, refresh=True)
            claims = verify_id_token(
                id_token, jwks, issuer=provider.issuer, client_id=provider.client_id, nonce=sign_in["nonce"]
            )
            if "email" not in claims and document.get("userinfo_endpoint"):
                info = (await client.get(document["userinfo_endpoint"])).json()
                if info.get("sub") != claims["sub"]:
                    raise ProviderRefused(BAD_TOKEN)
                claims = {**info, **claims}
    except ProviderRefused:
        raise
    except httpx.HTTPError as error:
        raise ProviderRefused(PROVIDER_DOWN) from error
    except Exception as error:  # an OAuth error answer from the token endpoint
        raise ProviderRefused(BAD_TOKEN) from error
    return claims


async def person_for(provider: Provider, claims: dict) -> int:
    """The person the verified claims belong to: an active person with that e-mail
    address who belongs to the provider's municipality (a role or an employment there).
    Raises ProviderRefused otherwise."""
    email = normalise_email(str(claims.get("email") or ""))
    if not EMAIL_PATTERN.match(email) or claims.get("email_verified") not in (True, "true"):
        raise ProviderRefused(NOT_VERIFIED)
    if not provider.allows(email):
        raise ProviderRefused(OUTSIDE_DOMAINS.format(email=email, municipality=provider.municipality_name))
    person = await Person.select(Person.id, Person.is_active).where(Person.email == email).first()
    belongs = person is not None and (
        await RoleGrant.exists().where(
            (RoleGrant.person == person["id"]) & (RoleGrant.municipality == provider.municipality_id)
        )
        or await Employment.exists().where(
            (Employment.person == person["id"]) & (Employment.municipality == provider.municipality_id)
        )
    )
    if not belongs or not person["is_active"]:
        raise ProviderRefused(NO_PERSON.format(email=email, municipality=provider.municipality_name))
    return person["id"]


@dataclass(frozen=True)
class SignedIn:
    person_id: int
    next_path: str


async def finish(*, state: str, cookie_state: str | None, code: str, error: str = "") -> SignedIn:
    """Complete a sign-in from the provider's answer (the callback's query and the
    browser's state cookie). Raises ProviderRefused for every way it can fail."""
    sign_in = await _take_sign_in(state, cookie_state)
    if error or not code:
        raise ProviderRefused(DENIED)
    row = await IdentityProvider.select(*_COLUMNS).where(IdentityProvider.id == sign_in["provider"]).first()
    if row is None:
        raise ProviderRefused(STATE_MISMATCH)
    provider = _provider(row)
    claims = await _claims_from_provider(provider, sign_in, code)
    person_id = await person_for(provider, claims)
    await Person.update({Person.last_login_at: clock.now()}).where(Person.id == person_id)
    await audit.record(person_id, "person.sign_in_provider", "person", person_id, municipality=provider.municipality_id)
    return SignedIn(person_id=person_id, next_path=sign_in["next_path"])
