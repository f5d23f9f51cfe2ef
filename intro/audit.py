"""The audit log: who changed what, and when. Every named operation that changes
personal data or the organisation calls `record` inside its own transaction, so the
change and its log line are written together or not at all. Administrators read it
a page at a time (`log_page`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from intro.i18n import _
from intro.tables import AuditLog

PAGE_SIZE = 100

# What the log's codes mean, for people reading it. A code missing here is shown as it is.
ACTION_NAMES = {
    "person.create": _("Bruger oprettet"),
    "person.set_password": _("Adgangskode skiftet"),
    "person.set_active": _("Adgang ændret"),
    "role.grant": _("Rolle givet"),
    "role.revoke": _("Rolle fjernet"),
    "municipality.create": _("Kommune oprettet"),
    "partnership.create": _("Samarbejde oprettet"),
    "partnership.set_members": _("Medlemskommuner ændret"),
    "venue.create": _("Lokation oprettet"),
    "curriculum.load": _("Læreplan indlæst"),
    "curriculum.add_local_module": _("Lokalt modul tilføjet"),
    "cohort.create": _("Hold oprettet"),
    "cohort.propose": _("Køreplan foreslået"),
    "cohort.accept": _("Køreplan godkendt"),
    "session.move": _("Kursusdag flyttet"),
    "session.cancel": _("Kursusdag aflyst"),
    "session.edit_proposal": _("Foreslået kursusdag ændret"),
    "demo.seed": _("Demodata indlæst"),
    "enrolment.create": _("Tilmeldt hold"),
    "enrolment.withdraw": _("Afmeldt hold"),
    "enrolment.move_up": _("Rykket op fra venteliste"),
    "enrolment.complete": _("Gennemførelse bekræftet"),
    "attendance.mark": _("Fremmøde registreret"),
    "catch_up.book": _("Booket til indhentning"),
    "closed_period.add": _("Lukkeperiode tilføjet"),
    "closed_period.remove": _("Lukkeperiode fjernet"),
    "instructor.qualifications": _("Undervisers moduler ændret"),
    "plan.task_done": _("Lokal opgave gjort"),
    "plan.task_reopened": _("Lokal opgave genåbnet"),
    "plan.transfer_answered": _("Transferopgave besvaret"),
    "reflection.add": _("Refleksion skrevet"),
    "self_assessment.save": _("Selvvurdering gemt"),
    "task_template.add": _("Lokal opgave tilføjet skabelonen"),
    "task_template.update": _("Lokal opgave i skabelonen ændret"),
    "task_template.active": _("Lokal opgave taget ud eller med"),
    "busy_calendar.add": _("Optaget-kalender tilføjet"),
    "busy_calendar.refresh": _("Optaget-kalender læst igen"),
    "busy_calendar.refresh_failed": _("Optaget-kalender kunne ikke læses"),
    "busy_calendar.remove": _("Optaget-kalender fjernet"),
    "employment.create": _("Ansættelse oprettet"),
    "employment.update": _("Ansættelse ændret"),
    "employment.end": _("Ansættelse afsluttet"),
    "employment_import.commit": _("Ansættelser indlæst fra fil"),
    "api_token.create": _("API-nøgle oprettet"),
    "api_token.revoke": _("API-nøgle tilbagekaldt"),
    "dashboard.export_people": _("Liste over nyansatte hentet som fil"),
}
OBJECT_TYPE_NAMES = {
    "person": _("Bruger"),
    "municipality": _("Kommune"),
    "partnership": _("Samarbejde"),
    "venue": _("Lokation"),
    "curriculum_version": _("Læreplansversion"),
    "module": _("Modul"),
    "cohort": _("Hold"),
    "session": _("Kursusdag"),
    "enrolment": _("Tilmelding"),
    "plan_item": _("Punkt i introforløb"),
    "reflection": _("Refleksion"),
    "employment": _("Ansættelse"),
    "employment_import": _("Filindlæsning"),
    "api_token": _("API-nøgle"),
}


async def record(
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int | str | None = None,
    **details: Any,
) -> None:
    await AuditLog.insert(
        AuditLog(
            actor=actor_id,
            action=action,
            object_type=object_type,
            object_id="" if object_id is None else str(object_id),
            details=details,
        )
    )


# --------------------------------------------------------------------------------------
# Reading the log


def _looks_secret(key: str, value: Any) -> bool:
    # Operations never log a password or its hash; this holds the line should one
    # slip into a future operation's details.
    lowered = key.lower()
    if "hash" in lowered or lowered in ("password", "token", "secret"):
        return True
    return isinstance(value, str) and value.startswith("$argon2")


def _shown(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return _("ja") if value else _("nej")
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value) if value else "–"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def detail_items(details: Any) -> list[tuple[str, str]]:
    """A log line's details as (key, text) pairs to show, secrets left out."""
    if isinstance(details, str):
        try:
            details = json.loads(details or "{}")
        except ValueError:
            return [("details", details)]
    if not isinstance(details, dict):
        return [] if details is None else [("details", _shown(details))]
    return [(k, _shown(v)) for k, v in details.items() if not _looks_secret(k, v)]


@dataclass(frozen=True)
class LogPage:
    entries: list[dict]  # each with "actor_name" and "items" (the details to show)
    page: int
    pages: int
    total: int


async def log_page(page: int = 1, object_type: str | None = None) -> LogPage:
    """One page of the log, newest first, optionally of one object type only."""
    page = min(max(page, 1), 1_000_000)  # a page number past the end shows an empty page
    query = AuditLog.select(
        AuditLog.id,
        AuditLog.occurred_at,
        AuditLog.action,
        AuditLog.object_type,
        AuditLog.object_id,
        AuditLog.details,
        AuditLog.actor,
        AuditLog.actor.full_name.as_alias("actor_name"),
    ).order_by(AuditLog.occurred_at, AuditLog.id, ascending=False)
    count = AuditLog.count()
    if object_type:
        query = query.where(AuditLog.object_type == object_type)
        count = count.where(AuditLog.object_type == object_type)
    total = await count
    entries = await query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    for entry in entries:
        entry["items"] = detail_items(entry.pop("details"))
    return LogPage(entries=entries, page=page, pages=max(1, -(-total // PAGE_SIZE)), total=total)


async def object_types() -> list[str]:
    rows = await AuditLog.select(AuditLog.object_type).distinct().order_by(AuditLog.object_type)
    return [r["object_type"] for r in rows]
