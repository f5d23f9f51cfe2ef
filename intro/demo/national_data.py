"""The national demo data's fixed facts and plain rows: the 98 municipalities and the
partnerships they form, names, rooms and texts to draw from, the tables it fills, small date
helpers, and the plain dataclasses the generator works with (no database).
"""

from __future__ import annotations

import math
import random
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from piccolo.table import Table

from intro.demo.west_zealand import DEMO_PASSWORD, FIRST_NAMES, JOB_FUNCTIONS, LAST_NAMES
from intro.tables import (
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
    status: str = CohortStatus.planning.value
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




class Names:
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
