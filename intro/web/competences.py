"""The chief's competence overview for their own municipality."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from intro import access
from intro.insight import competences
from intro.people.accounts import User
from intro.tables import Municipality, Role
from intro.web.auth import requires

CHIEFS = requires(Role.chief)


@get("/competences", guards=[CHIEFS], name="competences")
async def competence_page(request: Request[User, None, None]) -> Template:
    sections = []
    ids = sorted(access.municipalities_led(request.user))
    for m in await Municipality.select(Municipality.id, Municipality.name).where(Municipality.id.is_in(ids or [0])):
        figures = await competences.municipality_overview(m["id"])
        sections.append({"municipality": m, "figures": figures, "weakest": competences.weakest(figures)})
    return Template(
        "competences/overview.html",
        context={"sections": sections, "min_group": competences.MIN_GROUP},
    )


ROUTES = [competence_page]
