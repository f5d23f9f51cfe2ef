"""National demo data: all 98 municipalities in 16 partnerships and years of new hires.

`python app.py demo-national --seed 1` fills an empty, migrated database with data of
the size the benchmarks need (DESIGN.md: "all 98 municipalities, ten years of hires"):
about 3,000 new hires a year spread by municipality size, their employments (turnover
highest in the first year, moves between member municipalities, rehires), and for each
partnership its venues, instructors, coordinator, chiefs, closed periods and the
cohorts that took the hires through the curriculum — timetables from
`intro.planning.scheduling.propose`, enrolments, attendance, intro plans (built by the same pure
rule as `intro.participation.plan`), transfer answers, reflections and self-assessments.

Everything is drawn from one `random.Random(seed)` and laid out relative to `today`:
the same seed and day give the same rows, timestamps included (only the salted
password hash differs between runs). Rows are written in one transaction, so a failure
leaves the database as it was. They are inserted in bulk through the connection of
Piccolo's own transaction (`executemany` on SQLite, `COPY` on PostgreSQL): building
a million Piccolo objects and their queries takes minutes, these take seconds. Column
names and defaults still come from the tables in `intro.tables`, and every constraint
of the database is checked as the rows go in.

The generator is split along its sections: fixed facts and plain rows
(`national_data`), the bulk writer (`bulk`), organisation (`national_organisation`),
people and employments (`national_people`), cohorts (`national_cohorts`) and progress
(`national_progress`); this module puts them together and writes the rows.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from time import perf_counter

from piccolo.table import Table
from piccolo.utils.encoding import dump_json

from intro import audit, clock, tables
from intro.db import write_transaction
from intro.demo.bulk import Ids, Writer
from intro.demo.national_cohorts import CohortsSection
from intro.demo.national_data import (
    GENERATED_TABLES,
    MOVE_REASONS,
    PersonRow,
    Summary,
    at,
    years_before,
)
from intro.demo.national_organisation import OrganisationSection
from intro.demo.national_people import PeopleSection
from intro.demo.national_progress import ProgressSection
from intro.demo.west_zealand import DEMO_PASSWORD
from intro.people import accounts
from intro.tables import (
    ENROLMENT_ON_COHORT,
    Attendance,
    ClosedPeriod,
    Cohort,
    CohortModule,
    CohortSeats,
    CohortStatus,
    Employment,
    Enrolment,
    InstructorQualification,
    LocalTaskTemplate,
    Municipality,
    Partnership,
    PartnershipMember,
    Person,
    PlanItem,
    Reflection,
    RoleGrant,
    SelfAssessment,
    Session,
    SessionInstructor,
    SessionStatus,
    Venue,
)


class NotEmpty(Exception):
    """The database already holds data the national set would clash with."""



class _Generator(OrganisationSection, PeopleSection, CohortsSection, ProgressSection):
    """The whole generator: its sections' methods over one shared state (seed, ids, rows)."""

    def __init__(
        self, *, seed: int, years: int, scale: float, today: date, writer: Writer, ids: Ids
    ):
        self.rng = random.Random(seed)
        self.years = years
        self.scale = scale
        self.today = today
        self.first_day = years_before(today, years)
        self.writer = writer
        self.ids = ids
        self.personas: list[tuple[str, str]] = []
        self.people: dict[int, PersonRow] = {}
        self.password_hash = ""

    # ---------------------------------------------------------------- writing

    async def write(self, echo: Callable[[str], None]) -> None:
        w = self.writer
        rng = self.rng
        echo("Organisation, personer og ansættelser …")
        await w.insert(Municipality, ["id", "code", "name", "region"], self.municipality_rows)
        await w.insert(
            Partnership, ["id", "name", "description", "created_at"], self.partnership_rows
        )
        await w.insert(
            PartnershipMember, ["id", "partnership", "municipality", "joined_on"], self.member_rows
        )
        await w.insert(
            Venue,
            [
                "id",
                "name",
                "municipality",
                "address",
                "postcode",
                "city",
                "capacity",
                "accessibility",
                "created_at",
            ],
            self.venue_rows,
        )

        # Everything about cohorts is decided before the people are written, since the
        # participant personas are chosen among them.
        plans = []
        for p in self.partnerships:
            members = set(p["members"])
            spells = [s for s in self.spells if s.jobs[0].municipality in members]
            cohorts = self.cohorts_of(p, spells)
            self.enrol(p, cohorts, spells)
            self.sign_ins(p, cohorts, spells)
            plans.append((p, spells, cohorts))

        await w.insert(
            Person,
            ["id", "email", "full_name", "password_hash", "created_at", "last_login_at"],
            [
                (
                    r.id,
                    r.email,
                    r.full_name,
                    self.password_hash if r.password else None,
                    r.created_at,
                    r.last_login_at,
                )
                for r in self.people.values()
            ],
        )
        await w.insert(
            RoleGrant,
            ["id", "person", "role", "municipality", "partnership", "granted_at"],
            self.grants,
        )
        await w.insert(
            InstructorQualification, ["id", "person", "module_code"], self.qualification_rows
        )
        await w.insert(
            ClosedPeriod, ["id", "partnership", "name", "start_date", "end_date"], self.closed_rows
        )
        await w.insert(
            LocalTaskTemplate,
            ["id", "municipality", "title", "description", "due_after_days", "position"],
            self.task_rows,
        )
        jobs = sorted((job for spell in self.spells for job in spell.jobs), key=lambda j: j.id)
        await w.insert(
            Employment,
            [
                "id",
                "person",
                "municipality",
                "job_function",
                "profile_code",
                "start_date",
                "end_date",
                "end_reason",
                "external_ref",
                "created_at",
                "updated_at",
            ],
            [
                (
                    j.id,
                    j.person,
                    j.municipality,
                    j.job_function,
                    j.profile,
                    j.start,
                    j.end,
                    j.reason,
                    f"NAT-{j.code}-{j.id:07d}",
                    at(j.start - timedelta(days=20), 10),
                    at(j.end, 16) if j.end else at(j.start - timedelta(days=20), 10),
                )
                for j in jobs
            ],
        )

        for p, spells, cohorts in plans:
            echo(f"{p['name']}: {len(cohorts)} hold, {len(spells)} nyansættelser …")
            cohort_rows, seat_rows, module_rows, session_rows, teacher_rows, enrolment_rows = (
                [],
                [],
                [],
                [],
                [],
                [],
            )
            for cohort in cohorts:
                created = at(cohort.start - timedelta(days=rng.randint(60, 100)), 10)
                cohort_rows.append(
                    (
                        cohort.id,
                        p["id"],
                        self.version_id,
                        cohort.name,
                        cohort.status,
                        cohort.start,
                        cohort.capacity,
                        cohort.day_start,
                        cohort.day_end,
                        dump_json({"weekdays": list(cohort.rhythm)}),
                        p["coordinator"],
                        created,
                    )
                )
                holding = Counter(
                    e.municipality
                    for e in cohort.enrolments
                    if e.status in ENROLMENT_ON_COHORT
                )
                population = p["population"]
                whole = sum(population.values())
                for m in p["members"]:
                    fair = math.floor(cohort.capacity * 0.75 * population[m] / whole)
                    seat_rows.append((self.ids(CohortSeats), cohort.id, m, min(fair, holding[m])))
                for m in self.modules:
                    module_rows.append((self.ids(CohortModule), cohort.id, m["id"]))
                proposed = cohort.status == CohortStatus.planning.value
                for sid, s in zip(cohort.session_ids, cohort.sessions, strict=True):
                    revision, reason, updated = 0, "", created
                    if not proposed and rng.random() < 0.03:
                        revision, reason = rng.randint(1, 2), rng.choice(MOVE_REASONS)
                        updated = s.starts_at - timedelta(days=rng.randint(3, 20))
                    session_rows.append(
                        (
                            sid,
                            cohort.id,
                            s.module_id,
                            s.part,
                            s.starts_at,
                            s.ends_at,
                            s.venue_id,
                            SessionStatus.proposed.value if proposed else SessionStatus.scheduled.value,
                            revision,
                            f"{uuid.UUID(int=rng.getrandbits(128))}@intro",
                            reason,
                            updated,
                        )
                    )
                    for teacher in s.instructor_ids:
                        teacher_rows.append((self.ids(SessionInstructor), sid, teacher))
                for e in cohort.enrolments:
                    enrolment_rows.append(
                        (
                            e.id,
                            cohort.id,
                            e.person,
                            e.municipality,
                            e.status,
                            e.requested_at,
                            e.enrolled_at,
                            at(e.withdrawn_on, 12) if e.withdrawn_on else None,
                            e.withdrawal_reason,
                            e.completed_at,
                            p["coordinator"],
                        )
                    )
            await w.insert(
                Cohort,
                [
                    "id",
                    "partnership",
                    "curriculum_version",
                    "name",
                    "status",
                    "start_date",
                    "capacity",
                    "day_start",
                    "day_end",
                    "rhythm",
                    "created_by",
                    "created_at",
                ],
                cohort_rows,
            )
            await w.insert(CohortSeats, ["id", "cohort", "municipality", "seats"], seat_rows)
            await w.insert(CohortModule, ["id", "cohort", "module"], module_rows)
            await w.insert(
                Session,
                [
                    "id",
                    "cohort",
                    "module",
                    "part",
                    "starts_at",
                    "ends_at",
                    "venue",
                    "status",
                    "revision",
                    "uid",
                    "change_reason",
                    "updated_at",
                ],
                session_rows,
            )
            await w.insert(SessionInstructor, ["id", "session", "person"], teacher_rows)
            await w.insert(
                Enrolment,
                [
                    "id",
                    "cohort",
                    "person",
                    "municipality",
                    "status",
                    "requested_at",
                    "enrolled_at",
                    "withdrawn_at",
                    "withdrawal_reason",
                    "completed_at",
                    "enrolled_by",
                ],
                enrolment_rows,
            )

            rows = self.progress_rows(p, cohorts)
            await w.insert(
                Attendance,
                ["id", "session", "person", "status", "recorded_at", "recorded_by", "note"],
                rows[Attendance],
            )
            item_columns = [
                "id",
                "person",
                "enrolment",
                "kind",
                "source_key",
                "session",
                "module",
                "task_template",
                "title",
                "description",
                "due_date",
                "status",
                "done_at",
                "answer_tried",
                "answer_outcome",
                "shared_with_colleagues",
                "answered_at",
                "updated_at",
            ]
            # Each person's items together, as a plan sync writes them (and the indexes
            # on person fill in order).
            items = sorted(rows[PlanItem] + self.task_items(spells), key=lambda row: row[0])
            await w.insert(PlanItem, item_columns, [(self.ids(PlanItem), *row) for row in items])
            await w.insert(
                Reflection,
                ["id", "person", "module", "body", "created_at", "updated_at"],
                rows[Reflection],
            )
            await w.insert(
                SelfAssessment,
                ["id", "person", "competence", "phase", "score", "assessed_at"],
                rows[SelfAssessment],
            )
        await w.fix_sequences(GENERATED_TABLES)


