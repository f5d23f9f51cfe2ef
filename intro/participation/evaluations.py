"""Course evaluation and transfer follow-up (issue 17).

After a module's last course day a participant answers a short evaluation (relevance and
usefulness on a 1-5 scale, how they will use it at work, free text). follow_up_after()
(the setting INTRO_FOLLOW_UP_DAYS, six weeks by default) later a follow-up asks whether they have used it at work and shared it with colleagues —
the transfer the field asks for.

Anonymity: an answer (`EvaluationAnswer`) has no person and no time; a separate receipt
(`EvaluationReceipt`) only says that someone has answered, so each answers once.
Results (`summarise`, pure) are shown per module, per cohort and per instructor only for
groups of MIN_ANSWERS or more, and free texts only then; a smaller group comes back as
hidden, in the pages and in the exports alike. A module's cohort and instructor rows are
hidden altogether when one cohort is too small (`breakdown_allowed`), so no hidden
group can be worked out as the total minus the groups shown.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from statistics import mean
from typing import Any

from intro import clock
from intro.db import write_transaction
from intro.errors import Invalid
from intro.i18n import _
from intro.settings import get_settings
from intro.tables import (
    ENROLMENT_ON_COHORT,
    Cohort,
    Enrolment,
    EvaluationAnswer,
    EvaluationKind,
    EvaluationReceipt,
    Module,
    Session,
    SessionInstructor,
    SessionStatus,
)

MIN_ANSWERS = 5


def follow_up_after() -> timedelta:
    """How long after a module's last course day the follow-up opens: the setting
    INTRO_FOLLOW_UP_DAYS (1-365 days, default 42 = six weeks; intro.settings)."""
    return timedelta(days=get_settings().follow_up_days)

MAX_TEXT = 2000


# --------------------------------------------------------------------------------------
# What a participant has to answer


async def due_for(person_id: int) -> list[dict]:
    """The evaluations and follow-ups the person may answer now: for each module of a
    cohort they are (or were) enrolled in whose last course day is over, the evaluation,
    and from follow_up_after() later the follow-up, unless already answered. Each dict has
    cohort, module, kind, module_code, module_title, cohort_name."""
    cohorts = [
        r["cohort"]
        for r in await Enrolment.select(Enrolment.cohort).where(
            (Enrolment.person == person_id) & Enrolment.status.is_in(ENROLMENT_ON_COHORT)
        )
    ]
    if not cohorts:
        return []
    sessions = await Session.select(
        Session.cohort, Session.module, Session.ends_at,
        Session.module.code.as_alias("module_code"), Session.module.title.as_alias("module_title"),
        Session.cohort.name.as_alias("cohort_name"),
    ).where(Session.cohort.is_in(cohorts) & (Session.status == SessionStatus.scheduled))
    last: dict[tuple[int, int], dict] = {}
    for s in sessions:
        key = (s["cohort"], s["module"])
        if key not in last or s["ends_at"] > last[key]["ends_at"]:
            last[key] = s
    answered = {
        (r["cohort"], r["module"], r["kind"])
        for r in await EvaluationReceipt.select(
            EvaluationReceipt.cohort, EvaluationReceipt.module, EvaluationReceipt.kind
        ).where(EvaluationReceipt.person == person_id)
    }
    now = clock.now()
    follow_up = follow_up_after()
    due = []
    for (cohort, module), s in sorted(last.items(), key=lambda kv: kv[1]["ends_at"]):
        for kind, after in ((EvaluationKind.evaluation, timedelta(0)), (EvaluationKind.follow_up, follow_up)):
            if s["ends_at"] + after <= now and (cohort, module, kind.value) not in answered:
                due.append({
                    "cohort": cohort, "module": module, "kind": kind.value,
                    "module_code": s["module_code"], "module_title": s["module_title"],
                    "cohort_name": s["cohort_name"],
                })
    return due


def _score(form: dict[str, Any], name: str, errors: dict[str, str]) -> int | None:
    value = str(form.get(name, "")).strip()
    if value in {"1", "2", "3", "4", "5"}:
        return int(value)
    errors[name] = _("Vælg et tal fra 1 til 5.")
    return None


def _yes_no(form: dict[str, Any], name: str, errors: dict[str, str]) -> bool | None:
    value = str(form.get(name, "")).strip()
    if value in {"1", "0"}:
        return value == "1"
    errors[name] = _("Vælg ja eller nej.")
    return None


async def answer(person_id: int, cohort_id: int, module_id: int, kind: str, form: dict[str, Any]) -> None:
    """Store one answer anonymously, with the receipt that the person has answered, in
    one transaction. Raises Invalid (field "evaluation") when it is not due for the
    person — not theirs, not yet, or answered already — and by field for bad input."""
    due = {(d["cohort"], d["module"], d["kind"]) for d in await due_for(person_id)}
    if (cohort_id, module_id, kind) not in due:
        raise Invalid({"evaluation": _("Evalueringen er ikke åben for dig, eller du har allerede svaret.")})
    errors: dict[str, str] = {}
    text = str(form.get("free_text", "")).replace("\r\n", "\n").strip()
    if len(text) > MAX_TEXT:
        errors["free_text"] = _("Højst {n} tegn.").format(n=MAX_TEXT)
    values: dict[str, Any] = {"cohort": cohort_id, "module": module_id, "kind": kind, "free_text": text}
    if kind == EvaluationKind.evaluation.value:
        values["relevance"] = _score(form, "relevance", errors)
        values["usefulness"] = _score(form, "usefulness", errors)
    else:
        values["used_at_work"] = _yes_no(form, "used_at_work", errors)
        values["shared_with_colleagues"] = _yes_no(form, "shared_with_colleagues", errors)
    if errors:
        raise Invalid(errors)
    async with write_transaction(EvaluationAnswer._meta.db):
        # The receipt's unique key refuses a second answer from two tabs at once.
        await EvaluationReceipt.insert(
            EvaluationReceipt(person=person_id, cohort=cohort_id, module=module_id, kind=kind)
        )
        await EvaluationAnswer.insert(EvaluationAnswer(**values))
    # Deliberately no audit line: it would tie the person to the moment of the answer.


# --------------------------------------------------------------------------------------
# Results (pure), shown only for groups large enough


@dataclass(frozen=True)
class Summary:
    """One group's results; `hidden` when it has fewer than MIN_ANSWERS answers, and then
    every figure and text is None/empty."""

    n: int
    hidden: bool
    relevance: float | None = None
    usefulness: float | None = None
    used_at_work: float | None = None  # share, 0-1
    shared: float | None = None  # share, 0-1
    texts: tuple[str, ...] = ()


def summarise(answers: list[dict], min_answers: int = MIN_ANSWERS) -> Summary:
    """The results of one group of answers of one kind. Fewer than `min_answers`: only
    that there are too few (not even the exact number below the threshold is needed, but
    n is kept for the threshold test). Free texts come in a shuffled order, so their
    order says nothing about who wrote them."""
    n = len(answers)
    if n < min_answers:
        return Summary(n=n, hidden=True)

    def avg(key: str) -> float | None:
        values = [a[key] for a in answers if a.get(key) is not None]
        return round(float(mean(values)), 1) if values else None

    def share(key: str) -> float | None:
        values = [bool(a[key]) for a in answers if a.get(key) is not None]
        return round(sum(values) / len(values), 2) if values else None

    texts = [a["free_text"] for a in answers if a.get("free_text")]
    random.shuffle(texts)
    return Summary(
        n=n, hidden=False, relevance=avg("relevance"), usefulness=avg("usefulness"),
        used_at_work=share("used_at_work"), shared=share("shared_with_colleagues"), texts=tuple(texts),
    )


def breakdown_allowed(cohort_counts: list[int], min_answers: int = MIN_ANSWERS) -> bool:
    """Whether a module's results may be broken down by cohort and by instructor. Only
    if no cohort has 1 to min_answers-1 answers: otherwise its figures could be worked
    out from the module's total minus the other cohorts shown. Instructors' groups are
    unions of cohorts, so when every cohort has 0 or enough answers, so has every union
    and every union's remainder."""
    return all(n == 0 or n >= min_answers for n in cohort_counts)


