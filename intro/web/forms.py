"""Reading HTML form posts. Every value arrives as a str; a field sent more than once
(checkboxes of one name) arrives as a list of them."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.enums import RequestEncodingType
from litestar.params import Body

FormData = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]

# Never written back into a re-rendered form.
_NOT_KEPT = {"_csrf_token", "password"}


def text(data: dict[str, Any], name: str, limit: int = 2000) -> str:
    value = data.get(name, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value)[:limit]


def values(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def ids(data: dict[str, Any], name: str) -> list[int] | None:
    """The ids of the checked boxes called `name`; None when one is not a number."""
    try:
        return [int(v) for v in values(data, name)]
    except ValueError:
        return None


def optional_id(data: dict[str, Any], name: str) -> int | None:
    try:
        return int(text(data, name, 20))
    except ValueError:
        return None


def kept(data: dict[str, Any]) -> dict[str, Any]:
    """What the person typed, to show again in a form refused as bad input."""
    return {
        k: (values(data, k) if isinstance(v, list) else str(v))
        for k, v in data.items()
        if k not in _NOT_KEPT
    }
