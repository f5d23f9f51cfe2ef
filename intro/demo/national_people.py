"""The national generator's new hires: names and addresses, hire days, employment spells
(turnover, moves, rehires) and, per person, their cohorts, progress and sign-ins; the
partnerships' participant personas.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from intro.demo.national_data import (
    COHORT_LEAD_DAYS,
    DOMAIN,
    FIRST_YEAR_LEAVE,
    HIRES_PER_YEAR,
    LATER_YEARLY_LEAVE,
    MOVE_SHARE_OF_LEAVERS,
    MUNICIPALITIES,
    NATIONAL_JOB_FUNCTIONS,
    REHIRE_SHARE_OF_LEAVERS,
    CohortPlan,
    EnrolmentPlan,
    Job,
    Spell,
    at,
    largest_remainder,
    slug,
)
from intro.planning.scheduling import danish_holidays
from intro.tables import (
    ENROLMENT_ON_COHORT,
    CohortStatus,
    Employment,
    EndReason,
    Enrolment,
    EnrolmentStatus,
    Role,
    RoleGrant,
)


class PeopleSection:
    """Employments, personas and sign-ins (a part of `national._Generator`)."""

    # ---------------------------------------------------------------- employments

    def hire_day(self) -> date:
        """A start date in the window: more in January and after the summer, few in
        July and December; most on the first of a month, the rest on a working day."""
        rng = self.rng
        weights = [1.3, 1.0, 1.1, 1.0, 1.0, 0.9, 0.4, 1.4, 1.3, 1.0, 1.0, 0.5]
        span = (self.today - self.first_day).days
        while True:
            day = self.first_day + timedelta(days=rng.randint(0, span))
            if rng.random() * 1.4 > weights[day.month - 1]:
                continue
            if rng.random() < 0.55:
                day = day.replace(day=1)
            while day.weekday() >= 5 or day in self.holidays:
                day += timedelta(days=1)
            if self.first_day <= day <= self.today:
                return day

    def tenure_days(self) -> int:
        rng = self.rng
        if rng.random() < FIRST_YEAR_LEAVE:
            return rng.randint(30, 364)
        return 365 + int(rng.expovariate(-math.log(1 - LATER_YEARLY_LEAVE)) * 365)

    def job_function(self) -> tuple[str, str | None]:
        job, profile, _w = self.rng.choices(
            NATIONAL_JOB_FUNCTIONS, weights=[w for *_x, w in NATIONAL_JOB_FUNCTIONS]
        )[0]
        return job, profile

    def spell(
        self, person: int, municipality: int, start: date, job: tuple[str, str | None]
    ) -> Spell:
        """Employments from `start`: the person stays, leaves, or moves on to another
        member municipality (and so on from there)."""
        rng = self.rng
        partnership = self.partnership_of[municipality]
        result = Spell(person, partnership)
        while True:
            item = Job(
                self.ids(Employment),
                person,
                municipality,
                self.municipality_info[municipality][0],
                *job,
                start,
            )
            result.jobs.append(item)
            end = start + timedelta(days=self.tenure_days())
            if end >= self.today:
                return result
            if rng.random() < 0.5:  # to the end of the month
                following = (end.replace(day=1) + timedelta(days=32)).replace(day=1)
                if following - timedelta(days=1) < self.today:
                    end = following - timedelta(days=1)
            item.end = end
            if rng.random() < MOVE_SHARE_OF_LEAVERS:
                again = end + timedelta(days=rng.randint(1, 31))
                others = [m for m in self.members_of[partnership] if m != municipality]
                if again <= self.today and others:
                    item.reason = EndReason.moved.value
                    municipality, start = rng.choice(others), again
                    if rng.random() < 0.3:
                        job = self.job_function()
                    continue
            item.reason = rng.choices(
                [
                    EndReason.resigned,
                    EndReason.contract_ended,
                    EndReason.dismissed,
                    EndReason.retired,
                    EndReason.other,
                ],
                weights=[62, 14, 9, 8, 7],
            )[0].value
            return result

    def employments(self) -> None:
        rng = self.rng
        self.holidays = danish_holidays(range(self.first_day.year - 1, self.today.year + 3))
        self.members_of = {p["id"]: p["members"] for p in self.partnerships}
        total = round(HIRES_PER_YEAR * self.years * self.scale)
        codes = [info[0] for info in MUNICIPALITIES]
        counts = largest_remainder(total, [info[3] for info in MUNICIPALITIES])
        starts = []
        for code, n in zip(codes, counts, strict=True):
            for _ in range(n):
                starts.append((self.hire_day(), code))
        starts.sort()
        self.spells: list[Spell] = []
        self.grant_keys: dict[tuple[int, int], date] = {}
        rehires: list[tuple[date, int, int, tuple[str, str | None]]] = []
        for start, code in starts:
            full_name = self.names.full_name()
            person = self.person(
                self.names.email(slug(full_name)), full_name, start - timedelta(days=21)
            )
            job = self.job_function()
            spell = self.spell(person.id, self.municipality_id[code], start, job)
            self.spells.append(spell)
            last = spell.jobs[-1]
            if (
                last.reason in ("resigned", "contract_ended", "other")
                and rng.random() < REHIRE_SHARE_OF_LEAVERS
            ):
                again = last.end + timedelta(days=rng.randint(120, 1100))
                if again <= self.today:
                    members = self.members_of[spell.partnership]
                    where = last.municipality if rng.random() < 0.7 else rng.choice(members)
                    rehires.append((again, person.id, where, job))
        for again, person_id, where, job in sorted(rehires):
            self.spells.append(self.spell(person_id, where, again, job))
        for spell in self.spells:
            for job in spell.jobs:
                key = (job.person, job.municipality)
                if key not in self.grant_keys:
                    self.grant_keys[key] = job.start
        for (person_id, municipality), start in self.grant_keys.items():
            self.grants.append(
                (
                    self.ids(RoleGrant),
                    person_id,
                    Role.participant.value,
                    municipality,
                    None,
                    at(start - timedelta(days=14), 9),
                )
            )


    # ---------------------------------------------------------------- personas and sign-ins

    def sign_ins(self, p: dict, cohorts: list[CohortPlan], spells: list[Spell]) -> None:
        """When people last signed in, and the partnership's participant persona: someone
        well into an active cohort."""
        rng = self.rng
        today = self.today
        candidates = []
        for cohort in cohorts:
            for e in cohort.enrolments:
                person = self.people[e.person]
                if e.status == EnrolmentStatus.completed.value:
                    day = min(
                        cohort.last_day + timedelta(days=rng.randint(0, 60)),
                        today - timedelta(days=1),
                    )
                    person.last_login_at = at(day, 8) + timedelta(minutes=rng.randint(0, 600))
                elif e.status == EnrolmentStatus.enrolled.value and cohort.status == CohortStatus.active.value:
                    days = rng.randint(0, 9) if rng.random() < 0.85 else rng.randint(22, 40)
                    person.last_login_at = at(today - timedelta(days=days), 8) + timedelta(
                        minutes=rng.randint(0, 480)
                    )
                    past = sum(1 for s in cohort.sessions if s.day < today)
                    if e.spell.end is None:
                        candidates.append((-past, cohort.start, e.person, e))
        active = [c for c in cohorts if c.status == CohortStatus.active.value]
        if not candidates and active:
            # Few hires (a small scale): the persona is one more new hire, on the active
            # cohort furthest along, so that it shows a running programme.
            target = min(active, key=lambda c: (c.first_day, c.id))
            municipality = max(p["members"], key=lambda m: (p["population"][m], -m))
            start = target.start - timedelta(days=COHORT_LEAD_DAYS + rng.randint(0, 20))
            while start.weekday() >= 5 or start in self.holidays:
                start -= timedelta(days=1)
            full_name = self.names.full_name()
            person = self.person(
                self.names.email(slug(full_name)), full_name, start - timedelta(days=21)
            )
            code = self.municipality_info[municipality][0]
            job = Job(
                self.ids(Employment), person.id, municipality, code, *self.job_function(), start
            )
            spell = Spell(person.id, p["id"], [job])
            self.spells.append(spell)
            spells.append(spell)
            self.grants.append(
                (
                    self.ids(RoleGrant),
                    person.id,
                    Role.participant.value,
                    municipality,
                    None,
                    at(start - timedelta(days=14), 9),
                )
            )
            requested = at(max(start, target.start - timedelta(days=60)), 10)
            e = EnrolmentPlan(
                self.ids(Enrolment),
                person.id,
                municipality,
                spell,
                EnrolmentStatus.enrolled.value,
                requested,
                requested,
            )
            target.enrolments.append(e)
            person.last_login_at = at(today - timedelta(days=1), 9)
            candidates.append((0, target.start, person.id, e))
        if not candidates:
            for cohort in cohorts:
                for e in cohort.enrolments:
                    if e.status in ENROLMENT_ON_COHORT and e.spell.end is None:
                        candidates.append((0, cohort.start, e.person, e))
        if candidates:
            chosen = min(candidates, key=lambda c: (c[0], c[1], c[2]))[3]
            person = self.people[chosen.person]
            person.email = f"deltager.{p['slug']}@{DOMAIN}"
            person.password = True
            self.personas.append((f"deltager, {p['name']}", person.email))
