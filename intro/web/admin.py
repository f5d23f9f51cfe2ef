"""Administration: partnerships, municipalities, venues, users and their roles."""

ROUTES: list = []
