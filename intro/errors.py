"""Errors that domain operations raise for people to read."""

from __future__ import annotations


class Invalid(Exception):
    """Bad input. `errors` maps a field name to a Danish message naming the problem;
    nothing has been written when this is raised."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


class Conflict(Invalid):
    """Bad input because it clashes with something stored (an e-mail that belongs to
    someone the writer may not reach); the messages name nothing stored."""


class NotFound(Exception):
    """The object does not exist, or the user may not know that it does."""


class Forbidden(Exception):
    """The user may see the object but not do this to it."""
