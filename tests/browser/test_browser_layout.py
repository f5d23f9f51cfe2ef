"""The layout on Det Fælles Designsystem (issue 18): its font actually loads, every role's
start page is accessible at desktop and phone width (screenshots kept in tests/artifacts),
the public pages are reached from the footer, and the progress grid keeps names and
totals in view while its modules scroll."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import PHONE, assert_no_sideways_scrolling, check_accessibility, sign_in

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}
ROLES = {
    "deltager": "deltager@intro.example",
    "koordinator": "koordinator@intro.example",
    "underviser": "underviser@intro.example",
    "chef": "chef.slagelse@intro.example",
    "admin": "admin@intro.example",
}


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_start_page_is_built_on_the_design_system(new_page, artifacts, size):
    page = new_page(viewport=DESKTOP) if size == "desktop" else new_page(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    for who, email in ROLES.items():
        page.context.clear_cookies()
        sign_in(page, email)
        expect(page.get_by_role("heading", level=1)).to_contain_text("Goddag")
        # IBM Plex Sans comes from the app's own files, not from a CDN.
        assert page.evaluate("() => document.fonts.ready.then(() => document.fonts.check('16px \"IBM Plex Sans\"'))")
        assert "IBM Plex Sans" in page.evaluate("() => getComputedStyle(document.body).fontFamily")
        assert page.evaluate("() => [...document.fonts].some(f => f.family.includes('IBM Plex Sans') && f.status === 'loaded')")
        nav = page.get_by_role("navigation", name="Hovedmenu")
        expect(nav.get_by_role("link", name="Forside")).to_be_visible()
        check_accessibility(page)
        if size == "phone":
            assert_no_sideways_scrolling(page)
        page.screenshot(path=artifacts / f"start-{who}-{size}.png", full_page=False)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_public_pages_are_reached_from_the_footer(new_page, size):
    page = new_page(viewport=DESKTOP if size == "desktop" else PHONE)
    for link, heading in [
        ("Tilgængelighedserklæring", "Tilgængelighedserklæring for Intro"),
        ("Behandling af personoplysninger", "Sådan behandler vi dine personoplysninger"),
        ("Kontakt", "Kontakt"),
    ]:
        page.goto("/login")
        page.get_by_role("navigation", name="Om Intro").get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        check_accessibility(page)
        if size == "phone":
            assert_no_sideways_scrolling(page)


def test_the_progress_grid_keeps_names_and_totals_in_view(new_page, artifacts):
    page = new_page(viewport=DESKTOP)
    sign_in(page, ROLES["koordinator"])
    page.goto("/cohorts")
    page.get_by_role("link", name=re.compile("Hold B")).first.click()
    page.get_by_role("link", name="Fremdrift og hvem der halter").click()
    check_accessibility(page)
    region = page.get_by_role("region", name="Fremdrift pr. deltager og modul")
    region.evaluate("(el) => { el.scrollLeft = el.scrollWidth; }")
    box = region.bounding_box()
    name = region.locator("tbody th").first.bounding_box()
    total = region.locator("tbody td.sticky-end").first.bounding_box()
    assert abs(name["x"] - box["x"]) < 2, "the name column stays at the left edge"
    assert total["x"] + total["width"] <= box["x"] + box["width"] + 1
    page.screenshot(path=artifacts / "progress-grid-1366.png", full_page=False)
    # The name leads to the person.
    first = region.locator("tbody th a").first
    person = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(person)
    check_accessibility(page)
    page.set_viewport_size(PHONE)
    assert_no_sideways_scrolling(page)
    check_accessibility(page)
