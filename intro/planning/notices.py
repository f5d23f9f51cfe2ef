"""Change notices: the e-mails people get when a course day is moved or cancelled.

Three steps, kept apart so each can be trusted on its own:

- `compose_notice` writes the Danish message for one kind of reader. It is pure: the
  facts of the session before and after the change go in, a subject and a body come out.
- `queue_session_change` runs inside the transaction of the change (`intro.planning.cohorts`)
  and only inserts `Notice` rows, one per affected person. The change and its notices
  are written together or not at all, and no mail server is ever waited for there.
- `send_due` (the `send-notices` command, run every minute) sends what is due through
  SMTP. A notice that fails is tried again later, with growing pauses, until it has
  failed MAX_ATTEMPTS times; then it is given up and shown as failed on the outbox page
  (`intro.planning.outbox`), where it can be resent. It is never deleted.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from enum import StrEnum

from intro import clock
from intro.db import write_transaction
from intro.i18n import _, ngettext
from intro.people import account_links, privacy
from intro.planning.rows import SessionRow
from intro.settings import Settings, get_settings
from intro.tables import (
    CatchUpBooking,
    Cohort,
    Enrolment,
    EnrolmentStatus,
    Module,
    Notice,
    NoticeKind,
    Person,
    SessionInstructor,
    SessionStatus,
    Venue,
)
from intro.timefmt import da_time, da_weekday_date, local

# --------------------------------------------------------------------------------------
# Writing the message (pure)


@dataclass(frozen=True)
class SessionFacts:
    """What a reader needs to know about a course day, at one moment."""

    module_code: str
    module_title: str
    cohort_name: str
    starts_at: datetime  # instants; shown in Europe/Copenhagen
    ends_at: datetime
    venue_name: str | None  # None: no venue (an online day)
    venue_address: str | None
    status: str
    instructor_ids: frozenset[int] = frozenset()


class Audience(StrEnum):
    """Who a message is written for. Instructors are told whether the change adds or
    removes them; nobody is told who the other people are."""

    participant = "participant"  # enrolled in the cohort
    catch_up = "catch_up"  # from another cohort, booked to catch up on this day
    instructor = "instructor"  # teaches the day before and after the change
    instructor_added = "instructor_added"
    instructor_removed = "instructor_removed"


@dataclass(frozen=True)
class Changes:
    cancelled: bool
    date: bool
    time: bool
    place: bool
    instructors: bool


def what_changed(before: SessionFacts, after: SessionFacts) -> Changes:
    """Compared as local wall-clock times: that is what people read in the mail."""
    old_start, new_start = local(before.starts_at), local(after.starts_at)
    return Changes(
        cancelled=after.status == SessionStatus.cancelled.value
        and before.status != SessionStatus.cancelled.value,
        date=old_start.date() != new_start.date(),
        time=(old_start.time(), local(before.ends_at).time())
        != (new_start.time(), local(after.ends_at).time()),
        place=(before.venue_name, before.venue_address) != (after.venue_name, after.venue_address),
        instructors=before.instructor_ids != after.instructor_ids,
    )


def when(facts: SessionFacts) -> str:
    """tirsdag 9. marts 2027 kl. 09.00–15.00"""
    start, end = local(facts.starts_at), local(facts.ends_at)
    if start.date() == end.date():
        return _("{day} kl. {start}–{end}").format(
            day=da_weekday_date(start), start=da_time(start), end=da_time(end)
        )
    return _("{day} kl. {start} til {end_day} kl. {end}").format(
        day=da_weekday_date(start), start=da_time(start), end_day=da_weekday_date(end), end=da_time(end)
    )


def where(facts: SessionFacts) -> str:
    if not facts.venue_name:
        return _("online (intet fysisk sted)")
    if facts.venue_address:
        return f"{facts.venue_name}, {facts.venue_address}"
    return facts.venue_name


def link_for(audience: Audience, base_url: str) -> str:
    """Participants land on their plan; instructors on their start page with their days."""
    path = "/plan" if audience in (Audience.participant, Audience.catch_up) else "/"
    return base_url.rstrip("/") + path


SUBJECT_MAX = 300  # the column's length


def compose_notice(
    before: SessionFacts,
    after: SessionFacts,
    reason: str,
    *,
    base_url: str,
    audience: Audience = Audience.participant,
) -> tuple[str, str]:
    """The (subject, body) of the e-mail about one change, in Danish plain text."""
    changes = what_changed(before, after)
    module = f"{after.module_code} {after.module_title}"
    reason = (reason or "").strip()
    lines = [_("Hej"), ""]

    if changes.cancelled:
        subject = _("Aflyst: {module}, {day}").format(module=module, day=da_weekday_date(local(before.starts_at)))
        lines += [
            _("Kursusdagen «{module}» for {cohort} er aflyst:").format(module=module, cohort=after.cohort_name),
            "",
            "  " + when(before),
            "  " + _("Sted: {place}").format(place=where(before)),
            "",
        ]
        if reason:
            lines += [_("Begrundelse: {reason}").format(reason=reason), ""]
        if audience in (Audience.participant, Audience.catch_up):
            lines.append(_("Du skal ikke møde op den dag."))
        else:
            lines.append(_("Du skal ikke undervise den dag."))
    else:
        new_day = da_weekday_date(local(after.starts_at))
        if audience is Audience.instructor_removed:
            subject = _("Du underviser ikke længere: {module}, {day}")
        elif audience is Audience.instructor_added:
            subject = _("Du skal undervise: {module}, {day}")
        elif changes.date or changes.time:
            subject = _("Kursusdag flyttet: {module}, nu {day}")
        elif changes.place:
            subject = _("Nyt sted for kursusdag: {module}, {day}")
        else:
            subject = _("Ny underviser på kursusdag: {module}, {day}")
        subject = subject.format(module=module, day=new_day)

        what = [
            label
            for changed, label in (
                (changes.date, _("ny dato")),
                (changes.time, _("nyt tidspunkt")),
                (changes.place, _("nyt sted")),
                (changes.instructors, _("ny underviser")),
            )
            if changed
        ] or [_("praktiske detaljer")]
        lines += [
            _("Kursusdagen «{module}» for {cohort} er ændret: {what}.").format(
                module=module, cohort=after.cohort_name, what=", ".join(what)
            ),
            "",
            _("Før:"),
            "  " + when(before),
            "  " + _("Sted: {place}").format(place=where(before)),
            "",
            _("Nu:"),
            "  " + when(after),
            "  " + _("Sted: {place}").format(place=where(after)),
            "",
        ]
        if reason:
            lines += [_("Begrundelse: {reason}").format(reason=reason), ""]
        if audience is Audience.instructor_removed:
            lines.append(_("Du er ikke længere underviser på denne kursusdag."))
        elif audience is Audience.instructor_added:
            lines.append(_("Du er nu underviser på denne kursusdag."))
        elif audience is Audience.instructor:
            lines.append(_("Du er stadig underviser på denne kursusdag."))
        elif changes.date or changes.time or changes.place:
            lines.append(_("Mød op til det tidspunkt og på det sted, der står under «Nu»."))

    if lines[-1]:
        lines.append("")
    lines += [
        (
            _("Se dit introforløb i Intro: {link}")
            if audience in (Audience.participant, Audience.catch_up)
            else _("Se dine undervisningsdage i Intro: {link}")
        ).format(link=link_for(audience, base_url)),
        "",
        _("Venlig hilsen"),
        _("Intro – fælles introduktionsuddannelse"),
        "",
        "-- ",
        _("Du får denne e-mail, fordi {why}. Den er sendt automatisk.").format(why=_WHY[audience]),
    ]
    return _one_line(subject)[:SUBJECT_MAX], "\n".join(lines) + "\n"


_WHY = {
    Audience.participant: _("du er tilmeldt holdet"),
    Audience.catch_up: _("du er booket til at indhente denne kursusdag"),
    Audience.instructor: _("du underviser på kursusdagen"),
    Audience.instructor_added: _("du underviser på kursusdagen"),
    Audience.instructor_removed: _("du var underviser på kursusdagen"),
}


def _one_line(text: str) -> str:
    # A header must not carry a line break (a title or a cohort name typed with one).
    return " ".join(text.split())


# --------------------------------------------------------------------------------------
# Queueing (inside the caller's transaction)


async def _instructor_ids(session: SessionRow) -> frozenset[int]:
    rows = await SessionInstructor.select(SessionInstructor.person).where(
        SessionInstructor.session == session.id
    )
    return frozenset(r["person"] for r in rows)


async def _facts(session: SessionRow, instructor_ids: frozenset[int]) -> SessionFacts:
    module = await Module.select(Module.code, Module.title).where(Module.id == session.module).first()
    cohort = await Cohort.select(Cohort.name).where(Cohort.id == session.cohort).first()
    venue = None
    if session.venue is not None:
        venue = await Venue.select(Venue.name, Venue.address, Venue.postcode, Venue.city).where(
            Venue.id == session.venue
        ).first()
    return SessionFacts(
        module_code=module["code"],
        module_title=module["title"],
        cohort_name=cohort["name"],
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        venue_name=venue["name"] if venue else None,
        venue_address=f"{venue['address']}, {venue['postcode']} {venue['city']}" if venue else None,
        status=session.status,
        instructor_ids=instructor_ids,
    )


async def queue_session_change(
    session_before: SessionRow,
    session_after: SessionRow,
    reason: str,
    instructors: tuple[frozenset[int], frozenset[int]] | None = None,
) -> int:
    """Queue one notice per person affected by a change to a scheduled session: the
    cohort's enrolled participants, people booked to catch up on it and its instructors
    before and after the change. Inactive people and people whose processing is
    restricted (GDPR art. 18, privacy's rule) are skipped. Returns how many.

    `instructors` are the day's instructors before and after the change, when it changes
    them (else the session's current instructors are read for both). Call it inside the
    change's own transaction: it only inserts rows."""
    if not session_before.is_scheduled:
        return 0  # proposals are in nobody's calendar
    now = clock.now()
    if max(session_before.ends_at, session_after.ends_at) <= now:
        return 0  # a correction to a day that is over, before and after: news to no one

    if instructors is not None:
        teachers_before, teachers_after = instructors
    else:
        teachers_before = teachers_after = await _instructor_ids(session_before)
    before = await _facts(session_before, teachers_before)
    after = await _facts(session_after, teachers_after)

    participants = {
        r["person"]
        for r in await Enrolment.select(Enrolment.person).where(
            (Enrolment.cohort == session_before.cohort)
            & (Enrolment.status == EnrolmentStatus.enrolled.value)
        )
    }
    guests = {
        r["person"]
        for r in await CatchUpBooking.select(CatchUpBooking.person).where(
            (CatchUpBooking.session == session_before.id) & CatchUpBooking.cancelled_at.is_null()
        )
    }

    def audience_of(person_id: int) -> Audience:
        # Someone who teaches the day reads it as its instructor.
        if person_id in teachers_before and person_id in teachers_after:
            return Audience.instructor
        if person_id in teachers_after:
            return Audience.instructor_added
        if person_id in teachers_before:
            return Audience.instructor_removed
        return Audience.participant if person_id in participants else Audience.catch_up

    everyone = participants | guests | teachers_before | teachers_after
    if not everyone:
        return 0
    people = await Person.select(Person.id, Person.email).where(
        Person.id.is_in(sorted(everyone)) & (Person.is_active == True)  # noqa: E712
        & privacy.unrestricted(Person.id)
    )
    kind = (
        NoticeKind.session_cancelled
        if session_after.is_cancelled
        else NoticeKind.session_moved
    )
    base_url = get_settings().base_url
    messages: dict[Audience, tuple[str, str]] = {}
    rows = []
    for person in sorted(people, key=lambda p: p["id"]):
        audience = audience_of(person["id"])
        if audience not in messages:
            messages[audience] = compose_notice(before, after, reason, base_url=base_url, audience=audience)
        subject, body = messages[audience]
        rows.append(
            Notice(
                recipient=person["id"],
                email=person["email"],
                subject=subject,
                body=body,
                session=session_before.id,
                kind=kind.value,
                created_at=now,
                attempts=0,
                next_attempt_at=now,
            )
        )
    if rows:
        await Notice.insert(*rows)
    return len(rows)


# --------------------------------------------------------------------------------------
# Sending (the `send-notices` command)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    mail_from: str = "intro@localhost"
    # Seconds for each network step (connect, a command, a message).
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig | None:
        """None when no SMTP host is configured: sending is off."""
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            mail_from=settings.mail_from,
        )


# Pauses after the 1st, 2nd, 3rd and 4th failed attempt; then every 4 hours, until the
# MAX_ATTEMPTS-th attempt has failed (about a day) and the sender gives up on it.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=60),
)
RETRY_DELAY_LATER = timedelta(hours=4)
# After this many failed attempts a notice is given up (`failed_at`) and shown as failed on
# the outbox page, where an admin or coordinator can resend it (issue 17).
MAX_ATTEMPTS = 10
# A sender holds the notices it took this long, so a second sender started while the
# first is still at work (a slow server, overlapping cron runs) does not take them too.
CLAIM_FOR = timedelta(minutes=10)


