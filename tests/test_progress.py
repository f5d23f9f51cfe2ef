"""Progress, completion and falling-behind rules, on small worked examples."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from intro.participation.progress import (
    URGENCY,
    Behind,
    ModuleState,
    falling_behind,
    is_complete,
    progress,
    urgency,
    urgency_level,
)


def module(code, strand="Lovgivning", *, days=1, attended=1, missed=0, answered=True, due=None, minutes=360, booked=False):
    return ModuleState(
        module_id=hash(code) % 1000, code=code, title=code, strand=strand, minutes=minutes,
        days_needed=days, days_attended=attended, days_missed=missed, transfer_answered=answered, transfer_due=due,
        catch_up_booked=booked,
    )


def test_progress_per_strand_and_overall():
    result = progress([
        module("LOV-1"),
        module("LOV-2", attended=0, answered=False),
        module("SAM-1", "Den gode samtale", days=2, attended=1, answered=True),
    ])
    lov, sam = result.strands
    assert (lov.modules, lov.attended, lov.transfers, lov.answered, lov.percent) == (2, 1, 2, 1, 50)
    # A two-day module with one day attended is not attended yet.
    assert (sam.attended, sam.answered, sam.percent) == (0, 1, 50)
    assert result.percent == 50  # 3 of 6
    assert result.attended_hours == 6


def test_complete_only_when_every_module_is_attended_and_every_transfer_answered():
    assert is_complete([module("A"), module("B", days=2, attended=2)])
    assert not is_complete([module("A"), module("B", answered=False)])
    assert not is_complete([module("A"), module("B", attended=0)])
    assert not is_complete([])


def test_falling_behind_reasons():
    today = date(2027, 5, 20)
    modules = [
        module("LOV-1", attended=0, missed=1),
        module("SAM-1", answered=False, due=date(2027, 5, 5)),  # 15 days late
        module("SAM-2", answered=False, due=date(2027, 5, 6)),  # 14 days: not yet
    ]
    reasons = falling_behind(
        modules, today=today, last_sign_in=datetime(2027, 4, 28, 12, tzinfo=UTC),
        enrolled_since=date(2027, 1, 1), overdue_tasks=2,
    )
    assert [(r.reason, r.detail) for r in reasons] == [
        ("missed_session", "Mangler at indhente: LOV-1"),
        ("transfer_overdue", "Transferopgave over 14 dage for sent: SAM-1"),
        ("task_overdue", "2 lokale opgaver over fristen"),
        ("no_sign_in", "Ikke logget ind i 22 dage"),
    ]


def test_a_caught_up_module_and_a_recent_sign_in_are_fine():
    today = date(2027, 5, 20)
    reasons = falling_behind(
        [module("LOV-1", attended=1, missed=0)], today=today,
        last_sign_in=datetime(2027, 5, 19, tzinfo=UTC), enrolled_since=date(2027, 1, 1),
    )
    assert reasons == []


def test_never_signed_in_counts_from_enrolment():
    reasons = falling_behind([], today=date(2027, 2, 1), last_sign_in=None, enrolled_since=date(2027, 1, 5))
    assert [r.reason for r in reasons] == ["no_sign_in"]
    assert falling_behind([], today=date(2027, 1, 20), last_sign_in=None, enrolled_since=date(2027, 1, 5)) == []


def test_danish_plurals_in_the_reasons():
    one = falling_behind(
        [module("SAM-1", answered=False, due=date(2027, 5, 1)), module("SAM-2", answered=False, due=date(2027, 5, 2))],
        today=date(2027, 5, 20), last_sign_in=datetime(2027, 5, 19, tzinfo=UTC), enrolled_since=date(2027, 1, 1),
        overdue_tasks=1,
    )
    assert [r.detail for r in one] == [
        "Transferopgaver over 14 dage for sent: SAM-1, SAM-2",
        "1 lokal opgave over fristen",
    ]


def test_a_booked_catch_up_is_in_hand_and_ranks_below_a_missed_module_with_nothing_booked():
    kw = dict(today=date(2027, 5, 20), last_sign_in=datetime(2027, 5, 19, tzinfo=UTC), enrolled_since=date(2027, 1, 1))
    booked = falling_behind([module("LOV-1", attended=0, missed=1, booked=True)], **kw)
    lost = falling_behind([module("LOV-1", attended=0, missed=1)], **kw)
    assert [(r.reason, r.detail) for r in booked] == [("catch_up_booked", "Indhentning booket: LOV-1")]
    assert urgency_level(booked)[0] == "watch" and urgency_level(lost)[0] == "urgent"
    assert urgency(lost) > urgency(booked)
    tasks = falling_behind([], overdue_tasks=5, **kw)
    assert urgency(lost) > urgency(tasks) and urgency_level(tasks)[0] == "follow_up"


reasons = st.dictionaries(st.sampled_from(URGENCY), st.integers(min_value=1, max_value=60)).map(
    lambda d: [Behind(reason, "", n) for reason, n in d.items()]
)


@given(reasons, reasons)
def test_urgency_orders_people_by_their_most_urgent_reason_first(a, b):
    """Whoever has more of the more urgent reason ranks first, whatever else either has;
    equal on that, the next reason decides; the level follows the most urgent reason."""
    count_a = {r.reason: r.count for r in a}
    count_b = {r.reason: r.count for r in b}
    deciding = next((reason for reason in URGENCY if count_a.get(reason, 0) != count_b.get(reason, 0)), None)
    if deciding is None:
        assert urgency(a) == urgency(b)
    else:
        assert (urgency(a) > urgency(b)) == (count_a.get(deciding, 0) > count_b.get(deciding, 0))
    if a:
        top = next(reason for reason in URGENCY if reason in count_a)
        assert urgency_level(a) == urgency_level([Behind(top, "", 1)])
