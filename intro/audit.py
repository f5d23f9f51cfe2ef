"""The audit log: who changed what, and when. Every named operation that changes
personal data or the organisation calls `record` inside its own transaction, so the
change and its log line are written together or not at all. Administrators read it
a page at a time (`log_page`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from intro.db import insert_many
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
    "municipality.update": _("Kommune rettet"),
    "municipality.retire": _("Kommune udgået eller taget i brug igen"),
    "partnership.update": _("Samarbejde rettet"),
    "partnership.retire": _("Samarbejde udgået eller taget i brug igen"),
    "venue.update": _("Lokation rettet"),
    "venue.set_active": _("Lokation taget ud af eller i brug"),
    "person.update": _("Navn eller e-mail rettet"),
    "partnership.create": _("Samarbejde oprettet"),
    "partnership.set_members": _("Medlemskommuner ændret"),
    "partnership.membership_add": _("Medlemskab registreret"),
    "partnership.membership_end": _("Medlemskab afsluttet"),
    "venue.create": _("Lokation oprettet"),
    "curriculum.load": _("Læreplan indlæst"),
    "curriculum.add_local_module": _("Lokalt modul tilføjet"),
    "curriculum.draft_start": _("Udkast til læreplan startet"),
    "curriculum.draft_upload": _("Læreplan lagt op som udkast"),
    "curriculum.draft_edit": _("Udkast til læreplan rettet"),
    "curriculum.draft_remove": _("Element fjernet fra udkast"),
    "curriculum.draft_discard": _("Udkast til læreplan kasseret"),
    "curriculum.draft_download": _("Udkast hentet som fil"),
    "curriculum.publish": _("Udkast udgivet som ny version"),
    "curriculum.download": _("Læreplan hentet som fil"),
    "notice.resend": _("Besked sendt igen"),
    "curriculum.update_local_module": _("Lokalt modul rettet"),
    "curriculum.retire_local_module": _("Lokalt modul udgået eller taget i brug igen"),
    "profile.tone": _("Profil tonet lokalt"),
    "cohort.create": _("Hold oprettet"),
    "cohort.propose": _("Køreplan foreslået"),
    "cohort.accept": _("Køreplan godkendt"),
    "session.move": _("Kursusdag flyttet"),
    "session.cancel": _("Kursusdag aflyst"),
    "session.edit_proposal": _("Foreslået kursusdag ændret"),
    "session.override": _("Kursusdag gemt trods konflikt"),
    "demo.seed": _("Demodata indlæst"),
    "enrolment.create": _("Tilmeldt hold"),
    "enrolment.withdraw": _("Afmeldt hold"),
    "enrolment.move_up": _("Rykket op fra venteliste"),
    "enrolment.move": _("Flyttet til andet hold"),
    "cohort.change_places": _("Holdets pladser ændret"),
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
    "person.export": _("Personens data udleveret (indsigt)"),
    "person.restrict": _("Behandling af personens data begrænset"),
    "person.unrestrict": _("Begrænsning af behandling ophævet"),
    "person.anonymise": _("Person anonymiseret"),
    "person.access_ended": _("Adgang ophørt: ingen ansættelse længere"),
    "feed.create": _("Kalenderadresse oprettet"),
    "feed.regenerate": _("Kalenderadresse fornyet"),
    "feed.revoke": _("Kalenderadresse stoppet"),
    "feed.revoke_all": _("Alle kalenderadresser stoppet"),
    "demo.national": _("Landsdækkende demodata indlæst"),
    "identity_provider.save": _("Kommunalt login indstillet"),
    "person.sign_in_provider": _("Logget ind gennem kommunens login"),
    "second_factor.enable": _("Totrinsbekræftelse slået til"),
    "second_factor.disable": _("Totrinsbekræftelse slået fra"),
    "second_factor.recovery_codes": _("Nye gendannelseskoder lavet"),
    "second_factor.recovery_code_used": _("Gendannelseskode brugt"),
    "session.end": _("Log-in afsluttet"),
    "session.end_all": _("Alle log-ins afsluttet"),
}
OBJECT_TYPE_NAMES = {
    "person": _("Bruger"),
    "curriculum_draft": _("Udkast til læreplan"),
    "notice": _("Besked"),
    "profile": _("Profil"),
    "feed": _("Kalenderadresse"),
    "installation": _("Installation"),
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


async def record_many(lines: list[tuple[int | None, str, str, int | str | None, dict]]) -> None:
    """Many lines at once, in the order given: (actor_id, action, object_type, object_id,
    details) each, as `record` writes one. For bulk writes (an HR import of thousands of
    rows); must run inside the writing transaction (`intro.db.insert_many`)."""
    await insert_many(AuditLog, [
        {
            "actor": actor_id, "action": action, "object_type": object_type,
            "object_id": "" if object_id is None else str(object_id), "details": details,
        }
        for actor_id, action, object_type, object_id, details in lines
    ])


BULK = 400  # rows per multi-row insert: inside SQLite's and PostgreSQL's parameter limits


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
    entries: list[dict]  # each with "actor_name", "object_label" and "items" (the details to show)
    page: int
    pages: int
    total: int


# Detail keys in Danish; a key missing here is shown as it is.
DETAIL_NAMES = {
    "person": _("Person"),
    "municipality": _("Kommune"),
    "partnership": _("Samarbejde"),
    "cohort": _("Hold"),
    "session": _("Kursusdag"),
    "missed_session": _("Forsømt kursusdag"),
    "role": _("Rolle"),
    "status": _("Status"),
    "source": _("Kilde"),
    "reason": _("Årsag"),
    "name": _("Navn"),
    "email": _("E-mail"),
    "full_name": _("Navn"),
    "active": _("Aktiv"),
    "count": _("Antal"),
    "format": _("Format"),
    "people": _("Personer"),
    "kind": _("Slags"),
    "job_function": _("Stilling"),
    "profile_code": _("Fagprofil"),
    "start_date": _("Start"),
    "end_date": _("Slut"),
    "end_reason": _("Fratrædelsesårsag"),
    "external_ref": _("HR-systemets id"),
    "password_set": _("Adgangskode sat"),
    "feeds_stopped": _("Kalenderadresser stoppet"),
    "last_day": _("Sidste dag"),
    "members": _("Medlemmer"),
    "rows": _("Rækker"),
}
# Stored codes shown in Danish, per detail key.
_VALUE_NAMES = {
    "status": {
        "present": _("til stede"), "absent": _("fraværende"), "excused": _("afbud"),
        "enrolled": _("tilmeldt"), "waitlisted": _("på venteliste"), "withdrawn": _("afmeldt"),
        "completed": _("gennemført"),
    },
    "reason": {
        "employment_ended": _("ansættelsen er ophørt"), "request": _("efter anmodning"),
        "retention": _("slettefrist efter fratræden"),
    },
}
# Keys whose values are ids of these tables, shown by name.
_ID_KEYS = {"person": "person", "municipality": "municipality", "partnership": "partnership",
            "cohort": "cohort", "session": "session", "missed_session": "session"}


async def _names(ids: dict[str, set[int]]) -> dict[str, dict[int, str]]:
    """Readable names of the objects a page of the log mentions, a query per kind."""
    from intro.tables import (
        ApiToken,
        Cohort,
        Employment,
        Municipality,
        Partnership,
        Person,
        Session,
        Venue,
    )

    names: dict[str, dict[int, str]] = {}

    async def fetch(kind: str, query, label) -> None:
        wanted = sorted(ids.get(kind, ()))
        names[kind] = {}
        for start in range(0, len(wanted), 900):
            for row in await query(wanted[start:start + 900]):
                names[kind][row["id"]] = label(row)

    await fetch("person", lambda c: Person.select(Person.id, Person.full_name).where(Person.id.is_in(c)),
                lambda r: r["full_name"])
    await fetch("municipality", lambda c: Municipality.select(Municipality.id, Municipality.name).where(Municipality.id.is_in(c)),
                lambda r: r["name"])
    await fetch("partnership", lambda c: Partnership.select(Partnership.id, Partnership.name).where(Partnership.id.is_in(c)),
                lambda r: r["name"])
    await fetch("cohort", lambda c: Cohort.select(Cohort.id, Cohort.name).where(Cohort.id.is_in(c)),
                lambda r: r["name"])
    await fetch("venue", lambda c: Venue.select(Venue.id, Venue.name).where(Venue.id.is_in(c)),
                lambda r: r["name"])
    await fetch(
        "session",
        lambda c: Session.select(Session.id, Session.module.title.as_alias("title"), Session.cohort.name.as_alias("cohort"),
                                 Session.starts_at).where(Session.id.is_in(c)),
        lambda r: f"{r['title']}, {r['cohort']}, {_local_day(r['starts_at'])}",
    )
    await fetch(
        "employment",
        lambda c: Employment.select(Employment.id, Employment.person.full_name.as_alias("name"),
                                    Employment.municipality.name.as_alias("municipality")).where(Employment.id.is_in(c)),
        lambda r: _("{name} i {municipality}").format(name=r["name"], municipality=r["municipality"]),
    )
    await fetch(
        "api_token",
        lambda c: ApiToken.select(ApiToken.id, ApiToken.name).where(ApiToken.id.is_in(c)),
        lambda r: r["name"],
    )
    return names


def _local_day(value) -> str:
    from intro.timefmt import local

    return local(value).strftime("%d-%m-%Y")


async def _api_token_makers(names: set[str]) -> dict[str, str]:
    """For details like source "api:<token name>": who made a token of that name (all
    makers, should several tokens share the name)."""
    from intro.tables import ApiToken

    makers: dict[str, set[str]] = {}
    if names:
        for row in await ApiToken.select(ApiToken.name, ApiToken.created_by.full_name.as_alias("maker")).where(
            ApiToken.name.is_in(sorted(names))
        ):
            makers.setdefault(row["name"], set()).add(row["maker"] or _("ukendt"))
    return {name: ", ".join(sorted(who)) for name, who in makers.items()}


def _parsed(details: Any) -> dict:
    if isinstance(details, str):
        try:
            details = json.loads(details or "{}")
        except ValueError:
            return {"details": details}
    if details is None:
        return {}
    return details if isinstance(details, dict) else {"details": details}


def _readable(details: dict, names: dict[str, dict[int, str]], makers: dict[str, str]) -> list[tuple[str, str]]:
    """Details in Danish: keys named, ids as names, codes as words, a mark's old status
    and new status as "old → new", an API change with its token's name and maker."""
    from intro.people.accounts import ROLE_NAMES  # here: intro.people.accounts imports this module

    items = []
    for key, value in details.items():
        if _looks_secret(key, value) or key == "previous":
            continue
        text = _shown(value)
        if key in _ID_KEYS and isinstance(value, int):
            text = names.get(_ID_KEYS[key], {}).get(value, text)
        elif key == "role" and isinstance(value, str):
            text = str(next((n for r, n in ROLE_NAMES.items() if r.value == value), value))
        elif key in _VALUE_NAMES and isinstance(value, str):
            text = str(_VALUE_NAMES[key].get(value, value))
        if key == "status" and "previous" in details:
            before = details["previous"]
            before_text = str(_VALUE_NAMES["status"].get(before, before)) if before else _("intet")
            text = f"{before_text} → {text}"
        if key == "source" and isinstance(value, str) and value.startswith("api:"):
            token = value[4:]
            text = _("API-nøglen «{name}» (oprettet af {maker})").format(
                name=token, maker=makers.get(token, _("ukendt"))
            )
        items.append((str(DETAIL_NAMES.get(key, key)), text))
    return items


