"""Where a municipality's new hires stand per competence, start against end, from
their self-assessments — the "competence gaps" chiefs ask about.

`summarise` is pure. Groups under MIN_GROUP people are never shown: their figures
come back as None, so no one's own rating can be read out of a small group.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import mean

from intro.tables import Competence, Employment, SelfAssessment

MIN_GROUP = 5


@dataclass(frozen=True)
class CompetenceFigure:
    competence_id: int
    name: str
    profile: str
    start_n: int
    start_mean: float | None  # None: fewer than MIN_GROUP people
    end_n: int
    end_mean: float | None
    change: float | None  # end - start for the people rated at both, when enough


def summarise(
    ratings: list[tuple[int, int, str, int]],  # (person, competence, phase, score)
    competences: dict[int, tuple[str, str]],  # id -> (name, profile name)
    min_group: int = MIN_GROUP,
) -> list[CompetenceFigure]:
    by: dict[int, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    for person, competence, phase, score in ratings:
        by[competence][phase][person] = score
    figures = []
    for competence_id, (name, profile) in competences.items():
        start, end = by[competence_id]["start"], by[competence_id]["end"]
        both = [p for p in start if p in end]
        figures.append(
            CompetenceFigure(
                competence_id=competence_id,
                name=name,
                profile=profile,
                start_n=len(start),
                start_mean=round(mean(start.values()), 1) if len(start) >= min_group else None,
                end_n=len(end),
                end_mean=round(mean(end.values()), 1) if len(end) >= min_group else None,
                change=round(mean(end[p] - start[p] for p in both), 1) if len(both) >= min_group else None,
            )
        )
    return figures


def weakest(figures: list[CompetenceFigure], n: int = 3) -> list[CompetenceFigure]:
    """The competences rated lowest (latest phase with enough people)."""
    rated = [(f.end_mean if f.end_mean is not None else f.start_mean, f) for f in figures]
    rated = [(score, f) for score, f in rated if score is not None]
    return [f for _score, f in sorted(rated, key=lambda x: (x[0], x[1].name))[:n]]


async def municipality_overview(municipality_id: int) -> list[CompetenceFigure]:
    """Self-assessments of people employed in the municipality (now or before)."""
    people = sorted(
        {
            r["person"]
            for r in await Employment.select(Employment.person).where(Employment.municipality == municipality_id)
        }
    )
    if not people:
        return []
    rows = await SelfAssessment.select(
        SelfAssessment.person, SelfAssessment.competence, SelfAssessment.phase, SelfAssessment.score
    ).where(SelfAssessment.person.is_in(people))
    ids = sorted({r["competence"] for r in rows})
    if not ids:
        return []
    competences = {
        c["id"]: (c["name"], c["profile_name"])
        for c in await Competence.select(
            Competence.id, Competence.name, Competence.profile.name.as_alias("profile_name"),
            Competence.profile.position.as_alias("pp"), Competence.position,
        ).where(Competence.id.is_in(ids)).order_by(Competence.profile.position).order_by(Competence.position)
    }
    return summarise([(r["person"], r["competence"], r["phase"], r["score"]) for r in rows], competences)
