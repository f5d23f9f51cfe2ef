"""The notice outbox (issue 17): a notice that keeps failing is given up after
MAX_ATTEMPTS and shown as failed; admins and coordinators see and resend notices."""

from __future__ import annotations

from datetime import timedelta

from intro import clock
from intro.demo.west_zealand import DEMO_PASSWORD
from intro.people import accounts
from intro.planning import notices
from intro.tables import AuditLog, Cohort, Notice, Partnership, Person, Session
from tests.conftest import login, post_form
from tests.test_notices import server_down, smtp_server  # noqa: F401  (fixtures)

COORDINATOR = "koordinator@intro.example"
ADMIN = "admin@intro.example"


async def _queue_notice(email: str = "deltager@intro.example") -> int:
    """One queued notice about a course day of a demo cohort, to this person."""
    person = await Person.select(Person.id, Person.email).where(Person.email == email).first()
    session = await Session.select(Session.id).first()
    row = await Notice.insert(
        Notice(
            recipient=person["id"], email=person["email"], subject="Kursusdag flyttet",
            body="Din kursusdag er flyttet.", session=session["id"], kind="session_moved",
        )
    ).returning(Notice.id)
    return row[0]["id"]


async def _notice(notice_id: int) -> dict:
    return await Notice.select().where(Notice.id == notice_id).first()


async def _time_passes(notice_id: int) -> None:
    """As if the pause before the next attempt were over."""
    await Notice.update({Notice.next_attempt_at: clock.now() - timedelta(seconds=1)}).where(
        (Notice.id == notice_id) & Notice.sent_at.is_null()
    )


async def test_a_notice_that_keeps_failing_stops_after_the_limit(demo_db, server_down):  # noqa: F811
    await Notice.update({Notice.next_attempt_at: clock.now() + timedelta(days=30)}).where(
        Notice.sent_at.is_null()
    )  # the demo's own queue stays out of the way
    notice_id = await _queue_notice()
    for _ in range(notices.MAX_ATTEMPTS + 5):
        await _time_passes(notice_id)
        await notices.send_due(smtp=server_down)
    failed = await _notice(notice_id)
    assert failed["attempts"] == notices.MAX_ATTEMPTS
    assert failed["failed_at"] is not None and failed["sent_at"] is None
    assert "ConnectionRefusedError" in failed["last_error"]
    # Not counted as waiting any more; the row itself is kept.
    summary = await notices.send_due(smtp=server_down)
    assert summary.failed == 0
    assert (await _notice(notice_id))["attempts"] == notices.MAX_ATTEMPTS


async def test_the_limit_is_reached_only_at_the_last_attempt():
    assert [notices.gives_up(n) for n in range(1, notices.MAX_ATTEMPTS + 2)] == (
        [False] * (notices.MAX_ATTEMPTS - 1) + [True, True]
    )


async def test_the_outbox_shows_a_failed_notice_and_resending_sends_it(demo_client, smtp_server):  # noqa: F811
    notice_id = await _queue_notice()
    await Notice.update(
        {Notice.attempts: notices.MAX_ATTEMPTS, Notice.failed_at: clock.now(), Notice.last_error: "SMTP nede"}
    ).where(Notice.id == notice_id)
    await login(demo_client, COORDINATOR)
    page = await demo_client.get("/notices?status=failed")
    assert page.status_code == 200
    assert "Opgivet (1)" in page.text and "SMTP nede" in page.text and "deltager@intro.example" in page.text

    resent = await post_form(demo_client, f"/notices/{notice_id}/resend")
    assert resent.status_code == 303
    row = await _notice(notice_id)
    assert (row["failed_at"], row["attempts"]) == (None, 0)
    assert await AuditLog.exists().where((AuditLog.action == "notice.resend") & (AuditLog.object_id == str(notice_id)))

    await notices.send_due(smtp=smtp_server.config)
    assert (await _notice(notice_id))["sent_at"] is not None
    assert smtp_server.to("deltager@intro.example")["Subject"] == "Kursusdag flyttet"
    again = await post_form(demo_client, f"/notices/{notice_id}/resend")
    assert again.status_code == 400 and "Beskeden er allerede sendt." in again.text
    sent_tab = await demo_client.get("/notices?status=sent")
    assert "Kursusdag flyttet" in sent_tab.text


async def test_a_coordinator_sees_only_notices_about_their_partnerships_cohorts(demo_client):
    notice_id = await _queue_notice()
    other = (await Partnership.insert(Partnership(name="Nordjylland")).returning(Partnership.id))[0]["id"]
    person = await accounts.create_person(None, "nord.koordinator@intro.example", "Nora Nord", DEMO_PASSWORD)
    await accounts.grant_role(None, person, "coordinator", partnership_id=other)
    await login(demo_client, "nord.koordinator@intro.example")
    page = await demo_client.get("/notices?status=waiting")
    assert page.status_code == 200 and "Kursusdag flyttet" not in page.text
    assert (await post_form(demo_client, f"/notices/{notice_id}/resend")).status_code == 404

    # The admin sees every notice.
    await demo_client.post("/logout", data={"_csrf_token": demo_client.cookies.get("csrftoken")})
    await login(demo_client, ADMIN)
    page = await demo_client.get("/notices?status=waiting")
    assert "Kursusdag flyttet" in page.text
    cohorts = await Cohort.count()
    assert cohorts  # the demo's notices are about its cohorts
