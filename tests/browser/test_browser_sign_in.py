"""Signing in and out in a real browser, as each of the demo personas, and the start page
each of them lands on: right greeting, right section, accessible, usable by keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import (
    PHONE,
    assert_no_sideways_scrolling,
    check_accessibility,
    sign_in,
    sign_out,
)

pytestmark = pytest.mark.browser

# The section of the start page made for each role (templates/home/index.html).
ROLE_SECTIONS = [
    "Mit introforløb",
    "Koordinering",
    "Undervisning",
    "Nye medarbejdere",
    "Administration",
]

PERSONAS = [
    pytest.param("admin", "admin@intro.example", "Administration", id="admin"),
    pytest.param("coordinator", "koordinator@intro.example", "Koordinering", id="coordinator"),
    pytest.param("instructor", "underviser@intro.example", "Undervisning", id="instructor"),
    pytest.param("chief", "chef.slagelse@intro.example", "Nye medarbejdere", id="chief-slagelse"),
    pytest.param(
        "participant", "deltager@intro.example", "Mit introforløb", id="participant-naestved"
    ),
]


@pytest.mark.parametrize(("role", "email", "section"), PERSONAS)
def test_each_role_signs_in_to_their_own_start_page_and_out_again(
    page, live_server, artifacts, role, email, section
):
    sign_in(page, email)

    expect(page).to_have_url(f"{live_server.base_url}/")
    first_name = live_server.full_name(email).split(" ")[0]
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Goddag, {first_name}")
    # Their own section, and none made for the other roles.
    expect(page.locator(".role-section > h2")).to_have_text([section])
    for other in ROLE_SECTIONS:
        if other != section:
            expect(page.get_by_role("heading", level=2, name=other, exact=True)).to_have_count(0)

    page.screenshot(path=artifacts / f"start-{role}.png", full_page=True)
    check_accessibility(page)
    # The same page on a phone: wide tables scroll inside the page, not the page itself,
    # and a keyboard can reach them.
    page.set_viewport_size(PHONE)
    assert_no_sideways_scrolling(page)
    check_accessibility(page)

    sign_out(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Log ind")
    # The session is gone: the start page sends them to the login form again.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_a_wrong_password_is_refused_with_a_clear_message(page, artifacts):
    sign_in(page, "koordinator@intro.example", password="ikke-den-rigtige")

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("alert")).to_have_text("E-mail eller adgangskode er forkert.")
    # The e-mail address is kept, so only the password has to be typed again.
    expect(page.get_by_label("E-mail", exact=True)).to_have_value("koordinator@intro.example")
    expect(page.get_by_label("Adgangskode", exact=True)).to_have_value("")
    expect(page.get_by_role("button", name="Log ud")).to_have_count(0)
    page.screenshot(path=artifacts / "login-error.png", full_page=True)
    check_accessibility(page)


def test_the_login_page_is_accessible(page):
    page.goto("/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log ind")
    check_accessibility(page)


def test_the_first_tab_reaches_the_skip_link_which_moves_focus_to_the_content(page):
    sign_in(page, "koordinator@intro.example")
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Goddag")

    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Gå til indhold")
    expect(skip_link).to_be_focused()
    # Hidden until focused, then on screen for the sighted keyboard user.
    expect(skip_link).to_be_in_viewport()

    page.keyboard.press("Enter")
    expect(page.locator("main#indhold")).to_be_focused()
    expect(page).to_have_url(re.compile(r"#indhold$"))
    # The next Tab goes on inside the content, past the header and the menu.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('main') !== null")
