"""Demo data: a West Zealand partnership of seven real municipalities, its venues,
instructors, coordinator and chiefs, and three cohorts of fictional new hires.

Dates are laid out relative to today, so the demo always shows one finished cohort,
one under way and one being planned. Everything is deterministic for a given day.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta

from intro import audit, clock
from intro.curriculum.versions import sync_directory
from intro.db import write_transaction
from intro.demo.history import add_history
from intro.participation import enrolment as enrolment_rules
from intro.participation import follow_up, plan
from intro.people import accounts
from intro.planning.rows import CohortRow
from intro.planning.scheduling import (
    Booking,
    ClosedSpan,
    InstructorOption,
    ModuleToPlan,
    PlanRequest,
    Rhythm,
    VenueOption,
    danish_holidays,
    propose,
)
from intro.settings import ROOT
from intro.tables import (
    Attendance,
    AttendanceStatus,
    ClosedPeriod,
    Cohort,
    CohortModule,
    CohortSeats,
    CohortStatus,
    Competence,
    CurriculumVersion,
    Employment,
    EndReason,
    Enrolment,
    EnrolmentStatus,
    InstructorQualification,
    LocalTaskTemplate,
    Module,
    ModulePrerequisite,
    Municipality,
    Partnership,
    PartnershipMember,
    Person,
    PlanItem,
    PlanItemStatus,
    Reflection,
    Role,
    RoleGrant,
    SelfAssessment,
    Session,
    SessionInstructor,
    SessionStatus,
    Venue,
)

DEMO_PASSWORD = "intro-demo-2026"
DEMO_DOMAIN = "intro.example"

# Official municipality codes (Danmarks Statistik / KL).
MUNICIPALITIES = [
    ("306", "Odsherred"),
    ("316", "Holbæk"),
    ("326", "Kalundborg"),
    ("329", "Ringsted"),
    ("330", "Slagelse"),
    ("340", "Sorø"),
    ("370", "Næstved"),
]

# Fictional labour-market chiefs, one per municipality.
CHIEFS = {
    "306": "Karen Bjerre",
    "316": "Torben Lykke",
    "326": "Susanne Krogh",
    "329": "Per Enevoldsen",
    "330": "Hanne Skov",
    "340": "Niels Brandt",
    "370": "Lone Winther",
}

VENUES = [
    # (municipality code, name, address, postcode, city, capacity)
    ("330", "Jobcenter Slagelse, Kursussalen", "Rosengade 12", "4200", "Slagelse", 28),
    ("370", "Jobcenter Næstved, Mødecenter", "Farimagsvej 4", "4700", "Næstved", 30),
    ("316", "Jobcenter Holbæk, Undervisningslokale 2", "Kanalstræde 2", "4300", "Holbæk", 24),
    ("326", "Jobcenter Kalundborg, Store mødelokale", "Holbækvej 141", "4400", "Kalundborg", 22),
]

FIRST_NAMES = [
    "Anna", "Mads", "Sofie", "Frederik", "Ida", "Jonas", "Emma", "Mikkel", "Laura", "Rasmus",
    "Freja", "Kasper", "Julie", "Anders", "Cecilie", "Christian", "Maria", "Martin", "Louise",
    "Søren", "Camilla", "Nikolaj", "Mette", "Thomas", "Line", "Jesper", "Katrine", "Henrik",
    "Signe", "Morten", "Sara", "Peter", "Nanna", "Lars", "Amalie", "Emil", "Birgitte", "Ali",
    "Fatima", "Yusuf", "Ayşe", "Kim", "Helle", "Jannik", "Malene", "Bo", "Pernille", "Oliver",
]
LAST_NAMES = [
    "Nielsen", "Jensen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
    "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen",
    "Christiansen", "Poulsen", "Johansen", "Møller", "Mortensen", "Knudsen", "Jakobsen",
    "Holm", "Lund", "Bach", "Dahl", "Friis", "Kaya", "Hussein", "Østergaard", "Kjær", "Vestergaard",
]
JOB_FUNCTIONS = [
    ("Jobkonsulent", None),
    ("Sagsbehandler, sygedagpenge", "helhed"),
    ("Virksomhedskonsulent", "virksomhed"),
    ("Jobkonsulent, unge", "kompetencematch"),
    ("Rehabiliteringskoordinator", "helhed"),
    ("Udviklingskonsulent", "udvikling"),
    ("Sagsbehandler, kontanthjælp", None),
]

LOCAL_TASKS = [
    (7, "Mød dit team og din nærmeste leder", "Aftal en fast sparringspartner blandt kollegerne."),
    (14, "Sid med ved tre borgersamtaler", "Vælg samtaler med forskellige målgrupper, og skriv kort, hvad du lagde mærke til."),
    (21, "Gennemgå jobcentrets it-systemer", "Få adgang til fagsystem, journal og kalender, og prøv dem af sammen med en kollega."),
    (42, "Deltag i et tværfagligt møde", "Fx et rehabiliteringsteam eller et koordinerende møde med sundhed eller uddannelse."),
]


def _mondays_from(today: date, weeks: int) -> date:
    monday = today - timedelta(days=today.weekday())
    return monday + timedelta(weeks=weeks)


def _closed_periods(year: int) -> list[tuple[str, date, date]]:
    return [
        ("Vinterferie", date(year, 2, 9), date(year, 2, 15)),
        ("Sommerferie", date(year, 6, 29), date(year, 8, 2)),
        ("Efterårsferie", date(year, 10, 12), date(year, 10, 18)),
        ("Jul og nytår", date(year, 12, 21), date(year + 1, 1, 3)),
    ]


TRANSFER_ANSWERS = [
    (
        "Jeg prøvede det af i to samtaler i ugen efter kursusdagen.",
        "Borgeren tog mere ordet, og vi fandt et konkret næste skridt sammen.",
    ),
    (
        "Jeg brugte redskabet på et teammøde og i en sag om sygedagpenge.",
        "Det gav et fælles overblik; kollegerne vil prøve det samme skema.",
    ),
    (
        "Jeg gennemgik tre af mine egne sager med det nye blik.",
        "Jeg fandt to steder, hvor partshøringen skulle have været tydeligere.",
    ),
]
REFLECTIONS = [
    "Dagen gav mig et sprog for noget, jeg allerede gjorde, men ikke kunne forklare.",
    "Jeg vil øve mig i at stille flere åbne spørgsmål i starten af samtalen.",
    "Godt at møde kolleger fra de andre kommuner – vi arbejder meget forskelligt med det samme.",
]


async def _progress(rng: random.Random, today: date, version_id: int) -> None:
    """Plans in every state: tasks done or overdue, transfer assignments answered,
    reflections and self-assessments, as a cohort under way would have them."""
    now = clock.now()
    items = await PlanItem.select(
        PlanItem.id, PlanItem.person, PlanItem.kind, PlanItem.due_date, PlanItem.module
    ).where(PlanItem.kind.is_in(["local_task", "transfer"]) & (PlanItem.status == PlanItemStatus.open.value))
    finished = {
        e["person"]
        for e in await Enrolment.select(Enrolment.person).where(Enrolment.cohort.status == CohortStatus.completed.value)
    }
    done_tasks, answered = [], []
    reflections = []
    for item in items:
        if item["due_date"] is None or item["due_date"] >= today:
            continue
        if item["kind"] == "local_task" and rng.random() < 0.85:
            done_tasks.append(item["id"])
        elif item["kind"] == "transfer" and rng.random() < (0.97 if item["person"] in finished else 0.8):
            answered.append(item["id"])
            if rng.random() < 0.4:
                reflections.append(
                    Reflection(person=item["person"], module=item["module"], body=rng.choice(REFLECTIONS))
                )
    if done_tasks:
        await PlanItem.update({PlanItem.status: PlanItemStatus.done.value, PlanItem.done_at: now}).where(
            PlanItem.id.is_in(done_tasks)
        )
    for item_id in answered:
        tried, outcome = rng.choice(TRANSFER_ANSWERS)
        await PlanItem.update(
            {
                PlanItem.status: PlanItemStatus.done.value,
                PlanItem.done_at: now,
                PlanItem.answer_tried: tried,
                PlanItem.answer_outcome: outcome,
                PlanItem.shared_with_colleagues: rng.random() < 0.7,
                PlanItem.answered_at: now,
            }
        ).where(PlanItem.id == item_id)
    if reflections:
        await Reflection.insert(*reflections)

    # When people last signed in: most this week, a few not for weeks (they fall behind).
    for e in await Enrolment.select(Enrolment.person).where(Enrolment.status == EnrolmentStatus.enrolled.value):
        days = rng.randint(0, 9) if rng.random() < 0.85 else rng.randint(22, 40)
        await Person.update({Person.last_login_at: now - timedelta(days=days, hours=rng.randint(0, 8))}).where(
            Person.id == e["person"]
        )

    competences = await Competence.select(Competence.id, Competence.profile.kind.as_alias("kind")).where(
        Competence.curriculum_version == version_id
    )
    base = [c["id"] for c in competences if c["kind"] == "base"]
    rows = []
    for e in await Enrolment.select(Enrolment.person, Enrolment.status, Enrolment.cohort.status.as_alias("cohort_status")):
        if e["cohort_status"] == CohortStatus.planning.value or e["status"] == EnrolmentStatus.withdrawn.value:
            continue
        for competence in base:
            start = rng.randint(1, 3)
            rows.append(SelfAssessment(person=e["person"], competence=competence, phase="start", score=start))
            if e["cohort_status"] == CohortStatus.completed.value:
                end = min(5, start + rng.randint(0, 3))
                rows.append(SelfAssessment(person=e["person"], competence=competence, phase="end", score=end))
    if rows:
        await SelfAssessment.insert(*rows)


async def _confirm_completions() -> None:
    """The finished cohort's coordinator confirms everyone who meets the completion rule
    (every module attended or caught up, every transfer answered) — the same rule and
    operation as in the product; the others stay enrolled, with modules to catch up."""
    for cohort in await Cohort.select().where(Cohort.status == CohortStatus.completed.value).output(load_json=True):
        grid = await follow_up.cohort_grid(CohortRow.from_row(cohort))
        done = [row["id"] for row in grid["rows"] if row["complete"] and row["status"] == EnrolmentStatus.enrolled.value]
        for enrolment_id in done:
            await enrolment_rules.mark_completed(cohort["created_by"], enrolment_id, demo=True)
        # Confirmed when the cohort ended, two months ago.
        await Enrolment.update({Enrolment.completed_at: clock.now() - timedelta(days=60)}).where(
            Enrolment.id.is_in(done or [0])
        )


async def is_empty() -> bool:
    return not await Person.exists()


async def seed(today: date | None = None) -> str:
    today = today or clock.today()
    rng = random.Random(2026)
    if not await CurriculumVersion.exists():
        await sync_directory(ROOT / "curriculum")
    version = (
        await CurriculumVersion.select(CurriculumVersion.id)
        .order_by(CurriculumVersion.id, ascending=False)
        .first()
    )
    version_id = version["id"]
    modules = await Module.select(
        Module.id, Module.code, Module.title, Module.days, Module.format
    ).where((Module.curriculum_version == version_id) & Module.municipality.is_null()).order_by(
        Module.position
    )
    prerequisites = await ModulePrerequisite.select().where(
        ModulePrerequisite.module.is_in([m["id"] for m in modules])
    )
    to_plan = [
        ModuleToPlan(
            id=m["id"],
            code=m["code"],
            title=m["title"],
            days=m["days"],
            needs_venue=m["format"] == "classroom",
            prerequisites=frozenset(p["requires"] for p in prerequisites if p["module"] == m["id"]),
        )
        for m in modules
    ]
    password_hash = accounts.hash_password(DEMO_PASSWORD)
    dk_holidays = danish_holidays(range(today.year - 1, today.year + 3))

    async with write_transaction(Person._meta.db):
        municipality_ids: dict[str, int] = {}
        for code, name in MUNICIPALITIES:
            existing = await Municipality.select(Municipality.id).where(
                Municipality.code == code
            ).first()
            if existing:
                municipality_ids[code] = existing["id"]
            else:
                municipality_ids[code] = (
                    await Municipality.insert(
                        Municipality(code=code, name=name, region="Region Sjælland")
                    ).returning(Municipality.id)
                )[0]["id"]
        partnership_id = (
            await Partnership.insert(
                Partnership(
                    name="Introsamarbejdet Vestsjælland",
                    description=(
                        "Syv kommuner i Vestsjælland, der sender nye medarbejdere i "
                        "jobcentret gennem et fælles introduktionsforløb."
                    ),
                )
            ).returning(Partnership.id)
        )[0]["id"]
        await PartnershipMember.insert(
            *[
                PartnershipMember(partnership=partnership_id, municipality=mid)
                for mid in municipality_ids.values()
            ]
        )
        closed = []
        for year in (today.year - 1, today.year, today.year + 1):
            for name, start, end in _closed_periods(year):
                closed.append(ClosedSpan(f"{name} {year}", start, end))
                await ClosedPeriod.insert(
                    ClosedPeriod(
                        partnership=partnership_id, name=f"{name} {year}", start_date=start, end_date=end
                    )
                )
        venues = []
        for code, name, address, postcode, city, capacity in VENUES:
            venue_id = (
                    await Venue.insert(
                        Venue(
                            name=name,
                            municipality=municipality_ids[code],
                            address=address,
                            postcode=postcode,
                            city=city,
                            capacity=capacity,
                            accessibility="Niveaufri adgang og handicaptoilet.",
                        )
                    ).returning(Venue.id)
                )[0]["id"]
            venues.append(
                VenueOption(venue_id, name, municipality_ids[code], city, capacity)
            )

        async def person(email: str, full_name: str) -> int:
            return (
                await Person.insert(
                    Person(email=email, full_name=full_name, password_hash=password_hash)
                ).returning(Person.id)
            )[0]["id"]

        async def grant(person_id: int, role: Role, municipality=None, partnership=None) -> None:
            await RoleGrant.insert(
                RoleGrant(
                    person=person_id, role=role.value, municipality=municipality, partnership=partnership
                )
            )

        admin_id = await person(f"admin@{DEMO_DOMAIN}", "Annette Holm")
        await grant(admin_id, Role.admin)
        coordinator_id = await person(f"koordinator@{DEMO_DOMAIN}", "Mette Lund Sørensen")
        await grant(coordinator_id, Role.coordinator, partnership=partnership_id)

        instructor_options = []
        instructors = [
            ("underviser", "Jonas Bach", ("LOV", "TVF")),
            ("underviser2", "Helle Friis", ("SAM",)),
            ("underviser3", "Ali Hussein", ("VIR", "TVF")),
            ("underviser4", "Birgitte Dahl", ("LOV", "SAM")),
        ]
        for local_part, name, prefixes in instructors:
            pid = await person(f"{local_part}@{DEMO_DOMAIN}", name)
            await grant(pid, Role.instructor, partnership=partnership_id)
            codes = [m["code"] for m in modules if m["code"].split("-")[0] in prefixes]
            instructor_options.append(InstructorOption(pid, name, frozenset(codes)))
            if codes:
                await InstructorQualification.insert(
                    *[InstructorQualification(person=pid, module_code=c) for c in codes]
                )

        for code, name in MUNICIPALITIES:
            slug = (
                name.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
            )
            pid = await person(f"chef.{slug}@{DEMO_DOMAIN}", CHIEFS[code])
            await grant(pid, Role.chief, municipality=municipality_ids[code])

        for code in ("370", "330"):
            await LocalTaskTemplate.insert(
                *[
                    LocalTaskTemplate(
                        municipality=municipality_ids[code],
                        title=title,
                        description=text,
                        due_after_days=days,
                        position=i,
                    )
                    for i, (days, title, text) in enumerate(LOCAL_TASKS)
                ]
            )

        # Three cohorts: finished, under way, being planned.
        cohort_plans = [
            ("Hold A – forår", _mondays_from(today, -40), CohortStatus.completed.value, 18),
            ("Hold B – efterår", _mondays_from(today, -10), CohortStatus.active.value, 22),
            ("Hold C – næste forår", _mondays_from(today, 10), CohortStatus.planning.value, 20),
        ]

        bookings: list[Booking] = []
        hosted: dict[int, int] = {}
        used_names: set[str] = set()
        summary_people = 0
        participant_email_given = False
        for index, (name, start, status, size) in enumerate(cohort_plans):
            cohort_id = (
                await Cohort.insert(
                    Cohort(
                        partnership=partnership_id,
                        curriculum_version=version_id,
                        name=name,
                        status=status,
                        start_date=start,
                        capacity=24,
                        day_start=time(9, 0),
                        day_end=time(15, 0),
                        rhythm={"weekdays": [1]},
                        created_by=coordinator_id,
                    )
                ).returning(Cohort.id)
            )[0]["id"]
            await CohortSeats.insert(
                *[
                    CohortSeats(cohort=cohort_id, municipality=mid, seats=4 if code in ("330", "370") else 3)
                    for code, mid in municipality_ids.items()
                ]
            )
            await CohortModule.insert(
                *[CohortModule(cohort=cohort_id, module=m.id) for m in to_plan]
            )

            # The timetable from the proposer; the cohort being planned keeps it as a
            # proposal for the coordinator to review.
            proposal = propose(
                PlanRequest(
                    first_day=start + timedelta(days=1),
                    rhythm=Rhythm(weekdays=(1,)),
                    day_start=time(9, 0),
                    day_end=time(15, 0),
                    participants=24,
                    modules=to_plan,
                    venues=venues,
                    instructors=instructor_options,
                    bookings=bookings,
                    holidays=dk_holidays,
                    closed=closed,
                    hosted=hosted,
                )
            )
            sessions: list[tuple[int, datetime, datetime]] = []
            for planned in proposal.sessions:
                sid = (
                    await Session.insert(
                        Session(
                            cohort=cohort_id,
                            module=planned.module_id,
                            part=planned.part,
                            starts_at=planned.starts_at,
                            ends_at=planned.ends_at,
                            venue=planned.venue_id,
                            status=SessionStatus.proposed.value if status == CohortStatus.planning.value else SessionStatus.scheduled.value,
                            uid=f"{uuid.UUID(int=rng.getrandbits(128))}@intro",
                        )
                    ).returning(Session.id)
                )[0]["id"]
                await SessionInstructor.insert(
                    *[SessionInstructor(session=sid, person=t) for t in planned.instructor_ids]
                )
                bookings.append(
                    Booking(
                        planned.starts_at, planned.ends_at, planned.venue_id,
                        frozenset(planned.instructor_ids), name,
                    )
                )
                if planned.venue_id is not None:
                    municipality = next(v.municipality_id for v in venues if v.id == planned.venue_id)
                    hosted[municipality] = hosted.get(municipality, 0) + 1
                if status != CohortStatus.planning.value:
                    sessions.append((sid, planned.starts_at, planned.ends_at))

            # Participants, spread over the member municipalities by their seats.
            # Næstved fills its four seats first, then the others take turns, so no
            # municipality holds more than its seats and the one open place.
            others = [c for c, _n in MUNICIPALITIES if c != "370"]
            for n in range(size):
                code = "370" if n < 4 else others[(n - 4) % len(others)]
                municipality_id = municipality_ids[code]
                while True:
                    full_name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
                    if full_name not in used_names:
                        used_names.add(full_name)
                        break
                if index == 1 and code == "370" and not participant_email_given:
                    email = f"deltager@{DEMO_DOMAIN}"
                    full_name = "Sara Nielsen"
                    participant_email_given = True
                else:
                    slug = (
                        full_name.lower()
                        .replace(" ", ".")
                        .replace("æ", "ae").replace("ø", "oe").replace("å", "aa").replace("ş", "s")
                    )
                    email = f"{slug}@{DEMO_DOMAIN}"
                pid = await person(email, full_name)
                summary_people += 1
                await grant(pid, Role.participant, municipality=municipality_id)
                job, profile = JOB_FUNCTIONS[rng.randrange(len(JOB_FUNCTIONS))]
                hired = start - timedelta(days=rng.randint(14, 70))
                if hired >= today:
                    # Nobody in the demo is enrolled before they are hired, and nothing
                    # is dated after today: a hire for a cohort starting soon was hired
                    # in the past weeks (derived, so the random sequence is unchanged).
                    hired = today - timedelta(days=(start - hired).days % 28 + 1)
                end_date = end_reason = None
                if status == CohortStatus.completed.value and rng.random() < 0.15:
                    end_date = hired + timedelta(days=rng.randint(120, 230))
                    end_date = min(end_date, today - timedelta(days=1))
                    end_reason = rng.choice([EndReason.resigned.value, EndReason.moved.value])
                await Employment.insert(
                    Employment(
                        person=pid,
                        municipality=municipality_id,
                        job_function=job,
                        profile_code=profile,
                        start_date=hired,
                        end_date=end_date,
                        end_reason=end_reason,
                        external_ref=f"DEMO-{code}-{pid}",
                    )
                )
                now = clock.now()
                # Asked for a place a month before the start, but never before the hire
                # nor after today.
                asked = max(hired, min(start - timedelta(days=30), today - timedelta(days=1)))
                requested = datetime.combine(asked, time(10), tzinfo=UTC)
                if status == CohortStatus.planning.value and n >= size - 3:
                    enrolment = Enrolment(
                        cohort=cohort_id, person=pid, municipality=municipality_id,
                        status=EnrolmentStatus.waitlisted.value, requested_at=requested + timedelta(minutes=n),
                        enrolled_by=coordinator_id,
                    )
                elif end_date is not None:
                    enrolment = Enrolment(
                        cohort=cohort_id, person=pid, municipality=municipality_id,
                        status=EnrolmentStatus.withdrawn.value, requested_at=requested, enrolled_at=requested,
                        withdrawn_at=datetime.combine(end_date, time(12), tzinfo=UTC),
                        withdrawal_reason="Fratrådt", enrolled_by=coordinator_id,
                    )
                else:
                    enrolment = Enrolment(
                        cohort=cohort_id, person=pid, municipality=municipality_id,
                        status=EnrolmentStatus.enrolled.value, requested_at=requested, enrolled_at=requested,
                        enrolled_by=coordinator_id,
                    )
                await Enrolment.insert(enrolment)

                marks = []
                for sid, starts, _ends in sessions:
                    if starts > now:
                        break
                    if end_date is not None and starts.date() > end_date:
                        break
                    # The finished cohort was a keen one: fewer absences, so most of
                    # it completes by the rule (see _confirm_completions).
                    roll = rng.random() * (3 if status == CohortStatus.completed.value else 1)
                    state = (
                        AttendanceStatus.absent if roll < 0.06
                        else AttendanceStatus.excused if roll < 0.10
                        else AttendanceStatus.present
                    )
                    marks.append(
                        Attendance(session=sid, person=pid, status=state.value, recorded_by=coordinator_id)
                    )
                if marks:
                    await Attendance.insert(*marks)

            # The queue as the product keeps it: whoever waits while a place fits them
            # moves up (the same rule every enrolment goes through).
            await enrolment_rules.fill_places(
                coordinator_id, CohortRow.from_row(await Cohort.select().where(Cohort.id == cohort_id).first())
            )

        history = await add_history(
            rng=rng,
            today=today,
            until=cohort_plans[0][1],
            partnership_id=partnership_id,
            municipality_ids=municipality_ids,
            version_id=version_id,
            modules=[{"id": m["id"], "days": m["days"]} for m in modules],
            venue_ids=[v.id for v in venues],
            coordinator_id=coordinator_id,
            names=(FIRST_NAMES, LAST_NAMES),
            used_names=used_names,
            job_functions=JOB_FUNCTIONS,
        )
        await audit.record(
            None, "demo.seed", "partnership", partnership_id, participants=summary_people, history=history
        )

    # Everyone's intro plan, built from their cohort and municipality as in real use.
    participants = await RoleGrant.select(RoleGrant.person).where(RoleGrant.role == Role.participant.value)
    for p in participants:
        await plan.sync_plan(p["person"])
    await _progress(rng, today, version_id)
    await _confirm_completions()

    return (
        f"Demodata indlæst: 1 samarbejde, {len(MUNICIPALITIES)} kommuner, {len(VENUES)} lokationer, "
        f"3 hold med {summary_people} deltagere. Adgangskode for alle demobrugere: {DEMO_PASSWORD}"
    )
