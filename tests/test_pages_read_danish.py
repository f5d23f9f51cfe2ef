"""Pages that read as a Danish user expects (issue 18 §3): decimal commas, plurals, cohorts
in date order and newest first, a sentence on what each dashboard figure means, and
messages that say what is actually wrong."""

from __future__ import annotations

import re
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from intro import clock
from intro.hr.employments import EmploymentRecord, check_record
from intro.tables import Cohort, Session
from intro.timefmt import da_decimal
from tests.conftest import login

TEXT = re.compile(r">([^<]*)<")


def visible_text(html: str) -> str:
    body = html.split("<body", 1)[1]
    return " ".join(TEXT.findall(re.sub(r"<(script|style)\b.*?</\1>", "", body, flags=re.S)))


def test_decimals_the_danish_way():
    assert [da_decimal(v) for v in (3.1, 3, 12.04, 0.0, -0.04)] == ["3,1", "3,0", "12,0", "0,0", "0,0"]
    assert [da_decimal(v, 1, True) for v in (0.4, -0.2, 0)] == ["+0,4", "−0,2", "0,0"]
    assert da_decimal(None) == ""


@given(st.floats(min_value=-1000, max_value=1000, allow_nan=False), st.integers(min_value=0, max_value=3), st.booleans())
def test_a_danish_decimal_reads_back_as_the_rounded_number(value, places, sign):
    text = da_decimal(value, places, sign)
    assert "." not in text and text.count(",") == (1 if places else 0)
    back = float(text.replace("−", "-").replace(",", "."))
    assert back == round(value, places) or abs(back - round(value, places)) < 10 ** -places


async def test_competences_show_decimal_commas(demo_client):
    await login(demo_client, "chef.naestved@intro.example")
    page = await demo_client.get("/competences")
    assert page.status_code == 200 and "n=" in page.text
    text = visible_text(page.text)
    assert not re.search(r"\d\.\d", text), re.search(r".{20}\d\.\d.{20}", text).group(0)
    assert re.search(r"\d,\d", text)


async def test_the_dashboard_lists_cohorts_by_date_and_says_what_each_figure_means(demo_client):
    await login(demo_client, "chef.slagelse@intro.example")
    page = await demo_client.get(f"/dashboard?fra={clock.today().year - 8}")
    assert page.status_code == 200
    starts = {c["name"]: c["start_date"] for c in await Cohort.select(Cohort.name, Cohort.start_date)}
    tables = re.findall(r'<caption id="split-(?:own|partnership)-1-caption">.*?</table>', page.text, re.S)
    assert tables
    for table in tables:
        labels = [label.strip() for label in re.findall(r'<th scope="row">([^<]+)', table)]
        cohorts = [label for label in labels if label in starts]
        assert len(cohorts) >= 2
        assert [starts[c] for c in cohorts] == sorted(starts[c] for c in cohorts), cohorts
        assert labels[: len(cohorts)] == cohorts  # "Ikke tilmeldt hold" last
    cards = re.search(r'<ul class="cards stats">(.*?)</ul>', page.text, re.S).group(1)
    assert cards.count('class="card"') == cards.count('class="explain"') >= 4


async def test_the_coordinator_start_page_lists_cohorts_newest_first_as_links(demo_client):
    await login(demo_client, "koordinator@intro.example")
    page = await demo_client.get("/")
    ids = [int(i) for i in re.findall(r'<th scope="row"><a href="/cohorts/(\d+)">', page.text)]
    starts = {c["id"]: c["start_date"] for c in await Cohort.select(Cohort.id, Cohort.start_date)}
    assert len(ids) == len(starts)
    assert [starts[i] for i in ids] == sorted(starts.values(), reverse=True)


async def test_a_changed_course_day_says_gang_or_gange(demo_client):
    cohort = await Cohort.select(Cohort.id).where(Cohort.status == "active").first()
    first, second = await Session.select(Session.id).where(Session.cohort == cohort["id"]).order_by(Session.id).limit(2)
    await Session.update({Session.revision: 1}).where(Session.id == first["id"])
    await Session.update({Session.revision: 3}).where(Session.id == second["id"])
    await login(demo_client, "koordinator@intro.example")
    page = await demo_client.get(f"/cohorts/{cohort['id']}")
    assert "gang(e)" not in page.text
    assert "ændret 1 gang)" in page.text and "ændret 3 gange)" in page.text


def test_an_empty_email_is_missing_not_invalid():
    record = EmploymentRecord(
        external_ref="A1", full_name="Bo Berg", email="", municipality_code="330",
        job_function="Jobkonsulent", start_date=date(2026, 3, 1),
    )
    errors = check_record(record, codes={"330": 1}, profiles=set(), allowed=None)
    assert errors["email"] == "E-mailadressen mangler."
    bad = check_record(
        EmploymentRecord(**{**record.__dict__, "email": "bo.berg"}), codes={"330": 1}, profiles=set(), allowed=None
    )
    assert bad["email"] == "'bo.berg' er ikke en e-mailadresse."
