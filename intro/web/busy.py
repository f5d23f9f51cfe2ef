"""Instructors' own busy calendars (being built)."""

ROUTES: list = []
