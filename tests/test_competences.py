"""The chief's competence overview: start against end, small groups never shown."""

from __future__ import annotations

from intro.insight.competences import summarise, weakest
from tests.conftest import login

COMPETENCES = {1: ("Lovgrundlag", "Basisprofil"), 2: ("Samtale", "Basisprofil")}


def test_means_and_change_for_groups_of_five_or_more():
    ratings = [(p, 1, "start", 2) for p in range(5)] + [(p, 1, "end", 4) for p in range(5)]
    ratings += [(p, 2, "start", 3) for p in range(5)] + [(p, 2, "end", 4) for p in range(4)]
    lov, samtale = summarise(ratings, COMPETENCES)
    assert (lov.start_mean, lov.end_mean, lov.change) == (2.0, 4.0, 2.0)
    # Only four rated Samtale at the end: that figure and the change are suppressed.
    assert (samtale.start_mean, samtale.end_mean, samtale.change, samtale.end_n) == (3.0, None, None, 4)
    assert [f.name for f in weakest([lov, samtale])] == ["Samtale", "Lovgrundlag"]


def test_a_group_of_four_shows_nothing():
    [only] = summarise([(p, 1, "start", 1) for p in range(4)], {1: COMPETENCES[1]})
    assert only.start_mean is None and weakest([only]) == []


async def test_the_chief_page_shows_figures_and_suppresses_small_groups(demo_client):
    await login(demo_client, "chef.naestved@intro.example")
    page = await demo_client.get("/competences")
    assert page.status_code == 200
    assert "Næstved Kommune" in page.text
    assert "n=" in page.text  # enough Næstved hires rated themselves at the start
    await login(demo_client, "koordinator@intro.example")
    assert (await demo_client.get("/competences")).status_code == 403