def retry_delay(attempts: int) -> timedelta:
    """The pause before the next try, after `attempts` failed attempts (1 or more)."""
    if 1 <= attempts <= len(RETRY_DELAYS):
        return RETRY_DELAYS[attempts - 1]
    return RETRY_DELAY_LATER


@dataclass(frozen=True)
class SendSummary:
    sent: int = 0
    failed: int = 0
    waiting: int = 0  # still queued after this run
    disabled: bool = False

    def __str__(self) -> str:
        waiting = ngettext("{n} besked venter", "{n} beskeder venter", self.waiting).format(n=self.waiting)
        if self.disabled:
            return _("Afsendelse er slået fra (INTRO_SMTP_HOST er ikke sat); {waiting}.").format(waiting=waiting)
        sent = ngettext("{n} besked sendt", "{n} beskeder sendt", self.sent).format(n=self.sent)
        return _("{sent}, {failed} mislykkedes, {waiting}.").format(sent=sent, failed=self.failed, waiting=waiting)


def encode_subject(subject: str) -> str:
    """A Subject header value that every mail client reads back as exactly ``subject``.

    Every subject — ASCII or not, short or long — is written as RFC 2047 encoded words
    in UTF-8 and folded by :class:`email.header.Header`, which starts a new line only
    between two encoded words. Between encoded words the folding white space is not part
    of the text (RFC 2047 section 6.2), so unfolding gives back the subject to the
    letter. Left to Python's e-mail policy, a plain-ASCII subject longer than one line
    was folded straight after ``Subject:`` and read back with a leading space, and text
    that merely looked like an encoded word (``=?…?=``) would have been decoded.

    ``subject`` is one line of text; a line break is refused with ``ValueError``, since
    a header cannot carry one.
    """
    if "\n" in subject or "\r" in subject:
        raise ValueError("a subject is one line of text")
    return Header(subject, "utf-8", header_name="Subject").encode()