@dataclass(frozen=True)
class ResultRow:
    group: str  # "module", "cohort", "instructor"
    label: str
    module_code: str
    evaluation: Summary
    follow_up: Summary


async def results(partnership_ids: set[int] | None = None, instructor_id: int | None = None) -> list[ResultRow]:
    """Results per module (across the cohorts in scope), per cohort and module, and per
    instructor and module. Scope: the partnerships' cohorts, or the modules and cohorts
    an instructor taught (their own results only)."""
    cohort_query = Cohort.select(Cohort.id, Cohort.name)
    if partnership_ids is not None:
        cohort_query = cohort_query.where(Cohort.partnership.is_in(sorted(partnership_ids) or [0]))
    cohorts = {c["id"]: c["name"] for c in await cohort_query}
    if not cohorts:
        return []
    answers = await EvaluationAnswer.select().where(EvaluationAnswer.cohort.is_in(sorted(cohorts)))
    modules = {
        m["id"]: (m["code"], m["title"])
        for m in await Module.select(Module.id, Module.code, Module.title).where(
            Module.id.is_in(sorted({a["module"] for a in answers}) or [0])
        )
    }
    taught = await SessionInstructor.select(
        SessionInstructor.person, SessionInstructor.person.full_name.as_alias("name"),
        SessionInstructor.session.cohort.as_alias("cohort"), SessionInstructor.session.module.as_alias("module"),
    ).where(SessionInstructor.session.cohort.is_in(sorted(cohorts)))
    teachers: dict[tuple[int, int], set[int]] = defaultdict(set)
    names: dict[int, str] = {}
    for t in taught:
        if instructor_id is None or t["person"] == instructor_id:
            teachers[(t["cohort"], t["module"])].add(t["person"])
            names[t["person"]] = t["name"]
    if instructor_id is not None:
        answers = [a for a in answers if (a["cohort"], a["module"]) in teachers]

    groups: dict[tuple[str, str, int], list[dict]] = defaultdict(list)
    for a in answers:
        if instructor_id is None:
            groups[("module", "", a["module"])].append(a)
            groups[("cohort", cohorts[a["cohort"]], a["module"])].append(a)
        for person in teachers.get((a["cohort"], a["module"]), ()):
            groups[("instructor", names[person], a["module"])].append(a)
    # Per module and kind, whether the cohort and instructor rows may be shown at all.
    per_cohort: dict[tuple[int, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for a in await EvaluationAnswer.select(
        EvaluationAnswer.cohort, EvaluationAnswer.module, EvaluationAnswer.kind
    ).where(EvaluationAnswer.cohort.is_in(sorted(cohorts))):
        per_cohort[(a["module"], a["kind"])][a["cohort"]] += 1
    allowed = {key: breakdown_allowed(list(counts.values())) for key, counts in per_cohort.items()}

    def summary(group: str, module_id: int, kind: str, items: list[dict]) -> Summary:
        chosen = [a for a in items if a["kind"] == kind]
        if group != "module" and not allowed.get((module_id, kind), True):
            return Summary(n=len(chosen), hidden=True)
        return summarise(chosen)

    rows = []
    order = {"module": 0, "cohort": 1, "instructor": 2}
    for (group, label, module_id), items in sorted(groups.items(), key=lambda kv: (modules[kv[0][2]][0], order[kv[0][0]], kv[0][1])):
        code, title = modules[module_id]
        rows.append(ResultRow(
            group=group, label=label or title, module_code=code,
            evaluation=summary(group, module_id, EvaluationKind.evaluation.value, items),
            follow_up=summary(group, module_id, EvaluationKind.follow_up.value, items),
        ))
    return rows
