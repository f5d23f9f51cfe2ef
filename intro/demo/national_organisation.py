"""The national generator's organisation: the curriculum it plans with, staff people, and
the partnerships with their municipalities, venues, instructors, coordinators, chiefs, closed
periods and local tasks.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from intro.curriculum.versions import sync_directory
from intro.demo.national_data import (
    CURRICULUM_LABEL,
    DOMAIN,
    EXTRA_LOCAL_TASKS,
    MUNICIPALITIES,
    PARTNERSHIPS,
    ROOMS,
    STREETS,
    Names,
    PersonRow,
    at,
    closed_periods,
    slug,
)
from intro.demo.west_zealand import LOCAL_TASKS
from intro.participation.plan import ModuleFact, TaskFact
from intro.planning.scheduling import ClosedSpan, InstructorOption, ModuleToPlan, VenueOption
from intro.settings import ROOT
from intro.tables import (
    ClosedPeriod,
    Competence,
    CurriculumVersion,
    InstructorQualification,
    LocalTaskTemplate,
    Module,
    ModulePrerequisite,
    Municipality,
    Partnership,
    PartnershipMember,
    Person,
    Role,
    RoleGrant,
    Venue,
)


class OrganisationSection:
    """Curriculum, people and organisation (a part of `national._Generator`)."""

    # ---------------------------------------------------------------- curriculum

    async def load_curriculum(self) -> None:
        await sync_directory(ROOT / "curriculum")
        version = (
            await CurriculumVersion.select(CurriculumVersion.id)
            .where(CurriculumVersion.label == CURRICULUM_LABEL)
            .order_by(CurriculumVersion.revision, ascending=False)
            .first()
        ) or (
            await CurriculumVersion.select(CurriculumVersion.id)
            .order_by(CurriculumVersion.id, ascending=False)
            .first()
        )
        self.version_id = version["id"]
        modules = (
            await Module.select(
                Module.id,
                Module.code,
                Module.title,
                Module.days,
                Module.format,
                Module.transfer_title,
            )
            .where((Module.curriculum_version == self.version_id) & Module.municipality.is_null())
            .order_by(Module.position, Module.id)
        )
        prerequisites = await ModulePrerequisite.select().where(
            ModulePrerequisite.module.is_in([m["id"] for m in modules] or [0])
        )
        self.modules = modules
        self.module_by_id = {m["id"]: m for m in modules}
        self.to_plan = [
            ModuleToPlan(
                id=m["id"],
                code=m["code"],
                title=m["title"],
                days=m["days"],
                needs_venue=m["format"] == "classroom",
                prerequisites=frozenset(
                    p["requires"] for p in prerequisites if p["module"] == m["id"]
                ),
            )
            for m in modules
        ]
        self.module_facts = [ModuleFact(m["id"], m["code"], m["transfer_title"]) for m in modules]
        competences = (
            await Competence.select(
                Competence.id,
                Competence.profile.code.as_alias("profile"),
                Competence.profile.kind.as_alias("kind"),
            )
            .where(Competence.curriculum_version == self.version_id)
            .order_by(Competence.id)
        )
        self.base_competences = [c["id"] for c in competences if c["kind"] == "base"]
        self.profile_competences: dict[str, list[int]] = defaultdict(list)
        for c in competences:
            if c["kind"] != "base":
                self.profile_competences[c["profile"]].append(c["id"])

    # ---------------------------------------------------------------- people

    def person(
        self, email: str, full_name: str, created: date, password: bool = False
    ) -> PersonRow:
        row = PersonRow(self.ids(Person), email, full_name, at(created, 9), password)
        self.people[row.id] = row
        return row


    # ---------------------------------------------------------------- organisation

    def organisation(self) -> None:
        rng = self.rng
        reserved = ["admin"] + [f"koordinator.{s}" for s, _n, _c in PARTNERSHIPS]
        reserved += [f"chef.{c[0]}" for c in MUNICIPALITIES] + [
            f"deltager.{s}" for s, _n, _c in PARTNERSHIPS
        ]
        self.names = Names(rng, reserved)
        since = self.first_day - timedelta(days=90)

        self.municipality_rows = []
        self.municipality_id: dict[str, int] = {}
        self.municipality_info: dict[int, tuple] = {}
        for info in MUNICIPALITIES:
            code, name, region = info[0], info[1], info[2]
            mid = self.ids(Municipality)
            self.municipality_id[code] = mid
            self.municipality_info[mid] = info
            self.municipality_rows.append((mid, code, name, region))

        admin = self.person(f"admin@{DOMAIN}", "Annette Holm", since, password=True)
        self.grants: list[tuple] = [
            (self.ids(RoleGrant), admin.id, Role.admin.value, None, None, at(since, 9))
        ]
        self.personas.append(("administrator", admin.email))

        self.partnership_rows, self.member_rows, self.venue_rows = [], [], []
        self.closed_rows, self.qualification_rows, self.task_rows = [], [], []
        self.partnerships: list[dict] = []
        self.partnership_of: dict[int, int] = {}
        chiefs: list[tuple[str, str]] = []
        for slug_, name, codes in PARTNERSHIPS:
            pid = self.ids(Partnership)
            members = [self.municipality_id[c] for c in codes]
            region = self.municipality_info[members[0]][2]
            population = sum(self.municipality_info[m][3] for m in members)
            self.partnership_rows.append(
                (
                    pid,
                    name,
                    f"{len(members)} kommuner i {region}, der sender nye medarbejdere i jobcentret "
                    "gennem et fælles introduktionsforløb.",
                    at(since, 9),
                )
            )
            for m in members:
                self.partnership_of[m] = pid
                self.member_rows.append((self.ids(PartnershipMember), pid, m, since))

            coordinator = self.person(
                f"koordinator.{slug_}@{DOMAIN}", self.names.full_name(), since, password=True
            )
            self.grants.append(
                (
                    self.ids(RoleGrant),
                    coordinator.id,
                    Role.coordinator.value,
                    None,
                    pid,
                    at(since, 9),
                )
            )
            self.personas.append((f"koordinator, {name}", coordinator.email))

            # Venues in the largest member municipalities.
            by_size = sorted(members, key=lambda m: (-self.municipality_info[m][3], m))
            venues = []
            for host in by_size[: min(4, max(2, round(population / 200) + 1))]:
                info = self.municipality_info[host]
                vid = self.ids(Venue)
                venue_name = f"Jobcenter {info[1]}, {rng.choice(ROOMS)}"
                capacity = rng.choice([26, 28, 30, 32, 36])
                self.venue_rows.append(
                    (
                        vid,
                        venue_name,
                        host,
                        f"{rng.choice(STREETS)} {rng.randint(1, 60)}",
                        info[5],
                        info[4],
                        capacity,
                        "Niveaufri adgang og handicaptoilet.",
                        at(since, 9),
                    )
                )
                venues.append(VenueOption(vid, venue_name, host, info[1], capacity))

            # Instructors: each teaches the modules of two strands; together they cover all.
            prefixes = sorted({m["code"].split("-")[0] for m in self.modules})
            instructors = []
            for i in range(min(6, max(3, round(population / 160) + 2))):
                full_name = self.names.full_name()
                teacher = self.person(
                    self.names.email(f"underviser.{slug(full_name)}"), full_name, since
                )
                self.grants.append(
                    (
                        self.ids(RoleGrant),
                        teacher.id,
                        Role.instructor.value,
                        None,
                        pid,
                        at(since, 9),
                    )
                )
                mine = {prefixes[i % len(prefixes)], prefixes[(i + 1) % len(prefixes)]}
                codes_ = [m["code"] for m in self.modules if m["code"].split("-")[0] in mine]
                for code in codes_:
                    self.qualification_rows.append(
                        (self.ids(InstructorQualification), teacher.id, code)
                    )
                instructors.append(InstructorOption(teacher.id, full_name, frozenset(codes_)))

            closed = []
            for year in range(since.year, self.today.year + 2):
                for period, start, end in closed_periods(year):
                    closed.append(ClosedSpan(f"{period} {year}", start, end))
                    self.closed_rows.append(
                        (self.ids(ClosedPeriod), pid, f"{period} {year}", start, end)
                    )

            for m in members:
                chiefs.append((self.municipality_info[m][0], self.municipality_info[m][1]))
            self.partnerships.append(
                {
                    "id": pid,
                    "slug": slug_,
                    "name": name,
                    "members": members,
                    "coordinator": coordinator.id,
                    "venues": venues,
                    "instructors": instructors,
                    "closed": closed,
                    "population": {m: self.municipality_info[m][3] for m in members},
                }
            )

        for code, name in sorted(chiefs):
            chief = self.person(
                f"chef.{code}@{DOMAIN}", self.names.full_name(), since, password=True
            )
            self.grants.append(
                (
                    self.ids(RoleGrant),
                    chief.id,
                    Role.chief.value,
                    self.municipality_id[code],
                    None,
                    at(since, 9),
                )
            )
            self.personas.append((f"chef, {code} {name}", chief.email))

        # Every municipality's own onboarding tasks: three to five of them.
        pool = LOCAL_TASKS + EXTRA_LOCAL_TASKS
        self.tasks_of: dict[int, list[TaskFact]] = {}
        for code, *_rest in MUNICIPALITIES:
            mid = self.municipality_id[code]
            chosen = sorted(rng.sample(pool, rng.randint(3, 5)))
            facts = []
            for position, (days, title, text) in enumerate(chosen):
                tid = self.ids(LocalTaskTemplate)
                self.task_rows.append((tid, mid, title, text, days, position))
                facts.append(TaskFact(tid, title, text, days))
            self.tasks_of[mid] = facts
