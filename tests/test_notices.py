"""Change notices: a moved or cancelled course day reaches everyone affected by e-mail.

Mail goes to a real SMTP server (aiosmtpd) on a free local port, and the tests read
what arrives. A server that is down is a closed port."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import socket
import threading
from datetime import UTC, date, datetime, timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from app import cli
from intro import clock
from intro.planning import cohort_forms, cohorts, notices
from intro.planning.notices import Audience, SessionFacts, SmtpConfig, compose_notice, retry_delay
from intro.planning.rows import CohortRow, SessionRow
from intro.settings import get_settings
from intro.tables import (
    CatchUpBooking,
    Cohort,
    Enrolment,
    Notice,
    Person,
    Role,
    RoleGrant,
    Session,
    SessionInstructor,
    Venue,
)
from intro.timefmt import local
from tests.cohort_rows import cohort_or_404

# Reads the date: also run at every pinned day (make test-days).
pytestmark = pytest.mark.days

REASON = "Vandskade i lokalet – vi mødes et andet sted. Beklager ulejligheden (æøå ÆØÅ)."


# --------------------------------------------------------------------------------------
# A real SMTP server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler: keeps every message it is given; refuses addresses in `refuse`."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []
        self.refuse: set[str] = set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[tuple[list[str], email.message.EmailMessage]]:
        with self.lock:
            # Lines end in CRLF on the wire; the tests compare text with plain newlines.
            return [
                (to, email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=policy.default))
                for to, raw in self.received
            ]

    def to(self, address: str) -> email.message.EmailMessage:
        found = [m for rcpt, m in self.messages if rcpt == [address]]
        assert len(found) == 1, (address, len(found))
        return found[0]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.config = SmtpConfig(host="127.0.0.1", port=port, mail_from="Intro <intro@kommune.example>", timeout=5)
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def server_down() -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=free_port(), timeout=5)  # nothing listens there


# --------------------------------------------------------------------------------------
# The demo's cohort under way, with a few people who must not be told


async def _person(email_address: str) -> int:
    return (await Person.select(Person.id).where(Person.email == email_address).first())["id"]


async def _cohort_under_way() -> dict:
    row = await Cohort.select(Cohort.id).where(Cohort.status == "active").first()
    return await cohort_or_404(row["id"])


async def _future_session(cohort: dict, days: int = 3) -> dict:
    return await Session.select().where(
        (Session.cohort == cohort["id"])
        & (Session.status == "scheduled")
        & Session.venue.is_not_null()
        & (Session.starts_at > clock.now() + timedelta(days=days))
    ).order_by(Session.starts_at).first()


async def _cast(cohort: dict, session: dict) -> dict:
    """Make the cohort hold someone wait-listed, someone withdrawn and someone no longer
    active; book one guest to catch up on the session and one whose booking was
    cancelled. Returns who should and should not hear about the session."""
    sara = await _person("deltager@intro.example")
    enrolled = [
        e["person"]
        for e in await Enrolment.select(Enrolment.person).where(
            (Enrolment.cohort == cohort["id"]) & (Enrolment.status == "enrolled") & (Enrolment.person != sara)
        ).order_by(Enrolment.person)
    ]
    waitlisted, withdrawn, inactive = enrolled[:3]
    now = clock.now()
    await Enrolment.update({Enrolment.status: "waitlisted", Enrolment.enrolled_at: None}).where(
        (Enrolment.cohort == cohort["id"]) & (Enrolment.person == waitlisted)
    )
    await Enrolment.update({Enrolment.status: "withdrawn", Enrolment.withdrawn_at: now}).where(
        (Enrolment.cohort == cohort["id"]) & (Enrolment.person == withdrawn)
    )
    await Person.update({Person.is_active: False}).where(Person.id == inactive)
    others = [
        e["person"]
        for e in await Enrolment.select(Enrolment.person).where(Enrolment.cohort != cohort["id"]).order_by(Enrolment.person)
    ]
    guest, cancelled_guest = others[:2]
    await CatchUpBooking.insert(
        CatchUpBooking(person=guest, session=session["id"]),
        CatchUpBooking(person=cancelled_guest, session=session["id"], cancelled_at=now),
    )
    teachers = {
        r["person"] for r in await SessionInstructor.select(SessionInstructor.person).where(
            SessionInstructor.session == session["id"]
        )
    }
    assert teachers, "the demo's sessions have instructors"
    participants = set(enrolled[3:]) | {sara}
    return {
        "sara": sara,
        "participants": participants,
        "guest": guest,
        "teachers": teachers,
        "left_out": {waitlisted, withdrawn, inactive, cancelled_guest},
    }


async def _another_instructor(cohort: dict, not_these: set[int]) -> int:
    rows = await RoleGrant.select(RoleGrant.person).where(
        (RoleGrant.role == Role.instructor.value) & (RoleGrant.partnership == cohort["partnership"])
    ).order_by(RoleGrant.person)
    return next(r["person"] for r in rows if r["person"] not in not_these)


async def _move(cohort: dict, session: dict, *, instructors: list[int] | None = None, venue: int | None = None):
    """Move the session to the next day, 10.00–15.30, through the coordinator's form."""
    new_day = local(session["starts_at"]).date() + timedelta(days=1)
    form = {
        "date": new_day.isoformat(),
        "start": "10:00",
        "end": "15:30",
        "venue": str(venue or session["venue"]),
        "reason": REASON,
        # These tests are about who is told, not about conflicts: save regardless.
        "override": "1",
        "override_reason": "Test af beskeder",
    }
    if instructors is not None:
        form["instructors"] = [str(i) for i in instructors]
    change = await cohort_forms.read_session_form(SessionRow.from_row(session), CohortRow.from_row(cohort), form)
    await cohorts.change_session(1, SessionRow.from_row(session), CohortRow.from_row(cohort), change)
    return new_day


