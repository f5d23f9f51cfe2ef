"""What a participant does with their own plan: tick off tasks, answer transfer
assignments, write reflections and rate themselves. Every operation takes the person
it acts for and touches only that person's rows; each change is audited."""

from __future__ import annotations

from intro import audit, clock
from intro.curriculum import toning
from intro.db import write_transaction
from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.tables import (
    ENROLMENT_ON_COHORT,
    AssessmentPhase,
    CohortModule,
    Competence,
    Employment,
    Enrolment,
    PlanItem,
    PlanItemKind,
    PlanItemStatus,
    Reflection,
    SelfAssessment,
)

MAX_TEXT = 4000
PHASE_NAMES = {
    AssessmentPhase.start.value: _("Ved start"),
    AssessmentPhase.midway.value: _("Midtvejs"),
    AssessmentPhase.end.value: _("Ved afslutning"),
}
SCALE = {
    1: _("1 – Ikke endnu"),
    2: _("2 – Lidt"),
    3: _("3 – Nogenlunde"),
    4: _("4 – Godt"),
    5: _("5 – Sikkert"),
}




async def own_item(person_id: int, item_id: int) -> dict:
    item = await PlanItem.select().where((PlanItem.id == item_id) & (PlanItem.person == person_id)).first()
    if item is None or item["status"] == PlanItemStatus.dropped.value:
        raise NotFound()
    return item


async def set_task_done(person_id: int, item_id: int, done: bool) -> None:
    item = await own_item(person_id, item_id)
    if item["kind"] != PlanItemKind.local_task.value:
        raise Invalid({"item": _("Kun lokale opgaver krydses af her.")})
    async with write_transaction(PlanItem._meta.db):
        await PlanItem.update(
            {
                PlanItem.status: PlanItemStatus.done.value if done else PlanItemStatus.open.value,
                PlanItem.done_at: clock.now() if done else None,
                PlanItem.updated_at: clock.now(),
            }
        ).where(PlanItem.id == item_id)
        await audit.record(person_id, "plan.task_done" if done else "plan.task_reopened", "plan_item", item_id)


async def answer_transfer(person_id: int, item_id: int, tried: str, outcome: str, shared: str) -> None:
    item = await own_item(person_id, item_id)
    if item["kind"] != PlanItemKind.transfer.value:
        raise NotFound()
    tried, outcome = (tried or "").strip(), (outcome or "").strip()
    errors = {}
    if not tried:
        errors["answer_tried"] = _("Skriv, hvad du prøvede af i dit arbejde.")
    elif len(tried) > MAX_TEXT:
        errors["answer_tried"] = _("Højst {n} tegn.").format(n=MAX_TEXT)
    if not outcome:
        errors["answer_outcome"] = _("Skriv, hvad der skete.")
    elif len(outcome) > MAX_TEXT:
        errors["answer_outcome"] = _("Højst {n} tegn.").format(n=MAX_TEXT)
    if shared not in ("yes", "no"):
        errors["shared"] = _("Svar, om du har delt det med dine kolleger.")
    if errors:
        raise Invalid(errors)
    async with write_transaction(PlanItem._meta.db):
        await PlanItem.update(
            {
                PlanItem.answer_tried: tried,
                PlanItem.answer_outcome: outcome,
                PlanItem.shared_with_colleagues: shared == "yes",
                PlanItem.answered_at: clock.now(),
                PlanItem.status: PlanItemStatus.done.value,
                PlanItem.done_at: item["done_at"] or clock.now(),
                PlanItem.updated_at: clock.now(),
            }
        ).where(PlanItem.id == item_id)
        await audit.record(person_id, "plan.transfer_answered", "plan_item", item_id, shared=shared == "yes")


async def own_modules(person_id: int) -> list[dict]:
    cohorts = [
        e["cohort"]
        for e in await Enrolment.select(Enrolment.cohort).where(
            (Enrolment.person == person_id) & Enrolment.status.is_in(ENROLMENT_ON_COHORT)
        )
    ]
    if not cohorts:
        return []
    rows = await CohortModule.select(
        CohortModule.module.id.as_alias("id"),
        CohortModule.module.code.as_alias("code"),
        CohortModule.module.title.as_alias("title"),
        CohortModule.module.position.as_alias("position"),
    ).where(CohortModule.cohort.is_in(cohorts))
    unique = {r["id"]: r for r in rows}
    return sorted(unique.values(), key=lambda r: (r["position"], r["code"]))


