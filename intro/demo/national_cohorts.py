"""The national generator's cohorts: laid out every few weeks as the intake fills them,
timetables from the pure planner, and who enrolled, withdrew or was wait-listed.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import time, timedelta

from intro.demo.national_data import (
    ACCEPTED_AHEAD_DAYS,
    COHORT_LEAD_DAYS,
    COHORT_TARGET_SIZE,
    PLANNING_HORIZON_DAYS,
    WITHDRAWAL_REASONS,
    CohortPlan,
    EnrolmentPlan,
    Spell,
    at,
    monday_from,
)
from intro.planning.scheduling import Booking, PlanRequest, Rhythm, propose
from intro.tables import Cohort, CohortStatus, Enrolment, EnrolmentStatus, Session


class CohortsSection:
    """Cohorts and enrolments (a part of `national._Generator`)."""

    # ---------------------------------------------------------------- cohorts

    def cohorts_of(self, p: dict, spells: list[Spell]) -> list[CohortPlan]:
        """Cohorts every few weeks over the years (as many as the intake fills), each
        with the timetable `propose` gives it, then the intake spread over them."""
        rng = self.rng
        span = (self.today - self.first_day).days
        n_past = max(4 * self.years, math.ceil(len(spells) / COHORT_TARGET_SIZE))
        spacing = span / n_past
        phase = rng.random()  # partnerships do not all start their cohorts the same week
        rhythms = [(1,), (2,), (3,), (1, 3), (0,), (2,), (1,), (0, 3)]
        cohorts: list[CohortPlan] = []
        bookings: list[Booking] = []
        hosted: dict[int, int] = {}
        last_start = None
        per_year: Counter[int] = Counter()
        k = 0
        while True:
            nominal = self.first_day + timedelta(days=round(14 + (k + phase) * spacing))
            if nominal > self.today + timedelta(days=PLANNING_HORIZON_DAYS):
                break
            k += 1
            start = monday_from(nominal)
            while closed := next((c for c in p["closed"] if c.start <= start <= c.end), None):
                start = monday_from(closed.end + timedelta(days=1))
            if last_start is not None and start <= last_start:
                start = last_start + timedelta(days=1)
            last_start = start
            per_year[start.year] += 1
            early = rng.random() < 0.2
            cohort = CohortPlan(
                id=self.ids(Cohort),
                name=f"Hold {start.year}-{per_year[start.year]}",
                start=start,
                capacity=rng.choice([20, 22, 24, 24, 25]),
                rhythm=rhythms[k % len(rhythms)],
                day_start=time(8, 30) if early else time(9, 0),
                day_end=time(14, 30) if early else time(15, 0),
            )
            first = at(start, 0)
            bookings = [b for b in bookings if b.ends_at >= first]
            proposal = propose(
                PlanRequest(
                    first_day=start,
                    rhythm=Rhythm(weekdays=cohort.rhythm),
                    day_start=cohort.day_start,
                    day_end=cohort.day_end,
                    participants=cohort.capacity,
                    modules=self.to_plan,
                    venues=p["venues"],
                    instructors=p["instructors"],
                    bookings=bookings,
                    holidays=self.holidays,
                    closed=p["closed"],
                    hosted=hosted,
                )
            )
            if proposal.unplaced:
                raise RuntimeError(
                    f"{p['name']}, {cohort.name}: could not place {proposal.unplaced}"
                )
            cohort.sessions = proposal.sessions
            for s in proposal.sessions:
                bookings.append(
                    Booking(
                        s.starts_at, s.ends_at, s.venue_id, frozenset(s.instructor_ids), cohort.name
                    )
                )
                if s.venue_id is not None:
                    host = next(v.municipality_id for v in p["venues"] if v.id == s.venue_id)
                    hosted[host] = hosted.get(host, 0) + 1
            first_day, last_day = cohort.first_day, cohort.last_day
            if last_day < self.today:
                cohort.status = CohortStatus.completed.value
            elif first_day <= self.today + timedelta(days=ACCEPTED_AHEAD_DAYS):
                cohort.status = CohortStatus.active.value
            cohort.session_ids = [self.ids(Session) for _ in proposal.sessions]
            cohorts.append(cohort)
        return cohorts

    def enrol(self, p: dict, cohorts: list[CohortPlan], spells: list[Spell]) -> None:
        """Each new hire in the first cohort that starts after their first day and has
        room; people who leave are withdrawn, and so are a few for other reasons."""
        rng = self.rng
        completed_before: set[int] = set()
        cursor = 0
        for spell in sorted(spells, key=lambda s: (s.start, s.person)):
            if spell.person in completed_before:
                continue  # rehired after finishing the programme once
            if spell.end is not None and (spell.end - spell.start).days < 21:
                continue  # gone before anyone enrolled them
            ready = spell.start + timedelta(days=COHORT_LEAD_DAYS)
            while cursor < len(cohorts) and cohorts[cursor].start < ready:
                cursor += 1
            chosen = None
            for cohort in cohorts[cursor:]:
                taken = sum(1 for e in cohort.enrolments if e.status != EnrolmentStatus.withdrawn.value)
                if taken < cohort.capacity or (
                    cohort.status == CohortStatus.planning.value and cohort is cohorts[-1]
                ):
                    chosen = cohort
                    break
            if chosen is None:
                continue
            job = spell.jobs[0]
            asked = max(spell.start, chosen.start - timedelta(days=60))
            requested = at(asked, 10) + timedelta(minutes=rng.randint(0, 420))
            enrolment = EnrolmentPlan(
                id=0,
                person=spell.person,
                municipality=job.municipality,
                spell=spell,
                status=EnrolmentStatus.enrolled.value,
                requested_at=requested,
                enrolled_at=requested,
            )
            end = spell.end
            if end is not None and end < chosen.last_day and end < self.today:
                enrolment.status = EnrolmentStatus.withdrawn.value
                enrolment.withdrawn_on = end
                enrolment.withdrawal_reason = "Fratrådt"
            elif chosen.status == CohortStatus.completed.value:
                if rng.random() < 0.12:
                    enrolment.status = EnrolmentStatus.withdrawn.value
                    enrolment.withdrawn_on = rng.choice(chosen.sessions).day
                    enrolment.withdrawal_reason = rng.choice(WITHDRAWAL_REASONS)
                else:
                    enrolment.status = EnrolmentStatus.completed.value
                    done = chosen.last_day + timedelta(days=rng.randint(1, 14))
                    done = max(chosen.last_day, min(done, self.today - timedelta(days=1)))
                    enrolment.completed_at = at(done, 13) + timedelta(minutes=rng.randint(0, 180))
                    completed_before.add(spell.person)
            elif (
                chosen.status == CohortStatus.active.value and chosen.first_day < self.today and rng.random() < 0.04
            ):
                past = [s.day for s in chosen.sessions if s.day < self.today]
                enrolment.status = EnrolmentStatus.withdrawn.value
                enrolment.withdrawn_on = rng.choice(past)
                enrolment.withdrawal_reason = rng.choice(WITHDRAWAL_REASONS)
            if enrolment.withdrawn_on is not None and at(enrolment.withdrawn_on, 12) < requested:
                enrolment.withdrawn_on = requested.date()
            chosen.enrolments.append(enrolment)

        for cohort in cohorts:
            holding = [e for e in cohort.enrolments if e.status != EnrolmentStatus.withdrawn.value]
            if cohort.status == CohortStatus.planning.value:
                # Over capacity, or a full cohort with a short wait-list.
                waiting = max(0, len(holding) - cohort.capacity)
                if not waiting and len(holding) >= 4 and rng.random() < 0.5:
                    waiting = rng.randint(1, 2)
                    cohort.capacity = len(holding) - waiting
                for e in sorted(holding, key=lambda e: (e.requested_at, e.person))[
                    len(holding) - waiting :
                ]:
                    e.status, e.enrolled_at = EnrolmentStatus.waitlisted.value, None
            for e in cohort.enrolments:
                e.id = self.ids(Enrolment)
