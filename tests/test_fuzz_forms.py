"""The guard for the whole kind "bad form input" (issue 13, section 6): every POST route
of the app's route table, signed in as someone who may use it, gets its own form (read
from the app's pages) with one field at a time made bad — missing, empty, huge, NUL,
invalid UTF-8, other digits than 0-9, integers past 64 bits, impossible dates, sent
twice — and the whole form made bad at once. No answer may be 5xx, and after every 4xx
the database must be exactly as before (tests/db_snapshot.py).

The number of requests is bounded (about 1,200 on the demo data, a minute or two) and
printed with the number of failures: run with `-s` to see it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import quote_plus, urlsplit

from app import create_app
from intro import clock
from intro.people import accounts
from intro.tables import Role, RoleGrant
from tests.conftest import csrf_token, login
from tests.db_snapshot import snapshot
from tests.test_access import PERSONAS, RULES, ids  # noqa: F401  (ids is a fixture)

# One bad value of each kind. A value of bytes goes into the body as it is (already
# percent-encoded), so it can carry bytes that are not UTF-8.
BAD_VALUES: dict[str, str | bytes] = {
    "empty": "",
    "huge": "Æ" * 5000,
    "nul": "før\x00efter",
    "control": "a\x1bb",
    "line_break": "en\r\nto",
    "invalid_utf8": b"K%F8benhavn%FF",
    "superscript_digit": "²",
    "arabic_digits": "٣٤",
    "past_int64": "9223372036854775808",
    "below_int64": "-9223372036854775809",
    "huge_int": "99999999999999999999999",
    "year_9999": "9999-12-31",
    "year_1": "0001-01-01",
    "danish_date_9999": "31.12.9999",
}
# Sent for a route whose form is on no page (and added to every form): the field names
# most handlers read.
FALLBACK_FIELDS = {
    "name": "Prøve",
    "reason": "Prøve",
    "date": "2027-03-01",
    "email": "koordinator@intro.example",
    "password": "forkert-kodeord",
    "person": "1",
    "session": "1",
    "missed_session": "1",
    "status": "present",
    "candidate": "1:1",
}


class _Forms(HTMLParser):
    """The POST forms of a page: {action path: [(name, value), ...]}, with the values
    a browser would send (checked boxes, selected options, text as shown)."""

    def __init__(self):
        super().__init__()
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self._current: list[tuple[str, str]] | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post" and a.get("action"):
            self._current = self.forms.setdefault(urlsplit(a["action"]).path, [])
        elif self._current is None:
            return
        elif tag == "input" and a.get("name") and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                if not any(n == a["name"] for n, _v in self._current):
                    self._current.append((a["name"], a.get("value") or "on"))
                return
            self._current.append((a["name"], a.get("value") or ""))
        elif tag == "select" and a.get("name"):
            self._select, self._select_value = a["name"], None
        elif tag == "option" and self._select and (not self._select_value or "selected" in a):
            self._select_value = a.get("value") or ""  # the selected one, else the first real one
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if self._current is None:
            return
        if tag == "select" and self._select:
            self._current.append((self._select, self._select_value or ""))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self._current.append((self._textarea, self._text.strip()))
            self._textarea = None
        elif tag == "form":
            self._current = None


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def _post_routes() -> list[str]:
    found = set()
    for route in create_app().routes:
        if "POST" in getattr(route, "methods", ()) and not route.path.startswith("/api/"):
            found.add(re.sub(r":\w+}", "}", route.path))
    return sorted(found)


def _encode(pairs: list[tuple[str, str | bytes]]) -> bytes:
    return b"&".join(
        quote_plus(name).encode() + b"=" + (value if isinstance(value, bytes) else quote_plus(value).encode())
        for name, value in pairs
    )


async def _admin_ids(values: dict) -> dict:
    """The ids for /admin paths: a person of their own, so that the fuzzer's changes to
    them (a new password, deactivation) do not lock a persona out."""
    person_id = await accounts.create_person(None, "fuzz.target@intro.example", "Fuzz Mål", None)
    await accounts.grant_role(None, person_id, Role.instructor.value, partnership_id=values["partnership_id"])
    grant = await RoleGrant.select(RoleGrant.id).where(RoleGrant.person == person_id).first()
    return {**values, "person_id": person_id, "grant_id": grant["id"]}


def _plan(routes: list[str], values: dict) -> list[tuple[str, str, str]]:
    """(persona, concrete path, route) for every POST route: the path filled from the
    demo ids, signed in as the first persona the access table lets use it (the admin
    for /admin); sign-in and sign-out last, as their refusals count against the client."""
    by_shape = {(_shape(p)): (p, allowed) for m, p, allowed in RULES if m == "POST"}
    plan = []
    for route in routes:
        template, allowed = by_shape.get(_shape(route), (route, set()))
        if route.startswith("/admin"):
            persona = "admin"
        else:
            persona = next((r for r in PERSONAS if r in allowed), "participant")
        if route in ("/login", "/logout"):
            persona = "anonymous"
        names = re.findall(r"\{(\w+)", template)
        filled = template.format(**{n: values.get(n, 999999) for n in names})
        plan.append((persona, filled, route))
    return sorted(plan, key=lambda p: (p[2] in ("/login", "/logout"), p[0], p[1]))


async def _page_forms(client, persona: str, values: dict) -> dict[str, list[tuple[str, str]]]:
    """The forms on every page this persona may open."""
    forms: dict[str, list[tuple[str, str]]] = {}
    pages = [p for m, p, allowed in RULES if m == "GET" and persona in allowed]
    if persona == "admin":
        pages += ["/admin/municipalities", "/admin/partnerships", "/admin/partnerships/{partnership_id}",
                  "/admin/venues", "/admin/users", "/admin/users/{person_id}"]
    for page in pages:
        if page.startswith(("/static", "/schema", "/dashboard/export")) or page.endswith((".csv", ".ics", ".xlsx")):
            continue
        response = await client.get(page.format(**values))
        if response.status_code != 200 or "html" not in response.headers.get("content-type", ""):
            continue
        parser = _Forms()
        parser.feed(response.text)
        for action, fields in parser.forms.items():
            forms.setdefault(action, fields)
    return forms


TEXT_KINDS = ("nul", "control", "line_break", "invalid_utf8", "empty")
NUMBER_KINDS = ("superscript_digit", "arabic_digits", "past_int64", "below_int64", "huge_int")
DATE_KINDS = ("year_9999", "year_1", "danish_date_9999")


def _is_date_field(name: str) -> bool:
    return "date" in name


def _base(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The form as a person would fill it, so that one bad field reaches as deep as it
    can: an empty date field gets a day two months on, other empty fields a word."""
    day = (clock.today() + timedelta(days=60)).isoformat()
    return [
        (n, v or (day if _is_date_field(n) and n != "dates" else "Prøve")) for n, v in fields
    ]


