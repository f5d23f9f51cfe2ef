"""The project's one clock.

Every reading of the current instant or date goes through :func:`now` and :func:`today`,
so a test can pin the day (with ``time-machine``, which moves ``datetime.now`` for the
whole process) and the product reads the same day everywhere: the web pages, the
planner, feeds, notices and the demo data built "around today".

- ``now()``: an aware ``datetime`` in UTC (instants are stored in UTC).
- ``today()``: the local ``date`` in Europe/Copenhagen — the date a Danish user would
  call today, which differs from the UTC date between 00:00 and 01:00/02:00 local time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from intro.timefmt import COPENHAGEN


def now() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def local_now() -> datetime:
    """The current instant, aware, in Europe/Copenhagen."""
    return now().astimezone(COPENHAGEN)


def today() -> date:
    """Today's date in Europe/Copenhagen."""
    return local_now().date()
