"""Calendars: course days out to Outlook, Google and Apple.

`feeds` keeps the secret feed URLs (make, regenerate, revoke) and gathers the course days a
feed's owner may see; `ical` writes them as iCalendar.

Pure: `ical` (plain data in, an .ics text out; local time with a VTIMEZONE). `feeds` reads and
writes the database.
"""
