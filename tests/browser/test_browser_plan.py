"""Mit introforløb in a real browser (issue 4): the participant's week on a phone — the
next course day, a local task ticked off in place, a transfer assignment answered, the
midway self-assessment — and what the others see of it: the coordinator's progress grid
with who is falling behind, and the chief's competence overview."""

from __future__ import annotations

import re
import sqlite3
from datetime import date, datetime

import pytest
from playwright.sync_api import Locator, Page, expect

from intro import clock
from intro.timefmt import da_time, da_weekday_date
from tests.browser.support import (
    PHONE,
    assert_no_sideways_scrolling,
    check_accessibility,
    sign_in,
)

pytestmark = pytest.mark.browser

PARTICIPANT = "deltager@intro.example"
COORDINATOR = "koordinator@intro.example"
CHIEF = "chef.naestved@intro.example"
ACTIVE_COHORT = "Hold B – efterår"
MARK_DONE = re.compile(r"^Markér som gjort")
UNDO = re.compile(r"^Fortryd: ikke gjort")
ANSWER = re.compile(r"^Besvar transferopgaven")


def _query(live_server, sql: str, *params) -> list[tuple]:
    """Read the server's database, to pick test data the pages then have to show."""
    with sqlite3.connect(f"file:{live_server.database}?mode=ro", uri=True) as connection:
        return connection.execute(sql, params).fetchall()


def _today() -> date:
    return clock.today()


def _instant(value: str) -> datetime:
    """A TIMESTAMPTZ as SQLite holds it ("2026-11-24 08:00:00+00:00")."""
    return datetime.fromisoformat(value)


def _phone(new_page) -> Page:
    return new_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)


def _fits_and_is_accessible(page: Page) -> None:
    assert_no_sideways_scrolling(page)
    check_accessibility(page)


