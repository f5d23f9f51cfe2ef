"""What a public body must publish (issue 18 §2): the accessibility statement, how
personal data is processed, and whom to contact — open to everyone, linked from the
footer of every page, their text in templates an installation can replace."""

from __future__ import annotations

import re

import pytest
from litestar.testing import AsyncTestClient

from app import create_app
from intro.settings import get_settings
from tests.conftest import ROOT, login

PUBLIC = {
    "/tilgaengelighed": ["Overholdelsesstatus", "Indhold, der ikke er tilgængeligt", "Feedback og kontaktoplysninger", "Håndhævelse", "Digitaliseringsstyrelsen"],
    "/privatliv": ["Dataansvarlige", "databeskyttelsesrådgiver", "Dine rettigheder", "Datatilsynet", "færre end 5"],
    "/kontakt": ["mailto:", "Personoplysninger", "Tilgængelighed"],
}
FOOTER = re.compile(r'<footer.*?</footer>', re.S)


async def test_the_public_pages_open_without_signing_in_and_hold_what_they_must(client):
    for path, musts in PUBLIC.items():
        page = await client.get(path)
        assert page.status_code == 200, path
        for must in musts:
            assert must in page.text, (path, must)


@pytest.mark.parametrize("email", [None, "deltager@intro.example", "koordinator@intro.example", "chef.slagelse@intro.example"])
async def test_every_page_links_the_three_in_its_footer(demo_client, email):
    pages = ["/login", "/tilgaengelighed", "/findes-ikke"]
    if email:
        await login(demo_client, email)
        pages = ["/", "/curriculum", "/me/feeds", "/findes-ikke"]
    for path in pages:
        page = await demo_client.get(path)
        footer = FOOTER.search(page.text)
        assert footer, path
        for link in PUBLIC:
            assert f'href="{link}"' in footer.group(0), (path, link)


async def test_an_installation_replaces_the_facts_with_its_own(db, tmp_path, monkeypatch):
    own = tmp_path / "about"
    own.mkdir()
    facts = (ROOT / "templates" / "about" / "facts.html").read_text(encoding="utf-8")
    (own / "facts.html").write_text(facts.replace("intro@kommune.example", "intro@naestved.dk"), encoding="utf-8")
    monkeypatch.setenv("INTRO_TEMPLATES_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        async with AsyncTestClient(app=create_app()) as client:
            page = await client.get("/kontakt")
            assert "intro@naestved.dk" in page.text and "intro@kommune.example" not in page.text
    finally:
        get_settings.cache_clear()