async def _emails(person_ids) -> dict[int, str]:
    rows = await Person.select(Person.id, Person.email).where(Person.id.is_in(sorted(person_ids)))
    return {r["id"]: r["email"] for r in rows}


async def _notices(session_id: int) -> list[dict]:
    return await Notice.select().where(Notice.session == session_id).order_by(Notice.id)


# --------------------------------------------------------------------------------------
# Moving a day


async def test_moving_a_day_tells_everyone_affected_and_no_one_else(demo_db, smtp_server):
    cohort = await _cohort_under_way()
    session = await _future_session(cohort)
    cast = await _cast(cohort, session)
    new_teacher = await _another_instructor(cohort, cast["teachers"])
    other_venue = (await Venue.select(Venue.id).where(Venue.id != session["venue"]).first())["id"]
    new_day = await _move(cohort, session, instructors=[new_teacher], venue=other_venue)

    queued = await _notices(session["id"])
    expected = cast["participants"] | {cast["guest"]} | cast["teachers"] | {new_teacher}
    assert [n["recipient"] for n in queued] == sorted(expected)  # one each, none twice
    assert not {n["recipient"] for n in queued} & cast["left_out"]
    addresses = await _emails(expected)
    for n in queued:
        assert n["email"] == addresses[n["recipient"]]
        assert n["kind"] == "session_moved" and n["sent_at"] is None and n["attempts"] == 0

    summary = await notices.send_due(smtp=smtp_server.config)
    assert (summary.sent, summary.failed, summary.waiting) == (len(expected), 0, 0)
    assert sorted(rcpt[0] for rcpt, _m in smtp_server.messages) == sorted(addresses.values())

    mail = smtp_server.to("deltager@intro.example")
    assert mail["To"] == "deltager@intro.example"
    assert mail["From"] == "Intro <intro@kommune.example>"
    assert mail.get_content_charset() == "utf-8"
    subject, body = mail["Subject"], mail.get_content()
    module = "{code} {title}".format(**await _module(session))
    assert subject == f"Kursusdag flyttet: {module}, nu {_da_day(new_day)}"
    old_day = local(session["starts_at"]).date()
    # Local (Copenhagen) times, as people read them, never UTC.
    assert f"{_da_day(old_day)} kl. 09.00–15.00" in body
    assert f"{_da_day(new_day)} kl. 10.00–15.30" in body
    assert "ny dato, nyt tidspunkt, nyt sted, ny underviser" in body
    assert f"Begrundelse: {REASON}" in body
    assert "Hold B – efterår" in body
    assert f"{get_settings().base_url}/plan" in body
    venues = {v["id"]: v for v in await Venue.select()}
    assert venues[session["venue"]]["address"] in body and venues[other_venue]["address"] in body
    # No other person's name or address in anyone's mail.
    everyone = await Person.select(Person.full_name, Person.email)
    for rcpt, message in smtp_server.messages:
        text = message["Subject"] + message.get_content()
        for p in everyone:
            assert p["full_name"] not in text and p["email"] not in text, (rcpt, p)

    removed = smtp_server.to((await _emails(cast["teachers"]))[min(cast["teachers"])])
    assert removed["Subject"].startswith("Du underviser ikke længere:")
    assert "Du er ikke længere underviser på denne kursusdag." in removed.get_content()
    assert f"Se dine undervisningsdage i Intro: {get_settings().base_url}/\n" in removed.get_content()
    added = smtp_server.to(addresses[new_teacher])
    assert added["Subject"] == f"Du skal undervise: {module}, {_da_day(new_day)}"
    guest = smtp_server.to(addresses[cast["guest"]])
    assert "booket til at indhente" in guest.get_content()

    sent = await _notices(session["id"])
    assert all(n["sent_at"] is not None and n["next_attempt_at"] is None and n["attempts"] == 1 for n in sent)
    # Sending again sends nothing again.
    again = await notices.send_due(smtp=smtp_server.config)
    assert (again.sent, again.failed) == (0, 0)
    assert len(smtp_server.messages) == len(expected)