def _shape_of_action(path: str) -> str:
    return re.sub(r"/[0-9]+(?=/|$)", "/{}", path)


def _form_for(forms: dict[str, list[tuple[str, str]]], path: str) -> list[tuple[str, str]] | None:
    """The form posting to `path`, or one posting to the same route for another id
    (a withdraw button of another enrolment)."""
    if path in forms:
        return forms[path]
    shape = _shape_of_action(path)
    found = next((f for action, f in forms.items() if _shape_of_action(action) == shape), None)
    if found is None and path.count("/") > 2:
        # An htmx post beside its form (the live conflict check of the session form).
        return _form_for(forms, path.rsplit("/", 1)[0])
    return found


def _variants(fields: list[tuple[str, str]]):
    """(label, pairs) for the bad variants of a form: the whole form bad in each way,
    then each field missing, sent twice, huge, and bad in the ways that fit what it
    holds (numbers for a number, dates for a date), taking the text kinds in turn."""
    typed = dict(fields)
    fields = _base(fields)
    names = list(dict.fromkeys(n for n, _v in fields))
    yield "all missing", []
    yield "all duplicated", [p for pair in fields for p in (pair, (pair[0], "B"))]
    for kind in ("invalid_utf8", "nul", "past_int64"):
        yield f"all {kind}", [(n, BAD_VALUES[kind]) for n in names]
    for index, name in enumerate(names):
        value = typed[name]
        others = [(n, v) for n, v in fields if n != name]
        kinds = ["huge", TEXT_KINDS[index % len(TEXT_KINDS)]]
        if _is_date_field(name):
            kinds += DATE_KINDS[:2] if index % 2 else DATE_KINDS[::2]
        if value.strip().lstrip("-").isdigit() or not value:
            kinds += ["past_int64", NUMBER_KINDS[index % len(NUMBER_KINDS)]]
        yield f"{name} missing", others
        for kind in dict.fromkeys(kinds):
            yield f"{name}={kind}", [*others, (name, BAD_VALUES[kind])]


