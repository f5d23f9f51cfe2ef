"""Reading values people and systems send: the one place that decides what counts as a
number, a plausible date and an acceptable piece of text.

Everything here is pure. The web layer's input gate (intro/web/input_gate.py) applies
the rules that hold for every field of every request (bytes that are UTF-8, no control
characters, numbers in the database's range); the domain modules apply the rules that
depend on what a field means (a course day's date, an employment's date, a column's
length) through the functions below, so each rule is written once.

The rules and where they come from:
- Integers are stored as 64-bit signed numbers (BIGINT on PostgreSQL, INTEGER on
  SQLite): anything outside [-2**63, 2**63 - 1] cannot be an id or a count.
- Digits are the ASCII digits 0-9. Python's int() also accepts Arabic-Indic, full-width
  and other Unicode digits, and str.isdigit() accepts superscripts that int() refuses;
  neither is what a Danish user or an HR system means by a number.
- Dates have a window for what they mean: a course day lies within a few years of
  today (COURSE_DAY_YEARS), an employment date within a working life (EMPLOYMENT_YEARS).
- Text has no control characters (NUL is refused by PostgreSQL and invisible
  everywhere else); one-line fields have no line breaks; text longer than its column
  is refused with the limit named, never cut.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, time
from typing import Any

from intro import clock
from intro.errors import Invalid
from intro.i18n import _

DB_INT_MIN = -(2**63)
DB_INT_MAX = 2**63 - 1

# Course days (and closed periods around them): planned at most this far ahead, and
# edited or looked up at most this far back.
COURSE_DAY_YEARS = (5, 5)  # (back, ahead)
# Employment start and end dates: a working life back, a long fixed-term contract ahead.
EMPLOYMENT_YEARS = (60, 10)  # (back, ahead)
# A municipality's joining or leaving a partnership: recorded back to the partnerships of
# the 1990s, and ahead at most to a decision already taken for the coming years.
MEMBERSHIP_YEARS = (40, 2)  # (back, ahead)

_ASCII_INTEGER = re.compile(r"[+-]?[0-9]+")
_LINE_BREAKS = {"\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c"}


def looks_like_integer(text: str) -> bool:
    """True when `text` is meant as a whole number: an optional sign and digits of any
    script (what a person or a fuzzer may type where a number goes)."""
    body = text.strip().lstrip("+-")
    return bool(body) and all(c.isdigit() for c in body)


def parse_int(value: Any, *, low: int = DB_INT_MIN, high: int = DB_INT_MAX) -> int | None:
    """The integer `value` spells in ASCII digits (surrounding blanks allowed) when it
    lies in [low, high]; None otherwise (also for lists, blanks, other scripts)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    if not _ASCII_INTEGER.fullmatch(text) or len(text) > 21:
        return None
    number = int(text)
    return number if low <= number <= high else None


def parse_id(value: Any) -> int | None:
    """A database id (1 … 2**63-1) written in ASCII digits, or None."""
    return parse_int(value, low=1)


def integer_problem(text: str) -> str | None:
    """Why a value shaped like a whole number cannot be one; None when it can."""
    if not looks_like_integer(text):
        return None
    if not _ASCII_INTEGER.fullmatch(text.strip()):
        return _("Skriv tallet med cifrene 0-9.")
    if parse_int(text) is None:
        return _("Tallet er for stort.")
    return None


def _years_around(today: date, back: int, ahead: int) -> tuple[date, date]:
    return date(today.year - back, 1, 1), date(today.year + ahead, 12, 31)


def course_day_window(today: date) -> tuple[date, date]:
    """The first and last date a course day (or a closed period) may have, both
    included: from 1 January COURSE_DAY_YEARS[0] years back to 31 December
    COURSE_DAY_YEARS[1] years ahead of `today`'s year."""
    return _years_around(today, *COURSE_DAY_YEARS)


def employment_window(today: date) -> tuple[date, date]:
    """The first and last date an employment may start or end, both included."""
    return _years_around(today, *EMPLOYMENT_YEARS)


def membership_window(today: date) -> tuple[date, date]:
    """The first and last date a municipality may join or leave a partnership, both
    included: MEMBERSHIP_YEARS around `today`'s year."""
    return _years_around(today, *MEMBERSHIP_YEARS)


def parse_date(value: Any) -> date | None:
    """The date an ISO `YYYY-MM-DD` text (surrounding blanks allowed) names, or None
    for anything else (blanks, other formats, impossible days such as 2027-02-30)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_course_day(value: Any) -> date | None:
    """2027-02-01 (from <input type=date>) or 01.02.2027 / 1/2-2027 (typed by hand), as
    a course day: None when it cannot be read or lies outside
    course_day_window (years like 0001 or 9999 are typing errors, and the
    planner cannot work with them)."""
    text = str(value or "").strip() if not isinstance(value, list) else ""
    if not text:
        return None
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", text) or None
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = re.fullmatch(r"([0-9]{1,2})[./-]([0-9]{1,2})[./-]([0-9]{4})", text)
        if not match:
            return None
        day, month, year = (int(g) for g in match.groups())
    try:
        parsed = date(year, month, day)
    except ValueError:
        return None
    return None if outside_window(parsed, course_day_window(clock.today())) else parsed


def parse_clock_time(value: Any) -> time | None:
    """A time of day typed as tt:mm or tt.mm (24-hour clock, 9:00 or 09.00): None for
    anything else, hours over 23 or minutes over 59 included."""
    text = str(value or "").strip().replace(".", ":")
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def outside_window(day: date, window: tuple[date, date]) -> str | None:
    """A Danish message when `day` lies outside `window`, naming the window; else None."""
    first, last = window
    if first <= day <= last:
        return None
    return _("Datoen skal ligge mellem {first} og {last}.").format(
        first=first.strftime("%d.%m.%Y"), last=last.strftime("%d.%m.%Y")
    )


def text_problem(value: str, limit: int, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be stored as it is in a text column of `limit` characters;
    None when it can. Tabs are allowed; line breaks only when `multiline`."""
    # Every control character and line break is unprintable, so a printable value needs
    # no look at each character (an HR import of 10,000 rows checks 60,000 fields).
    for char in () if value.isprintable() else value:
        if char in _LINE_BREAKS:
            if multiline and char in "\r\n":
                continue
            return _("Feltet skal stå på én linje.")
        if char != "\t" and unicodedata.category(char) in ("Cc", "Cs"):
            return _("Feltet indeholder et usynligt kontroltegn (fx NUL), som ikke kan gemmes.")
    if len(value) > limit:
        return _("Højst {limit} tegn (der er {length}).").format(limit=limit, length=len(value))
    return None


def checked_text(
    value: Any,
    field: str,
    limit: int,
    *,
    label: str | None = None,
    multiline: bool = False,
    strip: bool = True,
) -> str:
    """`value` as text (without surrounding blanks when `strip`), or
    Invalid({field: message}) naming the field (by `label`, a Danish name, when given)
    and the limit. Never cuts."""
    if isinstance(value, list):
        raise Invalid({field: _("Feltet er sendt mere end én gang.")})
    text = str(value if value is not None else "")
    text = text.strip() if strip else text
    problem = text_problem(text, limit, multiline=multiline)
    if problem:
        raise Invalid({field: f"{label}: {problem}" if label else problem})
    return text
