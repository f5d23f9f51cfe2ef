"""The coordinator keeps the curriculum in a real browser (issue 17): a draft from the
current version, one module edited with the live check, the diff, publishing, and a new
cohort on the new version while the cohorts already running keep the old one.

The new version keeps 15 course days (only LOV-1's title and hours change), so the
planning journey that may run after this one on the same server still holds."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from intro import clock
from tests.browser.support import check_accessibility, sign_in

pytestmark = pytest.mark.browser

COORDINATOR = "koordinator@intro.example"
NEW_LABEL = "2027.1"


def test_the_coordinator_drafts_edits_diffs_publishes_and_a_new_cohort_uses_it(page, artifacts):
    sign_in(page, COORDINATOR)
    page.get_by_role("navigation", name="Hovedmenu").get_by_role("link", name="Læreplan").click()
    page.get_by_role("link", name="Udkast til en ny version").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Udkast til læreplanen")
    check_accessibility(page)

    # 1. A draft from the current version.
    expect(page.get_by_label("Tag udgangspunkt i version").locator("option:checked")).to_contain_text("2026.1")
    page.get_by_role("button", name="Start udkast").click()
    expect(page).to_have_url(re.compile(r"/curriculum/drafts/\d+\?notice=started$"))
    expect(page.get_by_text("Ingen problemer – udkastet kan udgives.")).to_be_visible()
    check_accessibility(page)
    page.get_by_label("Versionsnavn").fill(NEW_LABEL)
    page.get_by_role("button", name="Gem", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(NEW_LABEL)

    # 2. One module edited; the check answers while the coordinator types.
    page.get_by_role("region", name="Moduler").get_by_role("link", name=re.compile(r"^LOV-1 ")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ret modul LOV-1")
    check = page.locator("#draft-check")
    expect(check).to_have_text("Ingen problemer.")
    page.get_by_label("Varighed i timer").fill("fire")
    expect(check).to_contain_text("Varighed i timer")
    expect(check).to_contain_text("skal være et positivt antal timer")
    page.get_by_label("Varighed i timer").fill("4,5")
    expect(check).to_have_text("Ingen problemer.")
    page.locator("#f-title").fill("Lovgivningen i praksis")
    page.screenshot(path=artifacts / "curriculum-draft-module.png", full_page=True)
    check_accessibility(page)
    page.get_by_role("button", name="Gem i udkastet").click()
    expect(page.get_by_role("status").filter(has_text="Ændringen er gemt i udkastet.")).to_be_visible()

    # 3. The difference from the version it came from.
    page.get_by_role("link", name="Se forskellen").click()
    changes = page.get_by_role("table", name="Ændringer i udkastet")
    hours = changes.get_by_role("row").filter(has_text="Varighed i timer")
    expect(hours).to_contain_text("Modul LOV-1")
    expect(hours.locator("del")).to_have_text("6")
    expect(hours.locator("ins")).to_have_text("4.5")
    expect(changes.get_by_role("row").filter(has_text="Versionsnavn").locator("ins")).to_have_text(NEW_LABEL)
    # Only what was edited: fields the form merely wrote back are no change.
    expect(changes.locator("tbody").get_by_role("row")).to_have_count(3)
    page.screenshot(path=artifacts / "curriculum-draft-diff.png", full_page=True)
    check_accessibility(page)

    # 4. Published: a new, locked version.
    page.get_by_role("link", name="Tilbage til udkastet").click()
    page.get_by_role("button", name="Udgiv som ny version").click()
    expect(page).to_have_url(re.compile(r"/curriculum/\d+\?notice=published$"))
    expect(page.get_by_role("status")).to_contain_text("ny, låst version")
    expect(page.get_by_role("link", name=re.compile(r"^LOV-1 Lovgivningen i praksis"))).to_be_visible()

    # 5. A new cohort chooses the new version; the running cohorts keep theirs.
    page.get_by_role("navigation", name="Hovedmenu").get_by_role("link", name="Hold").click()
    page.get_by_role("link", name="Opret hold").first.click()
    first_day = clock.today() + timedelta(weeks=20)
    name = f"Hold på {NEW_LABEL} (browsertest)"
    versions = page.locator("#f-curriculum_version")
    versions.select_option(label=versions.locator("option", has_text=NEW_LABEL).inner_text())
    page.get_by_label("Holdets navn").fill(name)
    page.get_by_label("Første kursusdag").fill(first_day.isoformat())
    page.get_by_label("Pladser i alt").fill("20")
    page.get_by_role("button", name="Opret hold").click()
    expect(page).to_have_url(re.compile(r"/cohorts/\d+\?notice=created$"))

    page.get_by_role("navigation", name="Hovedmenu").get_by_role("link", name="Hold").click()
    expect(page.get_by_role("row").filter(has_text=name)).to_contain_text(NEW_LABEL)
    older = page.get_by_role("row").filter(has_not_text=name).filter(has=page.get_by_role("link"))
    expect(older.filter(has_text="2026.1").first).to_be_visible()
    page.screenshot(path=artifacts / "curriculum-draft-cohorts.png", full_page=True)