async def test_no_form_input_breaks_a_page_or_changes_data_when_refused(demo_client, ids):  # noqa: F811
    admin_values = await _admin_ids(ids)
    plan = [
        (persona, path, route)
        for persona, path, route in _plan(_post_routes(), ids)
        if not route.startswith("/admin")
    ] + [
        (persona, path, route)
        for persona, path, route in _plan(_post_routes(), admin_values)
        if route.startswith("/admin")
    ]
    plan.sort(key=lambda p: (p[2] in ("/login", "/logout"), p[0], p[1]))
    values = ids
    sent = server_errors = 0
    failures: list[str] = []
    forms_by_persona: dict[str, dict] = {}
    without_form: list[str] = []
    current = None
    for persona, path, route in plan:
        if persona != current:
            demo_client.cookies.clear()
            if persona == "anonymous":
                await demo_client.get("/login")
            else:
                assert (await login(demo_client, PERSONAS[persona])).status_code == 303
                if persona not in forms_by_persona:
                    forms_by_persona[persona] = await _page_forms(
                        demo_client, persona, admin_values if persona == "admin" else values
                    )
            current = persona
        fields = _form_for(forms_by_persona.get(persona, {}), path)
        if fields is None:
            without_form.append(route)
            fields = list(FALLBACK_FIELDS.items())
        fields = [(n, v) for n, v in fields if n != "_csrf_token"]
        last = None
        for label, pairs in _variants(fields):
            before = last or await snapshot()
            last = None
            token = [("_csrf_token", csrf_token(demo_client))]
            response = await demo_client.post(
                path, content=_encode([*pairs, *token]),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            sent += 1
            status = response.status_code
            if status >= 500:
                server_errors += 1
                failures.append(f"{status} POST {route} as {persona}: {label}")
            elif 400 <= status < 500:
                last = await snapshot()
                if last != before:
                    failures.append(f"{status} but data changed: POST {route} as {persona}: {label}")
            if persona != "anonymous" and status == 303 and response.headers.get("location", "").startswith("/login"):
                # Signed out by the form (logout, deactivating oneself): sign in again.
                assert (await login(demo_client, PERSONAS[persona])).status_code == 303
    by_route = defaultdict(int)
    for failure in failures:
        by_route[failure.split(" as ")[0]] += 1
    print(f"\nform fuzzer: {sent} requests to {len(plan)} POST routes, {server_errors} answered 5xx, "
          f"{len(failures) - server_errors} refusals changed data; no form on any page for "
          f"{len(without_form)} routes (sent {sorted(FALLBACK_FIELDS)}): {', '.join(without_form)}")
    for route, count in sorted(by_route.items()):
        print(f"  {count:4d} × {route}")
    assert not failures, "\n".join(failures[:60])
