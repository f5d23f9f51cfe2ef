"""Signing in through the municipality's own identity provider in a real browser, end
to end (issue 16): an admin sets up Slagelse's provider on the admin page, and the chief
in Slagelse signs in through a real OpenID Connect provider (panva's oidc-provider)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OIDC_CLIENT_SECRET
from tests.browser.support import check_accessibility, sign_in, sign_out
from tests.oidc_support import start_provider

pytestmark = pytest.mark.browser

CHIEF = "chef.slagelse@intro.example"


@pytest.fixture(scope="module")
def provider(live_server):
    started = start_provider(
        clients=[
            {
                "client_id": "intro-browser",
                "client_secret": OIDC_CLIENT_SECRET,
                "redirect_uris": [live_server.base_url + "/login/provider/callback"],
            }
        ],
        accounts={"lise": {"email": CHIEF, "email_verified": True}},
    )
    yield started
    started.stop()


def test_a_chief_signs_in_through_slagelses_provider(new_page, live_server, provider):
    admin = new_page()
    sign_in(admin, "admin@intro.example")
    admin.goto("/admin/municipalities")
    admin.get_by_role("link", name="Kommunalt login Slagelse").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Kommunalt login for Slagelse")
    admin.get_by_label("Udbyderens adresse (issuer)").fill(provider.issuer)
    admin.get_by_label("Klient-id").fill("intro-browser")
    admin.get_by_label("Miljøvariabel med klienthemmeligheden").fill("INTRO_OIDC_BROWSER_TEST")
    admin.get_by_label("Tilladte e-maildomæner").fill("intro.example")
    admin.get_by_role("button", name="Gem").click()
    expect(admin.get_by_role("status")).to_have_text("Indstillingerne er gemt.")
    sign_out(admin)

    page = new_page()
    page.goto("/login")
    check_accessibility(page)
    page.get_by_label("Din e-mail i kommunen").fill(CHIEF)
    page.get_by_role("button", name="Log ind med din kommunes login").click()
    # The provider's own sign-in and consent pages.
    expect(page).to_have_url(re.compile(re.escape(provider.issuer) + "/interaction/"))
    page.locator("input[name=login]").fill("lise")
    page.locator("input[name=password]").fill("hvad-som-helst")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url(live_server.base_url + "/")
    expect(page.get_by_role("heading", name="Nye medarbejdere")).to_be_visible()
    expect(page.locator("header .user")).to_contain_text(live_server.full_name(CHIEF))
