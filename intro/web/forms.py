"""Reading what a request sends: HTML form posts, query strings and path ids.

Two layers, so that no handler can forget a rule:
- `check_request` runs before every handler (the app's before_request hook). It holds
  the rules that are true of every field whatever it means (see intro/inputs.py): the
  bytes are UTF-8, there are no control characters other than tab and line breaks, a
  value shaped like a number is a number in ASCII digits within the database's range,
  an id in the path lies in that range, and a field is sent once unless it is a list of
  checkboxes (MULTI_VALUE). A request that breaks one is answered 400 (404 for a path
  id) naming the field, before anything reads or writes the database.
- `text`, `ids`, `optional_id` read one field for a handler, refusing what cannot be
  stored instead of cutting it.

Every value arrives as a str; a field in MULTI_VALUE sent more than once arrives as a
list of them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import Body

from intro.errors import Invalid
from intro.i18n import _
from intro.inputs import (
    DB_INT_MAX,
    DB_INT_MIN,
    checked_text,
    integer_problem,
    parse_course_day,
    parse_id,
    text_problem,
)

# The two body types a handler declares: every web module takes its form as one of these.
FormData = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
# A form with a file (multipart): the input gate does not read it, so its handler checks
# the file and reads any text fields with `value`.
Upload = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]

# Never written back into a re-rendered form.
_NOT_KEPT = {"_csrf_token", "password"}

# The lists of checkboxes (and multiple selects): the only fields a form may send more
# than once. Any other field sent twice is refused: storing one of the two, or both as
# the text "['A', 'B']", would change data silently.
MULTI_VALUE = frozenset(
    {
        "candidate",
        "codes",
        "competence_code",
        "competence_description",
        "competence_name",
        "competences",
        "instructors",
        "local_modules",
        "members",
        "preferred_venues",
        "prerequisites",
        "weekdays",
    }
)

# The longest a single form or query value may be before any handler sees it: longer
# than any column or text area (the longest, a reflection or a curriculum text, is far
# below); a limit here keeps the per-field checks cheap.
MAX_VALUE = 100_000


class InputRefused(HTTPException):
    """400 from the input gate; `extra` maps each refused field to a Danish message."""

    status_code = 400


def _pairs(raw: bytes) -> list[tuple[str, str | None, str]]:
    """(name, value, problem) for each `name=value` of a urlencoded string, decoded as
    strict UTF-8; `value` is None and `problem` says why when it cannot be read."""
    found = []
    for chunk in raw.split(b"&"):
        if not chunk:
            continue
        raw_name, _sep, raw_value = chunk.partition(b"=")
        name_bytes = unquote_to_bytes(raw_name.replace(b"+", b" "))
        name = name_bytes.decode("utf-8", errors="replace")
        try:
            value = unquote_to_bytes(raw_value.replace(b"+", b" ")).decode("utf-8")
            name_bytes.decode("utf-8")
        except UnicodeDecodeError:
            found.append((name, None, _("Teksten er ikke gyldig UTF-8 og kan ikke læses.")))
            continue
        found.append((name, value, ""))
    return found


def _value_problem(name: str, value: str) -> str | None:
    if len(value) > MAX_VALUE:
        return _("Højst {limit} tegn (der er {length}).").format(limit=MAX_VALUE, length=len(value))
    problem = text_problem(value, MAX_VALUE, multiline=True)
    if problem or "password" in name:  # a password of digits is a password, not a number
        return problem
    return integer_problem(value)


def input_problems(raw: bytes, *, repeatable: frozenset[str] = MULTI_VALUE) -> dict[str, str]:
    """Every field of a urlencoded string (a query or a form body) that breaks a rule
    true of all fields, with a Danish message; empty when all can be read."""
    problems: dict[str, str] = {}
    seen: set[str] = set()
    for name, value, problem in _pairs(raw):
        label = name[:60] or "?"
        if value is None:
            problems.setdefault(label, problem)
            continue
        if name in seen and name not in repeatable:
            problems.setdefault(label, _("Feltet er sendt mere end én gang."))
        seen.add(name)
        problem = text_problem(name, 200) or _value_problem(name, value)
        if problem:
            problems.setdefault(label, problem)
    return problems


async def check_request(request: Request) -> None:
    """The input gate (see the module docstring). Raises NotFoundException for a path id
    outside the database's range or written in other digits than 0-9, InputRefused for
    a query or form field that breaks a rule."""
    numbers = [v for v in request.path_params.values() if isinstance(v, int)]
    if any(not DB_INT_MIN <= v <= DB_INT_MAX for v in numbers):
        raise NotFoundException()
    path = request.scope["path"]
    # int() reads "/cohorts/٣" as cohort 3: an id in the path is written in 0-9 only.
    if numbers and any(c.isdigit() and not c.isascii() for c in path):
        raise NotFoundException()
    problems = input_problems(request.scope.get("query_string", b""), repeatable=frozenset())
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        problems.update(input_problems(await request.body()))
    if problems:
        raise InputRefused(detail=_("Forespørgslen blev afvist."), extra=problems)


def text(data: dict[str, Any], name: str, limit: int = 2000, *, multiline: bool = False) -> str:
    """The one value of field `name` as sent ("" when missing). Invalid({name: …}) when
    it is longer than `limit`, sent twice, or (unless `multiline`) has a line break:
    never cut or merged."""
    return checked_text(data.get(name, ""), name, limit, multiline=multiline, strip=False)


def value(data: dict[str, Any], name: str, default: str = "") -> str:
    """The one value of field `name` as sent, unchecked (`default` when missing): for a
    field the domain operation checks itself, with its own message. The input gate has
    already refused a field sent twice, so this is never a list."""
    return str(data.get(name, default))


def flag(data: dict[str, Any], name: str, default: str = "0") -> bool:
    """A yes/no field (a checkbox or hidden input sending "1"): True when it is "1"."""
    return value(data, name, default) == "1"


def checked(data: dict[str, Any], name: str) -> list[str]:
    """The values of a list of checkboxes (or a multiple select) called `name`, as sent,
    to show again in a form: [] when none is checked (also for one empty value)."""
    found = data.get(name)
    if isinstance(found, list):
        return found
    return [found] if found else []


def for_page(data: dict[str, Any], lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """The form as sent, to show again after a refusal; each field in `lists` (checkbox
    lists) as a list (see `checked`)."""
    form = dict(data)
    for name in lists:
        form[name] = checked(data, name)
    return form


def course_day(data: dict[str, Any], name: str) -> date | None:
    """The date in field `name` as a course day (intro.inputs.parse_course_day: ISO or Danish
    writing, inside the planner's window); None when missing or unreadable."""
    return parse_course_day(data.get(name))


def values(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def ids(data: dict[str, Any], name: str) -> list[int] | None:
    """The ids of the checked boxes called `name`; None when one is not an id."""
    found = [parse_id(v) for v in values(data, name)]
    return None if None in found else found  # type: ignore[return-value]


def optional_id(data: dict[str, Any], name: str) -> int | None:
    """The id in field `name`, or None when it is missing or not an id."""
    value = data.get(name)
    return parse_id(value) if isinstance(value, str) else None


def kept(data: dict[str, Any]) -> dict[str, Any]:
    """What the person typed, to show again in a form refused as bad input."""
    return {
        k: (values(data, k) if isinstance(v, list) else str(v))
        for k, v in data.items()
        if k not in _NOT_KEPT
    }


def refusal_problems(exc: Exception) -> dict[str, str]:
    """The field messages an InputRefused or Invalid carries (for the error page)."""
    if isinstance(exc, Invalid):
        return exc.errors
    extra = getattr(exc, "extra", None)
    return extra if isinstance(extra, dict) else {}