async def test_the_mail_is_seven_bit_safe_and_keeps_danish_letters(demo_db, smtp_server):
    cohort = await _cohort_under_way()
    session = await _future_session(cohort)
    await _move(cohort, session)
    await notices.send_due(smtp=smtp_server.config)
    raw = next(raw for rcpt, raw in smtp_server.received if rcpt == ["deltager@intro.example"])
    raw.decode("ascii")  # quoted-printable body, RFC 2047 subject: passes any server
    mail = email.message_from_bytes(raw, policy=policy.default)
    assert mail["Content-Transfer-Encoding"] == "quoted-printable"
    assert "æøå ÆØÅ" in mail.get_content() and "–" in mail.get_content()
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Message-ID"].startswith("<intro.notice.") and mail["Message-ID"].endswith("@kommune.example>")


async def test_a_change_of_instructors_only_tells_participants_without_names(demo_db, smtp_server):
    cohort = await _cohort_under_way()
    session = await _future_session(cohort)
    teachers = {
        r["person"] for r in await SessionInstructor.select(SessionInstructor.person).where(
            SessionInstructor.session == session["id"]
        )
    }
    extra = await _another_instructor(cohort, teachers)
    change = cohort_forms.SessionChange(
        local(session["starts_at"]).date(), local(session["starts_at"]).time(), local(session["ends_at"]).time(),
        session["venue"], tuple(sorted(teachers | {extra})), "Vi får besøg af en gæstelærer",
        override_reason="Gæstelæreren er ikke godkendt til modulet",
    )
    await cohorts.change_session(1, SessionRow.from_row(session), CohortRow.from_row(cohort), change)
    await notices.send_due(smtp=smtp_server.config)
    mail = smtp_server.to("deltager@intro.example")
    assert mail["Subject"].startswith("Ny underviser på kursusdag:")
    body = mail.get_content()
    assert "er ændret: ny underviser." in body and "Mød op" not in body
    kept = smtp_server.to((await _emails(teachers))[min(teachers)])
    assert "Du er stadig underviser på denne kursusdag." in kept.get_content()


async def test_no_notices_for_proposals_unchanged_days_or_days_that_are_over(demo_db):
    planning = await Cohort.select(Cohort.id).where(Cohort.status == "planning").first()
    proposal_cohort = await cohort_or_404(planning["id"])
    proposal = await Session.select().where(
        (Session.cohort == planning["id"]) & Session.venue.is_not_null()
    ).first()
    await _move(proposal_cohort, proposal)
    assert await Notice.count() == 0

    cohort = await _cohort_under_way()
    session = await _future_session(cohort)
    teachers = [r["person"] for r in await SessionInstructor.select(SessionInstructor.person).where(
        SessionInstructor.session == session["id"]
    )]
    same = await cohort_forms.read_session_form(SessionRow.from_row(session), CohortRow.from_row(cohort), {
        "date": local(session["starts_at"]).date().isoformat(), "start": "09:00", "end": "15:00",
        "venue": str(session["venue"]), "instructors": [str(t) for t in teachers], "reason": "Ingenting",
    })
    await cohorts.change_session(1, SessionRow.from_row(session), CohortRow.from_row(cohort), same)
    assert await Notice.count() == 0

    # Correcting who taught a day that is over is news to no one.
    past = await Session.select().where(
        (Session.cohort == cohort["id"]) & (Session.ends_at < clock.now())
    ).first()
    taught = {r["person"] for r in await SessionInstructor.select(SessionInstructor.person).where(
        SessionInstructor.session == past["id"]
    )}
    other = await _another_instructor(cohort, taught)
    change = cohort_forms.SessionChange(
        local(past["starts_at"]).date(), local(past["starts_at"]).time(), local(past["ends_at"]).time(),
        past["venue"], (other,), "Rettelse", override_reason="Det var den, der underviste",
    )
    await cohorts.change_session(1, SessionRow.from_row(past), CohortRow.from_row(cohort), change)
    assert await SessionInstructor.exists().where(
        (SessionInstructor.session == past["id"]) & (SessionInstructor.person == other)
    )
    assert await Notice.count() == 0


