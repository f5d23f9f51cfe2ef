"""Course evaluation and transfer follow-up (issue 17): anonymous answers, once each, and
results only for groups of at least five answers — on the page and in the exports."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intro import clock
from intro.participation import evaluations
from intro.settings import get_settings
from intro.tables import (
    Enrolment,
    EvaluationAnswer,
    EvaluationReceipt,
    Person,
    Session,
    SessionInstructor,
)
from tests.conftest import login, post_form

PARTICIPANT = "deltager@intro.example"
COORDINATOR = "koordinator@intro.example"

ANSWERS = st.lists(
    st.fixed_dictionaries({
        "kind": st.just("evaluation"),
        "relevance": st.integers(1, 5),
        "usefulness": st.integers(1, 5),
        "free_text": st.text(max_size=20),
    }),
    max_size=12,
)


@given(ANSWERS)
def test_a_group_is_shown_exactly_when_it_has_five_answers_and_hidden_shows_nothing(answers):
    summary = evaluations.summarise(answers)
    assert summary.hidden == (len(answers) < evaluations.MIN_ANSWERS)
    if summary.hidden:
        assert (summary.relevance, summary.usefulness, summary.used_at_work, summary.shared) == (None,) * 4
        assert summary.texts == ()
    else:
        assert sorted(summary.texts) == sorted(a["free_text"] for a in answers if a["free_text"])
        assert 1 <= summary.relevance <= 5


async def _sara() -> int:
    return (await Person.select(Person.id).where(Person.email == PARTICIPANT).first())["id"]


async def test_a_participant_answers_once_and_the_answer_names_no_one(demo_client):
    sara = await _sara()
    due = await evaluations.due_for(sara)
    assert due, "the demo cohort under way has modules that are over"
    first = next(d for d in due if d["kind"] == "evaluation")
    await login(demo_client, PARTICIPANT)
    listing = await demo_client.get("/plan/evaluations")
    assert first["module_code"] in listing.text
    url = f"/plan/evaluations/{first['cohort']}/{first['module']}/evaluation"
    assert (await demo_client.get(url)).status_code == 200

    bad = await post_form(demo_client, url, {"relevance": "9"})
    assert bad.status_code == 400
    assert 'id="f-relevance-error"' in bad.text and 'id="f-usefulness-error"' in bad.text
    assert await EvaluationAnswer.count() == 0 and await EvaluationReceipt.count() == 0

    ok = await post_form(demo_client, url, {"relevance": "4", "usefulness": "5", "free_text": "Meget brugbart"})
    assert ok.status_code == 303
    answer = await EvaluationAnswer.select().first()
    assert "person" not in answer and answer["relevance"] == 4
    assert await EvaluationReceipt.exists().where(EvaluationReceipt.person == sara)
    again = await post_form(demo_client, url, {"relevance": "1", "usefulness": "1"})
    assert again.status_code == 404
    assert await EvaluationAnswer.count() == 1


async def test_the_follow_up_opens_weeks_after_the_last_day(demo_db):
    sara = await _sara()
    cohorts = [r["cohort"] for r in await Enrolment.select(Enrolment.cohort).where(Enrolment.person == sara)]
    sessions = await Session.select(Session.cohort, Session.module, Session.ends_at).where(
        Session.cohort.is_in(cohorts) & (Session.status == "scheduled")
    )
    last: dict = {}
    for s in sessions:
        key = (s["cohort"], s["module"])
        last[key] = max(last.get(key, s["ends_at"]), s["ends_at"])
    now = clock.now()
    due = {(d["cohort"], d["module"], d["kind"]) for d in await evaluations.due_for(sara)}
    for (cohort, module), ends in last.items():
        assert ((cohort, module, "evaluation") in due) == (ends <= now)
        assert ((cohort, module, "follow_up") in due) == (ends + evaluations.follow_up_after() <= now)


@pytest.fixture
def follow_up_days(monkeypatch):
    """Set INTRO_FOLLOW_UP_DAYS for one test (settings are read once and cached)."""

    def set_days(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv("INTRO_FOLLOW_UP_DAYS", raising=False)
        else:
            monkeypatch.setenv("INTRO_FOLLOW_UP_DAYS", value)
        get_settings.cache_clear()

    yield set_days
    monkeypatch.delenv("INTRO_FOLLOW_UP_DAYS", raising=False)
    get_settings.cache_clear()


@pytest.mark.days
async def test_the_follow_up_delay_is_a_setting(demo_db, follow_up_days):
    """At the pinned day (make test-days) a module over for N whole days has its follow-up
    open with INTRO_FOLLOW_UP_DAYS=N and not with N+1; six weeks when unset; a value that is
    not a whole number of days from 1 to 365 stops the start with the variable named."""
    sara = await _sara()
    [over] = [d for d in await evaluations.due_for(sara) if d["kind"] == "evaluation"][:1]
    ends = max(
        s["ends_at"] for s in await Session.select(Session.ends_at).where(
            (Session.cohort == over["cohort"]) & (Session.module == over["module"]) & (Session.status == "scheduled")
        )
    )
    days = (clock.now() - ends).days  # whole days since the module's last day ended
    assert 1 <= days < 365, "the demo has a module that ended days ago"

    async def follow_up_open() -> bool:
        return (over["cohort"], over["module"], "follow_up") in {
            (d["cohort"], d["module"], d["kind"]) for d in await evaluations.due_for(sara)
        }

    follow_up_days(None)
    assert evaluations.follow_up_after() == timedelta(weeks=6)
    assert await follow_up_open() == (days >= 42)
    follow_up_days(str(days))
    assert await follow_up_open()
    follow_up_days(str(days + 1))
    assert not await follow_up_open()
    for bad in ("0", "366", "seks", "4.5", "-3", "٤٢"):
        follow_up_days(bad)
        with pytest.raises(RuntimeError, match="INTRO_FOLLOW_UP_DAYS"):
            get_settings()


async def _answers(cohort: int, module: int, n: int, text: str = "Godt") -> None:
    await EvaluationAnswer.insert(*[
        EvaluationAnswer(cohort=cohort, module=module, kind="evaluation", relevance=4, usefulness=3, free_text=text)
        for _ in range(n)
    ])


async def test_results_appear_only_at_five_answers_on_the_page_and_in_the_export(demo_client):
    sara = await _sara()
    first = next(d for d in await evaluations.due_for(sara) if d["kind"] == "evaluation")
    await _answers(first["cohort"], first["module"], 4, "Hemmelig kommentar")
    await login(demo_client, COORDINATOR)
    page = await demo_client.get("/evaluations")
    assert page.status_code == 200
    assert "&lt;5" in page.text and "Hemmelig kommentar" not in page.text
    csv = await demo_client.get("/evaluations/export.csv")
    assert "<5" in csv.text and "Hemmelig kommentar" not in csv.text

    await _answers(first["cohort"], first["module"], 1, "Hemmelig kommentar")
    page = await demo_client.get("/evaluations")
    assert "Hemmelig kommentar" in page.text and ">4,0<" in page.text
    xlsx = await demo_client.get("/evaluations/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


async def test_an_instructor_sees_only_the_modules_they_taught(demo_client):
    sara = await _sara()
    first = next(d for d in await evaluations.due_for(sara) if d["kind"] == "evaluation")
    await _answers(first["cohort"], first["module"], 5)
    jonas = await Person.select(Person.id).where(Person.email == "underviser@intro.example").first()
    taught = await SessionInstructor.exists().where(
        (SessionInstructor.person == jonas["id"])
        & (SessionInstructor.session.cohort == first["cohort"])
        & (SessionInstructor.session.module == first["module"])
    )
    rows = await evaluations.results(instructor_id=jonas["id"])
    assert bool(rows) == taught
    assert all(r.group == "instructor" for r in rows)


@given(st.lists(st.integers(0, 12), max_size=6))
def test_a_breakdown_is_allowed_only_when_no_cohort_is_small(counts):
    allowed = evaluations.breakdown_allowed(counts)
    assert allowed == all(n == 0 or n >= evaluations.MIN_ANSWERS for n in counts)
    if allowed:
        # Every union of cohorts, and what is left of the total without it, is 0 or >= 5.
        for mask in range(2 ** len(counts)):
            part = sum(n for i, n in enumerate(counts) if mask >> i & 1)
            for n in (part, sum(counts) - part):
                assert n == 0 or n >= evaluations.MIN_ANSWERS


async def test_a_small_cohort_hides_the_breakdown_so_it_cannot_be_worked_out(demo_client):
    from intro.tables import Cohort

    sara = await _sara()
    first = next(d for d in await evaluations.due_for(sara) if d["kind"] == "evaluation")
    cohort = await Cohort.select(Cohort.partnership).where(Cohort.id == first["cohort"]).first()
    other = await Cohort.select(Cohort.id).where(
        (Cohort.partnership == cohort["partnership"]) & (Cohort.id != first["cohort"])
    ).first()
    await _answers(first["cohort"], first["module"], 5)
    await _answers(other["id"], first["module"], 2)
    rows = [r for r in await evaluations.results(partnership_ids={cohort["partnership"]}) if r.module_code == first["module_code"]]
    total = next(r for r in rows if r.group == "module")
    assert not total.evaluation.hidden and total.evaluation.n == 7
    assert all(r.evaluation.hidden for r in rows if r.group != "module")
    await _answers(other["id"], first["module"], 3)
    rows = [r for r in await evaluations.results(partnership_ids={cohort["partnership"]}) if r.module_code == first["module_code"]]
    assert all(not r.evaluation.hidden for r in rows)


async def test_the_database_refuses_an_answer_that_does_not_fit_its_kind(demo_db):
    from tests.test_constraints import refused

    sara = await _sara()
    first = next(d for d in await evaluations.due_for(sara) if d["kind"] == "evaluation")
    where = {"cohort": first["cohort"], "module": first["module"]}
    for bad in (
        {"kind": "evaluation", "relevance": 3, "usefulness": None},
        {"kind": "evaluation", "relevance": 6, "usefulness": 3},
        {"kind": "evaluation", "relevance": 3, "usefulness": 3, "used_at_work": True},
        {"kind": "follow_up", "used_at_work": True, "shared_with_colleagues": None},
        {"kind": "follow_up", "used_at_work": True, "shared_with_colleagues": True, "relevance": 2},
        {"kind": "other", "relevance": 3, "usefulness": 3},
    ):
        await refused(EvaluationAnswer.insert(EvaluationAnswer(**where, **bad)))
    await EvaluationReceipt.insert(EvaluationReceipt(person=sara, kind="evaluation", **where))
    await refused(EvaluationReceipt.insert(EvaluationReceipt(person=sara, kind="evaluation", **where)))
