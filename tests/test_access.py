"""Who may open each page: one table of every route × every role, checked against the
real app with the demo personas. A route missing from the table fails the test, so a
new page cannot arrive without its access rule."""

from __future__ import annotations

import re

import pytest

from app import create_app
from intro import clock
from intro.curriculum import drafts as curriculum_drafts
from intro.curriculum import versions as curriculum
from intro.hr import imports as hr_import
from intro.participation import evaluations
from intro.people import accounts, api_tokens
from intro.planning import busy
from intro.tables import (
    ApiToken,
    ClosedPeriod,
    Cohort,
    CurriculumVersion,
    Enrolment,
    LocalTaskTemplate,
    Module,
    Municipality,
    Notice,
    Person,
    PlanItem,
    Profile,
    Session,
    SessionInstructor,
)
from tests.conftest import login, post_form

PERSONAS = {
    "participant": "deltager@intro.example",
    "chief": "chef.slagelse@intro.example",
    "instructor": "underviser@intro.example",
    "coordinator": "koordinator@intro.example",
    "admin": "admin@intro.example",
}
ROLES = ["anonymous", *PERSONAS]
ALL = set(PERSONAS)
STAFF_EDITORS = {"coordinator", "admin"}
COORDINATOR = {"coordinator"}
COHORT_VIEWERS = {"coordinator", "chief", "instructor"}
ADMIN = {"admin"}