async def check_empty() -> None:
    if await Person.exists():
        raise NotEmpty(
            "Databasen har allerede personer. demo-national fylder kun en tom, migreret database "
            "(lav en ny, kør 'python app.py migrate', og prøv igen)."
        )
    if await Municipality.exists() or await Partnership.exists():
        raise NotEmpty(
            "Databasen har allerede kommuner eller samarbejder. demo-national fylder kun en tom, "
            "migreret database."
        )


async def generate(
    *,
    seed: int,
    years: int = 10,
    scale: float = 1.0,
    today: date | None = None,
    echo: Callable[[str], None] | None = None,
) -> Summary:
    """Fill an empty database with the national data set. Raises NotEmpty if it is not."""
    began = perf_counter()
    today = today or clock.today()
    echo = echo or (lambda _message: None)
    if years < 1 or scale <= 0:
        raise ValueError("years must be at least 1 and scale above 0")
    await check_empty()
    echo("Læreplanen …")
    engine = Person._meta.db
    stamp = at(years_before(today, years) - timedelta(days=90), 8)
    writer = Writer(engine, stamp)
    generator = _Generator(
        seed=seed,
        years=years,
        scale=scale,
        today=today,
        writer=writer,
        ids=await Ids.load(GENERATED_TABLES),
    )
    await generator.load_curriculum()
    # One hash for every persona, as the demo does: hashing is slow on purpose.
    generator.password_hash = accounts.hash_password(DEMO_PASSWORD)
    echo("Kommuner, samarbejder og ansættelser …")
    generator.organisation()
    generator.employments()
    async with write_transaction(engine):
        await check_empty()
        await generator.write(echo)
        await audit.record(
            None,
            "demo.national",
            "installation",
            None,
            seed=seed,
            years=years,
            scale=scale,
            today=today.isoformat(),
            people=len(generator.people),
        )
    counts = {}
    for table in all_tables():
        counts[table._meta.tablename] = await table.count()
    return Summary(
        seed=seed,
        years=years,
        scale=scale,
        today=today,
        personas=generator.personas,
        counts=counts,
        elapsed=perf_counter() - began,
    )


def all_tables() -> list[type[Table]]:
    """Every table of intro.tables, in the order they are defined."""
    found = [
        value
        for value in vars(tables).values()
        if inspect.isclass(value)
        and issubclass(value, Table)
        and value is not Table
        and value.__module__ == tables.__name__
    ]
    return found


async def digest() -> str:
    """A fingerprint of the generated rows (all but the salted password hashes)."""
    h = hashlib.sha256()
    for table in GENERATED_TABLES:
        columns = [c for c in table._meta.columns if c._meta.name != "password_hash"]
        h.update(table._meta.tablename.encode())
        for row in await table.select(*columns).order_by(table._meta.primary_key):
            h.update(repr(tuple(row.values())).encode())
    return h.hexdigest()
