"""Local toning of the shared profiles (issue 17): a municipality's own description of a
shared profile and its own competences on top of the shared ones.

The source articles describe municipalities toning the shared professional profiles to
their own work. The shared curriculum version is not changed: toning lives beside it
(`ProfileToning`, and `Competence` rows with `municipality` set), so the version's file
content and content hash stay the same. A municipality's people self-assess its own
competences with the shared ones (`participation.competences_to_assess`), and its chief
sees them in the competence overview, which reads the self-assessments.
"""

from __future__ import annotations

from typing import Any

from intro import audit, clock
from intro.curriculum.versions import CODE_PATTERN
from intro.db import write_transaction
from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.tables import Competence, Municipality, Profile, ProfileToning


async def toning(profile_id: int, municipality_id: int) -> dict:
    """The profile, the municipality's description of it and its local competences.
    Raises NotFound for an unknown profile or municipality."""
    profile = await Profile.select().where(Profile.id == profile_id).first()
    municipality = await Municipality.select(Municipality.id, Municipality.name).where(
        Municipality.id == municipality_id
    ).first()
    if profile is None or municipality is None:
        raise NotFound()
    row = await ProfileToning.select(ProfileToning.description).where(
        (ProfileToning.profile == profile_id) & (ProfileToning.municipality == municipality_id)
    ).first()
    shared = await Competence.select(Competence.code, Competence.name).where(
        (Competence.profile == profile_id) & Competence.municipality.is_null()
    ).order_by(Competence.position)
    local = await Competence.select(Competence.id, Competence.code, Competence.name, Competence.description).where(
        (Competence.profile == profile_id) & (Competence.municipality == municipality_id)
    ).order_by(Competence.position)
    return {
        "profile": profile,
        "municipality": municipality,
        "description": row["description"] if row else "",
        "shared": shared,
        "local": local,
    }


def competence_rows(form: dict[str, Any]) -> list[dict[str, str]]:
    """The competence rows of the toning form; a wholly empty row is no row."""
    def column(name: str) -> list[str]:
        value = form.get(name, [])
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    codes, names, texts = column("competence_code"), column("competence_name"), column("competence_description")
    rows = []
    for i in range(max(len(codes), len(names), len(texts))):
        row = {
            "code": (codes[i] if i < len(codes) else "").strip(),
            "name": (names[i] if i < len(names) else "").strip(),
            "description": (texts[i] if i < len(texts) else "").strip(),
        }
        if any(row.values()):
            rows.append(row)
    return rows


async def save_toning(actor_id: int | None, profile_id: int, municipality_id: int, form: dict[str, Any]) -> None:
    """Save the municipality's description of the profile and its local competences
    (rows of competence_code/_name/_description). A local competence keeps its code once
    made (people's self-assessments point at it): existing ones get their new name and
    description, new codes are added; a code must be new in the whole version. All or
    nothing; raises Invalid naming the field."""
    current = await toning(profile_id, municipality_id)
    version_id = current["profile"]["curriculum_version"]
    existing = {c["code"]: c for c in current["local"]}
    taken = {
        r["code"]
        for r in await Competence.select(Competence.code).where(Competence.curriculum_version == version_id)
    }
    rows = competence_rows(form)
    errors: dict[str, str] = {}
    seen: set[str] = set()
    for i, row in enumerate(rows, start=1):
        if not CODE_PATTERN.match(row["code"]):
            errors.setdefault("competences", _("Række {n}: koden må kun have små bogstaver a-z, cifre og bindestreg.").format(n=i))
        elif row["code"] in seen or (row["code"] in taken and row["code"] not in existing):
            errors.setdefault("competences", _("Række {n}: koden '{code}' er brugt før.").format(n=i, code=row["code"]))
        if not row["name"]:
            errors.setdefault("competences", _("Række {n}: skriv kompetencens navn.").format(n=i))
        seen.add(row["code"])
    missing = sorted(set(existing) - seen)
    if missing:
        errors.setdefault(
            "competences",
            _("En lokal kompetence kan ikke fjernes, for selvvurderinger peger på den: {codes}.").format(codes=", ".join(missing)),
        )
    description = str(form.get("description", "")).strip()[:4000]
    if errors:
        raise Invalid(errors)
    async with write_transaction(ProfileToning._meta.db):
        found = await ProfileToning.select(ProfileToning.id).where(
            (ProfileToning.profile == profile_id) & (ProfileToning.municipality == municipality_id)
        ).first()
        if found:
            await ProfileToning.update({ProfileToning.description: description, ProfileToning.updated_at: clock.now()}).where(
                ProfileToning.id == found["id"]
            )
        else:
            await ProfileToning.insert(
                ProfileToning(profile=profile_id, municipality=municipality_id, description=description)
            )
        for position, row in enumerate(rows, start=100):
            if row["code"] in existing:
                await Competence.update(
                    {Competence.name: row["name"], Competence.description: row["description"], Competence.position: position}
                ).where(Competence.id == existing[row["code"]]["id"])
            else:
                await Competence.insert(
                    Competence(
                        curriculum_version=version_id, profile=profile_id, code=row["code"], name=row["name"],
                        description=row["description"], position=position, municipality=municipality_id,
                    )
                )
        await audit.record(
            actor_id, "profile.tone", "profile", profile_id, municipality=municipality_id,
            description=description, competences=[r["code"] for r in rows],
        )


async def descriptions_for(municipality_id: int, profile_ids: list[int]) -> dict[int, str]:
    """profile id -> the municipality's own description, where it has one."""
    if not profile_ids:
        return {}
    rows = await ProfileToning.select(ProfileToning.profile, ProfileToning.description).where(
        (ProfileToning.municipality == municipality_id) & ProfileToning.profile.is_in(profile_ids)
    )
    return {r["profile"]: r["description"] for r in rows if r["description"]}
