"""Calendar feeds: content every calendar reads right, secret URLs, HTTP caching."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from litestar.testing import AsyncTestClient

from app import create_app
from intro import clock
from intro.calendars import feeds
from intro.calendars.ical import FeedEvent, build_calendar
from intro.planning import cohort_forms, cohorts
from intro.planning.rows import CohortRow, SessionRow
from intro.tables import Cohort, Enrolment, Person, PlanItem, RoleGrant, Session
from intro.timefmt import local
from tests.cohort_rows import cohort_or_404
from tests.conftest import login, post_form

# Reads the date: also run at every pinned day (make test-days).
pytestmark = pytest.mark.days

SARA = "deltager@intro.example"


def event(uid, start, **kw):
    fields = dict(
        uid=uid, starts_at=start, ends_at=start + timedelta(hours=6), sequence=0, cancelled=False,
        summary="LOV-1 Beskæftigelsesindsatsen – Næstved", location="Jobcenter Næstved, Farimagsvej 4, 4700 Næstved",
        description="Forbered dig: læs om målgrupperne. Æ ø å.", url="https://intro.example/x", last_modified=start,
    )
    fields.update(kw)
    return FeedEvent(**fields)


def test_local_times_are_right_in_the_weeks_the_clocks_change():
    before = event("a@intro", datetime(2027, 3, 23, 8, tzinfo=UTC))  # 09:00 CET
    after = event("b@intro", datetime(2027, 3, 30, 7, tzinfo=UTC))  # 09:00 CEST
    autumn = event("c@intro", datetime(2027, 11, 2, 8, tzinfo=UTC), sequence=3, cancelled=True)
    text = build_calendar("Intro – Mine kursusdage", [after, before, autumn]).decode()
    assert "BEGIN:VTIMEZONE" in text and "TZID:Europe/Copenhagen" in text
    assert "DTSTART;TZID=Europe/Copenhagen:20270323T090000" in text
    assert "DTSTART;TZID=Europe/Copenhagen:20270330T090000" in text
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in text and "X-PUBLISHED-TTL:PT1H" in text
    assert "X-WR-CALNAME:Intro – Mine kursusdage" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))  # folded per RFC 5545
    parsed = Calendar.from_ical(text)
    starts = {e["UID"]: e.decoded("DTSTART").astimezone(UTC) for e in parsed.walk("VEVENT")}
    assert starts == {"a@intro": before.starts_at, "b@intro": after.starts_at, "c@intro": autumn.starts_at}
    cancelled = next(e for e in parsed.walk("VEVENT") if e["UID"] == "c@intro")
    assert cancelled["STATUS"] == "CANCELLED" and int(cancelled["SEQUENCE"]) == 3
    assert "Æ ø å" in str(parsed.walk("VEVENT")[0]["DESCRIPTION"])


async def _make_feed(client, target: str) -> str:
    page = await post_form(client, "/me/feeds", {"target": target})
    assert page.status_code == 200, page.text[:300]
    return re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', page.text).group(1)


async def test_a_participant_subscribes_and_calendars_poll_with_caching(demo_client):
    await login(demo_client, SARA)
    url = await _make_feed(demo_client, "person:")
    path = url.split("intro.test", 1)[-1] if "intro.test" in url else "/" + url.split("/", 3)[3]
    assert "deltager" not in path and "sara" not in path.lower()
    async with AsyncTestClient(app=create_app(), base_url="http://intro.test") as calendar:
        response = await calendar.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/calendar")
        parsed = Calendar.from_ical(response.content)
        sara = await Person.select(Person.id).where(Person.email == SARA).first()
        cohort = (await Enrolment.select(Enrolment.cohort).where(Enrolment.person == sara["id"]).first())["cohort"]
        expected = await Session.count().where((Session.cohort == cohort) & (Session.status == "scheduled"))
        assert len(list(parsed.walk("VEVENT"))) == expected
        etag, modified = response.headers["etag"], response.headers["last-modified"]
        assert (await calendar.get(path, headers={"If-None-Match": etag})).status_code == 304
        assert (await calendar.get(path, headers={"If-Modified-Since": modified})).status_code == 304
        head = await calendar.head(path)
        assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag
        zipped = await calendar.get(path, headers={"Accept-Encoding": "gzip"})
        assert zipped.headers.get("content-encoding") == "gzip"

        # A moved course day: same UID, higher SEQUENCE, new ETag.
        session = await Session.select().where((Session.cohort == cohort) & (Session.starts_at > clock.now())).first()
        c = await cohort_or_404(cohort)
        day = local(session["starts_at"]).date() + timedelta(days=1)
        change = await cohort_forms.read_session_form(SessionRow.from_row(session), CohortRow.from_row(c), {"date": day.isoformat(), "start": "10:00", "end": "15:00", "venue": str(session["venue"] or ""), "reason": "Flyttet"})
        await cohorts.change_session(1, SessionRow.from_row(session), CohortRow.from_row(c), change)
        fresh = await calendar.get(path, headers={"If-None-Match": etag})
        assert fresh.status_code == 200 and fresh.headers["etag"] != etag
        moved = next(e for e in Calendar.from_ical(fresh.content).walk("VEVENT") if e["UID"] == session["uid"])
        assert int(moved["SEQUENCE"]) == 1
        await cohorts.cancel_session(1, SessionRow.from_row(await Session.select().where(Session.id == session["id"]).first()), "Syg underviser")
        gone = next(e for e in Calendar.from_ical((await calendar.get(path)).content).walk("VEVENT") if e["UID"] == session["uid"])
        assert gone["STATUS"] == "CANCELLED" and int(gone["SEQUENCE"]) == 2


async def test_regenerate_and_revoke_end_the_old_url_at_once(demo_client):
    await login(demo_client, SARA)
    url = await _make_feed(demo_client, "person:")
    old = "/" + url.split("/", 3)[3]
    page = await demo_client.get("/me/feeds")
    feed_id = re.search(r'/me/feeds/(\d+)/regenerate', page.text).group(1)
    again = await post_form(demo_client, f"/me/feeds/{feed_id}/regenerate")
    new = "/" + re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', again.text).group(1).split("/", 3)[3]
    async with AsyncTestClient(app=create_app(), base_url="http://intro.test") as calendar:
        assert (await calendar.get(old)).status_code == 404
        assert (await calendar.get(new)).status_code == 200
        await post_form(demo_client, f"/me/feeds/{feed_id}/revoke")
        assert (await calendar.get(new)).status_code == 404


async def test_a_cohort_feed_lists_no_participants_and_ends_when_access_ends(demo_client):
    cohort = await Cohort.select(Cohort.id).where(Cohort.status == "active").first()
    await login(demo_client, "koordinator@intro.example")
    url = await _make_feed(demo_client, f"cohort:{cohort['id']}")
    path = "/" + url.split("/", 3)[3]
    names = [r["name"] for r in await Enrolment.select(Enrolment.person.full_name.as_alias("name")).where(Enrolment.cohort == cohort["id"])]
    async with AsyncTestClient(app=create_app(), base_url="http://intro.test") as calendar:
        text = (await calendar.get(path)).content.decode()
        assert "BEGIN:VEVENT" in text
        assert not any(name in text for name in names)
        coordinator = await Person.select(Person.id).where(Person.email == "koordinator@intro.example").first()
        await RoleGrant.delete().where((RoleGrant.person == coordinator["id"]) & (RoleGrant.role == "coordinator"))
        assert (await calendar.get(path)).status_code == 404


async def test_people_can_only_make_feeds_they_may_see(demo_client):
    cohort = await Cohort.select(Cohort.id).first()
    await login(demo_client, SARA)
    refused = await post_form(demo_client, "/me/feeds", {"target": f"cohort:{cohort['id']}"})
    assert refused.status_code == 400
    refused = await post_form(demo_client, "/me/feeds", {"target": "instructor:"})
    assert refused.status_code == 400


async def test_an_admin_revokes_every_feed_of_a_person(demo_client):
    await login(demo_client, SARA)
    path = "/" + (await _make_feed(demo_client, "person:")).split("/", 3)[3]
    sara = await Person.select(Person.id).where(Person.email == SARA).first()
    assert await feeds.revoke_all(1, sara["id"]) == 1
    async with AsyncTestClient(app=create_app(), base_url="http://intro.test") as calendar:
        assert (await calendar.get(path)).status_code == 404


async def test_add_one_course_day_to_a_calendar(demo_client):
    sara = await Person.select(Person.id).where(Person.email == SARA).first()
    cohort = (await Enrolment.select(Enrolment.cohort).where(Enrolment.person == sara["id"]).first())["cohort"]
    own = await Session.select(Session.id, Session.uid).where((Session.cohort == cohort) & (Session.status == "scheduled")).first()
    other = await Session.select(Session.id).where(Session.cohort != cohort).first()
    await login(demo_client, SARA)
    response = await demo_client.get(f"/sessions/{own['id']}/event.ics")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    [single] = list(Calendar.from_ical(response.content).walk("VEVENT"))
    assert single["UID"] == own["uid"]
    assert (await demo_client.get(f"/sessions/{other['id']}/event.ics")).status_code == 404


async def test_a_personal_feed_can_carry_plan_deadlines_as_all_day_events(demo_client):
    await login(demo_client, SARA)
    page = await post_form(demo_client, "/me/feeds", {"target": "person:", "deadlines": "1"})
    path = "/" + re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', page.text).group(1).split("/", 3)[3]
    async with AsyncTestClient(app=create_app(), base_url="http://intro.test") as calendar:
        first = await calendar.get(path)
        parsed = Calendar.from_ical(first.content)
        deadlines = [e for e in parsed.walk("VEVENT") if str(e["UID"]).startswith("plan-")]
        assert deadlines and all(str(e["SUMMARY"]).startswith("Frist") for e in deadlines)
        assert all(e.decoded("DTSTART").__class__.__name__ == "date" for e in deadlines)
        # Ticking one off removes it, and the ETag changes.
        item_id = int(str(deadlines[0]["UID"]).removeprefix("plan-").removesuffix("@intro"))
        await PlanItem.update({PlanItem.status: "done", PlanItem.done_at: clock.now(), PlanItem.updated_at: clock.now()}).where(PlanItem.id == item_id)
        second = await calendar.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert second.status_code == 200
        assert f"plan-{item_id}@intro" not in second.content.decode()


async def test_an_admin_stops_a_persons_feeds_from_the_user_page(demo_client):
    await login(demo_client, SARA)
    path = "/" + (await _make_feed(demo_client, "person:")).split("/", 3)[3]
    sara = await Person.select(Person.id).where(Person.email == SARA).first()
    await login(demo_client, "admin@intro.example")
    page = await demo_client.get(f"/admin/users/{sara['id']}")
    assert "Stop alle kalenderadresser" in page.text
    assert (await post_form(demo_client, f"/admin/users/{sara['id']}/feeds/revoke")).status_code == 303
    async with AsyncTestClient(app=create_app(), base_url="http://intro.test") as calendar:
        assert (await calendar.get(path)).status_code == 404
    await login(demo_client, "koordinator@intro.example")
    assert (await post_form(demo_client, f"/admin/users/{sara['id']}/feeds/revoke")).status_code == 403


async def test_the_per_fetch_check_agrees_with_the_list_of_allowed_feeds(demo_db):
    from intro.access import feed_target_allowed as _may
    from intro.calendars.feeds import allowed_targets
    from intro.people.accounts import load_user
    from intro.tables import Municipality, Venue

    everything = [("person", None), ("instructor", None)]
    everything += [("cohort", c["id"]) for c in await Cohort.select(Cohort.id)]
    everything += [("venue", v["id"]) for v in await Venue.select(Venue.id)]
    everything += [("municipality", m["id"]) for m in await Municipality.select(Municipality.id)]
    everything += [("partnership", 1), ("partnership", 999)]
    for email in (SARA, "koordinator@intro.example", "underviser@intro.example", "chef.slagelse@intro.example", "admin@intro.example"):
        person = await Person.select(Person.id).where(Person.email == email).first()
        user = await load_user(person["id"])
        allowed = {(t.kind, t.target_id) for t in await allowed_targets(user)}
        for kind, target in everything:
            assert await _may(user, kind, target) == ((kind, target) in allowed), (email, kind, target)


async def test_a_feed_sets_no_cookie_and_the_feed_pages_keep_their_csrf_check(demo_client):
    """A calendar program polls by the secret in the URL and keeps no cookies: a feed's
    answers (200 and 304) set none, not even a CSRF token (made afresh for every poll
    before). The CSRF exemption covers /feeds/ only: the owner's POSTs under /me/feeds/
    still need the token."""
    await login(demo_client, SARA)
    url = await _make_feed(demo_client, "person:")
    path = "/feeds/" + url.split("/feeds/", 1)[1]
    async with AsyncTestClient(app=create_app(), base_url="http://intro.test") as calendar:
        first = await calendar.get(path)
        again = await calendar.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert (first.status_code, again.status_code) == (200, 304)
        assert "set-cookie" not in first.headers and "set-cookie" not in again.headers
    page = await demo_client.get("/me/feeds")
    feed_id = re.search(r'/me/feeds/(\d+)/revoke', page.text).group(1)
    refused = await demo_client.post(f"/me/feeds/{feed_id}/revoke", data={})
    assert refused.status_code == 403