def build_message(notice: dict, config: SmtpConfig) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.mail_from
    message["To"] = notice["email"]
    message.set_raw("Subject", encode_subject(notice["subject"]))
    message["Date"] = format_datetime(clock.now())
    # The same id on every attempt, so a mail client can drop a duplicate should one
    # notice ever go out twice (a sender stopped between sending and marking it sent).
    domain = parseaddr(config.mail_from)[1].rpartition("@")[2] or "localhost"
    created = notice["created_at"].strftime("%Y%m%d%H%M%S")
    message["Message-ID"] = f"<intro.notice.{notice['id']}.{created}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    # Quoted-printable keeps the Danish letters intact through any mail server. A link to
    # set a password is made only now, from the secret key: the outbox never holds one.
    body = account_links.fill_links(notice["body"])
    message.set_content(body, charset="utf-8", cte="quoted-printable")
    return message


class _Connection:
    """One SMTP connection for a run, opened on first use. Its methods block; they are
    called through asyncio.to_thread, one at a time."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        if self.smtp is None:
            self._open()
        assert self.smtp is not None
        self.smtp.send_message(message)

    def _open(self) -> None:
        config = self.config
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        try:
            smtp.ehlo()
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if config.user:
                smtp.login(config.user, config.password or "")
        except BaseException:
            smtp.close()
            raise
        self.smtp = smtp

    def close(self) -> None:
        if self.smtp is None:
            return
        smtp, self.smtp = self.smtp, None
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


# The server refused this one message; the connection can go on with the next.
_ONE_MESSAGE_ERRORS = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
    smtplib.SMTPNotSupportedError,
)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:1000]


async def _claim(limit: int) -> list[dict]:
    """Take up to `limit` due notices for this run (see CLAIM_FOR). A notice to someone
    whose processing is restricted (GDPR art. 18) is held back, waiting, until the
    restriction is lifted."""
    now = clock.now()
    async with write_transaction(Notice._meta.db):
        due = await Notice.select(Notice.id).where(
            (Notice.next_attempt_at <= now) & Notice.failed_at.is_null()
            & privacy.unrestricted(Notice.recipient)
        ).order_by(
            Notice.next_attempt_at, Notice.id
        ).limit(limit)
        if not due:
            return []
        # The condition is checked again by the UPDATE, so on PostgreSQL a concurrent
        # sender that took a notice first leaves it out of what comes back here.
        claimed = await Notice.update({Notice.next_attempt_at: now + CLAIM_FOR}).where(
            Notice.id.is_in([r["id"] for r in due]) & (Notice.next_attempt_at <= now)
        ).returning(
            Notice.id, Notice.email, Notice.subject, Notice.body, Notice.attempts, Notice.created_at
        )
    return sorted(claimed, key=lambda n: n["id"])


async def _mark_sent(notice: dict) -> None:
    await Notice.update(
        {
            Notice.sent_at: clock.now(),
            Notice.next_attempt_at: None,
            Notice.attempts: notice["attempts"] + 1,
            Notice.last_error: "",
        }
    ).where(Notice.id == notice["id"])


def gives_up(attempts: int) -> bool:
    """Whether a notice that has now failed `attempts` times is given up."""
    return attempts >= MAX_ATTEMPTS


async def _mark_failed(notice: dict, error: BaseException) -> None:
    attempts = notice["attempts"] + 1
    now = clock.now()
    await Notice.update(
        {
            Notice.attempts: attempts,
            Notice.last_error: _describe(error),
            Notice.next_attempt_at: now + retry_delay(attempts),
            Notice.failed_at: now if gives_up(attempts) else None,
        }
    ).where(Notice.id == notice["id"])


async def _waiting() -> int:
    return await Notice.count().where(Notice.sent_at.is_null() & Notice.failed_at.is_null())


async def send_due(limit: int = 100, *, smtp: SmtpConfig | None = None) -> SendSummary:
    """Send up to `limit` queued notices whose time has come, over one SMTP connection.

    `smtp` defaults to the configured server; with none configured nothing is sent and
    the notices wait. Each notice is marked sent right after the server took it; one
    that fails gets another attempt later (`retry_delay`). When the connection itself
    fails, every notice taken for this run counts one failed attempt and waits."""
    config = smtp or SmtpConfig.from_settings(get_settings())
    if config is None:
        return SendSummary(waiting=await _waiting(), disabled=True)
    claimed = await _claim(limit)
    sent = failed = 0
    connection = _Connection(config)
    try:
        for index, notice in enumerate(claimed):
            try:
                message = build_message(notice, config)
                await asyncio.to_thread(connection.send, message)
            except Exception as error:
                lost_connection = connection.smtp is None or not isinstance(error, _ONE_MESSAGE_ERRORS)
                rest = claimed[index:] if lost_connection else [notice]
                for other in rest:
                    await _mark_failed(other, error)
                failed += len(rest)
                if lost_connection:
                    break
            else:
                await _mark_sent(notice)
                sent += 1
    finally:
        await asyncio.to_thread(connection.close)
    return SendSummary(sent=sent, failed=failed, waiting=await _waiting())
