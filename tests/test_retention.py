"""Retention and its small figures: worked examples computed by hand, plus properties.

Day conventions (see intro/insight/retention.py): day 0 is the start date; a spell whose last day
is `end` is a leaver on day (end - start).days + 1; someone still employed is censored on
day (today - start).days + 1; "stayed to the mark" means employed on the mark date.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intro.errors import Invalid
from intro.insight.retention import (
    MIN_GROUP,
    MOVED_WITHIN,
    Employment,
    Enrolment,
    Hidden,
    KMMonth,
    Mark,
    Share,
    Spell,
    add_months,
    at_risk_at,
    attendance_rate,
    completion,
    group_hidden,
    hide_municipalities,
    intake_per_quarter,
    kaplan_meier,
    km_month_table,
    leaver_label,
    month_day,
    municipality_spells,
    partnership_spells,
    quarter_of,
    retention_at,
    retention_marks,
    share_within,
    survival_at,
)

SLAGELSE, SORO, NAESTVED, ODENSE = 330, 340, 370, 461  # Odense is not a member
MEMBERS = {SLAGELSE, SORO, NAESTVED}
TODAY = date(2025, 1, 1)


def left_on_day(start: date, day: int, person: int = 0) -> Spell:
    """A spell whose holder is gone from `day` on (last day worked = day - 1)."""
    return Spell(person, SLAGELSE, start, start + timedelta(days=day - 1), "resigned")


def censored_on_day(today: date, day: int, person: int = 0) -> Spell:
    """A spell still running today, which is day - 1 of it."""
    return Spell(person, SLAGELSE, today - timedelta(days=day - 1), None)


# --- add_months --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2024, 8, 31), 6, date(2025, 2, 28)),
        (date(2024, 11, 15), 3, date(2025, 2, 15)),  # over the new year
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2024, 5, 10), 0, date(2024, 5, 10)),
    ],
)
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


# --- Employments and spells ----------------------------------------------------------------


def test_employment_end_before_start_names_the_field():
    with pytest.raises(Invalid) as error:
        Employment(1, SLAGELSE, date(2024, 5, 1), date(2024, 4, 30))
    assert set(error.value.errors) == {"end"}


def test_employment_end_reason_is_checked():
    with pytest.raises(Invalid) as error:
        Employment(1, SLAGELSE, date(2024, 5, 1), date(2024, 6, 30), "fired")
    assert set(error.value.errors) == {"end_reason"}
    with pytest.raises(Invalid) as error:
        Employment(1, SLAGELSE, date(2024, 5, 1), None, "resigned")
    assert set(error.value.errors) == {"end_reason"}


def test_renewed_contract_within_31_days_is_one_spell():
    # Ends 31 Dec, the next starts 31 Jan: 31 days later, so the stay goes on.
    rows = [
        Employment(1, SLAGELSE, date(2023, 1, 1), date(2023, 12, 31), "contract_ended"),
        Employment(1, SLAGELSE, date(2024, 1, 31), None),
    ]
    assert municipality_spells(rows) == [Spell(1, SLAGELSE, date(2023, 1, 1), None, None)]


def test_return_after_more_than_31_days_is_a_new_spell():
    # 32 days after: a leaver, and a new hire counted from its own start.
    rows = [
        Employment(1, SLAGELSE, date(2023, 1, 1), date(2023, 12, 31), "resigned"),
        Employment(1, SLAGELSE, date(2024, 2, 1), None),
    ]
    spells = municipality_spells(rows)
    assert spells == [
        Spell(1, SLAGELSE, date(2023, 1, 1), date(2023, 12, 31), "resigned"),
        Spell(1, SLAGELSE, date(2024, 2, 1), None, None),
    ]
    # 12 months: the first spell left on 31 Dec, before its mark on 1 Jan 2024; the
    # return reaches its mark on 1 Feb 2025, after TODAY, so it is left out.
    assert retention_at(spells, 12, TODAY) == Mark(12, 1, 0, 1, 0.0)


def test_overlapping_employments_are_counted_once():
    rows = [
        # Two jobs at once in Slagelse; the later one ends last and gives the reason.
        Employment(1, SLAGELSE, date(2023, 1, 1), date(2023, 12, 31), "resigned"),
        Employment(1, SLAGELSE, date(2023, 6, 1), date(2024, 3, 31), "contract_ended"),
        # A short job inside a long one.
        Employment(2, SLAGELSE, date(2023, 1, 1), date(2024, 12, 31), "retired"),
        Employment(2, SLAGELSE, date(2023, 3, 1), date(2023, 4, 30), "contract_ended"),
    ]
    spells = municipality_spells(rows)
    assert spells == [
        Spell(1, SLAGELSE, date(2023, 1, 1), date(2024, 3, 31), "contract_ended"),
        Spell(2, SLAGELSE, date(2023, 1, 1), date(2024, 12, 31), "retired"),
    ]
    # Two people, not four: both stayed 12 months (marks 1 Jan 2024).
    assert retention_at(spells, 12, TODAY) == Mark(12, 2, 2, 0, 1.0)
    # Across municipalities in the partnership, too.
    both = [
        Employment(3, SLAGELSE, date(2023, 1, 1), None),
        Employment(3, SORO, date(2023, 2, 1), date(2023, 8, 31), "contract_ended"),
    ]
    assert partnership_spells(both, MEMBERS) == [Spell(3, SLAGELSE, date(2023, 1, 1), None)]


def test_move_between_members_is_lost_to_the_first_and_kept_by_the_partnership():
    rows = [
        Employment(1, SLAGELSE, date(2023, 6, 1), date(2024, 3, 31), "resigned"),
        Employment(1, SORO, date(2024, 4, 15), None),
    ]
    spells = municipality_spells(rows, members=MEMBERS)
    assert spells == [
        Spell(1, SLAGELSE, date(2023, 6, 1), date(2024, 3, 31), "resigned", moved_within=True),
        Spell(1, SORO, date(2024, 4, 15), None),
    ]
    slagelse = [s for s in spells if s.municipality == SLAGELSE]
    soro = [s for s in spells if s.municipality == SORO]
    # Slagelse: mark 1 Jun 2024, left 31 Mar 2024 -> lost.
    assert retention_at(slagelse, 12, TODAY) == Mark(12, 1, 0, 1, 0.0)
    # Sorø: a new hire on 15 Apr 2024, mark 15 Apr 2025 not reached -> not counted yet.
    assert retention_at(soro, 12, TODAY) == Mark(12, 0, 0, 0, None)
    assert leaver_label(slagelse[0]) == MOVED_WITHIN

    partnership = partnership_spells(rows, MEMBERS)
    # One spell, hired by Slagelse, still running -> kept.
    assert partnership == [Spell(1, SLAGELSE, date(2023, 6, 1), None, None)]
    assert retention_at(partnership, 12, TODAY) == Mark(12, 1, 1, 0, 1.0)

    # Without members, nothing is known about moves.
    assert not any(s.moved_within for s in municipality_spells(rows))


def test_move_to_a_non_member_is_lost_to_both():
    rows = [
        Employment(1, SLAGELSE, date(2023, 6, 1), date(2024, 3, 31), "moved"),
        Employment(1, ODENSE, date(2024, 4, 15), None),
    ]
    slagelse = [s for s in municipality_spells(rows, MEMBERS) if s.municipality == SLAGELSE]
    assert slagelse == [Spell(1, SLAGELSE, date(2023, 6, 1), date(2024, 3, 31), "moved")]
    assert leaver_label(slagelse[0]) == "Fraflyttet"
    partnership = partnership_spells(rows, MEMBERS)
    assert partnership == [Spell(1, SLAGELSE, date(2023, 6, 1), date(2024, 3, 31), "moved")]
    assert retention_at(slagelse, 12, TODAY).rate == 0.0
    assert retention_at(partnership, 12, TODAY).rate == 0.0


def test_partnership_spell_takes_the_hiring_municipality_and_the_last_reason():
    rows = [
        Employment(1, SORO, date(2022, 1, 1), date(2022, 12, 31), "contract_ended"),
        Employment(1, NAESTVED, date(2023, 1, 20), date(2023, 9, 30), "resigned"),
        # 62 days later, back in Sorø: a new partnership spell and a new Sorø spell.
        Employment(1, SORO, date(2023, 12, 1), None),
    ]
    assert partnership_spells(rows, MEMBERS) == [
        Spell(1, SORO, date(2022, 1, 1), date(2023, 9, 30), "resigned"),
        Spell(1, SORO, date(2023, 12, 1), None),
    ]
    assert municipality_spells(rows, MEMBERS) == [
        Spell(1, SORO, date(2022, 1, 1), date(2022, 12, 31), "contract_ended", True),
        Spell(1, NAESTVED, date(2023, 1, 20), date(2023, 9, 30), "resigned", False),
        Spell(1, SORO, date(2023, 12, 1), None),
    ]


def test_leaver_label():
    assert leaver_label(Spell(1, SLAGELSE, date(2024, 1, 1), None)) is None
    ended = Spell(1, SLAGELSE, date(2024, 1, 1), date(2024, 5, 31), "contract_ended")
    assert leaver_label(ended) == "Kontrakt udløbet"


# --- Retention at a mark --------------------------------------------------------------------


def test_last_day_before_the_mark_did_not_stay_and_on_the_mark_did():
    start = date(2024, 1, 15)  # 6-month mark: 15 Jul 2024
    spells = [
        Spell(1, SLAGELSE, start, date(2024, 7, 14), "resigned"),
        Spell(2, SLAGELSE, start, date(2024, 7, 15), "resigned"),
    ]
    assert retention_at(spells, 6, TODAY) == Mark(6, 2, 1, 1, 0.5)
    # Starting 31 Aug, the 6-month mark is 28 Feb, or 29 Feb in a leap year.
    late = [
        Spell(3, SLAGELSE, date(2022, 8, 31), date(2023, 2, 27), "resigned"),
        Spell(4, SLAGELSE, date(2022, 8, 31), date(2023, 2, 28), "resigned"),
        Spell(5, SLAGELSE, date(2023, 8, 31), date(2024, 2, 28), "resigned"),
        Spell(6, SLAGELSE, date(2023, 8, 31), date(2024, 2, 29), "resigned"),
    ]
    assert retention_at(late, 6, TODAY) == Mark(6, 4, 2, 2, 0.5)
    assert [retention_at([s], 6, TODAY).stayed for s in late] == [0, 1, 0, 1]
    # On 28 Feb 2023 only the first two have reached the mark.
    assert retention_at(late, 6, date(2023, 2, 28)) == Mark(6, 2, 1, 1, 0.5)


def test_recent_hires_are_left_out_not_counted_as_staying():
    spells = [
        Spell(1, SLAGELSE, date(2024, 3, 1), None),  # mark 1 Sep 2024: stayed
        Spell(2, SLAGELSE, date(2024, 3, 1), date(2024, 5, 31), "resigned"),  # left
        Spell(3, SLAGELSE, date(2024, 9, 1), None),  # mark 1 Mar 2025: too recent
        Spell(4, SLAGELSE, date(2024, 12, 1), None),  # too recent
        Spell(5, SLAGELSE, date(2024, 7, 1), None),  # mark 1 Jan 2025 = today: counted
        Spell(6, SLAGELSE, date(2025, 3, 1), None),  # not started yet
    ]
    # eligible 1, 2, 5; stayed 1, 5 -> 2/3 (counting 3, 4 as staying would give 4/5).
    mark = retention_at(spells, 6, TODAY)
    assert mark == Mark(6, 3, 2, 1, 2 / 3)


def test_future_end_counts_as_still_employed():
    # HR has already registered that the contract ends 30 Jun 2025.
    spells = [Spell(1, SLAGELSE, date(2024, 1, 1), date(2025, 6, 30), "contract_ended")]
    assert retention_at(spells, 12, TODAY) == Mark(12, 1, 1, 0, 1.0)
    steps = kaplan_meier(spells, TODAY)
    # Censored at (1 Jan 2025 - 1 Jan 2024) + 1 = 367, not a leaver.
    assert [(s.day, s.events, s.censored) for s in steps] == [(367, 0, 1)]


def test_retention_marks():
    spells = [
        Spell(1, SLAGELSE, date(2022, 1, 1), None),
        Spell(2, SLAGELSE, date(2022, 1, 1), date(2023, 6, 30), "resigned"),  # left 12-24
        Spell(3, SLAGELSE, date(2022, 1, 1), date(2022, 3, 31), "dismissed"),  # left < 6
        Spell(4, SLAGELSE, date(2024, 3, 1), None),  # 6 only
        Spell(5, SLAGELSE, date(2024, 8, 1), None),  # none
    ]
    assert retention_marks(spells, TODAY) == [
        Mark(6, 4, 3, 1, 3 / 4),
        Mark(12, 3, 2, 1, 2 / 3),
        Mark(24, 3, 1, 2, 1 / 3),
    ]
    with pytest.raises(ValueError):
        retention_at(spells, -1, TODAY)


# --- Kaplan–Meier -------------------------------------------------------------------------


def five_people() -> list[Spell]:
    """A leaves on day 10, B on day 20, C is censored on day 20 (tie with B), D leaves on
    day 30, E is censored on day 40. F starts after today and is left out."""
    return [
        left_on_day(date(2024, 6, 1), 10, person=1),
        left_on_day(date(2024, 7, 1), 20, person=2),
        censored_on_day(TODAY, 20, person=3),
        left_on_day(date(2024, 8, 1), 30, person=4),
        censored_on_day(TODAY, 40, person=5),
        Spell(6, SLAGELSE, date(2025, 2, 1), None),
    ]


def test_kaplan_meier_by_hand_with_a_tie():
    # day 10: n=5 (all), d=1           S = 4/5           = 0.8
    # day 20: n=4 (B, C, D, E), d=1, c=1; C still at risk on its censoring day:
    #                                   S = 4/5 * 3/4     = 0.6
    #         (removing C first would give 4/5 * 2/3 = 0.5333: the convention matters)
    # day 30: n=2 (D, E), d=1           S = 0.6 * 1/2     = 0.3
    # day 40: n=1 (E), c=1              S stays             0.3
    # Greenwood sums: 1/(5*4) = 0.05; + 1/(4*3) = 0.13333; + 1/(2*1) = 0.63333
    steps = kaplan_meier(five_people(), TODAY)
    assert [(s.day, s.at_risk, s.events, s.censored) for s in steps] == [
        (10, 5, 1, 0),
        (20, 4, 1, 1),
        (30, 2, 1, 0),
        (40, 1, 0, 1),
    ]
    assert [s.survival for s in steps] == pytest.approx([0.8, 0.6, 0.3, 0.3])
    assert [s.std_error for s in steps] == pytest.approx(
        [
            0.8 * math.sqrt(0.05),  # 0.17889
            0.6 * math.sqrt(0.05 + 1 / 12),  # 0.21909
            0.3 * math.sqrt(0.05 + 1 / 12 + 0.5),  # 0.23875
            0.3 * math.sqrt(0.05 + 1 / 12 + 0.5),
        ]
    )
    assert steps[0].std_error == pytest.approx(0.178885, abs=1e-6)


def test_survival_and_at_risk_read_off_the_steps():
    steps = kaplan_meier(five_people(), TODAY)
    assert survival_at(steps, 0) == 1.0
    assert survival_at(steps, 9) == 1.0  # A is employed on day 9, the last day
    assert survival_at(steps, 10) == pytest.approx(0.8)
    assert survival_at(steps, 19) == pytest.approx(0.8)
    assert survival_at(steps, 20) == pytest.approx(0.6)
    assert survival_at(steps, 1000) == pytest.approx(0.3)
    # at risk = leaving or censoring day on or after the day
    assert [at_risk_at(steps, day) for day in (0, 10, 11, 20, 21, 40, 41)] == [5, 5, 4, 4, 2, 1, 0]


def test_everyone_leaving_ends_at_zero_without_a_standard_error():
    spells = [left_on_day(date(2024, 1, 1), 10, 1), left_on_day(date(2024, 2, 1), 10, 2)]
    (step,) = kaplan_meier(spells, TODAY)
    assert (step.day, step.at_risk, step.events, step.survival, step.std_error) == (
        10,
        2,
        2,
        0.0,
        None,
    )
    assert kaplan_meier([], TODAY) == []


def test_month_days():
    # months * 30.4375, half up: 91.3125, 182.625, 365.25, 547.875, 730.5
    assert [month_day(m) for m in (0, 3, 6, 12, 18, 24)] == [0, 91, 183, 365, 548, 731]


def test_km_month_table():
    # P1 leaves day 100, P2 leaves day 183 (last day worked 182), P3 censored day 400,
    # P4 leaves day 800.
    # day 100: n=4, S = 3/4; day 183: n=3, S = 3/4 * 2/3 = 1/2; day 400: censored;
    # day 800: n=1, S = 0.
    spells = [
        left_on_day(date(2020, 1, 1), 100, 1),
        left_on_day(date(2020, 1, 1), 183, 2),
        censored_on_day(TODAY, 400, 3),
        left_on_day(date(2020, 1, 1), 800, 4),
    ]
    steps = kaplan_meier(spells, TODAY)
    assert [(s.day, s.survival) for s in steps] == [(100, 0.75), (183, 0.5), (400, 0.5), (800, 0)]
    assert km_month_table(steps) == [
        KMMonth(0, 1.0, 4),
        KMMonth(3, 1.0, 4),  # day 91
        KMMonth(6, 0.5, 3),  # day 183: P2 is gone that day, and was at risk
        KMMonth(12, 0.5, 2),  # day 365: P3, P4
        KMMonth(18, 0.5, 1),  # day 548: P4
        KMMonth(24, 0.5, 1),  # day 731: P4
    ]
    # Day 913: nobody is followed any more, so there is no figure (not 0 %, not 50 %).
    assert km_month_table(steps, months=(30,)) == [KMMonth(30, None, 0)]
    # An empty group has no curve at all.
    assert km_month_table([], months=(0, 12)) == [KMMonth(0, None, 0), KMMonth(12, None, 0)]


# --- Other figures ------------------------------------------------------------------------


def test_quarter_of():
    assert quarter_of(date(2026, 1, 1)) == "2026 K1"
    assert quarter_of(date(2026, 7, 1)) == "2026 K3"
    assert quarter_of(date(2026, 9, 30)) == "2026 K3"
    assert quarter_of(date(2026, 12, 31)) == "2026 K4"


def test_intake_per_quarter_shows_empty_quarters():
    starts = [date(2024, 1, 15), date(2024, 3, 31), date(2024, 7, 1), date(2024, 12, 31)]
    outside = [date(2023, 12, 31), date(2025, 1, 1)]
    spells = [Spell(i, SLAGELSE, d, None) for i, d in enumerate(starts + outside)]
    assert intake_per_quarter(spells, date(2024, 2, 10), date(2024, 11, 30)) == [
        ("2024 K1", 2),
        ("2024 K2", 0),
        ("2024 K3", 1),
        ("2024 K4", 1),
    ]
    rows = [Employment(1, SLAGELSE, date(2024, 11, 1), None)]
    assert intake_per_quarter(rows, date(2024, 10, 1), date(2025, 2, 1)) == [
        ("2024 K4", 1),
        ("2025 K1", 0),
    ]
    with pytest.raises(ValueError):
        intake_per_quarter([], date(2024, 2, 1), date(2024, 1, 1))


def test_share_enrolled_within_three_months():
    hires = [
        (date(2024, 6, 1), date(2024, 7, 15)),  # yes (deadline 1 Sep)
        (date(2024, 6, 1), date(2024, 10, 1)),  # too late: no
        (date(2024, 6, 1), None),  # no
        (date(2024, 11, 1), date(2024, 12, 1)),  # 2 months in, enrolled after 1: yes
        (date(2024, 11, 1), None),  # window open till 1 Feb: left out
        (date(2024, 10, 1), None),  # window closed today: no
        (date(2025, 2, 1), date(2024, 12, 20)),  # enrolled before starting: yes
    ]
    # eligible: all but the fifth = 6; yes = 3
    assert share_within(hires, 3, TODAY) == Share(6, 3, 0.5)
    assert share_within([], 3, TODAY) == Share(0, 0, None)


def test_completion_leaves_ongoing_cohorts_out():
    done = True
    enrolments = [
        # ended cohorts
        Enrolment(date(2024, 1, 1), date(2024, 1, 5), date(2024, 4, 10), False, done),  # 100 d
        Enrolment(date(2024, 2, 1), date(2024, 2, 5), date(2024, 5, 21), False, done),  # 110 d
        Enrolment(date(2024, 1, 1), date(2024, 1, 5), None, True, done),  # withdrawn
        Enrolment(date(2024, 1, 1), date(2024, 1, 5), None, False, done),  # not completed
        # an ongoing cohort: left out whatever has happened so far
        Enrolment(date(2024, 9, 1), date(2024, 9, 5), date(2024, 12, 1), False, not done),
        Enrolment(date(2024, 9, 1), date(2024, 9, 5), None, True, not done),
        Enrolment(date(2024, 9, 1), date(2024, 9, 5), None, False, not done),
    ]
    result = completion(enrolments)
    # 2 / (2 + 1 + 1); median of 100 and 110
    assert (result.counted, result.completed, result.withdrawn, result.not_completed) == (
        4,
        2,
        1,
        1,
    )
    assert result.ongoing == 3
    assert result.rate == 0.5
    assert result.median_days_to_completion == 105
    nothing = completion(enrolments[4:])
    assert (nothing.rate, nothing.median_days_to_completion) == (None, None)
    with pytest.raises(Invalid):
        completion([Enrolment(date(2024, 1, 1), date(2024, 1, 5), date(2024, 4, 1), True, True)])


def test_attendance_rate_ignores_excused_absence():
    assert attendance_rate(8, 2, 5) == 0.8  # 8 / (8 + 2); the 5 excused count as neither
    assert attendance_rate(3, 0, 0) == 1.0
    assert attendance_rate(0, 0, 3) is None
    with pytest.raises(ValueError):
        attendance_rate(-1, 0, 0)


# --- Suppression ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "own_part", "hidden"),
    [
        (20, 20, False),  # only own people
        (21, 20, True),  # 1 other
        (24, 20, True),  # 4 others
        (25, 20, False),  # 5 others
        (3, 0, True),
        (0, 0, False),
    ],
)
def test_group_hidden(total, own_part, hidden):
    assert group_hidden(total, own_part) is hidden


def test_group_hidden_rejects_impossible_parts():
    with pytest.raises(ValueError):
        group_hidden(3, 4)


def test_small_municipality_is_hidden_with_a_second_one():
    counts = {SLAGELSE: 40, SORO: 3, NAESTVED: 12, 400: 7, 410: 0}
    # Sorø (3) primary. Total 62 - shown (40 + 12 + 7 + 0) would give Sorø's 3, so the
    # smallest other non-own with people, 400 (7), is hidden too: 62 - 52 = 10 hidden.
    assert hide_municipalities(counts, {SLAGELSE}) == Hidden(frozenset({SORO, 400}), False)
    # Without a total nothing can be subtracted.
    assert hide_municipalities(counts, {SLAGELSE}, total_shown=False) == Hidden(
        frozenset({SORO}), False
    )


def test_two_small_municipalities_that_add_up_to_five_or_more_are_enough():
    counts = {SLAGELSE: 40, SORO: 3, NAESTVED: 4, 400: 9}
    assert hide_municipalities(counts, {SLAGELSE}) == Hidden(frozenset({SORO, NAESTVED}), False)


def test_small_municipalities_adding_up_to_less_than_five_get_a_second_one():
    # 2 + 1 = 3 could be worked out as total - shown: hide 400 as well.
    counts = {SLAGELSE: 40, SORO: 2, NAESTVED: 1, 400: 9}
    assert hide_municipalities(counts, {SLAGELSE}) == Hidden(
        frozenset({SORO, NAESTVED, 400}), False
    )


def test_total_is_hidden_when_no_second_municipality_can_be():
    # Only own people and a zero besides Sorø: total - Slagelse = Sorø's 3.
    counts = {SLAGELSE: 40, SORO: 3, NAESTVED: 0}
    assert hide_municipalities(counts, {SLAGELSE}) == Hidden(frozenset({SORO}), True)


def test_own_municipalities_are_never_hidden_and_ties_go_to_the_lower_id():
    assert hide_municipalities({SLAGELSE: 2, SORO: 8}, {SLAGELSE}) == Hidden(frozenset(), False)
    assert hide_municipalities({SLAGELSE: 40, SORO: 3}, {SLAGELSE, SORO}) == Hidden(
        frozenset(), False
    )
    counts = {SLAGELSE: 40, SORO: 3, 410: 6, 400: 6}
    assert hide_municipalities(counts, {SLAGELSE}) == Hidden(frozenset({SORO, 400}), False)


@given(
    counts=st.dictionaries(st.integers(1, 8), st.integers(0, 12), max_size=8),
    own=st.sets(st.integers(1, 8), max_size=3),
    total_shown=st.booleans(),
)
def test_suppression_leaves_nothing_small_to_work_out(counts, own, total_shown):
    hidden = hide_municipalities(counts, own, total_shown)
    others = {m: n for m, n in counts.items() if m not in own}
    assert not hidden.municipalities & own
    assert {m for m, n in others.items() if 0 < n < MIN_GROUP} <= hidden.municipalities
    if total_shown and not hidden.total:
        # What a viewer can subtract: total - shown = the sum of the hidden cells.
        assert not 0 < sum(counts[m] for m in hidden.municipalities) < MIN_GROUP
    if not total_shown:
        assert not hidden.total


@given(
    counts=st.dictionaries(st.integers(1, 8), st.integers(0, 12), max_size=8),
    own=st.sets(st.integers(1, 8), max_size=3),
)
def test_a_total_kept_hidden_cannot_be_added_up_from_the_cells(counts, own):
    """A total hidden by another table stays hidden: the cells shown never add up to it,
    so at least one cell with others in it is hidden (and small ones as ever)."""
    hidden = hide_municipalities(counts, own, total_kept_hidden=True)
    others = {m: n for m, n in counts.items() if m not in own}
    assert hidden.total
    assert not hidden.municipalities & own
    assert {m for m, n in others.items() if 0 < n < MIN_GROUP} <= hidden.municipalities
    if any(others.values()):
        assert any(others[m] for m in hidden.municipalities)


# --- Properties --------------------------------------------------------------------------


@st.composite
def spells_and_today(draw):
    """Spells from a few start dates (so that many share a mark day), with ends before,
    on or after today, or open."""
    today = draw(st.dates(date(2020, 1, 1), date(2030, 12, 31)))
    starts = draw(
        st.lists(st.integers(0, 1200), min_size=1, max_size=3).map(
            lambda offsets: [today - timedelta(days=o) for o in offsets]
        )
    )
    spells = []
    for person in range(draw(st.integers(1, 25))):
        start = draw(st.sampled_from(starts))
        length = draw(st.none() | st.integers(1, 1500))
        end = None if length is None else start + timedelta(days=length - 1)
        spells.append(Spell(person, SLAGELSE, start, end, None if end is None else "other"))
    return spells, today


@settings(max_examples=300, deadline=None)
@given(spells_and_today())
def test_kaplan_meier_agrees_with_retention_at_marks(data):
    spells, today = data
    steps = kaplan_meier(spells, today)
    survivals = [s.survival for s in steps]
    assert all(0.0 <= s <= 1.0 for s in survivals)
    assert survivals == sorted(survivals, reverse=True)
    assert at_risk_at(steps, 0) == len(spells)
    assert [s.day for s in steps] == sorted({s.day for s in steps})
    for months in (1, 6, 12, 24):
        # KM is in days; a calendar mark is one day only for spells sharing a mark day.
        by_mark_day: dict[int, list[Spell]] = {}
        for spell in spells:
            day = (add_months(spell.start, months) - spell.start).days
            by_mark_day.setdefault(day, []).append(spell)
        for day, group in by_mark_day.items():
            if any(add_months(s.start, months) > today for s in group):
                continue  # someone is censored before the mark
            mark = retention_at(group, months, today)
            assert mark.eligible == len(group)
            assert mark.rate == survival_at(kaplan_meier(group, today), day)


employments = st.builds(
    Employment,
    person=st.integers(1, 3),
    municipality=st.sampled_from([SLAGELSE, SORO, NAESTVED, ODENSE]),
    start=st.dates(date(2024, 1, 1), date(2024, 12, 31)),
    end=st.none(),
).flatmap(
    lambda e: st.one_of(
        st.just(e),
        st.builds(
            lambda days, reason: Employment(
                e.person, e.municipality, e.start, e.start + timedelta(days=days), reason
            ),
            st.integers(0, 120),
            st.sampled_from(["resigned", "contract_ended", None]),
        ),
    )
)


@settings(max_examples=300, deadline=None)
@given(st.lists(employments, max_size=12))
def test_moved_within_means_the_partnership_spell_goes_on(rows):
    partnership = partnership_spells(rows, MEMBERS)
    for spell in municipality_spells(rows, MEMBERS):
        if spell.municipality not in MEMBERS or spell.end is None:
            assert not spell.moved_within
            continue
        (outer,) = [
            p
            for p in partnership
            if p.person == spell.person
            and p.start <= spell.start
            and (p.end is None or p.end >= spell.end)
        ]
        assert spell.moved_within == (outer.end is None or outer.end > spell.end)