# (method, path template, roles that may) — a role not listed gets 403, anonymous a
# redirect to /login. Public routes list "anonymous".
RULES: list[tuple[str, str, set[str]]] = [
    ("GET", "/", ALL),
    ("GET", "/healthz", {"anonymous", *ALL}),
    ("GET", "/livez", {"anonymous", *ALL}),
    ("GET", "/login", {"anonymous"}),  # signed-in users are sent on to the start page
    ("GET", "/tilgaengelighed", {"anonymous", *ALL}),  # what a public body must publish: for everyone
    ("GET", "/privatliv", {"anonymous", *ALL}),
    ("GET", "/kontakt", {"anonymous", *ALL}),
    ("GET", "/curriculum", ALL),
    ("GET", "/curriculum/{version_id}", ALL),
    ("GET", "/curriculum/{version_id}/modules/{module_id}", ALL),
    ("GET", "/curriculum/{version_id}/local-modules/new", STAFF_EDITORS),
    ("POST", "/curriculum/{version_id}/local-modules", STAFF_EDITORS),
    ("GET", "/curriculum/{version_id}/file.toml", ALL),
    # Curriculum drafts (issue 17): the partnership's coordinators only; another
    # partnership's coordinator gets 404 (tests/test_curriculum_drafts.py).
    ("GET", "/curriculum/drafts", COORDINATOR),
    ("POST", "/curriculum/drafts", COORDINATOR),
    ("POST", "/curriculum/drafts/upload", COORDINATOR),
    ("GET", "/curriculum/drafts/{draft_id}", COORDINATOR),
    ("POST", "/curriculum/drafts/{draft_id}/header", COORDINATOR),
    ("GET", "/curriculum/drafts/{draft_id}/items/{kind}/new", COORDINATOR),
    ("GET", "/curriculum/drafts/{draft_id}/items/{kind}/{index}", COORDINATOR),
    ("POST", "/curriculum/drafts/{draft_id}/items/{kind}/check", COORDINATOR),
    ("POST", "/curriculum/drafts/{draft_id}/items/{kind}", COORDINATOR),
    ("POST", "/curriculum/drafts/{draft_id}/items/{kind}/remove", COORDINATOR),
    ("GET", "/curriculum/drafts/{draft_id}/diff", COORDINATOR),
    ("POST", "/curriculum/drafts/{draft_id}/publish", COORDINATOR),
    ("POST", "/curriculum/drafts/{draft_id}/discard", COORDINATOR),
    ("GET", "/curriculum/drafts/{draft_id}/file.toml", COORDINATOR),
    # Local toning (issue 17): local modules corrected and retired, profiles toned, by the
    # coordinators of a partnership the municipality is in, and admins.
    ("GET", "/curriculum/{version_id}/modules/{local_module_id}/edit", STAFF_EDITORS),
    ("POST", "/curriculum/{version_id}/modules/{local_module_id}", STAFF_EDITORS),
    ("POST", "/curriculum/{version_id}/modules/{local_module_id}/retire", STAFF_EDITORS),
    ("GET", "/curriculum/{version_id}/profiles/{profile_id}/toning/{naestved_id}", STAFF_EDITORS),
    ("POST", "/curriculum/{version_id}/profiles/{profile_id}/toning/{naestved_id}", STAFF_EDITORS),
    # Course evaluation (issue 17): participants answer their own; coordinators and
    # instructors read results (tests/test_evaluations.py: the five-answer threshold).
    ("GET", "/plan/evaluations", {"participant"}),
    ("GET", "/plan/evaluations/{eval_cohort}/{eval_module}/{eval_kind}", {"participant"}),
    ("POST", "/plan/evaluations/{eval_cohort}/{eval_module}/{eval_kind}", {"participant"}),
    ("GET", "/evaluations", {"coordinator", "instructor"}),
    ("GET", "/evaluations/export.csv", {"coordinator", "instructor"}),
    ("GET", "/evaluations/export.xlsx", {"coordinator", "instructor"}),
    # The notice outbox (issue 17): admins see all notices, coordinators their cohorts'.
    ("GET", "/notices", {"coordinator", "admin"}),
    ("POST", "/notices/{notice_id}/resend", {"coordinator", "admin"}),
    ("GET", "/static/css/intro.css", {"anonymous", *ALL}),
    ("GET", "/cohorts", COHORT_VIEWERS),
    ("GET", "/cohorts/new", COORDINATOR),
    ("POST", "/cohorts", COORDINATOR),
    ("GET", "/cohorts/{cohort_id}", COHORT_VIEWERS),
    ("POST", "/cohorts/{cohort_id}/propose", COORDINATOR),
    ("POST", "/cohorts/{cohort_id}/accept", COORDINATOR),
    ("GET", "/sessions/{session_id}/edit", COORDINATOR),
    ("POST", "/sessions/{session_id}/check", COORDINATOR),
    ("POST", "/sessions/{session_id}", COORDINATOR),
    ("GET", "/sessions/{session_id}/cancel", COORDINATOR),
    ("POST", "/sessions/{session_id}/cancel", COORDINATOR),
    ("GET", "/partnerships/{partnership_id}/conflicts", COORDINATOR),
    ("GET", "/cohorts/{cohort_id}/enrolments", {"coordinator", "chief"}),
    ("POST", "/cohorts/{cohort_id}/enrolments", {"coordinator", "chief"}),
    ("POST", "/enrolments/{enrolment_id}/withdraw", {"coordinator"}),
    ("POST", "/enrolments/{enrolment_id}/move", COORDINATOR),
    ("POST", "/cohorts/{cohort_id}/places", COORDINATOR),
    ("GET", "/sessions/{session_id}/attendance", {"coordinator", "instructor"}),
    ("POST", "/sessions/{session_id}/attendance", {"coordinator", "instructor"}),
    ("GET", "/cohorts/{cohort_id}/catch-up", COORDINATOR),
    ("POST", "/cohorts/{cohort_id}/catch-up", COORDINATOR),
    ("GET", "/partnerships/{partnership_id}/programme", COORDINATOR),
    ("GET", "/plan", {"participant"}),
    ("GET", "/competences", {"chief"}),
    ("GET", "/me/feeds", {"participant", "coordinator", "instructor", "chief"}),
    ("POST", "/me/feeds", {"participant", "coordinator", "instructor", "chief"}),
    ("POST", "/me/feeds/{feed_id}/regenerate", set()),  # only the feed's owner: tests/test_feeds.py
    ("POST", "/me/feeds/{feed_id}/revoke", set()),
    ("GET", "/sessions/{session_id}/event.ics", {"participant", "coordinator", "instructor", "chief"}),  # Sara is on that cohort
    ("GET", "/municipalities/{slagelse_id}/tasks", {"chief"}),
    ("POST", "/municipalities/{slagelse_id}/tasks", {"chief"}),
    ("POST", "/municipalities/{slagelse_id}/tasks/{slagelse_task_id}", {"chief"}),
    ("POST", "/municipalities/{slagelse_id}/tasks/{slagelse_task_id}/active", {"chief"}),
    ("GET", "/municipalities/{slagelse_id}/employments", {"chief", "admin"}),
    ("GET", "/municipalities/{slagelse_id}/employments/example.csv", {"chief", "admin"}),
    ("POST", "/municipalities/{slagelse_id}/employments/imports", {"chief", "admin"}),
    ("GET", "/municipalities/{slagelse_id}/employments/imports/{slagelse_import_id}", {"chief", "admin"}),
    ("POST", "/municipalities/{slagelse_id}/employments/imports/{slagelse_import_id}/commit", {"chief", "admin"}),
    ("POST", "/municipalities/{slagelse_id}/employments/imports/{slagelse_import_id}/discard", {"chief", "admin"}),
    ("GET", "/cohorts/{cohort_id}/progress", COHORT_VIEWERS),
    # A Næstved participant: Slagelse's chief sees only Slagelse's people (404).
    ("GET", "/cohorts/{cohort_id}/progress/{enrolment_id}", {"coordinator", "instructor"}),
    ("POST", "/enrolments/{enrolment_id}/complete", COORDINATOR),
    ("GET", "/enrolments/{completed_enrolment_id}/certificate", COORDINATOR),
    ("GET", "/plan/certificate", set()),  # Sara has not completed; tests/test_follow_up.py covers the holder
    ("GET", "/plan/certificate.pdf", set()),  # likewise
    ("GET", "/certificates/verify", {"anonymous", *ALL}),
    ("POST", "/plan/items/{own_task_id}/done", {"participant"}),
    ("GET", "/plan/items/{own_transfer_id}/answer", {"participant"}),
    ("POST", "/plan/items/{own_transfer_id}/answer", {"participant"}),
    ("GET", "/plan/reflections", {"participant"}),
    ("POST", "/plan/reflections", {"participant"}),
    ("GET", "/plan/self-assessment", {"participant"}),
    ("POST", "/plan/self-assessment/{phase}", {"participant"}),
    ("POST", "/partnerships/{partnership_id}/closed-periods", COORDINATOR),
    ("POST", "/partnerships/{partnership_id}/closed-periods/{period_id}/remove", COORDINATOR),
    ("POST", "/partnerships/{partnership_id}/instructors/{person_id}/qualifications", COORDINATOR),
    ("GET", "/me/calendars", {"instructor"}),
    ("POST", "/me/calendars/url", {"instructor"}),
    ("POST", "/me/calendars/file", {"instructor"}),
    ("POST", "/me/calendars/{calendar_id}/refresh", {"instructor"}),
    ("POST", "/me/calendars/{calendar_id}/remove", {"instructor"}),
    ("GET", "/schema/openapi.json", {"anonymous", *ALL}),  # HR systems read it without a sign-in
    ("GET", "/dashboard", {"chief"}),
    ("GET", "/dashboard/people", {"chief"}),
    ("GET", "/dashboard/export.csv", {"chief"}),
    ("GET", "/dashboard/export.xlsx", {"chief"}),
    ("GET", "/municipalities/{slagelse_id}/api-tokens", {"chief", "admin"}),
    ("POST", "/municipalities/{slagelse_id}/api-tokens", {"chief", "admin"}),
    ("POST", "/municipalities/{slagelse_id}/api-tokens/{token_id}/revoke", {"chief", "admin"}),
    # Issue 16: getting in without an admin typing a password.
    ("GET", "/password/forgot", {"anonymous", *ALL}),
    ("POST", "/password/forgot", {"anonymous", *ALL}),
    ("GET", "/invitations", {"chief", "coordinator"}),
    ("POST", "/invitations/{slagelse_hire_id}", {"chief", "coordinator"}),
    ("GET", "/me/sessions", ALL),
    ("POST", "/me/sessions/end-all", ALL),
    ("POST", "/me/sessions/{feed_id}/end", set()),  # only one's own: tests/test_sign_ins.py
    ("POST", "/login/provider", {"anonymous", *ALL}),
    ("GET", "/me/second-factor", ALL),
    ("POST", "/me/second-factor", ALL),  # an empty code: 400
    ("POST", "/me/second-factor/recovery-codes", ALL),  # no app yet: 400
    ("POST", "/me/second-factor/disable", ALL),  # an empty form: "skriv din e-mail" (400)
    ("GET", "/admin/municipalities/{slagelse_id}/sign-in", ADMIN),
    ("POST", "/admin/municipalities/{slagelse_id}/sign-in", ADMIN),
]