# --------------------------------------------------------------------------------------
# Cancelling a day


async def test_cancelling_a_day_sends_aflyst_notices(demo_db, smtp_server):
    cohort = await _cohort_under_way()
    session = await _future_session(cohort)
    cast = await _cast(cohort, session)
    await cohorts.cancel_session(1, SessionRow.from_row(session), "Underviseren er syg, og vi kan ikke nå at finde én anden – beklager!")
    queued = await _notices(session["id"])
    assert {n["recipient"] for n in queued} == cast["participants"] | {cast["guest"]} | cast["teachers"]
    assert {n["kind"] for n in queued} == {"session_cancelled"}

    summary = await notices.send_due(smtp=smtp_server.config)
    assert summary.sent == len(queued)
    mail = smtp_server.to("deltager@intro.example")
    day = local(session["starts_at"]).date()
    module = "{code} {title}".format(**await _module(session))
    assert mail["Subject"] == f"Aflyst: {module}, {_da_day(day)}"
    body = mail.get_content()
    assert "er aflyst" in body and f"{_da_day(day)} kl. 09.00–15.00" in body
    assert "Begrundelse: Underviseren er syg, og vi kan ikke nå at finde én anden – beklager!" in body
    assert "Du skal ikke møde op den dag." in body
    teacher = smtp_server.to((await _emails(cast["teachers"]))[min(cast["teachers"])])
    assert teacher["Subject"].startswith("Aflyst:")
    assert "Du skal ikke undervise den dag." in teacher.get_content()


# --------------------------------------------------------------------------------------
# When the mail server is down


async def test_a_mail_server_that_is_down_loses_nothing_and_blocks_nothing(demo_db, smtp_server, server_down):
    cohort = await _cohort_under_way()
    session = await _future_session(cohort)
    new_day = await _move(cohort, session)  # no mail server is involved in the change itself
    moved = await Session.select().where(Session.id == session["id"]).first()
    assert local(moved["starts_at"]).date() == new_day and moved["revision"] == session["revision"] + 1
    queued = await _notices(session["id"])
    assert queued

    before = clock.now()
    failed = await notices.send_due(smtp=server_down)
    assert (failed.sent, failed.failed, failed.waiting) == (0, len(queued), len(queued))
    for n in await _notices(session["id"]):
        assert n["sent_at"] is None and n["attempts"] == 1
        assert n["last_error"]  # e.g. ConnectionRefusedError: [Errno 111] Connection refused
        assert before + timedelta(seconds=50) < n["next_attempt_at"] <= clock.now() + timedelta(minutes=1)

    # The server is back, but the pause is not over: nothing goes yet.
    early = await notices.send_due(smtp=smtp_server.config)
    assert early.sent == 0 and smtp_server.messages == []

    await Notice.update({Notice.next_attempt_at: clock.now() - timedelta(seconds=1)}).where(
        Notice.sent_at.is_null()
    )
    summary = await notices.send_due(smtp=smtp_server.config)
    assert (summary.sent, summary.failed, summary.waiting) == (len(queued), 0, 0)
    assert len(smtp_server.messages) == len(queued)
    for n in await _notices(session["id"]):
        assert n["sent_at"] is not None and n["attempts"] == 2 and n["last_error"] == ""
    await notices.send_due(smtp=smtp_server.config)
    assert len(smtp_server.messages) == len(queued)


