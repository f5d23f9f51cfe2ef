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
"""

from __future__ import annotations

import hashlib
import inspect
import math
import random
import unicodedata
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from time import perf_counter

from piccolo.columns import Timestamptz
from piccolo.columns.defaults.base import Default
from piccolo.table import Table
from piccolo.utils.encoding import dump_json

from intro import audit, clock, tables
from intro.curriculum.versions import sync_directory
from intro.db import write_transaction
from intro.demo.west_zealand import (
    DEMO_PASSWORD,
    FIRST_NAMES,
    JOB_FUNCTIONS,
    LAST_NAMES,
    LOCAL_TASKS,
    REFLECTIONS,
    TRANSFER_ANSWERS,
)
from intro.participation.plan import ModuleFact, SessionFact, TaskFact, desired_items
from intro.people import accounts
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
    ClosedPeriod,
    Cohort,
    CohortModule,
    CohortSeats,
    Competence,
    CurriculumVersion,
    Employment,
    EndReason,
    Enrolment,
    InstructorQualification,
    LocalTaskTemplate,
    Module,
    ModulePrerequisite,
    Municipality,
    Partnership,
    PartnershipMember,
    Person,
    PlanItem,
    Reflection,
    Role,
    RoleGrant,
    SelfAssessment,
    Session,
    SessionInstructor,
    Venue,
)
from intro.timefmt import local_instant

DOMAIN = "national.example"
CURRICULUM_LABEL = "2026.1"

# New hires a year in all job centres together, at scale 1.0.
HIRES_PER_YEAR = 3000
# Turnover: share leaving in the first year, and the yearly rate after it.
FIRST_YEAR_LEAVE = 0.15
LATER_YEARLY_LEAVE = 0.08
# Of those who leave, the share who move on to another member municipality of the
# same partnership (about 3 % of all hires), and the share rehired later.
MOVE_SHARE_OF_LEAVERS = 0.08
REHIRE_SHARE_OF_LEAVERS = 0.10
COHORT_TARGET_SIZE = 20
# Cohorts are laid out this far past today (the ones being planned).
PLANNING_HORIZON_DAYS = 120
# A cohort whose first course day is at most this far ahead has an accepted timetable.
ACCEPTED_AHEAD_DAYS = 14
# New hires spend their first weeks in their own job centre before joining a cohort.
COHORT_LEAD_DAYS = 30

REGION_H = "Region Hovedstaden"
REGION_SJ = "Region Sjælland"
REGION_SD = "Region Syddanmark"
REGION_MJ = "Region Midtjylland"
REGION_NJ = "Region Nordjylland"

# (official code, name, region, inhabitants in thousands (about 2024), main town, postcode)
MUNICIPALITIES: list[tuple[str, str, str, float, str, str]] = [
    ("101", "København", REGION_H, 660, "København V", "1550"),
    ("147", "Frederiksberg", REGION_H, 104, "Frederiksberg", "2000"),
    ("151", "Ballerup", REGION_H, 52, "Ballerup", "2750"),
    ("153", "Brøndby", REGION_H, 39, "Brøndby", "2605"),
    ("155", "Dragør", REGION_H, 14.5, "Dragør", "2791"),
    ("157", "Gentofte", REGION_H, 75, "Gentofte", "2820"),
    ("159", "Gladsaxe", REGION_H, 70, "Søborg", "2860"),
    ("161", "Glostrup", REGION_H, 24, "Glostrup", "2600"),
    ("163", "Herlev", REGION_H, 30, "Herlev", "2730"),
    ("165", "Albertslund", REGION_H, 28, "Albertslund", "2620"),
    ("167", "Hvidovre", REGION_H, 54, "Hvidovre", "2650"),
    ("169", "Høje-Taastrup", REGION_H, 58, "Taastrup", "2630"),
    ("173", "Lyngby-Taarbæk", REGION_H, 57, "Kongens Lyngby", "2800"),
    ("175", "Rødovre", REGION_H, 41, "Rødovre", "2610"),
    ("183", "Ishøj", REGION_H, 24, "Ishøj", "2635"),
    ("185", "Tårnby", REGION_H, 44, "Kastrup", "2770"),
    ("187", "Vallensbæk", REGION_H, 17, "Vallensbæk", "2625"),
    ("190", "Furesø", REGION_H, 41, "Farum", "3520"),
    ("201", "Allerød", REGION_H, 26, "Allerød", "3450"),
    ("210", "Fredensborg", REGION_H, 41, "Fredensborg", "3480"),
    ("217", "Helsingør", REGION_H, 64, "Helsingør", "3000"),
    ("219", "Hillerød", REGION_H, 53, "Hillerød", "3400"),
    ("223", "Hørsholm", REGION_H, 25, "Hørsholm", "2970"),
    ("230", "Rudersdal", REGION_H, 57, "Holte", "2840"),
    ("240", "Egedal", REGION_H, 44, "Stenløse", "3660"),
    ("250", "Frederikssund", REGION_H, 46, "Frederikssund", "3600"),
    ("253", "Greve", REGION_SJ, 51, "Greve", "2670"),
    ("259", "Køge", REGION_SJ, 62, "Køge", "4600"),
    ("260", "Halsnæs", REGION_H, 32, "Frederiksværk", "3300"),
    ("265", "Roskilde", REGION_SJ, 90, "Roskilde", "4000"),
    ("269", "Solrød", REGION_SJ, 24, "Solrød Strand", "2680"),
    ("270", "Gribskov", REGION_H, 41, "Helsinge", "3200"),
    ("306", "Odsherred", REGION_SJ, 33, "Nykøbing Sj", "4500"),
    ("316", "Holbæk", REGION_SJ, 73, "Holbæk", "4300"),
    ("320", "Faxe", REGION_SJ, 38, "Faxe", "4640"),
    ("326", "Kalundborg", REGION_SJ, 49, "Kalundborg", "4400"),
    ("329", "Ringsted", REGION_SJ, 36, "Ringsted", "4100"),
    ("330", "Slagelse", REGION_SJ, 80, "Slagelse", "4200"),
    ("336", "Stevns", REGION_SJ, 23, "Store Heddinge", "4660"),
    ("340", "Sorø", REGION_SJ, 30, "Sorø", "4180"),
    ("350", "Lejre", REGION_SJ, 29, "Hvalsø", "4330"),
    ("360", "Lolland", REGION_SJ, 40, "Maribo", "4930"),
    ("370", "Næstved", REGION_SJ, 84, "Næstved", "4700"),
    ("376", "Guldborgsund", REGION_SJ, 60, "Nykøbing F", "4800"),
    ("390", "Vordingborg", REGION_SJ, 46, "Vordingborg", "4760"),
    ("400", "Bornholm", REGION_H, 39, "Rønne", "3700"),
    ("410", "Middelfart", REGION_SD, 40, "Middelfart", "5500"),
    ("420", "Assens", REGION_SD, 41, "Assens", "5610"),
    ("430", "Faaborg-Midtfyn", REGION_SD, 52, "Ringe", "5750"),
    ("440", "Kerteminde", REGION_SD, 24, "Kerteminde", "5300"),
    ("450", "Nyborg", REGION_SD, 32, "Nyborg", "5800"),
    ("461", "Odense", REGION_SD, 208, "Odense C", "5000"),
    ("479", "Svendborg", REGION_SD, 59, "Svendborg", "5700"),
    ("480", "Nordfyns", REGION_SD, 29, "Bogense", "5400"),
    ("482", "Langeland", REGION_SD, 12, "Rudkøbing", "5900"),
    ("492", "Ærø", REGION_SD, 6, "Ærøskøbing", "5970"),
    ("510", "Haderslev", REGION_SD, 55, "Haderslev", "6100"),
    ("530", "Billund", REGION_SD, 27, "Billund", "7190"),
    ("540", "Sønderborg", REGION_SD, 74, "Sønderborg", "6400"),
    ("550", "Tønder", REGION_SD, 37, "Tønder", "6270"),
    ("561", "Esbjerg", REGION_SD, 115, "Esbjerg", "6700"),
    ("563", "Fanø", REGION_SD, 3.5, "Fanø", "6720"),
    ("573", "Varde", REGION_SD, 50, "Varde", "6800"),
    ("575", "Vejen", REGION_SD, 43, "Vejen", "6600"),
    ("580", "Aabenraa", REGION_SD, 59, "Aabenraa", "6200"),
    ("607", "Fredericia", REGION_SD, 52, "Fredericia", "7000"),
    ("615", "Horsens", REGION_MJ, 98, "Horsens", "8700"),
    ("621", "Kolding", REGION_SD, 95, "Kolding", "6000"),
    ("630", "Vejle", REGION_SD, 122, "Vejle", "7100"),
    ("657", "Herning", REGION_MJ, 90, "Herning", "7400"),
    ("661", "Holstebro", REGION_MJ, 59, "Holstebro", "7500"),
    ("665", "Lemvig", REGION_MJ, 19, "Lemvig", "7620"),
    ("671", "Struer", REGION_MJ, 21, "Struer", "7600"),
    ("706", "Syddjurs", REGION_MJ, 44, "Rønde", "8410"),
    ("707", "Norddjurs", REGION_MJ, 37, "Grenaa", "8500"),
    ("710", "Favrskov", REGION_MJ, 50, "Hinnerup", "8382"),
    ("727", "Odder", REGION_MJ, 23, "Odder", "8300"),
    ("730", "Randers", REGION_MJ, 99, "Randers C", "8900"),
    ("740", "Silkeborg", REGION_MJ, 99, "Silkeborg", "8600"),
    ("741", "Samsø", REGION_MJ, 3.7, "Samsø", "8305"),
    ("746", "Skanderborg", REGION_MJ, 64, "Skanderborg", "8660"),
    ("751", "Aarhus", REGION_MJ, 367, "Aarhus C", "8000"),
    ("756", "Ikast-Brande", REGION_MJ, 42, "Ikast", "7430"),
    ("760", "Ringkøbing-Skjern", REGION_MJ, 56, "Ringkøbing", "6950"),
    ("766", "Hedensted", REGION_MJ, 47, "Hedensted", "8722"),
    ("773", "Morsø", REGION_NJ, 20, "Nykøbing M", "7900"),
    ("779", "Skive", REGION_MJ, 46, "Skive", "7800"),
    ("787", "Thisted", REGION_NJ, 43, "Thisted", "7700"),
    ("791", "Viborg", REGION_MJ, 98, "Viborg", "8800"),
    ("810", "Brønderslev", REGION_NJ, 36, "Brønderslev", "9700"),
    ("813", "Frederikshavn", REGION_NJ, 59, "Frederikshavn", "9900"),
    ("820", "Vesthimmerlands", REGION_NJ, 36, "Aars", "9600"),
    ("825", "Læsø", REGION_NJ, 1.8, "Læsø", "9940"),
    ("840", "Rebild", REGION_NJ, 31, "Støvring", "9530"),
    ("846", "Mariagerfjord", REGION_NJ, 42, "Hobro", "9500"),
    ("849", "Jammerbugt", REGION_NJ, 38, "Aabybro", "9440"),
    ("851", "Aalborg", REGION_NJ, 222, "Aalborg", "9000"),
    ("860", "Hjørring", REGION_NJ, 64, "Hjørring", "9800"),
]

# Neighbouring municipalities of one region that share an intro programme:
# (slug for the personas' addresses, name, member codes).
PARTNERSHIPS: list[tuple[str, str, tuple[str, ...]]] = [
    (
        "koebenhavn",
        "Introsamarbejdet København og Omegn",
        ("101", "147", "155", "167", "175", "185", "400"),
    ),
    ("vestegnen", "Introsamarbejdet Vestegnen", ("151", "153", "161", "165", "169", "183", "187")),
    (
        "storkoebenhavn-nord",
        "Introsamarbejdet Storkøbenhavn Nord",
        ("157", "159", "163", "173", "190", "223", "230"),
    ),
    (
        "nordsjaelland",
        "Introsamarbejdet Nordsjælland",
        ("201", "210", "217", "219", "240", "250", "260", "270"),
    ),
    ("oestsjaelland", "Introsamarbejdet Østsjælland", ("253", "259", "265", "269", "350")),
    (
        "vestsjaelland",
        "Introsamarbejdet Vestsjælland",
        ("306", "316", "326", "329", "330", "340", "370"),
    ),
    (
        "sydsjaelland",
        "Introsamarbejdet Sydsjælland og Lolland-Falster",
        ("320", "336", "360", "376", "390"),
    ),
    ("fyn", "Introsamarbejdet Fyn", ("410", "420", "440", "461", "480")),
    ("sydfyn", "Introsamarbejdet Sydfyn og Øerne", ("430", "450", "479", "482", "492")),
    (
        "sydvestjylland",
        "Introsamarbejdet Sydvestjylland",
        ("530", "550", "561", "563", "573", "575"),
    ),
    (
        "trekanten-soenderjylland",
        "Introsamarbejdet Trekantområdet og Sønderjylland",
        ("510", "540", "580", "607", "621", "630"),
    ),
    (
        "oestjylland",
        "Introsamarbejdet Østjylland",
        ("706", "707", "710", "727", "741", "746", "751"),
    ),
    ("midtjylland", "Introsamarbejdet Midtjylland", ("615", "730", "740", "766", "779", "791")),
    ("vestjylland", "Introsamarbejdet Vestjylland", ("657", "661", "665", "671", "756", "760")),
    (
        "aalborg-himmerland",
        "Introsamarbejdet Aalborg og Himmerland",
        ("810", "820", "840", "846", "851"),
    ),
    (
        "thy-mors-vendsyssel",
        "Introsamarbejdet Thy, Mors og Vendsyssel",
        ("773", "787", "813", "825", "849", "860"),
    ),
]


def words(text: str) -> list[str]:
    return text.split()


MORE_FIRST_NAMES = words(
    "Lone Hanne Susanne Karen Jette Tina Charlotte Rikke Trine Marianne Lise Gitte Anne "
    "Kirsten Dorthe Maja Clara Asta Josefine Mathilde Niels Jens Per Torben Michael Jan "
    "Hans Jakob Simon Mathias Sebastian Tobias Magnus Lucas Victor Mohammed Ahmad Zainab "
    "Leyla Omar Ewa Piotr Ingrid Astrid Karl Benjamin Johanne Stine Tanja Brian"
)
MORE_LAST_NAMES = words(
    "Jeppesen Frandsen Mikkelsen Svendsen Iversen Eriksen Thomsen Lauridsen Kjeldsen "
    "Bruun Mogensen Bertelsen Nygaard Winther Krogh Skov Lykke Brandt Enevoldsen Bjerre "
    "Ali Nowak Abdi Schmidt Juhl Toft Bang"
)
ALL_FIRST_NAMES = FIRST_NAMES + [n for n in MORE_FIRST_NAMES if n not in FIRST_NAMES]
ALL_LAST_NAMES = LAST_NAMES + [n for n in MORE_LAST_NAMES if n not in LAST_NAMES]

# The demo's job functions, and a few more; the weights say how common each is.
NATIONAL_JOB_FUNCTIONS: list[tuple[str, str | None, int]] = [
    *[
        (job, profile, weight)
        for (job, profile), weight in zip(JOB_FUNCTIONS, (30, 12, 14, 10, 6, 4, 14), strict=True)
    ],
    ("Virksomhedskonsulent, rekruttering", "virksomhed", 5),
    ("Vejleder, kompetenceafklaring", "kompetencematch", 5),
    ("Sagsbehandler, ressourceforløb", "helhed", 5),
    ("Analytiker, beskæftigelse", "udvikling", 2),
    ("Administrativ medarbejder, ydelser", None, 6),
]

EXTRA_LOCAL_TASKS = [
    (
        10,
        "Læs jobcentrets beskæftigelsesplan",
        "Notér tre mål, der har betydning for din egen målgruppe.",
    ),
    (
        28,
        "Besøg en virksomhed sammen med en virksomhedskonsulent",
        "Læg mærke til, hvordan samarbejdet med virksomheden aftales.",
    ),
    (
        35,
        "Gennemgå fem af dine egne sager med din sparringspartner",
        "Brug den fælles tjekliste for sagsoplysning og partshøring.",
    ),
    (
        60,
        "Opfølgningssamtale med din leder",
        "Hvordan går introforløbet, og hvad har du brug for fremover?",
    ),
]

ROOMS = [
    "Kursussalen",
    "Mødecenter",
    "Undervisningslokale 2",
    "Store mødelokale",
    "Auditoriet",
    "Lokale 1.14",
]
STREETS = [
    "Rådhuspladsen",
    "Torvet",
    "Jernbanegade",
    "Stationsvej",
    "Kirkegade",
    "Nørregade",
    "Søndergade",
    "Vestergade",
    "Østergade",
    "Havnegade",
    "Skolevej",
    "Industrivej",
    "Kongensgade",
    "Algade",
]
MORE_TRANSFER_ANSWERS = [
    (
        "Jeg brugte spørgeteknikken i en opfølgningssamtale med en sygemeldt borger.",
        "Vi fik talt om arbejdsevnen i stedet for diagnosen, og borgeren foreslog selv en delvis raskmelding.",
    ),
    (
        "Jeg tog kontakt til to virksomheder i vores lokalområde.",
        "Den ene vil gerne tage en borger i praktik; den anden vil kontaktes igen efter sommer.",
    ),
    (
        "Jeg lavede en fælles plan med borgeren og en kollega fra socialområdet.",
        "Borgeren sagde, at det var første gang, alle talte sammen på én gang.",
    ),
]
MORE_REFLECTIONS = [
    "Lovgivningen fylder mere i hverdagen, end jeg havde troet – nu ved jeg, hvor jeg skal slå op.",
    "Jeg har fået øjnene op for, hvor meget borgerens egne ord betyder for planen.",
    "Det var godt at høre, hvordan de andre kommuner arbejder med virksomhedskontakten.",
    "Jeg vil bruge mere tid på forberedelsen af svære samtaler.",
    "Transferopgaven tvang mig til at prøve noget nyt, som jeg ellers ville have udskudt.",
    "Jeg deler skemaet med mit team på næste teammøde.",
]
EXCUSED_NOTES = ["Syg", "Barn syg", "Aftalt med leder", "Kursus i egen kommune", ""]
WITHDRAWAL_REASONS = [
    "Sygemeldt",
    "Orlov",
    "Barsel",
    "Nyt job i jobcentret uden introforløb",
    "Udskudt til et senere hold",
]
MOVE_REASONS = [
    "Flyttet: underviseren var syg",
    "Flyttet: lokalet var dobbeltbooket",
    "Flyttet efter ønske fra holdet",
]

# Tables the generator fills, in the order their rows can be inserted (foreign keys).
GENERATED_TABLES: list[type[Table]] = [
    Municipality,
    Partnership,
    PartnershipMember,
    Venue,
    Person,
    RoleGrant,
    InstructorQualification,
    ClosedPeriod,
    LocalTaskTemplate,
    Employment,
    Cohort,
    CohortSeats,
    CohortModule,
    Session,
    SessionInstructor,
    Enrolment,
    Attendance,
    PlanItem,
    Reflection,
    SelfAssessment,
]


class NotEmpty(Exception):
    """The database already holds data the national set would clash with."""


# --------------------------------------------------------------------------------------
# Small helpers


def slug(text: str) -> str:
    """An ASCII address part: 'Søren Kjær' -> 'soeren.kjaer'."""
    text = text.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = "".join(c if c.isalnum() else " " for c in text).split()
    return ".".join(words)


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def closed_periods(year: int) -> list[tuple[str, date, date]]:
    """A partnership's weeks without course days: winter and autumn school holidays
    (weeks 7 and 42), the summer (weeks 27-31) and Christmas."""
    return [
        ("Vinterferie", date.fromisocalendar(year, 7, 1), date.fromisocalendar(year, 7, 7)),
        ("Sommerferie", date.fromisocalendar(year, 27, 1), date.fromisocalendar(year, 31, 7)),
        ("Efterårsferie", date.fromisocalendar(year, 42, 1), date.fromisocalendar(year, 42, 7)),
        ("Jul og nytår", date(year, 12, 21), date(year + 1, 1, 3)),
    ]


def monday_from(day: date) -> date:
    """The day itself if a Monday, otherwise the next Monday."""
    return day + timedelta(days=(7 - day.weekday()) % 7)


@lru_cache(maxsize=65536)
def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Copenhagen on a local date, as a UTC instant."""
    return local_instant(day, time(hour, minute))


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights`, in whole numbers that add up."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


class Ids:
    """The next primary key of each table, counted in Python from the largest stored."""

    def __init__(self, start: dict[type[Table], int]):
        self._next = dict(start)

    @classmethod
    async def load(cls, tables_: Sequence[type[Table]]) -> Ids:
        start = {}
        for table in tables_:
            row = (
                await table.select(table._meta.primary_key)
                .order_by(table._meta.primary_key, ascending=False)
                .first()
            )
            start[table] = (row[table._meta.primary_key._meta.name] if row else 0) + 1
        return cls(start)

    def __call__(self, table: type[Table]) -> int:
        value = self._next[table]
        self._next[table] = value + 1
        return value


class Writer:
    """Bulk inserts through the connection of the current Piccolo transaction.

    Rows are tuples of the named columns; every other column gets its default from the
    table definition, as `Table.insert` would give it — except that a "now" default of a
    timestamp becomes `stamp`, so that the rows do not depend on when they were made."""

    BATCH = 5000

    def __init__(self, engine, stamp: datetime):
        self.engine = engine
        self.stamp = stamp
        self._tuned = False
        self._sql: dict[tuple[type[Table], tuple[str, ...]], tuple[str, tuple, list[str]]] = {}

    def _plan(self, table: type[Table], columns: tuple[str, ...]) -> tuple[str, tuple, list[str]]:
        key = (table, columns)
        if key not in self._sql:
            by_name = {c._meta.name: c for c in table._meta.columns}
            unknown = [c for c in columns if c not in by_name]
            if unknown:
                raise ValueError(f"{table.__name__} has no column {unknown}")
            extra_names, extra_values = [], []
            for name, column in by_name.items():
                if name in columns or column is table._meta.primary_key:
                    continue
                default = getattr(column, "default", None)
                if isinstance(default, Default):
                    if not isinstance(column, Timestamptz):
                        raise ValueError(f"{table.__name__}.{name} needs a value")
                    value = self.stamp
                else:
                    value = column.get_default_value()
                extra_names.append(name)
                extra_values.append(value)
            names = [by_name[c]._meta.db_column_name for c in columns] + [
                by_name[c]._meta.db_column_name for c in extra_names
            ]
            quoted = ", ".join(f'"{n}"' for n in names)
            marks = ", ".join("?" for _ in names)
            sql = f'INSERT INTO "{table._meta.tablename}" ({quoted}) VALUES ({marks})'
            self._sql[key] = (sql, tuple(extra_values), names)
        return self._sql[key]

    async def insert(self, table: type[Table], columns: Sequence[str], rows: list[tuple]) -> None:
        if not rows:
            return
        sql, extra, names = self._plan(table, tuple(columns))
        connection = self.engine.current_transaction.get().connection
        if self.engine.engine_type == "sqlite" and not self._tuned:
            # A big page cache for this connection only: index pages stay in memory
            # instead of being written out and read back for every batch.
            await connection.execute("PRAGMA cache_size = -262144")
            self._tuned = True
        for i in range(0, len(rows), self.BATCH):
            batch = [row + extra for row in rows[i : i + self.BATCH]]
            if self.engine.engine_type == "postgres":
                await connection.copy_records_to_table(
                    table._meta.tablename, records=batch, columns=names
                )
            else:
                await connection.executemany(sql, batch)

    async def fix_sequences(self, tables_: Sequence[type[Table]]) -> None:
        """PostgreSQL: ids were given here, so move each serial on past the largest."""
        if self.engine.engine_type != "postgres":
            return
        connection = self.engine.current_transaction.get().connection
        for table in tables_:
            name = table._meta.tablename
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                f'COALESCE((SELECT MAX(id) FROM "{name}"), 1), '
                f'(SELECT MAX(id) IS NOT NULL FROM "{name}"))'
            )


# --------------------------------------------------------------------------------------
# The plain data the generator works with


@dataclass
class PersonRow:
    id: int
    email: str
    full_name: str
    created_at: datetime
    password: bool = False
    last_login_at: datetime | None = None


@dataclass
class Job:
    """One employment."""

    id: int
    person: int
    municipality: int
    code: str
    job_function: str
    profile: str | None
    start: date
    end: date | None = None
    reason: str | None = None


@dataclass
class Spell:
    """Employments of one person linked by moves between member municipalities: one
    intro programme covers them all."""

    person: int
    partnership: int
    jobs: list[Job] = field(default_factory=list)

    @property
    def start(self) -> date:
        return self.jobs[0].start

    @property
    def end(self) -> date | None:
        return self.jobs[-1].end


@dataclass
class CohortPlan:
    id: int
    name: str
    start: date
    capacity: int
    rhythm: tuple[int, ...]
    day_start: time
    day_end: time
    status: str = "planning"
    sessions: list = field(default_factory=list)  # ProposedSession, by time
    session_ids: list[int] = field(default_factory=list)
    enrolments: list[EnrolmentPlan] = field(default_factory=list)

    @property
    def first_day(self) -> date | None:
        return self.sessions[0].day if self.sessions else None

    @property
    def last_day(self) -> date | None:
        return self.sessions[-1].day if self.sessions else None


@dataclass
class EnrolmentPlan:
    id: int
    person: int
    municipality: int
    spell: Spell
    status: str
    requested_at: datetime
    enrolled_at: datetime | None = None
    withdrawn_on: date | None = None
    withdrawal_reason: str = ""
    completed_at: datetime | None = None


@dataclass
class Summary:
    seed: int
    years: int
    scale: float
    today: date
    personas: list[tuple[str, str]]  # (what, e-mail)
    counts: dict[str, int]
    elapsed: float

    def lines(self) -> list[str]:
        out = [
            f"Landsdækkende demodata (seed {self.seed}, {self.years} år, skala {self.scale}, "
            f"i dag {self.today.isoformat()}):",
            "",
            f"Brugere med adgangskoden {DEMO_PASSWORD}:",
        ]
        width = max(len(what) for what, _ in self.personas)
        out += [f"  {what.ljust(width)}  {email}" for what, email in self.personas]
        out += ["", "Rækker pr. tabel:"]
        width = max(len(name) for name in self.counts)
        out += [
            f"  {name.ljust(width)}  {n:>9,}".replace(",", ".") for name, n in self.counts.items()
        ]
        out += ["", f"Tid: {self.elapsed:.1f} s"]
        return out


# --------------------------------------------------------------------------------------
# The generator


class _Names:
    """Danish-looking names and unique addresses in the fake domain."""

    def __init__(self, rng: random.Random, reserved: Sequence[str]):
        self.rng = rng
        self.used: Counter[str] = Counter(reserved)

    def full_name(self) -> str:
        rng = self.rng
        first = rng.choice(ALL_FIRST_NAMES)
        last = rng.choice(ALL_LAST_NAMES)
        if rng.random() < 0.2:
            middle = rng.choice(ALL_LAST_NAMES)
            if middle != last:
                return f"{first} {middle} {last}"
        return f"{first} {last}"

    def email(self, local_part: str) -> str:
        self.used[local_part] += 1
        n = self.used[local_part]
        return f"{local_part}@{DOMAIN}" if n == 1 else f"{local_part}{n}@{DOMAIN}"


class _Generator:
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
        self.names = _Names(rng, reserved)
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
                cohort.status = "completed"
            elif first_day <= self.today + timedelta(days=ACCEPTED_AHEAD_DAYS):
                cohort.status = "active"
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
                taken = sum(1 for e in cohort.enrolments if e.status != "withdrawn")
                if taken < cohort.capacity or (
                    cohort.status == "planning" and cohort is cohorts[-1]
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
                status="enrolled",
                requested_at=requested,
                enrolled_at=requested,
            )
            end = spell.end
            if end is not None and end < chosen.last_day and end < self.today:
                enrolment.status = "withdrawn"
                enrolment.withdrawn_on = end
                enrolment.withdrawal_reason = "Fratrådt"
            elif chosen.status == "completed":
                if rng.random() < 0.12:
                    enrolment.status = "withdrawn"
                    enrolment.withdrawn_on = rng.choice(chosen.sessions).day
                    enrolment.withdrawal_reason = rng.choice(WITHDRAWAL_REASONS)
                else:
                    enrolment.status = "completed"
                    done = chosen.last_day + timedelta(days=rng.randint(1, 14))
                    done = max(chosen.last_day, min(done, self.today - timedelta(days=1)))
                    enrolment.completed_at = at(done, 13) + timedelta(minutes=rng.randint(0, 180))
                    completed_before.add(spell.person)
            elif (
                chosen.status == "active" and chosen.first_day < self.today and rng.random() < 0.04
            ):
                past = [s.day for s in chosen.sessions if s.day < self.today]
                enrolment.status = "withdrawn"
                enrolment.withdrawn_on = rng.choice(past)
                enrolment.withdrawal_reason = rng.choice(WITHDRAWAL_REASONS)
            if enrolment.withdrawn_on is not None and at(enrolment.withdrawn_on, 12) < requested:
                enrolment.withdrawn_on = requested.date()
            chosen.enrolments.append(enrolment)

        for cohort in cohorts:
            holding = [e for e in cohort.enrolments if e.status != "withdrawn"]
            if cohort.status == "planning":
                # Over capacity, or a full cohort with a short wait-list.
                waiting = max(0, len(holding) - cohort.capacity)
                if not waiting and len(holding) >= 4 and rng.random() < 0.5:
                    waiting = rng.randint(1, 2)
                    cohort.capacity = len(holding) - waiting
                for e in sorted(holding, key=lambda e: (e.requested_at, e.person))[
                    len(holding) - waiting :
                ]:
                    e.status, e.enrolled_at = "waitlisted", None
            for e in cohort.enrolments:
                e.id = self.ids(Enrolment)

    # ---------------------------------------------------------------- plans and progress

    def cohort_items(self, cohort: CohortPlan) -> list:
        """The plan items every participant of the cohort gets (by `intro.participation.plan`'s rule);
        proposed course days are not in anyone's plan yet."""
        sessions = []
        if cohort.status != "planning":
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
                if e.status == "waitlisted":
                    continue
                stop = e.withdrawn_on if e.status == "withdrawn" else today
                # Attendance for course days that have been.
                if cohort.status != "planning":
                    chance = rng.choices(tendency, weights=tendency_weights)[0]
                    for sid, s in zip(cohort.session_ids, cohort.sessions, strict=True):
                        if s.day >= stop:
                            break
                        roll = rng.random()
                        if roll < chance * 0.55:
                            state, note = "absent", ""
                        elif roll < chance:
                            state, note = "excused", rng.choice(EXCUSED_NOTES)
                        else:
                            state, note = "present", ""
                        recorded = s.ends_at + timedelta(minutes=rng.randint(5, 240))
                        teacher = s.instructor_ids[0] if s.instructor_ids else p["coordinator"]
                        attendance.append(
                            (ids(Attendance), sid, e.person, state, recorded, teacher, note)
                        )
                # The plan: course days and transfer assignments; some write reflections.
                writes = rng.random() < 0.4
                changed = at(e.withdrawn_on, 12) if e.withdrawn_on else e.enrolled_at
                for spec in specs:
                    status, done_at = "open", None
                    tried = outcome = ""
                    shared = answered = None
                    if spec.kind == "transfer":
                        last = (
                            module_last_day.get(spec.module_id)
                            if cohort.status != "planning"
                            else None
                        )
                        if last is not None and last < stop:
                            likely = 0.9 if e.status == "completed" else 0.72
                            if rng.random() < likely:
                                day = min(
                                    last + timedelta(days=rng.randint(1, 20)),
                                    stop - timedelta(days=1),
                                )
                                day = max(day, last)
                                answered = at(day, 15) + timedelta(minutes=rng.randint(0, 300))
                                status, done_at = "done", answered
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
                    if status == "open" and e.status == "withdrawn":
                        status = "dropped"
                    updated = answered or (changed if status == "dropped" else e.enrolled_at)
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
                if cohort.status == "planning" or e.person in assessed or cohort.first_day >= stop:
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
                end = e.status == "completed" and rng.random() < 0.75
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
                    status, done_at = "open", None
                    if due < stop and rng.random() < 0.85:
                        day = due + timedelta(days=rng.randint(-6, 4))
                        day = min(
                            max(day, job.start), stop - timedelta(days=1) if job.end else today
                        )
                        status, done_at = (
                            "done",
                            at(day, 11) + timedelta(minutes=rng.randint(0, 300)),
                        )
                    elif job.end is None and due >= today and rng.random() < 0.15:
                        day = job.start + timedelta(
                            days=rng.randint(0, max(0, (today - job.start).days))
                        )
                        status, done_at = "done", at(day, 11)
                    elif job.end is not None:
                        status = "dropped"
                    updated = done_at or (
                        at(job.end, 12) if status == "dropped" else at(job.start, 8)
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
                if e.status == "completed":
                    day = min(
                        cohort.last_day + timedelta(days=rng.randint(0, 60)),
                        today - timedelta(days=1),
                    )
                    person.last_login_at = at(day, 8) + timedelta(minutes=rng.randint(0, 600))
                elif e.status == "enrolled" and cohort.status == "active":
                    days = rng.randint(0, 9) if rng.random() < 0.85 else rng.randint(22, 40)
                    person.last_login_at = at(today - timedelta(days=days), 8) + timedelta(
                        minutes=rng.randint(0, 480)
                    )
                    past = sum(1 for s in cohort.sessions if s.day < today)
                    if e.spell.end is None:
                        candidates.append((-past, cohort.start, e.person, e))
        active = [c for c in cohorts if c.status == "active"]
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
                "enrolled",
                requested,
                requested,
            )
            target.enrolments.append(e)
            person.last_login_at = at(today - timedelta(days=1), 9)
            candidates.append((0, target.start, person.id, e))
        if not candidates:
            for cohort in cohorts:
                for e in cohort.enrolments:
                    if e.status in ("enrolled", "completed") and e.spell.end is None:
                        candidates.append((0, cohort.start, e.person, e))
        if candidates:
            chosen = min(candidates, key=lambda c: (c[0], c[1], c[2]))[3]
            person = self.people[chosen.person]
            person.email = f"deltager.{p['slug']}@{DOMAIN}"
            person.password = True
            self.personas.append((f"deltager, {p['name']}", person.email))

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
                    if e.status in ("enrolled", "completed")
                )
                population = p["population"]
                whole = sum(population.values())
                for m in p["members"]:
                    fair = math.floor(cohort.capacity * 0.75 * population[m] / whole)
                    seat_rows.append((self.ids(CohortSeats), cohort.id, m, min(fair, holding[m])))
                for m in self.modules:
                    module_rows.append((self.ids(CohortModule), cohort.id, m["id"]))
                proposed = cohort.status == "planning"
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
                            "proposed" if proposed else "scheduled",
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
