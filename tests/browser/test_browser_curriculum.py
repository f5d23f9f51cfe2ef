"""The shared curriculum in a real browser, and the start page on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import (
    PHONE,
    assert_no_sideways_scrolling,
    check_accessibility,
    sign_in,
)

pytestmark = pytest.mark.browser

STRANDS = ["Lovgivning", "Den gode samtale", "Tværfagligt samarbejde", "Virksomhedsrettet indsats"]
PROFILES = [
    "Basisprofil",
    "Virksomhedsprofil",
    "Kompetencematchprofil",
    "Udviklingsprofil",
    "Helhedsprofil",
]


def test_the_coordinator_browses_the_curriculum_down_to_a_module(page, artifacts):
    sign_in(page, "koordinator@intro.example")
    page.get_by_role("navigation", name="Hovedmenu").get_by_role("link", name="Læreplan").click()

    # The versions.
    expect(page).to_have_url(re.compile(r"/curriculum$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Den fælles læreplan")
    check_accessibility(page)
    page.get_by_role("table", name="Versioner").get_by_role(
        "link", name=re.compile(r"^2026\.1")
    ).click()

    # One version: its strands with their modules, and the professional profiles.
    expect(page).to_have_url(re.compile(r"/curriculum/\d+$"))
    for strand in STRANDS:
        expect(
            page.get_by_role("heading", level=3, name=re.compile(f"^{re.escape(strand)}"))
        ).to_be_visible()
    for profile in PROFILES:
        expect(
            page.get_by_role("heading", level=3, name=re.compile(f"^{re.escape(profile)}"))
        ).to_be_visible()
    page.screenshot(path=artifacts / "curriculum-version.png", full_page=True)
    check_accessibility(page)

    legislation = page.get_by_role("region", name=re.compile(r"^Lovgivning"))
    first_legislation_module = legislation.get_by_role("link").first
    title = first_legislation_module.inner_text()
    first_legislation_module.click()

    # One module: what is learned, and what is taken home to the job centre.
    expect(page).to_have_url(re.compile(r"/curriculum/\d+/modules/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("heading", level=2, name="Læringsmål")).to_be_visible()
    expect(
        page.get_by_role("heading", level=2, name=re.compile(r"^Transferopgave"))
    ).to_be_visible()
    page.screenshot(path=artifacts / "curriculum-module.png", full_page=True)
    check_accessibility(page)


def test_the_participant_start_page_fits_a_phone(new_page, artifacts):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    sign_in(page, "deltager@intro.example")
    expect(page.get_by_role("heading", level=2, name="Mit introforløb")).to_be_visible()

    assert_no_sideways_scrolling(page)
    page.screenshot(path=artifacts / "start-participant-phone.png", full_page=True)
    check_accessibility(page)
