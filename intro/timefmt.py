"""Dates and times as Danes read them, in Europe/Copenhagen.

Instants are stored in UTC; everything shown or exported goes through here, so a
course day in the week the clocks change shows the same wall-clock time as any other."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from intro.i18n import _

COPENHAGEN = ZoneInfo("Europe/Copenhagen")

WEEKDAYS = [_("mandag"), _("tirsdag"), _("onsdag"), _("torsdag"), _("fredag"), _("lørdag"), _("søndag")]
MONTHS = [
    _("januar"), _("februar"), _("marts"), _("april"), _("maj"), _("juni"),
    _("juli"), _("august"), _("september"), _("oktober"), _("november"), _("december"),
]


def local(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(COPENHAGEN)


def local_instant(day: date, clock: time) -> datetime:
    """The UTC instant of a wall-clock time on a local date."""
    return datetime.combine(day, clock, tzinfo=COPENHAGEN).astimezone(UTC)


def exists_locally(day: date, clock: time) -> bool:
    """Pure: does this wall-clock time happen on this local date? Not in the hour the
    clocks skip when summer time starts (02:00–02:59 on the last Sunday of March)."""
    there = datetime.combine(day, clock, tzinfo=COPENHAGEN)
    back = there.astimezone(UTC).astimezone(COPENHAGEN)
    return (back.date(), back.time()) == (day, clock)


def _as_date(value: date | datetime) -> date:
    return local(value).date() if isinstance(value, datetime) else value


def da_date(value: date | datetime | None) -> str:
    """3. marts 2027"""
    if value is None:
        return ""
    d = _as_date(value)
    return f"{d.day}. {MONTHS[d.month - 1]} {d.year}"


def da_weekday_date(value: date | datetime | None) -> str:
    """mandag 3. marts 2027"""
    if value is None:
        return ""
    d = _as_date(value)
    return f"{WEEKDAYS[d.weekday()]} {da_date(d)}"


def da_short_date(value: date | datetime | None) -> str:
    """03.03.2027"""
    if value is None:
        return ""
    return _as_date(value).strftime("%d.%m.%Y")


def da_time(value: datetime | time | None) -> str:
    """09.00 — Danish style uses a full stop between hours and minutes."""
    if value is None:
        return ""
    t = local(value).time() if isinstance(value, datetime) else value
    return f"{t.hour:02d}.{t.minute:02d}"


def da_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{da_short_date(value)} {_('kl.')} {da_time(value)}"


def da_decimal(value: float | int | None, places: int = 1, sign: bool = False) -> str:
    """A number as Danes write it: 3,1 · 12,0 · with `sign` +0,4 / −0,2 (a real minus
    sign, and none on zero). "" for None."""
    if value is None:
        return ""
    text = f"{abs(value):.{places}f}".replace(".", ",")
    if round(value, places) == 0:
        return text
    if value < 0:
        return "−" + text
    return ("+" if sign else "") + text


def hours(value: float | int | None) -> str:
    """6 / 1,5 — a decimal comma."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").replace(".", ",")
