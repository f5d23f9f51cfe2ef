"""A cohort's and a course day's row with a shape: frozen dataclasses built once from a
database row, carrying the small rules about their status and rhythm (issue 15).

`CohortRow.from_row` and `SessionRow.from_row` take a row as Piccolo's `select()` gives it
(every column, a dict); the cohort's `rhythm` may come as loaded JSON or as its text. The
names say "row" because `Cohort` and `Session` are the tables in `intro.tables`.

Pure: no database access here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from typing import Any

from intro.planning.scheduling import Rhythm
from intro.tables import CohortStatus, SessionStatus


def _rhythm(raw: Any) -> Rhythm:
    """The stored rhythm, {"weekdays": [1, 3]} (Monday = 0) or {"dates": ["2027-02-03", ...]},
    as a Rhythm; an empty or missing one is Tuesdays (the planner's default)."""
    data = json.loads(raw) if isinstance(raw, str) else raw or {}
    if data.get("dates"):
        return Rhythm(dates=tuple(date.fromisoformat(d) for d in data["dates"]))
    return Rhythm(weekdays=tuple(data.get("weekdays") or (1,)))


def _columns(cls: type, row: dict) -> dict[str, Any]:
    """The row's values for the dataclass's fields; columns the row lacks are left to the
    fields' defaults."""
    return {f.name: row[f.name] for f in fields(cls) if f.name in row}


@dataclass(frozen=True)
class CohortRow:
    """Hold: one row of `Cohort`. `day_start`/`day_end` are local times (Europe/Copenhagen)."""

    id: int
    partnership: int
    curriculum_version: int
    name: str
    status: CohortStatus
    start_date: date
    capacity: int
    day_start: time
    day_end: time
    rhythm: Rhythm = Rhythm()
    created_by: int | None = None
    created_at: datetime | None = None

    @classmethod
    def from_row(cls, row: dict) -> CohortRow:
        """From a `Cohort.select()` row (JSON loaded or not)."""
        values = _columns(cls, row)
        values["status"] = CohortStatus(row["status"])
        values["rhythm"] = _rhythm(row.get("rhythm"))
        return cls(**values)

    @property
    def is_planning(self) -> bool:
        """Created, timetable not yet accepted: proposals may be replaced wholesale."""
        return self.status == CohortStatus.planning

    @property
    def is_active(self) -> bool:
        return self.status == CohortStatus.active

    @property
    def is_closed(self) -> bool:
        """Completed or cancelled: nobody joins or moves to it any more."""
        return self.status in (CohortStatus.completed, CohortStatus.cancelled)


@dataclass(frozen=True)
class SessionRow:
    """Kursusdag: one row of `Session`; `starts_at`/`ends_at` are aware instants."""

    id: int
    cohort: int
    module: int
    part: int
    starts_at: datetime
    ends_at: datetime
    venue: int | None
    status: SessionStatus
    revision: int = 0
    uid: str = ""
    change_reason: str = ""
    override_reason: str = ""
    updated_at: datetime | None = None

    @classmethod
    def from_row(cls, row: dict) -> SessionRow:
        """From a `Session.select()` row."""
        values = _columns(cls, row)
        values["status"] = SessionStatus(row["status"])
        return cls(**values)

    @property
    def is_proposed(self) -> bool:
        return self.status == SessionStatus.proposed

    @property
    def is_scheduled(self) -> bool:
        """Accepted into the timetable: in calendars, attendance taken, moves notified."""
        return self.status == SessionStatus.scheduled

    @property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.cancelled