async def test_a_refused_address_waits_while_the_others_go(demo_db, smtp_server):
    cohort = await _cohort_under_way()
    session = await _future_session(cohort)
    await _move(cohort, session)
    smtp_server.refuse = {"deltager@intro.example"}
    summary = await notices.send_due(smtp=smtp_server.config)
    total = len(await _notices(session["id"]))
    assert (summary.sent, summary.failed, summary.waiting) == (total - 1, 1, 1)
    refused = await Notice.select().where(Notice.sent_at.is_null()).first()
    assert refused["email"] == "deltager@intro.example" and refused["attempts"] == 1
    assert "SMTPRecipientsRefused" in refused["last_error"]


async def test_two_senders_at_once_send_each_notice_once(demo_db, smtp_server):
    cohort = await _cohort_under_way()
    session = await _future_session(cohort)
    await _move(cohort, session)
    total = len(await _notices(session["id"]))
    first, second = await asyncio.gather(
        notices.send_due(smtp=smtp_server.config), notices.send_due(smtp=smtp_server.config)
    )
    assert first.sent + second.sent == total
    assert len(smtp_server.messages) == total
    assert len({rcpt[0] for rcpt, _m in smtp_server.messages}) == total


async def test_without_an_smtp_host_sending_is_off_and_notices_wait(demo_db, monkeypatch):
    monkeypatch.setattr(notices, "get_settings", lambda: dataclasses.replace(get_settings(), smtp_host=None))
    cohort = await _cohort_under_way()
    session = await _future_session(cohort)
    await _move(cohort, session)
    waiting = await Notice.count()
    summary = await notices.send_due()
    assert summary.disabled and summary.waiting == waiting > 0
    assert "INTRO_SMTP_HOST" in str(summary)
    assert await Notice.count().where(Notice.attempts == 0) == waiting


def query(coro):
    return asyncio.new_event_loop().run_until_complete(coro)


def test_the_send_notices_command_sends_through_the_configured_server(demo_db, smtp_server, monkeypatch):
    configured = dataclasses.replace(
        get_settings(), smtp_host="127.0.0.1", smtp_port=smtp_server.config.port, mail_from="intro@kommune.example"
    )
    monkeypatch.setattr(notices, "get_settings", lambda: configured)

    async def move() -> int:
        cohort = await _cohort_under_way()
        session = await _future_session(cohort)
        await _move(cohort, session)
        return await Notice.count()

    queued = query(move())
    result = CliRunner().invoke(cli, ["send-notices"])
    assert result.exit_code == 0, result.output
    assert f"{queued} beskeder sendt, 0 mislykkedes, 0 beskeder venter." in result.output
    assert len(smtp_server.messages) == queued


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "newsletter"},
        {"attempts": -1},
        {"email": " "},
        {"sent_at": "now", "next_attempt_at": None, "attempts": 0},  # sent without an attempt
        {"sent_at": "now", "attempts": 1},  # sent, yet still waiting for another attempt
        {"next_attempt_at": None},  # not sent, and never to be tried
    ],
)
async def test_the_database_refuses_a_malformed_notice(demo_db, changes):
    now = clock.now()
    person = await _person("deltager@intro.example")
    values = {
        "recipient": person, "email": "deltager@intro.example", "subject": "Emne", "body": "Tekst",
        "kind": "session_moved", "attempts": 0, "next_attempt_at": now,
    }
    values.update({k: now if v == "now" else v for k, v in changes.items()})
    with pytest.raises(Exception) as caught:
        await Notice.insert(Notice(**values))
    name = type(caught.value).__name__
    assert "IntegrityError" in name or "Violation" in name, repr(caught.value)
    values.update(kind="session_moved", attempts=1, email="deltager@intro.example", sent_at=now, next_attempt_at=None)
    await Notice.insert(Notice(**values))  # the well-formed one goes in


# --------------------------------------------------------------------------------------
# The message itself (pure)


async def _module(session: dict) -> dict:
    from intro.tables import Module

    return await Module.select(Module.code, Module.title).where(Module.id == session["module"]).first()


def _da_day(day) -> str:
    weekdays = ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"]
    months = ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august",
              "september", "oktober", "november", "december"]
    return f"{weekdays[day.weekday()]} {day.day}. {months[day.month - 1]} {day.year}"