def _open_plan_from_the_start_page(page: Page) -> None:
    sign_in(page, PARTICIPANT)
    page.get_by_role("link", name="Gå til mit introforløb").click()
    expect(page).to_have_url(re.compile(r"/plan$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Mit introforløb")


def _hidden_title(control: Locator) -> str:
    """The item's title, which a button or link of a plan item carries for screen readers
    ("Markér som gjort – Deltag i et tværfagligt møde")."""
    return control.locator(".visually-hidden").text_content().strip().removeprefix("–").strip()


def _htmx_settled(page: Page) -> None:
    """Waits for htmx to finish a swap: only when the new content has settled (20 ms)
    does htmx wire up its forms, and a press before that would send the form plainly."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def _status_of(live_server, item_id: int) -> str:
    return _query(live_server, "SELECT status FROM plan_item WHERE id = ?", item_id)[0][0]


# --------------------------------------------------------------------------------------
# The participant, on a phone


def test_the_participant_sees_the_next_course_day_and_ticks_off_a_task_on_a_phone(
    new_page, live_server, artifacts
):
    # The next course day as the database has it: the page must show that one.
    (sara,) = _query(live_server, "SELECT id FROM person WHERE email = ?", PARTICIPANT)[0]
    upcoming = _query(
        live_server,
        """SELECT pi.due_date, s.starts_at, s.ends_at, v.name, v.address, v.postcode, v.city
             FROM plan_item pi JOIN session s ON s.id = pi.session
             LEFT JOIN venue v ON v.id = s.venue
            WHERE pi.person = ? AND pi.kind = 'session' AND pi.status = 'open'
              AND pi.due_date >= ?
            ORDER BY pi.due_date, s.starts_at""",
        sara,
        _today().isoformat(),
    )
    assert upcoming, "the demo participant has no course day ahead: the demo data has changed"
    day, starts_at, ends_at, venue, address, postcode, city = upcoming[0]

    page = _phone(new_page)
    _open_plan_from_the_start_page(page)

    next_day = page.get_by_role("region", name="Næste kursusdag")
    expect(next_day.get_by_role("heading", level=2)).to_have_text("Næste kursusdag")
    expect(next_day).to_contain_text(da_weekday_date(date.fromisoformat(day)))
    expect(next_day).to_contain_text(f"{da_time(_instant(starts_at))}–{da_time(_instant(ends_at))}")
    if venue:
        expect(next_day).to_contain_text(f"{venue}, {address}, {postcode} {city}")
    else:
        expect(next_day).to_contain_text(re.compile(r", (online|i dit eget jobcenter)"))
    _fits_and_is_accessible(page)
    page.screenshot(path=artifacts / "plan-participant-phone.png", full_page=True)

    # A local task to tick off. If the demo has them all done, undo one first — in place
    # too — from the collapsed list of what is done.
    if page.get_by_role("button", name=MARK_DONE).count() == 0:
        page.get_by_role("region", name=re.compile(r"^Gjort og overstået")).get_by_text(
            "Vis", exact=True
        ).tap()
        page.get_by_role("button", name=UNDO).first.tap()
        expect(page.get_by_role("button", name=MARK_DONE).first).to_be_visible()
        _htmx_settled(page)

    button = page.get_by_role("button", name=MARK_DONE).first
    title = _hidden_title(button)
    item_dom_id = button.locator("xpath=ancestor::li[1]").get_attribute("id")
    item_id = int(item_dom_id.removeprefix("item-"))
    assert _status_of(live_server, item_id) == "open"
    # Anything set on the window is gone if the page is loaded again.
    page.evaluate("() => { window.notReloaded = true; }")

    button.tap()

    item = page.locator(f"#{item_dom_id}")
    expect(item.locator(".tag")).to_have_text("Gjort")
    expect(item.get_by_role("button", name=f"Fortryd: ikke gjort – {title}")).to_be_visible()
    expect(item.get_by_role("button", name=MARK_DONE)).to_have_count(0)
    _htmx_settled(page)
    assert page.evaluate("() => window.notReloaded === true"), "the page was loaded again"
    expect(page).to_have_url(re.compile(r"/plan$"))
    assert _status_of(live_server, item_id) == "done"

    # By keyboard: undo and do again; the new button keeps the focus each time, so a
    # keyboard or screen-reader user does not lose their place in the page.
    item.get_by_role("button", name=UNDO).focus()
    page.keyboard.press("Enter")
    redo = item.get_by_role("button", name=f"Markér som gjort – {title}")
    expect(redo).to_be_focused()
    expect(item.locator(".tag")).to_have_count(0)
    _htmx_settled(page)
    page.keyboard.press("Enter")
    expect(item.get_by_role("button", name=f"Fortryd: ikke gjort – {title}")).to_be_focused()
    assert page.evaluate("() => window.notReloaded === true"), "the page was loaded again"
    assert _status_of(live_server, item_id) == "done"
    _fits_and_is_accessible(page)


def test_the_participant_answers_a_transfer_assignment_on_a_phone(new_page, live_server, artifacts):
    page = _phone(new_page)
    sign_in(page, PARTICIPANT)
    page.get_by_role("navigation", name="Hovedmenu").get_by_role(
        "link", name="Mit introforløb"
    ).click()
    expect(page).to_have_url(re.compile(r"/plan$"))

    answer = page.get_by_role("link", name=ANSWER).first
    title = _hidden_title(answer)
    answer.click()
    expect(page).to_have_url(re.compile(r"/plan/items/\d+/answer$"))
    item_id = int(re.search(r"/plan/items/(\d+)/answer$", page.url).group(1))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Transferopgave: {title}")

    # Sent empty: every field is named in the summary, and its link leads to the field.
    page.get_by_role("button", name="Gem svar").click()
    summary = page.get_by_role("alert")
    expect(summary.get_by_role("heading", name="Ret følgende")).to_be_visible()
    expect(summary.get_by_role("link")).to_have_text(
        [
            "Skriv, hvad du prøvede af i dit arbejde.",
            "Skriv, hvad der skete.",
            "Svar, om du har delt det med dine kolleger.",
        ]
    )
    summary.get_by_role("link", name="Svar, om du har delt det med dine kolleger.").click()
    expect(page.get_by_role("radio", name="Ja")).to_be_focused()
    expect(page.get_by_role("group", name=re.compile(r"^Har du delt det"))).to_contain_text(
        "Svar, om du har delt det med dine kolleger."
    )
    _fits_and_is_accessible(page)
    page.screenshot(path=artifacts / "plan-transfer-errors-phone.png", full_page=True)

    # The form afresh, filled in by its labels.
    page.goto(f"/plan/items/{item_id}/answer")
    expect(page.get_by_role("alert")).to_have_count(0)
    page.get_by_label("Hvad prøvede du af i dit arbejde?").fill(
        "Jeg stillede åbne spørgsmål i starten af to samtaler om sygedagpenge."
    )
    page.get_by_label("Hvad skete der?").fill(
        "Borgerne fortalte mere selv, og vi fandt et næste skridt sammen."
    )
    page.get_by_role("radio", name="Ja").check()
    _fits_and_is_accessible(page)
    page.screenshot(path=artifacts / "plan-transfer-phone.png", full_page=True)

    page.get_by_role("button", name="Gem svar").click()
    expect(page).to_have_url(re.compile(r"/plan\?notice=answered$"))
    expect(page.get_by_role("status")).to_have_text("Tak – dit svar på transferopgaven er gemt.")
    # Answered, it is done: among what is done, folded away until asked for.
    done = page.get_by_role("region", name=re.compile(r"^Gjort og overstået"))
    item = done.locator(f"#item-{item_id}")
    expect(item).to_be_hidden()
    done.get_by_text("Vis", exact=True).tap()
    expect(item.locator(".tag")).to_have_text("Besvaret")
    expect(item.get_by_role("link", name=f"Se eller ret dit svar – {title}")).to_be_visible()
    shared, answered_at = _query(
        live_server,
        "SELECT shared_with_colleagues, answered_at FROM plan_item WHERE id = ?",
        item_id,
    )[0]
    assert shared == 1 and answered_at


def test_the_participant_rates_every_competence_midway_on_a_phone(new_page, artifacts):
    page = _phone(new_page)
    _open_plan_from_the_start_page(page)
    page.get_by_role("link", name="Min selvvurdering").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Min selvvurdering")
    phases = page.get_by_role("navigation", name="Tidspunkt for vurderingen")
    phases.get_by_role("link", name="Midtvejs").click()
    expect(page).to_have_url(re.compile(r"/plan/self-assessment\?phase=midway$"))
    expect(phases.get_by_role("link", name="Midtvejs")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", level=2, name="Midtvejs")).to_be_visible()
    _fits_and_is_accessible(page)

    form = page.locator("form").filter(has=page.get_by_role("button", name="Gem vurderingen"))
    groups = form.get_by_role("group")
    count = groups.count()
    assert count >= 2, "the demo participant has fewer than two competences to rate"
    expect(form.get_by_role("radio", checked=True)).to_have_count(0)
    # Each legend is "name (profile)"; the table below names the competence alone.
    names = [
        re.sub(r"\s*\([^)]*\)$", "", legend.strip())
        for legend in form.locator("fieldset > legend").all_inner_texts()
    ]
    scores = [index % 5 + 1 for index in range(count)]
    labels = {
        1: "1 – Ikke endnu",
        2: "2 – Lidt",
        3: "3 – Nogenlunde",
        4: "4 – Godt",
        5: "5 – Sikkert",
    }

    # All but the last: refused, and the summary says which one is missing.
    for group, score in zip(groups.all()[:-1], scores[:-1], strict=True):
        group.get_by_role("radio", name=labels[score]).check()
    page.get_by_role("button", name="Gem vurderingen").click()
    expect(page).to_have_url(re.compile(r"/plan/self-assessment/midway$"))
    message = f"Vælg et tal fra 1 til 5 for «{names[-1]}»."
    summary = page.get_by_role("alert")
    expect(summary.get_by_role("heading", name="Ret følgende")).to_be_visible()
    expect(summary.get_by_role("link")).to_have_text([message])
    last = groups.last
    expect(last).to_contain_text(message)
    # Nothing chosen is lost.
    expect(form.get_by_role("radio", checked=True)).to_have_count(count - 1)
    expect(groups.first.get_by_role("radio", name=labels[scores[0]])).to_be_checked()
    _fits_and_is_accessible(page)

    summary.get_by_role("link", name=message).click()
    first_choice = last.get_by_role("radio", name=labels[1])
    expect(first_choice).to_be_focused()
    expect(first_choice).to_be_in_viewport()
    # From there the arrow keys choose within the group, as in any radio group.
    page.keyboard.press("ArrowDown")
    expect(last.get_by_role("radio", name=labels[2])).to_be_focused()
    last.get_by_role("radio", name=labels[scores[-1]]).check()

    page.get_by_role("button", name="Gem vurderingen").click()
    expect(page).to_have_url(re.compile(r"/plan/self-assessment\?phase=midway&notice=assessed$"))
    expect(page.get_by_role("status")).to_have_text("Din selvvurdering er gemt.")
    expect(page.get_by_role("alert")).to_have_count(0)
    for group, score in zip(groups.all(), scores, strict=True):
        expect(group.get_by_role("radio", name=labels[score])).to_be_checked()

    # Before and after: the midway column holds what was just chosen.
    expect(page.get_by_role("heading", level=2, name="Før og efter")).to_be_visible()
    table = page.get_by_role("table", name="Dine vurderinger fra 1 (ikke endnu) til 5 (sikkert)")
    expect(table.locator("thead th")).to_have_text(
        ["Kompetence", "Ved start", "Midtvejs", "Ved afslutning"]
    )
    expect(table.locator("tbody th")).to_have_text(names)
    expect(table.locator("tbody td:nth-of-type(2)")).to_have_text([str(s) for s in scores])
    _fits_and_is_accessible(page)
    page.screenshot(path=artifacts / "plan-self-assessment-phone.png", full_page=True)


# --------------------------------------------------------------------------------------
# The coordinator and the chief


def test_the_coordinator_sees_progress_and_who_is_falling_behind(page, live_server, artifacts):
    (enrolled,) = _query(
        live_server,
        """SELECT count(*) FROM enrolment e JOIN cohort c ON c.id = e.cohort
            WHERE c.name = ? AND e.status IN ('enrolled', 'completed')""",
        ACTIVE_COHORT,
    )[0]

    sign_in(page, COORDINATOR)
    page.get_by_role("navigation", name="Hovedmenu").get_by_role("link", name="Hold").click()
    expect(page).to_have_url(re.compile(r"/cohorts$"))
    page.get_by_role("link", name=ACTIVE_COHORT, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ACTIVE_COHORT)
    page.get_by_role("link", name="Fremdrift og hvem der halter").click()

    expect(page).to_have_url(re.compile(r"/cohorts/\d+/progress$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Fremdrift på {ACTIVE_COHORT}")
    behind_heading = page.get_by_role("heading", level=2, name=re.compile(r"^Halter bagefter"))
    expect(behind_heading).to_have_text(re.compile(r"^Halter bagefter \(\d+\)$"))
    behind = int(re.search(r"\((\d+)\)", behind_heading.inner_text()).group(1))
    if behind:
        # Each one named, with at least one reason.
        people = page.locator(".behind-list > li")
        expect(people).to_have_count(behind)
        expect(people.first.locator("ul > li").first).to_be_visible()
    else:
        expect(page.get_by_text("Ingen halter bagefter lige nu.")).to_be_visible()

    grid = page.get_by_role("table", name="Fremdrift pr. deltager og modul")
    expect(grid).to_be_visible()
    expect(grid.locator("tbody > tr")).to_have_count(enrolled)
    # Every symbol is also said in words, for a screen reader.
    expect(grid.locator("tbody td .visually-hidden").first).to_have_text(re.compile(r"^\S+: \S"))
    page.screenshot(path=artifacts / "progress-grid.png", full_page=True)
    _fits_and_is_accessible(page)

    # On a phone the wide grid scrolls inside its own box, not the page.
    page.set_viewport_size(PHONE)
    _fits_and_is_accessible(page)


def test_the_chief_sees_the_competences_of_their_new_hires(page, artifacts):
    sign_in(page, CHIEF)
    page.get_by_role("navigation", name="Hovedmenu").get_by_role("link", name="Kompetencer").click()

    expect(page).to_have_url(re.compile(r"/competences$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Nye medarbejderes kompetencer")
    naestved = page.get_by_role("region", name="Næstved Kommune")
    expect(naestved.get_by_role("heading", level=2)).to_have_text("Næstved Kommune")
    table = naestved.get_by_role("table", name="Kompetencer ved start og afslutning i Næstved")
    expect(table.locator("thead th")).to_have_text(
        ["Kompetence", "Profil", "Start", "Afslutning", "Ændring"]
    )
    expect(table.locator("tbody > tr").first).to_be_visible()
    # Only the chief's own municipality.
    expect(page.get_by_role("heading", level=2)).to_have_count(1)
    page.screenshot(path=artifacts / "competences-chief.png", full_page=True)
    _fits_and_is_accessible(page)

    page.set_viewport_size(PHONE)
    _fits_and_is_accessible(page)
