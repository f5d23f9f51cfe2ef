"""The coordinator's planning journey in a real browser (issue 3): a new cohort, its
proposed timetable accepted, one course day moved onto a public holiday and off it again
with the live conflict check, and attendance taken on a tablet, one tap per person."""

from __future__ import annotations

import re
import sqlite3
from datetime import date, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from intro import clock
from intro.planning.scheduling import danish_holidays
from intro.timefmt import MONTHS
from tests.browser.support import (
    assert_no_sideways_scrolling,
    check_accessibility,
    sign_in,
)

pytestmark = pytest.mark.browser

COORDINATOR = "koordinator@intro.example"
# The shared curriculum 2026.1: 14 modules, one of them (LOV-3) over two days.
COURSE_DAYS = 15
# Moveable feasts that always fall in May or June, on a weekday, outside every closed
# period of the demo partnership (the summer holiday starts on 29 June).
MOVEABLE_HOLIDAYS = {"Kristi himmelfartsdag", "Anden pinsedag"}
# The active demo cohort, under way for ten weeks: its past course days have attendance.
ACTIVE_COHORT = "Hold B – efterår"
# The next cohort, full: its wait-list has new hires who can join the one under way.
FULL_COHORT = "Hold C – næste forår"
# An iPad Air in CSS pixels, held upright: attendance is taken on a tablet in the room.
TABLET = {"width": 820, "height": 1180}
DA_DATE = re.compile(r"(\d{1,2})\. (" + "|".join(MONTHS) + r") (\d{4})")


def _query(live_server, sql: str, *params) -> list[tuple]:
    """Read the server's database, to pick test data the pages then have to show."""
    with sqlite3.connect(f"file:{live_server.database}?mode=ro", uri=True) as connection:
        return connection.execute(sql, params).fetchall()


def _today() -> date:
    return clock.today()


def _da_date(text: str) -> date:
    """The date in a Danish text such as "tirsdag 17. november 2026"."""
    match = DA_DATE.search(text)
    assert match, f"no Danish date in {text!r}"
    day, month, year = match.groups()
    return date(int(year), MONTHS.index(month) + 1, int(day))


def _da_date_pattern(day: date) -> str:
    """A cell that ends with this date as the pages write it."""
    return rf"{day.day}\. {MONTHS[day.month - 1]} {day.year}$"


def _holiday_after(day: date, closed: list[tuple[date, date]]) -> tuple[date, str]:
    """The first Ascension Day or Whit Monday after `day` outside the closed periods."""
    for holiday, name in sorted(danish_holidays(range(day.year, day.year + 3)).items()):
        if (
            holiday > day
            and name in MOVEABLE_HOLIDAYS
            and not any(start <= holiday <= end for start, end in closed)
        ):
            return holiday, name
    raise AssertionError(f"no moveable public holiday within three years of {day}")


def _mark(row: Locator, status: str, person: str) -> Locator:
    """The button in a row of the attendance sheet that marks the person so; its name
    says whom it is for, as a screen reader hears it out of the row."""
    return row.get_by_role("button", name=re.compile(rf"^{status}\s*:\s*{re.escape(person)}$"))


def _timetable_rows(page: Page) -> Locator:
    return page.get_by_role("table", name="Holdets kursusdage").locator("tbody").get_by_role("row")


