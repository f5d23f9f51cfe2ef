"""What the browser tests do again and again: sign in and out as a person would, and
check a page with axe-core."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from intro.demo.west_zealand import DEMO_PASSWORD

AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
# WCAG 2.1 level A and AA, the level public-sector sites in Denmark must meet.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}
# A common phone (iPhone 12–15) in CSS pixels.
PHONE = {"width": 390, "height": 844}

_RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
}"""


def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    """From the start page, through the redirect to the login form, filled in by its labels."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login(\?.*)?$"))
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Adgangskode", exact=True).fill(password)
    # Wait for the answer (a redirect, or the form again with an error) before going on,
    # so that a following goto() cannot cut the sign-in short.
    with page.expect_navigation():
        page.get_by_role("button", name="Log ind", exact=True).click()


def sign_out(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Log ud", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login\?signed_out=1$"))
    expect(page.get_by_role("status")).to_have_text("Du er logget ud.")


def assert_no_sideways_scrolling(page: Page) -> None:
    scroll_width, inner_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, (
        f"{page.url} scrolls sideways: {scroll_width} px wide in a {inner_width} px window"
    )


@cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[dict]:
    """Every WCAG 2.1 A/AA violation axe finds on the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # An inline script: runs because the test context bypasses the app's CSP.
        page.add_script_tag(content=_axe_source())
    return page.evaluate(_RUN_AXE, WCAG_TAGS)


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            lines.append(f"    at {node['target']}")
            for detail in (node["summary"] or "").splitlines():
                if detail.strip():
                    lines.append(f"       {detail.strip()}")
    return "\n".join(lines)


def check_accessibility(page: Page) -> None:
    """Fails the test on any serious or critical axe violation, naming rule and elements."""
    failing = [v for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
    if failing:
        size = page.viewport_size or {"width": "?", "height": "?"}
        pytest.fail(
            f"axe found {len(failing)} serious/critical accessibility problem(s) on "
            f"{page.url} at {size['width']}x{size['height']}:\n{format_violations(failing)}",
            pytrace=False,
        )
