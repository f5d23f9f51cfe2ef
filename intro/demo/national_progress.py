"""The national generator's progress: intro plans by the product's own pure plan rule,
attendance, transfer answers, reflections, self-assessments and local tasks.
"""

from __future__ import annotations

from datetime import date, timedelta

from piccolo.table import Table

from intro.demo.national_data import (
    EXCUSED_NOTES,
    MORE_REFLECTIONS,
    MORE_TRANSFER_ANSWERS,
    CohortPlan,
    Spell,
    at,
)
from intro.demo.west_zealand import REFLECTIONS, TRANSFER_ANSWERS
from intro.participation.plan import SessionFact, desired_items
from intro.tables import (
    Attendance,
    AttendanceStatus,
    CohortStatus,
    EnrolmentStatus,
    PlanItem,
    PlanItemStatus,
    Reflection,
    SelfAssessment,
)


class ProgressSection:
    """Plans and progress (a part of `national._Generator`)."""

    # ---------------------------------------------------------------- plans and progress

    def cohort_items(self, cohort: CohortPlan) -> list:
        """The plan items every participant of the cohort gets (by `intro.participation.plan`'s rule);
        proposed course days are not in anyone's plan yet."""
        sessions = []
        if cohort.status != CohortStatus.planning.value:
            for sid, s in zip(cohort.session_ids, cohort.sessions, strict=True):
                m = self.module_by_id[s.module_id]
                sessions.append(
                    SessionFact(
                        sid, cohort.id, s.module_id, m["title"], s.part, m["days"], s.day, False
                    )
                )
        return desired_items(
            enrolments={cohort.id: 0},
            sessions=sessions,
            modules_by_cohort={cohort.id: self.module_facts},
            tasks=[],
            employment_start=None,
        )

    def progress_rows(self, p: dict, cohorts: list[CohortPlan]) -> dict[type[Table], list[tuple]]:
        rng = self.rng
        ids = self.ids
        today = self.today
        attendance, items, reflections, assessments = [], [], [], []
        answers = TRANSFER_ANSWERS + MORE_TRANSFER_ANSWERS
        bodies = REFLECTIONS + MORE_REFLECTIONS
        assessed: set[int] = set()
        tendency = [0.03, 0.06, 0.1, 0.18, 0.35]
        tendency_weights = [30, 30, 20, 15, 5]
        for cohort in cohorts:
            specs = self.cohort_items(cohort)
            module_last_day: dict[int, date] = {}
            for s in cohort.sessions:
                module_last_day[s.module_id] = s.day
            for e in cohort.enrolments:
                if e.status == EnrolmentStatus.waitlisted.value:
                    continue
                stop = e.withdrawn_on if e.status == EnrolmentStatus.withdrawn.value else today
                # Attendance for course days that have been.
                if cohort.status != CohortStatus.planning.value:
                    chance = rng.choices(tendency, weights=tendency_weights)[0]
                    for sid, s in zip(cohort.session_ids, cohort.sessions, strict=True):
                        if s.day >= stop:
                            break
                        roll = rng.random()
                        if roll < chance * 0.55:
                            state, note = AttendanceStatus.absent.value, ""
                        elif roll < chance:
                            state, note = AttendanceStatus.excused.value, rng.choice(EXCUSED_NOTES)
                        else:
                            state, note = AttendanceStatus.present.value, ""
                        recorded = s.ends_at + timedelta(minutes=rng.randint(5, 240))
                        teacher = s.instructor_ids[0] if s.instructor_ids else p["coordinator"]
                        attendance.append(
                            (ids(Attendance), sid, e.person, state, recorded, teacher, note)
                        )
                # The plan: course days and transfer assignments; some write reflections.
                writes = rng.random() < 0.4
                changed = at(e.withdrawn_on, 12) if e.withdrawn_on else e.enrolled_at
                for spec in specs:
                    status, done_at = PlanItemStatus.open.value, None
                    tried = outcome = ""
                    shared = answered = None
                    if spec.kind == "transfer":
                        last = (
                            module_last_day.get(spec.module_id)
                            if cohort.status != CohortStatus.planning.value
                            else None
                        )
                        if last is not None and last < stop:
                            likely = 0.9 if e.status == EnrolmentStatus.completed.value else 0.72
                            if rng.random() < likely:
                                day = min(
                                    last + timedelta(days=rng.randint(1, 20)),
                                    stop - timedelta(days=1),
                                )
                                day = max(day, last)
                                answered = at(day, 15) + timedelta(minutes=rng.randint(0, 300))
                                status, done_at = PlanItemStatus.done.value, answered
                                tried, outcome = rng.choice(answers)
                                shared = rng.random() < 0.7
                                if writes and rng.random() < 0.3:
                                    reflections.append(
                                        (
                                            ids(Reflection),
                                            e.person,
                                            spec.module_id,
                                            rng.choice(bodies),
                                            answered,
                                            answered,
                                        )
                                    )
                    if status == PlanItemStatus.open.value and e.status == EnrolmentStatus.withdrawn.value:
                        status = PlanItemStatus.dropped.value
                    updated = answered or (changed if status == PlanItemStatus.dropped.value else e.enrolled_at)
                    items.append(
                        (
                            e.person,
                            e.id,
                            spec.kind,
                            spec.source_key,
                            spec.session_id,
                            spec.module_id,
                            None,
                            spec.title[:200],
                            "",
                            spec.due_date,
                            status,
                            done_at,
                            tried,
                            outcome,
                            shared,
                            answered,
                            updated,
                        )
                    )
                # Self-assessments: once per person, for a share of the participants.
                if cohort.status == CohortStatus.planning.value or e.person in assessed or cohort.first_day >= stop:
                    continue
                assessed.add(e.person)
                if rng.random() > 0.65:
                    continue
                profile = e.spell.jobs[0].profile
                competences = self.base_competences + self.profile_competences.get(
                    profile or "", []
                )
                begin = at(cohort.first_day - timedelta(days=rng.randint(1, 7)), 19)
                midpoint = cohort.sessions[len(cohort.sessions) // 2].day
                midway = midpoint < stop and rng.random() < 0.35
                end = e.status == EnrolmentStatus.completed.value and rng.random() < 0.75
                end_day = min(
                    cohort.last_day + timedelta(days=rng.randint(0, 10)), today - timedelta(days=1)
                )
                for competence in competences:
                    first = max(1, min(5, round(rng.gauss(2.3, 0.8))))
                    assessments.append(
                        (ids(SelfAssessment), e.person, competence, "start", first, begin)
                    )
                    if midway:
                        score = min(5, first + rng.randint(0, 2))
                        assessments.append(
                            (
                                ids(SelfAssessment),
                                e.person,
                                competence,
                                "midway",
                                score,
                                at(midpoint, 20),
                            )
                        )
                    if end:
                        score = max(1, min(5, first + rng.choice([-1, 0, 1, 1, 2, 2, 3])))
                        assessments.append(
                            (
                                ids(SelfAssessment),
                                e.person,
                                competence,
                                "end",
                                score,
                                at(end_day, 20),
                            )
                        )
        return {
            Attendance: attendance,
            PlanItem: items,
            Reflection: reflections,
            SelfAssessment: assessments,
        }

    def task_items(self, spells: list[Spell]) -> list[tuple]:
        """The municipalities' onboarding tasks in each new hire's plan: done, overdue or
        coming up; dropped when the employment ended before they were done. A person
        hired again by the same municipality has the task brought back (one item per
        task and person, as `intro.participation.plan` keeps it)."""
        rng = self.rng
        today = self.today
        by_key: dict[tuple[int, str], tuple] = {}
        for spell in spells:
            for job in spell.jobs:
                specs = desired_items(
                    enrolments={},
                    sessions=[],
                    modules_by_cohort={},
                    tasks=self.tasks_of[job.municipality],
                    employment_start=job.start,
                )
                for spec in specs:
                    due = spec.due_date
                    stop = job.end or today
                    status, done_at = PlanItemStatus.open.value, None
                    if due < stop and rng.random() < 0.85:
                        day = due + timedelta(days=rng.randint(-6, 4))
                        day = min(
                            max(day, job.start), stop - timedelta(days=1) if job.end else today
                        )
                        status, done_at = (
                            PlanItemStatus.done.value,
                            at(day, 11) + timedelta(minutes=rng.randint(0, 300)),
                        )
                    elif job.end is None and due >= today and rng.random() < 0.15:
                        day = job.start + timedelta(
                            days=rng.randint(0, max(0, (today - job.start).days))
                        )
                        status, done_at = PlanItemStatus.done.value, at(day, 11)
                    elif job.end is not None:
                        status = PlanItemStatus.dropped.value
                    updated = done_at or (
                        at(job.end, 12) if status == PlanItemStatus.dropped.value else at(job.start, 8)
                    )
                    by_key[(job.person, spec.source_key)] = (
                        job.person,
                        None,
                        spec.kind,
                        spec.source_key,
                        None,
                        None,
                        spec.task_template_id,
                        spec.title[:200],
                        spec.description,
                        due,
                        status,
                        done_at,
                        "",
                        "",
                        None,
                        None,
                        updated,
                    )
        return list(by_key.values())