SCHEMA_VIEWS = {"", "/openapi.yaml", "/openapi.yml", "/{path}"}

# Routes whose access is tested elsewhere, with the reason.
TESTED_ELSEWHERE = {
    ("GET", "/feeds/{name}"): "public by secret token: tests/test_feeds.py",
    ("HEAD", "/feeds/{name}"): "public by secret token: tests/test_feeds.py",
    ("POST", "/login"): "tests/test_auth.py signs in and checks CSRF",
    ("POST", "/logout"): "tests/test_auth.py",
    ("GET", "/static/{file_path}"): "public files; the rule for /static/css/intro.css covers them",
    ("GET", "/access/{token}"): "public by secret token: tests/test_account_links.py",
    ("GET", "/login/second-factor"): "public; a waiting sign-in's cookie: tests/test_second_factor.py",
    ("POST", "/login/second-factor"): "public; a waiting sign-in's cookie: tests/test_second_factor.py",
    ("GET", "/login/provider/callback"): "public; the provider's answer, checked by state: tests/test_providers.py",
    ("POST", "/access/{token}"): "public by secret token: tests/test_account_links.py",
    ("HEAD", "/static/{file_path}"): "public files",
    **{
        (method, f"/api/v1/employments{tail}"): "HR API, by token only: tests/test_hr_api.py"
        for method, tail in [("GET", ""), ("GET", "/{external_ref}"), ("PUT", "/{external_ref}"), ("POST", "/{external_ref}/end")]
    },
    **{("GET", f"/schema{view}"): "other renderings of /schema/openapi.json, public like it" for view in SCHEMA_VIEWS},
}