async def log_page(page: int = 1, object_type: str | None = None) -> LogPage:
    """One page of the log, newest first, optionally of one object type only. Each entry
    carries `object_label` (the object by name where it can be found, e.g. the person's
    name instead of "Bruger 444") and `items`, the details in Danish (see `_readable`)."""
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
    ids: dict[str, set[int]] = {}
    tokens: set[str] = set()
    for entry in entries:
        entry["details"] = _parsed(entry["details"])
        if entry["object_id"].isdigit():
            ids.setdefault(entry["object_type"], set()).add(int(entry["object_id"]))
        for key, value in entry["details"].items():
            if key in _ID_KEYS and isinstance(value, int):
                ids.setdefault(_ID_KEYS[key], set()).add(value)
            if key == "source" and isinstance(value, str) and value.startswith("api:"):
                tokens.add(value[4:])
    names = await _names(ids)
    makers = await _api_token_makers(tokens)
    for entry in entries:
        type_name = OBJECT_TYPE_NAMES.get(entry["object_type"], entry["object_type"])
        found = names.get(entry["object_type"], {}).get(int(entry["object_id"])) if entry["object_id"].isdigit() else None
        entry["object_label"] = f"{type_name}: {found}" if found else f"{type_name} {entry['object_id']}".strip()
        entry["items"] = _readable(entry.pop("details"), names, makers)
    return LogPage(entries=entries, page=page, pages=max(1, -(-total // PAGE_SIZE)), total=total)


async def object_types() -> list[str]:
    rows = await AuditLog.select(AuditLog.object_type).distinct().order_by(AuditLog.object_type)
    return [r["object_type"] for r in rows]
