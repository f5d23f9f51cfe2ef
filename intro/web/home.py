"""The start page: one section for each role the user holds."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from intro.insight import overview
from intro.people.accounts import User
from intro.tables import Role

ROLE_SECTIONS = ("participant", "coordinator", "instructor", "chief", "admin")


@get("/", name="home")
async def home(request: Request[User, None, None]) -> Template:
    user = request.user
    context: dict = {"user": user}
    if user.has(Role.participant):
        context["participant"] = await overview.participant_overview(user)
    if user.has(Role.coordinator):
        context["coordinator"] = await overview.coordinator_overview(user)
    if user.has(Role.instructor):
        context["instructor"] = await overview.instructor_overview(user)
    if user.has(Role.chief):
        context["chief"] = await overview.chief_overview(user)
    if user.is_admin:
        context["admin"] = await overview.admin_overview()
    # Every grant is one of these roles: without a section, the user holds none yet.
    context["no_role"] = not any(section in context for section in ROLE_SECTIONS)
    return Template("home/index.html", context=context)