def test_the_coordinator_plans_a_new_cohort_and_moves_a_day_off_a_holiday(
    page, live_server, artifacts
):
    first_day = _today() + timedelta(weeks=6)
    name = f"Hold fra {first_day:%d.%m.%Y} (browsertest)"
    closed = [
        (date.fromisoformat(start), date.fromisoformat(end))
        for start, end in _query(live_server, "SELECT start_date, end_date FROM closed_period")
    ]

    # 1. A new cohort, by the labels of the form.
    sign_in(page, COORDINATOR)
    page.get_by_role("navigation", name="Hovedmenu").get_by_role("link", name="Hold").click()
    expect(page).to_have_url(re.compile(r"/cohorts$"))
    page.get_by_role("link", name="Opret hold").click()
    expect(page).to_have_url(re.compile(r"/cohorts/new\?partnership=\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Opret hold i "))
    check_accessibility(page)

    page.get_by_label("Holdets navn").fill(name)
    page.get_by_label("Første kursusdag").fill(first_day.isoformat())
    # Small enough for every venue of the partnership.
    page.get_by_label("Pladser i alt").fill("20")
    expect(page.get_by_role("checkbox", name="Tirsdag")).to_be_checked()
    page.get_by_role("button", name="Opret hold").click()

    expect(page).to_have_url(re.compile(r"/cohorts/\d+\?notice=created$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_role("status").filter(has_text="Holdet er oprettet")).to_be_visible()
    # No seats reserved for any municipality: the places alone.
    expect(page.locator("dl.facts dt:text-is('Pladser') + dd")).to_have_text("20")
    expect(page.get_by_text("Holdet har ingen kursusdage endnu.")).to_be_visible()

    # The proposal: every course day of the curriculum, not yet in anyone's calendar.
    page.get_by_role("button", name="Lav forslag til plan").click()
    expect(page.get_by_role("status").filter(has_text="nyt forslag")).to_be_visible()
    rows = _timetable_rows(page)
    expect(rows).to_have_count(COURSE_DAYS)
    expect(rows.locator("td:nth-child(6)")).to_have_text(["Forslag"] * COURSE_DAYS)
    check_accessibility(page)

    page.get_by_role("button", name="Godkend planen").click()
    expect(page).to_have_url(re.compile(r"/cohorts/\d+\?notice=accepted$"))
    expect(page.get_by_role("status").filter(has_text="Planen er godkendt")).to_have_text(
        "Planen er godkendt. Kursusdagene er nu planlagt."
    )
    expect(rows.locator("td:nth-child(6)")).to_have_text(["Planlagt"] * COURSE_DAYS)
    expect(page.get_by_role("button", name="Godkend planen")).to_have_count(0)

    # 2. A course day onto a public holiday: the last one before it (or the first, if
    # the holiday comes before them all), so that the move keeps the order of the
    # modules and the holiday is the only thing wrong.
    holiday, holiday_name = _holiday_after(first_day, closed)
    days = [_da_date(text) for text in rows.locator("td:nth-child(1)").all_text_contents()]
    index = max((i for i, day in enumerate(days) if day < holiday), default=0)
    planned_day = days[index]
    row = rows.nth(index)
    session_id = row.get_attribute("id")
    assert session_id and session_id.startswith("session-")
    row.get_by_role("link", name=re.compile(r"^Ret ")).click()
    expect(page).to_have_url(re.compile(r"/sessions/\d+/edit$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Ret kursusdag: "))
    date_field = page.get_by_label("Dato")
    expect(date_field).to_have_value(planned_day.isoformat())

    check = page.get_by_role("region", name="Tjek af konflikter")
    expect(check).to_contain_text("Ingen konflikter")
    url = page.url
    date_field.fill(holiday.isoformat())
    # The live check answers without the form being sent.
    expect(check).to_contain_text(holiday_name)
    expect(check.locator("#conflict-check")).to_contain_text("Det her passer ikke")
    assert page.url == url
    page.screenshot(path=artifacts / "planning-session-edit-holiday.png", full_page=True)
    check_accessibility(page)

    page.get_by_label("Begrundelse").fill("Underviseren kan kun den dag.")
    page.get_by_role("button", name="Gem ændringen").click()
    # A hard conflict stops the save: nothing is stored until the coordinator overrides
    # it on purpose, with a reason.
    expect(page.get_by_role("alert")).to_contain_text("Ændringen er ikke gemt, fordi:")
    expect(page.get_by_role("alert")).to_contain_text(holiday_name)
    page.get_by_label("Gem trods konflikter").check()
    page.get_by_label("Hvorfor gemmes ændringen trods konflikterne?").fill("Underviseren kan kun den dag.")
    page.get_by_role("button", name="Gem ændringen").click()
    expect(page).to_have_url(re.compile(rf"/cohorts/\d+\?notice=moved#{session_id}$"))
    expect(page.get_by_role("status").filter(has_text="Kursusdagen er ændret.")).to_be_visible()
    moved = page.locator(f"#{session_id}")
    expect(moved.locator("td").first).to_have_text(re.compile(_da_date_pattern(holiday)))
    expect(moved.locator(".conflict")).to_have_text(re.compile(rf"^Konflikt:.*{holiday_name}"))
    expect(moved.locator("td:nth-child(6)")).to_have_text("Planlagt (ændret 1 gang)")
    check_accessibility(page)

    # And back to the weekday the proposal chose, which was free.
    moved.get_by_role("link", name=re.compile(r"^Ret ")).click()
    expect(check).to_contain_text(holiday_name)
    date_field.fill(planned_day.isoformat())
    expect(check).to_contain_text("Ingen konflikter")
    page.get_by_label("Begrundelse").fill("Tilbage på holdets faste ugedag.")
    page.get_by_role("button", name="Gem ændringen").click()
    expect(page).to_have_url(re.compile(rf"\?notice=moved#{session_id}$"))
    expect(moved.locator("td").first).to_have_text(re.compile(_da_date_pattern(planned_day)))
    expect(moved.locator(".conflict")).to_have_count(0)
    expect(moved.locator("td:nth-child(6)")).to_have_text("Planlagt (ændret 2 gange)")
    page.screenshot(path=artifacts / "planning-cohort.png", full_page=True)


def test_the_coordinator_enrols_a_late_joiner_and_takes_attendance_on_a_tablet(
    new_page, live_server, artifacts
):
    page = new_page(viewport=TABLET, is_mobile=True, has_touch=True, device_scale_factor=2)
    # A Ringsted new hire on the cohort being planned, to move to the cohort under way,
    # which has an open place left. (Enrolling them there as well is refused: one active
    # enrolment per person.)
    late_joiner, _municipality = _query(
        live_server,
        "SELECT p.full_name, m.name FROM enrolment e JOIN cohort c ON c.id = e.cohort"
        " JOIN person p ON p.id = e.person JOIN municipality m ON m.id = e.municipality"
        " WHERE c.name = ? AND e.status = 'enrolled' AND m.name = 'Ringsted' ORDER BY e.requested_at LIMIT 1",
        FULL_COHORT,
    )[0]

    sign_in(page, COORDINATOR)
    page.goto("/cohorts")
    page.get_by_role("link", name=FULL_COHORT, exact=True).tap()

    # 3a. The late joiner moved onto the cohort under way ("Flyt til andet hold").
    page.get_by_role("link", name="Tilmeldinger og venteliste").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Tilmeldinger til {FULL_COHORT}")
    check_accessibility(page)
    page.get_by_label(f"Flyt {late_joiner} til hold").select_option(label=ACTIVE_COHORT)
    page.get_by_role("button", name=f"Flyt til andet hold {late_joiner}").tap()
    expect(page.get_by_role("status")).to_have_text("Personen er flyttet til det andet hold og har fået en plads.")

    page.goto("/cohorts")
    page.get_by_role("link", name=ACTIVE_COHORT, exact=True).tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(ACTIVE_COHORT)
    cohort_url = page.url
    page.get_by_role("link", name="Tilmeldinger og venteliste").tap()
    expect(
        page.get_by_role("table", name="Tilmeldte").get_by_role("row", name=re.compile(late_joiner))
    ).to_be_visible()

    # 3b. Attendance on the most recent course day that has begun.
    page.get_by_role("navigation", name="Brødkrummer").get_by_role(
        "link", name=ACTIVE_COHORT, exact=True
    ).tap()
    expect(page).to_have_url(cohort_url)
    timetable = _timetable_rows(page)
    today = _today()
    days = [_da_date(text) for text in timetable.locator("td:nth-child(1)").all_text_contents()]
    started = [i for i, day in enumerate(days) if day <= today]
    assert started, f"{ACTIVE_COHORT} has no course day that has begun"
    held = timetable.nth(started[-1])
    # A day that has been held opens for editing too (it can only be moved forward),
    # with nothing to check until a new date is chosen.
    held.get_by_role("link", name=re.compile(r"^Ret ")).tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Ret kursusdag: "))
    expect(page.get_by_role("region", name="Tjek af konflikter")).to_contain_text(
        "Tjekket venter på en gyldig dato og tid."
    )
    page.go_back()
    held.get_by_role("link", name=re.compile(r"^Fremmøde ")).tap()
    expect(page).to_have_url(re.compile(r"/sessions/\d+/attendance$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Fremmøde: "))
    sheet_url = page.url

    rows = page.locator(".attendance-list > li")
    # Enrolled today: not on the sheet of a day before their enrolment.
    expect(rows.filter(has_text=late_joiner)).to_have_count(0)
    # Someone the demo has marked present, to mark absent (not the demo participant,
    # whose own plan other tests look at).
    present = (
        rows.filter(has=page.get_by_role("button", name=re.compile(r"^Til stede"), pressed=True))
        .filter(has_not_text=live_server.full_name("deltager@intro.example"))
        .first
    )
    absent_row = page.locator(f"#{present.get_attribute('id')}")
    absentee = present.get_by_role("button", name=re.compile(r"^Til stede")).text_content()
    absentee = absentee.split(": ", 1)[1]

    # Each tap updates its own row in place: no page load (the marker survives), same URL.
    page.evaluate("() => { window.notReloaded = true; }")
    _mark(absent_row, "Fraværende", absentee).tap()
    expect(_mark(absent_row, "Fraværende", absentee)).to_have_attribute("aria-pressed", "true")
    expect(_mark(absent_row, "Til stede", absentee)).to_have_attribute("aria-pressed", "false")
    expect(absent_row.get_by_role("status")).to_have_text("Fraværende")
    # The row is new, but the focus is back on the button just used, so the next person
    # is a Tab away for someone on a keyboard.
    expect(_mark(absent_row, "Fraværende", absentee)).to_be_focused()

    assert page.url == sheet_url
    assert page.evaluate("() => window.notReloaded === true"), "the page was loaded again"

    page.screenshot(path=artifacts / "planning-attendance-tablet.png", full_page=True)
    assert_no_sideways_scrolling(page)
    check_accessibility(page)

    # The marks are kept.
    page.reload()
    expect(_mark(absent_row, "Fraværende", absentee)).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("() => window.notReloaded === undefined")
