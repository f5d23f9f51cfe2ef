"""The chiefs' dashboard in a real browser (issue 6): figures and charts with their data
tables, a filter that updates the results through htmx and keeps the view in the
address, the drill-down to the own municipality's people, downloads — and axe-core
finding no serious or critical problem."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from intro import clock
from tests.browser.support import PHONE, assert_no_sideways_scrolling, check_accessibility, sign_in

pytestmark = pytest.mark.browser

CHIEF = "chef.slagelse@intro.example"


def test_the_chief_follows_retention_and_takes_the_figures_along(page: Page, artifacts):
    sign_in(page, CHIEF)
    page.get_by_role("navigation", name="Hovedmenu").get_by_role("link", name="Fastholdelse").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Nyansatte og fastholdelse i Slagelse")

    # Each chart is an image with a name, and the same figures stand in a table.
    expect(page.get_by_role("img", name="Fastholdelseskurver")).to_be_visible()
    expect(page.get_by_role("table", name="Stadig ansat – Slagelse")).to_be_visible()
    comparison = page.get_by_role("table", name="Medlemskommuner og samarbejdet")
    expect(comparison.get_by_role("rowheader", name=re.compile("^Slagelse"))).to_be_visible()
    expect(comparison.get_by_role("rowheader", name="Hele samarbejdet")).to_be_visible()
    check_accessibility(page)

    # A filter: the results change in place and the address keeps the view.
    first_year = clock.today().year - 6
    heading = page.get_by_role("heading", level=2, name=re.compile(r"^Slagelse, ansat"))
    page.get_by_label("Ansat fra år").select_option(str(first_year))
    expect(page).to_have_url(re.compile(rf"fra={first_year}"))
    expect(heading).to_have_text(f"Slagelse, ansat {first_year}–{clock.today().year}")
    bookmarked = page.url
    page.screenshot(path=artifacts / "dashboard-chief.png", full_page=True)
    check_accessibility(page)

    # The bookmark opens the same view.
    page.goto(bookmarked)
    expect(page.get_by_label("Ansat fra år")).to_have_value(str(first_year))

    # Downloads carry the view.
    with page.expect_download() as download:
        page.get_by_role("link", name="Hent som Excel (XLSX)").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    assert f"-{first_year}-" in download.value.suggested_filename

    # Drill-down: the own municipality's people, by name.
    page.get_by_role("link", name="Se nyansatte i Slagelse").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/people\?.*fra={first_year}"))
    table = page.get_by_role("table")
    expect(table.locator("tbody > tr").first).to_be_visible()
    check_accessibility(page)

    page.set_viewport_size(PHONE)
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nyansatte og fastholdelse i Slagelse")
    assert_no_sideways_scrolling(page)
    check_accessibility(page)
