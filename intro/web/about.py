"""What a public body must publish about its web service, open to everyone (signed in
or not) and linked from the footer of every page: the accessibility statement
(tilgængelighedserklæring, required by lov nr. 692 af 08/06/2018 om tilgængelighed af
offentlige organers websteder og mobilapplikationer), how personal data is processed
(GDPR articles 13-14) and whom to contact.

The text lives in templates/about/; the facts that differ between installations (who
runs it, addresses, dates) in templates/about/facts.html. An installation overrides
either with a file of the same name in INTRO_TEMPLATES_DIR."""

from __future__ import annotations

from litestar import get
from litestar.response import Template


@get("/tilgaengelighed", opt={"public": True}, name="accessibility", sync_to_thread=False)
def accessibility() -> Template:
    return Template("about/accessibility.html")


@get("/privatliv", opt={"public": True}, name="privacy", sync_to_thread=False)
def privacy() -> Template:
    return Template("about/privacy.html")


@get("/kontakt", opt={"public": True}, name="contact", sync_to_thread=False)
def contact() -> Template:
    return Template("about/contact.html")


ROUTES = [accessibility, privacy, contact]
