"""Mit introforløb: the participant's own plan, on a phone as well as a desk.

Every handler acts for the signed-in person only: items, reflections and ratings are
loaded through `participation.own_item` and friends, which never return another
person's rows, whatever id a URL or form carries.
"""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro import clock
from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.participation import follow_up, plan, progress
from intro.participation import self_service as participation
from intro.people.accounts import User
from intro.tables import Enrolment, EnrolmentStatus, PlanItemStatus, Role
from intro.web import forms
from intro.web.auth import requires
from intro.web.forms import FormData

PARTICIPANTS = requires(Role.participant)
KIND_NAMES = {"session": _("Kursusdag"), "local_task": _("Lokal opgave"), "transfer": _("Transferopgave")}
NOTICES = {
    "answered": _("Tak – dit svar på transferopgaven er gemt."),
    "reflection": _("Din refleksion er gemt."),
    "assessed": _("Din selvvurdering er gemt."),
}




@get("/plan", guards=[PARTICIPANTS], name="plan")
async def plan_page(request: Request[User, None, None], notice: FromQuery[str | None] = None) -> Template:
    person = request.user.id
    items = await plan.plan_items(person)
    today = clock.today()
    states = await follow_up.own_progress(person)
    now = clock.local_now()
    # The next course day that has not ended yet (today's until it is over).
    next_day = next(
        (
            i for i in items
            if i["kind"] == "session" and i["ends_at"] and i["ends_at"] > now and i["status"] != PlanItemStatus.done.value
        ),
        None,
    )
    return Template(
        "plan/plan.html",
        context={
            "groups": plan.group_items(items, today),
            "next_day": next_day,
            "progress": progress.progress(states),
            "complete": progress.is_complete(states),
            "completed": await Enrolment.exists().where(
                (Enrolment.person == person) & (Enrolment.status == EnrolmentStatus.completed.value)
            ),
            "kind_names": KIND_NAMES,
            "today": today,
            "notice": NOTICES.get(notice or ""),
        },
    )


@post("/plan/items/{item_id:int}/done", guards=[PARTICIPANTS], name="plan_task_done")
async def task_done(request: Request[User, None, None], item_id: FromPath[int], data: FormData) -> Template | Redirect:
    done = forms.flag(data, "done", "1")
    try:
        await participation.set_task_done(request.user.id, item_id, done)
    except Invalid:
        raise NotFound() from None
    if request.headers.get("hx-request"):
        item = next(i for i in await plan.plan_items(request.user.id) if i["id"] == item_id)
        return Template("plan/_item.html", context={"i": item, "kind_names": KIND_NAMES, "today": clock.today()})
    return Redirect(f"/plan#item-{item_id}", status_code=303)


async def _transfer_page(person: int, item_id: int, form: dict, errors: dict, status: int = 200) -> Template:
    item = await participation.own_item(person, item_id)
    if item["kind"] != "transfer":
        raise NotFound()
    full = next(i for i in await plan.plan_items(person) if i["id"] == item_id)
    return Template(
        "plan/transfer.html",
        context={"item": full, "form": form, "errors": errors},
        status_code=status,
    )


@get("/plan/items/{item_id:int}/answer", guards=[PARTICIPANTS], name="plan_transfer")
async def transfer_form(request: Request[User, None, None], item_id: FromPath[int]) -> Template:
    item = await participation.own_item(request.user.id, item_id)
    form = {
        "answer_tried": item["answer_tried"],
        "answer_outcome": item["answer_outcome"],
        "shared": "" if item["shared_with_colleagues"] is None else ("yes" if item["shared_with_colleagues"] else "no"),
    }
    return await _transfer_page(request.user.id, item_id, form, {})


@post("/plan/items/{item_id:int}/answer", guards=[PARTICIPANTS], name="plan_transfer_answer")
async def transfer_answer(
    request: Request[User, None, None], item_id: FromPath[int], data: FormData
) -> Template | Redirect:
    form = {k: str(v) for k, v in data.items()}
    try:
        await participation.answer_transfer(
            request.user.id, item_id, form.get("answer_tried", ""), form.get("answer_outcome", ""), form.get("shared", "")
        )
    except Invalid as invalid:
        return await _transfer_page(request.user.id, item_id, form, invalid.errors, 400)
    return Redirect("/plan?notice=answered", status_code=303)


async def _reflections_page(person: int, form: dict, errors: dict, notice: str | None = None, status: int = 200) -> Template:
    return Template(
        "plan/reflections.html",
        context={
            "reflections": await participation.reflections(person),
            "modules": await participation.own_modules(person),
            "form": form,
            "errors": errors,
            "notice": NOTICES.get(notice or ""),
        },
        status_code=status,
    )


@get("/plan/reflections", guards=[PARTICIPANTS], name="reflections")
async def reflections_page(
    request: Request[User, None, None], module: FromQuery[int | None] = None, notice: FromQuery[str | None] = None
) -> Template:
    return await _reflections_page(request.user.id, {"module": module}, {}, notice)


@post("/plan/reflections", guards=[PARTICIPANTS], name="reflection_add")
async def reflection_add(request: Request[User, None, None], data: FormData) -> Template | Redirect:
    module_id = forms.optional_id(data, "module")
    try:
        await participation.add_reflection(request.user.id, module_id, forms.value(data, "body"))
    except Invalid as invalid:
        return await _reflections_page(request.user.id, forms.for_page(data), invalid.errors, status=400)
    return Redirect("/plan/reflections?notice=reflection", status_code=303)


async def _assessment_page(person: int, phase: str, form: dict, errors: dict, notice: str | None = None, status: int = 200) -> Template:
    competences = await participation.competences_to_assess(person)
    scores = await participation.assessments(person)
    if not form:
        form = {f"c{c['id']}": str(scores.get(c["id"], {}).get(phase, "")) for c in competences}
    return Template(
        "plan/assessment.html",
        context={
            "phase": phase,
            "phases": participation.PHASE_NAMES,
            "scale": participation.SCALE,
            "competences": competences,
            "scores": scores,
            "form": form,
            "errors": errors,
            "notice": NOTICES.get(notice or ""),
        },
        status_code=status,
    )


@get("/plan/self-assessment", guards=[PARTICIPANTS], name="self_assessment")
async def assessment_page(
    request: Request[User, None, None], phase: FromQuery[str] = "start", notice: FromQuery[str | None] = None
) -> Template:
    if phase not in participation.PHASE_NAMES:
        raise NotFound()
    return await _assessment_page(request.user.id, phase, {}, {}, notice)


@post("/plan/self-assessment/{phase:str}", guards=[PARTICIPANTS], name="self_assessment_save")
async def assessment_save(request: Request[User, None, None], phase: FromPath[str], data: FormData) -> Template | Redirect:
    try:
        await participation.save_assessment(request.user.id, phase, data)
    except Invalid as invalid:
        return await _assessment_page(request.user.id, phase, {k: str(v) for k, v in data.items()}, invalid.errors, status=400)
    return Redirect(f"/plan/self-assessment?phase={phase}&notice=assessed", status_code=303)


ROUTES = [
    plan_page,
    task_done,
    transfer_form,
    transfer_answer,
    reflections_page,
    reflection_add,
    assessment_page,
    assessment_save,
]