def _app_routes() -> set[tuple[str, str]]:
    app = create_app()
    found = set()
    for route in app.routes:
        for method in getattr(route, "methods", []):
            if method == "OPTIONS" or (method == "HEAD" and not route.path.startswith("/static")):
                continue
            path = route.path.replace(":int}", "}").replace(":str}", "}").replace(":path}", "}")
            found.add((method, path))
    return found


def _shape(path: str) -> str:
    """/plan/items/{own_task_id}/done -> /plan/items/{}/done: names may differ."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_every_route_has_an_access_rule():
    listed = {(m, _shape(p)) for m, p, _ in RULES} | {(m, _shape(p)) for m, p in TESTED_ELSEWHERE}
    routes = {(m, _shape(p)) for m, p in _app_routes() if not p.startswith("/admin")}
    missing = routes - listed
    assert not missing, f"routes without an access rule in tests/test_access.py: {sorted(missing)}"


async def _slagelse_token(slagelse_id: int) -> int:
    await api_tokens.create_token(None, slagelse_id, "HR-system")
    return (await ApiToken.select(ApiToken.id).where(ApiToken.municipality == slagelse_id).first())["id"]


@pytest.fixture
async def ids(demo_db):
    version = await CurriculumVersion.select(CurriculumVersion.id).first()
    module = await Module.select(Module.id).where(Module.curriculum_version == version["id"]).first()
    planning = await Cohort.select(Cohort.id, Cohort.partnership).where(Cohort.status == "planning").first()
    session = await Session.select(Session.id).where(
        (Session.status == "scheduled") & (Session.starts_at > clock.now())
    ).first()
    # The instructor persona teaches it (an instructor may take attendance for own days only).
    jonas = await Person.select(Person.id).where(Person.email == PERSONAS["instructor"]).first()
    if not await SessionInstructor.exists().where(
        (SessionInstructor.session == session["id"]) & (SessionInstructor.person == jonas["id"])
    ):
        await SessionInstructor.insert(SessionInstructor(session=session["id"], person=jonas["id"]))
    naestved_enrolment = await Enrolment.select(Enrolment.id).where(
        (Enrolment.cohort == planning["id"]) & (Enrolment.status == "enrolled") & (Enrolment.municipality.code == "370")
    ).first()
    period = await ClosedPeriod.select(ClosedPeriod.id).first()
    slagelse = await Municipality.select(Municipality.id).where(Municipality.code == "330").first()
    sara = await Person.select(Person.id).where(Person.email == PERSONAS["participant"]).first()
    own = await PlanItem.select(PlanItem.id, PlanItem.kind).where(PlanItem.person == sara["id"])
    # A busy calendar of the instructor persona's own (a file, so nothing is fetched).
    calendar_id = await busy.add_calendar(
        jonas["id"], jonas["id"],
        ics_text="BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t//DA\nBEGIN:VEVENT\nUID:a@t\n"
        "DTSTART:20270105T080000Z\nDTEND:20270105T090000Z\nEND:VEVENT\nEND:VCALENDAR\n",
    )
    # A previewed HR file of Slagelse's, uploaded by its chief.
    chief = await Person.select(Person.id).where(Person.email == PERSONAS["chief"]).first()
    import_id = await hr_import.store_upload(
        chief["id"],
        slagelse["id"],
        "ansatte.csv",
        b"Navn;E-mail;Kommunekode;Stilling;Startdato\nBo Berg;bo.berg@example.org;330;Jobkonsulent;01-03-2026\n",
    )
    # A new hire in Slagelse who has not signed in: the chief's and the coordinator's to invite.
    hire = await accounts.create_person(None, "ny.i.slagelse@intro.example", "Ny i Slagelse")
    await accounts.grant_role(None, hire, "participant", municipality_id=slagelse["id"])
    coordinator = await Person.select(Person.id).where(Person.email == PERSONAS["coordinator"]).first()
    draft_id = await curriculum_drafts.start(coordinator["id"], planning["partnership"], version["id"])
    notice_id = (
        await Notice.insert(
            Notice(recipient=sara["id"], email=PERSONAS["participant"], subject="Flyttet", body="Flyttet",
                   session=session["id"], kind="session_moved")
        ).returning(Notice.id)
    )[0]["id"]
    naestved = await Municipality.select(Municipality.id).where(Municipality.code == "370").first()
    local_module_id = await curriculum.add_local_module(None, version["id"], naestved["id"], {
        "code": "LOK-NAE-9", "title": "Lokalt", "strand": "tvaerfaglig", "format": "classroom",
        "duration_hours": "2", "days": "1", "objectives": "Mål", "competences": ["basis-samarbejde"],
        "transfer_title": "Opgave", "transfer_assignment": "Gør det.",
    })
    profile = await Profile.select(Profile.id).where(Profile.curriculum_version == version["id"]).first()
    due = next(d for d in await evaluations.due_for(sara["id"]) if d["kind"] == "evaluation")
    return {
        "slagelse_hire_id": hire,
        "eval_cohort": due["cohort"],
        "eval_module": due["module"],
        "eval_kind": "evaluation",
        "naestved_id": naestved["id"],
        "local_module_id": local_module_id,
        "profile_id": profile["id"],
        "notice_id": notice_id,
        "draft_id": draft_id,
        "kind": "modules",
        "index": 0,
        "calendar_id": calendar_id,
        "slagelse_import_id": import_id,
        "period_id": period["id"],
        "feed_id": 999999,
        "token_id": await _slagelse_token(slagelse["id"]),
        "slagelse_id": slagelse["id"],
        "slagelse_task_id": (await LocalTaskTemplate.select(LocalTaskTemplate.id).where(LocalTaskTemplate.municipality == slagelse["id"]).first())["id"],
        "completed_enrolment_id": (await Enrolment.select(Enrolment.id).where(Enrolment.status == "completed").first())["id"],
        "own_task_id": next(i["id"] for i in own if i["kind"] == "local_task"),
        "own_transfer_id": next(i["id"] for i in own if i["kind"] == "transfer"),
        "phase": "start",
        "person_id": jonas["id"],
        "enrolment_id": naestved_enrolment["id"],
        "version_id": version["id"],
        "module_id": module["id"],
        "cohort_id": planning["id"],
        "session_id": session["id"],
        "partnership_id": planning["partnership"],
    }


CASES = [(method, path, allowed, role) for method, path, allowed in RULES for role in ROLES]


@pytest.mark.parametrize(
    ("method", "path", "allowed", "role"),
    CASES,
    ids=[f"{m} {p} as {r}" for m, p, _a, r in CASES],
)
async def test_access(demo_client, ids, method, path, allowed, role):
    url = path.format(**ids)
    if role != "anonymous":
        assert (await login(demo_client, PERSONAS[role])).status_code == 303
    if method == "GET":
        response = await demo_client.get(url)
    else:
        response = await post_form(demo_client, url, {})
    if role in allowed:
        # Allowed: the page answers (a POST with an empty form is refused as bad input,
        # which proves the guard let it through).
        expected = {200} if method == "GET" else {200, 303, 400}
        assert response.status_code in expected, response.text[:300]
    elif role == "anonymous":
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
    elif path == "/login":
        assert response.status_code == 302 or response.status_code == 303
    elif response.status_code == 404:
        # Past the role guard, but outside the user's scope: as if it did not exist.
        assert "Siden findes ikke" in response.text
    else:
        assert response.status_code == 403
        assert "Du har ikke adgang" in response.text