def facts(starts: datetime, ends: datetime, **changes) -> SessionFacts:
    base = SessionFacts(
        module_code="SAM-1",
        module_title="Den gode samtale",
        cohort_name="Hold B – efterår",
        starts_at=starts,
        ends_at=ends,
        venue_name="Jobcenter Næstved",
        venue_address="Ringstedgade 1, 4700 Næstved",
        status="scheduled",
        instructor_ids=frozenset({7}),
    )
    return dataclasses.replace(base, **changes)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("before", "after", "old_text", "new_text"),
    [
        # Spring: the clocks go forward on Sunday 28 March 2027. 09.00 is 08.00 UTC
        # the week before and 07.00 UTC the week after.
        (
            (utc(2027, 3, 23, 8), utc(2027, 3, 23, 14)),
            (utc(2027, 3, 30, 7), utc(2027, 3, 30, 13)),
            "tirsdag 23. marts 2027 kl. 09.00–15.00",
            "tirsdag 30. marts 2027 kl. 09.00–15.00",
        ),
        # Autumn: back on Sunday 31 October 2027.
        (
            (utc(2027, 10, 29, 7), utc(2027, 10, 29, 13)),
            (utc(2027, 11, 1, 8), utc(2027, 11, 1, 14)),
            "fredag 29. oktober 2027 kl. 09.00–15.00",
            "mandag 1. november 2027 kl. 09.00–15.00",
        ),
    ],
)
def test_a_move_across_the_clock_change_keeps_the_wall_clock_time(before, after, old_text, new_text):
    subject, body = compose_notice(
        facts(*before), facts(*after), "Helligdag", base_url="https://intro.example.dk/"
    )
    assert subject == f"Kursusdag flyttet: SAM-1 Den gode samtale, nu {new_text.split(' kl.')[0]}"
    assert f"Før:\n  {old_text}\n  Sted: Jobcenter Næstved, Ringstedgade 1, 4700 Næstved" in body
    assert f"Nu:\n  {new_text}\n" in body
    # Same hours on the wall: only the date has changed, whatever UTC says.
    assert "er ændret: ny dato." in body
    assert "Se dit introforløb i Intro: https://intro.example.dk/plan" in body


def test_a_new_place_only():
    day = (utc(2027, 2, 2, 8), utc(2027, 2, 2, 14))
    subject, body = compose_notice(
        facts(*day), facts(*day, venue_name="Slagelse Rådhus", venue_address="Rådhuspladsen 11, 4200 Slagelse"),
        "Større lokale", base_url="https://intro.example.dk",
    )
    assert subject == "Nyt sted for kursusdag: SAM-1 Den gode samtale, tirsdag 2. februar 2027"
    assert "er ændret: nyt sted." in body
    assert "Sted: Slagelse Rådhus, Rådhuspladsen 11, 4200 Slagelse" in body
    assert "Begrundelse: Større lokale" in body


def test_an_online_day_and_a_day_ending_after_midnight():
    subject, body = compose_notice(
        facts(utc(2027, 2, 2, 8), utc(2027, 2, 2, 14)),
        facts(utc(2027, 2, 3, 20), utc(2027, 2, 3, 23, 30), venue_name=None, venue_address=None),
        "", base_url="https://intro.example.dk",
    )
    assert "Sted: online (intet fysisk sted)" in body
    assert "onsdag 3. februar 2027 kl. 21.00 til torsdag 4. februar 2027 kl. 00.30" in body
    assert "Begrundelse" not in body  # nothing to say, no empty line for it


def test_cancelled_for_participants_and_instructors():
    before = facts(utc(2027, 3, 9, 8), utc(2027, 3, 9, 14))
    after = dataclasses.replace(before, status="cancelled")
    subject, body = compose_notice(before, after, "Lokalet er lukket", base_url="https://intro.example.dk")
    assert subject == "Aflyst: SAM-1 Den gode samtale, tirsdag 9. marts 2027"
    assert "er aflyst:\n\n  tirsdag 9. marts 2027 kl. 09.00–15.00" in body
    assert "Du skal ikke møde op den dag." in body and "/plan" in body
    subject, body = compose_notice(
        before, after, "Lokalet er lukket", base_url="https://intro.example.dk", audience=Audience.instructor
    )
    assert subject.startswith("Aflyst:")
    assert "Du skal ikke undervise den dag." in body
    assert "Se dine undervisningsdage i Intro: https://intro.example.dk/\n" in body