async def add_reflection(person_id: int, module_id: int | None, body: str) -> int:
    body = (body or "").strip()
    errors = {}
    if not body:
        errors["body"] = _("Skriv din refleksion.")
    elif len(body) > MAX_TEXT:
        errors["body"] = _("Højst {n} tegn.").format(n=MAX_TEXT)
    if module_id is not None and module_id not in {m["id"] for m in await own_modules(person_id)}:
        errors["module"] = _("Vælg et af dine moduler.")
    if errors:
        raise Invalid(errors)
    async with write_transaction(Reflection._meta.db):
        row = await Reflection.insert(Reflection(person=person_id, module=module_id, body=body)).returning(Reflection.id)
        await audit.record(person_id, "reflection.add", "reflection", row[0]["id"], module=module_id)
    return row[0]["id"]


async def reflections(person_id: int) -> list[dict]:
    return await Reflection.select(
        Reflection.id, Reflection.body, Reflection.created_at, Reflection.module,
        Reflection.module.code.as_alias("module_code"), Reflection.module.title.as_alias("module_title"),
    ).where(Reflection.person == person_id).order_by(Reflection.created_at, ascending=False)


async def competences_to_assess(person_id: int) -> list[dict]:
    """The base profile's competences and those of the person's specialist profile,
    from the curriculum version of their cohort, with the local competences their
    municipality has toned those profiles with (issue 17)."""
    enrolment = await Enrolment.select(
        Enrolment.cohort.curriculum_version.as_alias("version"), Enrolment.municipality
    ).where(
        (Enrolment.person == person_id) & Enrolment.status.is_in(ENROLMENT_ON_COHORT)
    ).order_by(Enrolment.requested_at, ascending=False).first()
    if enrolment is None:
        return []
    employment = await Employment.select(Employment.profile_code).where(
        (Employment.person == person_id) & Employment.end_date.is_null()
    ).order_by(Employment.start_date, ascending=False).first()
    specialist = employment["profile_code"] if employment else None
    rows = await Competence.select(
        Competence.id, Competence.code, Competence.name, Competence.description, Competence.position,
        Competence.profile.name.as_alias("profile_name"), Competence.profile.kind.as_alias("profile_kind"),
        Competence.profile.code.as_alias("profile_code"), Competence.profile.position.as_alias("profile_position"),
        Competence.profile, Competence.municipality,
    ).where(
        (Competence.curriculum_version == enrolment["version"])
        & (Competence.municipality.is_null() | (Competence.municipality == enrolment["municipality"]))
    )
    chosen = [r for r in rows if r["profile_kind"] == "base" or r["profile_code"] == specialist]
    notes = await toning.descriptions_for(enrolment["municipality"], sorted({r["profile"] for r in chosen}))
    for r in chosen:
        r["profile_note"] = notes.get(r["profile"], "")
    return sorted(chosen, key=lambda r: (r["profile_position"], r["position"]))


async def assessments(person_id: int) -> dict[int, dict[str, int]]:
    """competence id -> phase -> score"""
    out: dict[int, dict[str, int]] = {}
    for r in await SelfAssessment.select(SelfAssessment.competence, SelfAssessment.phase, SelfAssessment.score).where(
        SelfAssessment.person == person_id
    ):
        out.setdefault(r["competence"], {})[r["phase"]] = r["score"]
    return out


async def save_assessment(person_id: int, phase: str, form: dict) -> None:
    """All competences rated in one go, or nothing is saved."""
    if phase not in PHASE_NAMES:
        raise NotFound()
    competences = await competences_to_assess(person_id)
    if not competences:
        raise Invalid({"phase": _("Du kan vurdere dig selv, når du er tilmeldt et hold.")})
    scores: dict[int, int] = {}
    errors: dict[str, str] = {}
    for c in competences:
        raw = str(form.get(f"c{c['id']}", "")).strip()
        if raw not in {"1", "2", "3", "4", "5"}:
            errors[f"c{c['id']}"] = _("Vælg et tal fra 1 til 5 for «{name}».").format(name=c["name"])
        else:
            scores[c["id"]] = int(raw)
    if errors:
        raise Invalid(errors)
    now = clock.now()
    async with write_transaction(SelfAssessment._meta.db):
        existing = {
            r["competence"]: r["id"]
            for r in await SelfAssessment.select(SelfAssessment.id, SelfAssessment.competence).where(
                (SelfAssessment.person == person_id) & (SelfAssessment.phase == phase)
            )
        }
        new = []
        for competence_id, score in scores.items():
            if competence_id in existing:
                await SelfAssessment.update({SelfAssessment.score: score, SelfAssessment.assessed_at: now}).where(
                    SelfAssessment.id == existing[competence_id]
                )
            else:
                new.append(SelfAssessment(person=person_id, competence=competence_id, phase=phase, score=score))
        if new:
            await SelfAssessment.insert(*new)
        await audit.record(person_id, "self_assessment.save", "person", person_id, phase=phase, count=len(scores))
