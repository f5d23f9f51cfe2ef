"""The one place that reads configuration from the environment.

Everything else asks `get_settings()`; nothing else reads `os.environ`.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    # Database: PostgreSQL when database_url is set, otherwise a SQLite file.
    database_url: str | None
    sqlite_path: Path
    # PostgreSQL: a connection pool opened and closed with the app (off only in tests
    # whose client runs the app on another event loop than the test itself).
    db_pool: bool
    # Signs CSRF tokens. Must be the same for every worker behind one database.
    secret_key: str
    # Cookies only over https. On by default; `make run` turns it off for localhost.
    secure_cookies: bool
    # The address people use to reach Intro, for links in feeds and e-mails.
    base_url: str
    session_days: int
    # Failed sign-ins for one e-mail address within the window before it is locked.
    login_max_failures: int
    login_window_minutes: int
    # Failed sign-ins from one client address (any e-mail) within the window before that
    # address is refused too: guessing one common password across many e-mails. Set it
    # with room for a municipality's staff behind one NAT address.
    login_max_failures_per_client: int
    debug: bool
    # Instructors' busy calendars may be fetched from loopback and private network
    # addresses. Off: a typed address must not reach the server's own network (SSRF).
    calendar_allow_private_hosts: bool = False
    # Change notices by e-mail. No host: sending is off and notices stay queued.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = False
    mail_from: str = "intro@localhost"
    # A folder of templates that take precedence over templates/: an installation puts its
    # own about/facts.html (who runs it, contact details) or whole public pages there.
    templates_dir: Path | None = None
    # Retention (intro/people/privacy.py): people whose last employment ended more than this many
    # years ago are anonymised by the nightly `anonymise-leavers` command.
    retention_years: int = 5
    # Access ends with employment (intro/hr/offboarding.py): days after the last employment in
    # a municipality ended before its participant role, sign-ins and feeds end.
    access_grace_days: int = 30
    # One-time links to set a password (issue 16): how long an invitation and a reset
    # link work, and how many reset requests one address and one client may make
    # within the window (counted whether or not the address has an account).
    invitation_days: int = 14
    reset_link_minutes: int = 60
    reset_max_per_address: int = 3
    reset_max_per_client: int = 20
    reset_window_minutes: int = 60
    # Admins and chiefs (who see personal data across a municipality) must use an
    # authenticator app after their password. Not asked after a provider's sign-in.
    second_factor_required: bool = False
    # Course evaluation (issue 17): the transfer follow-up opens this many days after a
    # module's last course day ("some weeks later"; six weeks by default).
    follow_up_days: int = 42

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url)


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _bounded_int(name: str, default: int, low: int, high: int) -> int:
    """The whole number in environment variable `name` (`default` when unset or blank),
    which must lie in [low, high]; a RuntimeError naming the variable otherwise, so a
    mistyped setting stops the start instead of silently meaning something else."""
    value = (os.environ.get(name) or "").strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise RuntimeError(
            f"{name} skal være et helt tal fra {low} til {high} (er {value!r})."
        )
    return int(value)


def _secret_key(sqlite_path: Path) -> str:
    """INTRO_SECRET_KEY in production. For a local SQLite installation without it,
    a random key is made once and kept in a file beside the database (never in the
    repository), so that sessions and forms survive restarts and are shared by workers."""
    key = os.environ.get("INTRO_SECRET_KEY")
    if key:
        return key
    if os.environ.get("DATABASE_URL"):
        raise RuntimeError(
            "INTRO_SECRET_KEY skal være sat, når Intro kører på PostgreSQL "
            "(alle workers skal dele den samme nøgle)."
        )
    key_file = sqlite_path.parent / ".intro-secret"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(48)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def load_settings() -> Settings:
    sqlite_path = Path(os.environ.get("INTRO_DB", str(ROOT / "intro.sqlite"))).resolve()
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or None,
        sqlite_path=sqlite_path,
        db_pool=_flag("INTRO_DB_POOL", True),
        secret_key=_secret_key(sqlite_path),
        secure_cookies=_flag("INTRO_SECURE_COOKIES", True),
        base_url=os.environ.get("INTRO_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        session_days=int(os.environ.get("INTRO_SESSION_DAYS", "14")),
        login_max_failures=int(os.environ.get("INTRO_LOGIN_MAX_FAILURES", "5")),
        login_window_minutes=int(os.environ.get("INTRO_LOGIN_WINDOW_MINUTES", "15")),
        login_max_failures_per_client=int(os.environ.get("INTRO_LOGIN_MAX_FAILURES_PER_CLIENT", "10")),
        debug=_flag("INTRO_DEBUG", False),
        calendar_allow_private_hosts=_flag("INTRO_CALENDAR_ALLOW_PRIVATE_HOSTS", False),
        smtp_host=os.environ.get("INTRO_SMTP_HOST") or None,
        smtp_port=int(os.environ.get("INTRO_SMTP_PORT") or "25"),
        smtp_user=os.environ.get("INTRO_SMTP_USER") or None,
        smtp_password=os.environ.get("INTRO_SMTP_PASSWORD") or None,
        smtp_starttls=_flag("INTRO_SMTP_STARTTLS", False),
        mail_from=os.environ.get("INTRO_MAIL_FROM") or "intro@localhost",
        templates_dir=Path(os.environ["INTRO_TEMPLATES_DIR"]).resolve() if os.environ.get("INTRO_TEMPLATES_DIR") else None,
        retention_years=int(os.environ.get("INTRO_RETENTION_YEARS") or "5"),
        access_grace_days=int(os.environ.get("INTRO_ACCESS_GRACE_DAYS") or "30"),
        invitation_days=int(os.environ.get("INTRO_INVITATION_DAYS") or "14"),
        reset_link_minutes=int(os.environ.get("INTRO_RESET_LINK_MINUTES") or "60"),
        reset_max_per_address=int(os.environ.get("INTRO_RESET_MAX_PER_ADDRESS") or "3"),
        reset_max_per_client=int(os.environ.get("INTRO_RESET_MAX_PER_CLIENT") or "20"),
        reset_window_minutes=int(os.environ.get("INTRO_RESET_WINDOW_MINUTES") or "60"),
        second_factor_required=_flag("INTRO_REQUIRE_SECOND_FACTOR", False),
        follow_up_days=_bounded_int("INTRO_FOLLOW_UP_DAYS", 42, 1, 365),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


# The environment variables an admin may name as a sign-in provider's client secret.
OIDC_SECRET_NAME = re.compile(r"INTRO_OIDC_[A-Z0-9_]{1,80}")


def oidc_client_secret(name: str) -> str | None:
    """The client secret of a municipality's sign-in provider, from the environment
    variable an admin named for it (issue 16), read when needed so a changed secret
    takes effect without a restart. Only names matching OIDC_SECRET_NAME are read: a
    typed name can never send another setting (the database URL, the secret key) to a
    provider. None when the name is not allowed or the variable is not set."""
    if not OIDC_SECRET_NAME.fullmatch(name or ""):
        return None
    return os.environ.get(name) or None
