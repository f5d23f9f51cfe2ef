"""Progress, completion and falling behind: pure rules over plain data.

Each rule lives here once and is unit-tested with small worked examples. A module
counts as *attended* when the person was present on all its course days — on their own
cohort's days, or on days booked to catch up in another cohort — and its transfer
assignment counts when it is answered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from intro.i18n import _, ngettext

TRANSFER_OVERDUE_DAYS = 14
NO_SIGN_IN_DAYS = 21


@dataclass(frozen=True)
class ModuleState:
    module_id: int
    code: str
    title: str
    strand: str
    minutes: int
    days_needed: int
    days_attended: int  # present, own cohort or catch-up, counted per part
    days_missed: int  # past days not attended (absent, excused, unrecorded) and not made up
    transfer_answered: bool
    transfer_due: date | None
    catch_up_booked: bool = False  # a day in another cohort is booked for what was missed

    @property
    def attended(self) -> bool:
        return self.days_attended >= self.days_needed


@dataclass
class StrandProgress:
    strand: str
    modules: int = 0
    attended: int = 0
    transfers: int = 0
    answered: int = 0

    @property
    def percent(self) -> int:
        total = self.modules + self.transfers
        return round(100 * (self.attended + self.answered) / total) if total else 0


@dataclass
class Progress:
    strands: list[StrandProgress] = field(default_factory=list)
    attended_hours: float = 0.0

    @property
    def percent(self) -> int:
        total = sum(s.modules + s.transfers for s in self.strands)
        done = sum(s.attended + s.answered for s in self.strands)
        return round(100 * done / total) if total else 0


def progress(modules: Iterable[ModuleState]) -> Progress:
    by_strand: dict[str, StrandProgress] = {}
    result = Progress()
    for m in modules:
        s = by_strand.setdefault(m.strand, StrandProgress(m.strand))
        s.modules += 1
        s.transfers += 1
        s.attended += 1 if m.attended else 0
        s.answered += 1 if m.transfer_answered else 0
        if m.attended:
            result.attended_hours += m.minutes / 60
    result.strands = list(by_strand.values())
    return result


def is_complete(modules: Iterable[ModuleState]) -> bool:
    """Every module attended (or caught up) and every transfer assignment answered."""
    modules = list(modules)
    return bool(modules) and all(m.attended and m.transfer_answered for m in modules)


@dataclass(frozen=True)
class Behind:
    reason: str  # code: missed_session, transfer_overdue, task_overdue, catch_up_booked, no_sign_in
    detail: str
    count: int = 1  # how many: modules, assignments, tasks, or days without signing in


# Most urgent first. A missed module with nothing booked means teaching lost and no plan
# to make it up: the coordinator must act. An overdue transfer or local task needs a
# word with the person or their leader. A booked catch-up is in hand, and a long time
# without signing in is only a sign to watch.
URGENCY = ("missed_session", "transfer_overdue", "task_overdue", "catch_up_booked", "no_sign_in")
LEVELS = {
    "missed_session": ("urgent", _("Haster")),
    "transfer_overdue": ("follow_up", _("Følg op")),
    "task_overdue": ("follow_up", _("Følg op")),
    "catch_up_booked": ("watch", _("Hold øje")),
    "no_sign_in": ("watch", _("Hold øje")),
}


def urgency(reasons: Iterable[Behind]) -> tuple[int, ...]:
    """A sort key for people falling behind: larger is more urgent. Compared reason by
    reason in URGENCY's order, by how many of each (modules missed with nothing booked,
    then transfers overdue, tasks overdue, catch-ups booked, days without signing in): one
    missed module outranks any number of overdue tasks."""
    counts = {r.reason: r.count for r in reasons}
    return tuple(counts.get(reason, 0) for reason in URGENCY)


def urgency_level(reasons: Iterable[Behind]) -> tuple[str, str]:
    """(code, Danish label) of the most urgent reason: urgent, follow_up or watch."""
    present = {r.reason for r in reasons}
    return next((LEVELS[reason] for reason in URGENCY if reason in present), ("", ""))


def falling_behind(
    modules: Iterable[ModuleState],
    *,
    today: date,
    last_sign_in: datetime | None,
    enrolled_since: date,
    overdue_tasks: int = 0,
) -> list[Behind]:
    """Why a participant is falling behind, each reason once with its detail and count,
    most urgent first (URGENCY)."""
    found: list[Behind] = []
    modules = list(modules)
    missed = [m for m in modules if m.days_missed > 0 and not m.attended]
    unbooked = [m for m in missed if not m.catch_up_booked]
    booked = [m for m in missed if m.catch_up_booked]
    if unbooked:
        found.append(
            Behind("missed_session", _("Mangler at indhente: {codes}").format(
                codes=", ".join(m.code for m in unbooked)
            ), len(unbooked))
        )
    late = [
        m for m in modules
        if not m.transfer_answered and m.transfer_due is not None
        and today - m.transfer_due > timedelta(days=TRANSFER_OVERDUE_DAYS)
    ]
    if late:
        found.append(
            Behind("transfer_overdue", ngettext(
                "Transferopgave over {days} dage for sent: {codes}",
                "Transferopgaver over {days} dage for sent: {codes}", len(late),
            ).format(days=TRANSFER_OVERDUE_DAYS, codes=", ".join(m.code for m in late)), len(late))
        )
    if overdue_tasks:
        found.append(
            Behind("task_overdue", ngettext(
                "{n} lokal opgave over fristen", "{n} lokale opgaver over fristen", overdue_tasks,
            ).format(n=overdue_tasks), overdue_tasks)
        )
    if booked:
        found.append(
            Behind("catch_up_booked", _("Indhentning booket: {codes}").format(
                codes=", ".join(m.code for m in booked)
            ), len(booked))
        )
    since = last_sign_in.date() if last_sign_in else enrolled_since
    days = (today - since).days
    if days >= NO_SIGN_IN_DAYS:
        found.append(
            Behind("no_sign_in", ngettext(
                "Ikke logget ind i {days} dag", "Ikke logget ind i {days} dage", days,
            ).format(days=days), days)
        )
    return found