def test_a_line_break_in_a_title_never_reaches_the_subject():
    day = (utc(2027, 2, 2, 8), utc(2027, 2, 2, 14))
    subject, _body = compose_notice(
        facts(*day, module_title="Den gode\nsamtale"), facts(*day, module_title="Den gode\nsamtale", venue_name="X"),
        "", base_url="https://x",
    )
    assert "\n" not in subject and "Den gode samtale" in subject


def test_retries_pause_longer_and_longer_then_every_four_hours():
    assert [retry_delay(n) for n in range(1, 7)] == [
        timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
        timedelta(hours=4), timedelta(hours=4),
    ]


def test_smtp_settings_come_from_the_environment_settings():
    assert SmtpConfig.from_settings(dataclasses.replace(get_settings(), smtp_host=None)) is None
    config = SmtpConfig.from_settings(
        dataclasses.replace(
            get_settings(), smtp_host="mail.kommune.dk", smtp_port=587, smtp_user="intro",
            smtp_password="hemmelig", smtp_starttls=True, mail_from="intro@kommune.dk",
        )
    )
    assert config == SmtpConfig("mail.kommune.dk", 587, "intro", "hemmelig", True, "intro@kommune.dk")
    assert "hemmelig" not in repr(config)


# --------------------------------------------------------------------------------------
# A subject reads the same in every mail client


def _as_a_mail_client_reads_it(message: email.message.EmailMessage) -> tuple[str, str]:
    """The Subject of a message as sent over SMTP (CRLF, smtplib's generator), read
    back twice: by Python's modern parser and by decoding RFC 2047 words by hand, as
    an older client would."""
    from email.header import decode_header, make_header

    wire = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    parsed = email.message_from_bytes(wire, policy=policy.default)
    legacy = email.message_from_bytes(wire, policy=policy.compat32)
    return str(parsed["Subject"]), str(make_header(decode_header(legacy["Subject"])))


def _sent(subject: str) -> email.message.EmailMessage:
    notice = {"id": 1, "email": "deltager@intro.example", "subject": subject, "body": "Hej\n",
              "created_at": datetime(2026, 11, 29, 12, tzinfo=UTC)}
    return notices.build_message(notice, SmtpConfig(host="localhost", mail_from="intro@intro.example"))


@pytest.mark.parametrize(
    "subject",
    [
        # Plain ASCII and longer than one header line: the policy folded it straight after
        # "Subject:", and it came back as " Aflyst: …" (the fault that made main red).
        "Aflyst: VIR-1 Virksomhedskontakt og jobmatch, tirsdag 15. december 2026",
        "Aflyst: SAM-1 Den gode samtale, tirsdag 15. december 2026",
        "Kort",
        "x" * 300,
        "Text that looks like an encoded word =?utf-8?q?hej?= stays as typed",
        "  two  spaces  and  a  trailing one ",
    ],
)
def test_a_subject_reads_back_exactly(subject):
    assert _as_a_mail_client_reads_it(_sent(subject)) == (subject, subject)


@settings(max_examples=300, deadline=None)
@given(
    code=st.from_regex(r"[A-ZÆØÅ]{2,4}-[0-9]{1,2}", fullmatch=True),
    # Plain ASCII, Danish and any printable text: each once took a path of its own.
    title=st.one_of(
        # Words as real titles have them, of every total length around one header line.
        st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyzæøå-", min_size=1, max_size=14), min_size=1,
                 max_size=16).map(" ".join),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=200),
        st.text(alphabet="abcæøåÆØÅ -,.:", min_size=1, max_size=120),
        st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=200),
    ),
    day=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    audience=st.sampled_from(list(Audience)),
    cancelled=st.booleans(),
)
def test_every_notice_subject_reads_back_exactly_in_a_mail_client(code, title, day, audience, cancelled):
    starts = datetime.combine(day, datetime.min.time(), tzinfo=UTC).replace(hour=8)
    before = facts(starts - timedelta(days=7), starts - timedelta(days=7) + timedelta(hours=6))
    after = dataclasses.replace(
        before, module_code=code, module_title=title, starts_at=starts, ends_at=starts + timedelta(hours=6),
        status="cancelled" if cancelled else "scheduled",
    )
    subject, _body = compose_notice(before, after, "", base_url="https://intro.example.dk", audience=audience)
    assert "\n" not in subject and "\r" not in subject
    assert _as_a_mail_client_reads_it(_sent(subject)) == (subject, subject)
