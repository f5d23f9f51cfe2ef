"""The layer rule of DESIGN.md: who may see or change what is decided in intro/access.py
only. Handlers, domain operations and templates ask it; they do not re-derive scope.

What this scans for, in every module under intro/ (recursively: the areas are
packages) except intro/access.py:
- the signed-in user's scope accessors: `.partnerships(…)`, `.municipalities(…)`,
  `.has(…)`, `.is_admin`, `.roles`, `.grants` (intro/accounts.User's API);
- a role name ("participant", "coordinator", "instructor", "chief", "admin") compared
  with `==`, `!=`, `in` or `not in` in code.
Each of those decides who may do what. intro/people/accounts.py defines User (the accessors
are its own) and is not scanned for them.

And in templates: `user.grants`, `user.roles`, `user.has(`, `is_admin` — a template is
given a named permission (e.g. access.CohortPermissions), never the user's roles.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "intro"
TEMPLATES = ROOT / "templates"

SCOPE_METHODS = {"partnerships", "municipalities", "has"}
SCOPE_ATTRIBUTES = {"is_admin", "roles", "grants"}
ROLE_NAMES = {"participant", "coordinator", "instructor", "chief", "admin"}

# (path relative to intro/, accessor) -> why it may stay. Keep this short.
ALLOWED = {
    ("web/auth.py", "has"): "the route guard `requires(*roles)` itself: which roles a route "
    "admits is declared per route, and the guard checks it",
    ("web/templating.py", "has"): "the navigation lists one entry per page the user's roles "
    "open; each entry mirrors its route's `requires(...)` guard, not a scope",
    ("web/templating.py", "is_admin"): "the navigation's entry for the admin pages, mirroring "
    "their `requires(Role.admin)` guard",
    ("web/home.py", "has"): "the start page has one section per role held; what each section "
    "shows is scoped by the overview functions through intro.access",
    ("web/home.py", "is_admin"): "the start page's admin section (see above)",
}


def _is_role_constant(node: ast.AST) -> bool:
    return (isinstance(node, ast.Constant) and node.value in ROLE_NAMES) or (
        isinstance(node, (ast.Set, ast.List, ast.Tuple))
        and any(isinstance(e, ast.Constant) and e.value in ROLE_NAMES for e in node.elts)
    )


def _is_column(node: ast.AST) -> bool:
    """A table's column, e.g. RoleGrant.role (a Piccolo query condition)."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id[:1].isupper()
    )


def scope_checks(source: str, relative: str) -> list[str]:
    """Each scope decision in a module's source, as "path:line accessor"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in SCOPE_METHODS and node.args:
                found.append((node.lineno, node.func.attr))
        elif isinstance(node, ast.Attribute) and node.attr in SCOPE_ATTRIBUTES:
            if not (isinstance(node.value, ast.Name) and node.value.id == "self"):  # an object's own
                found.append((node.lineno, node.attr))
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if _is_column(node.left):
                continue  # `RoleGrant.role == "participant"` builds a query; it decides nothing here
            if any(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in node.ops) and any(
                _is_role_constant(o) for o in operands
            ):
                found.append((node.lineno, "role name"))
    return [
        f"{relative}:{line} {what}"
        for line, what in sorted(set(found))
        if (relative, what) not in ALLOWED
    ]


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative == "access.py" or relative.startswith("piccolo_migrations/"):
            continue
        yield path, relative


def test_no_scope_check_outside_access():
    found = []
    for path, relative in _modules():
        checks = scope_checks(path.read_text(encoding="utf-8"), relative)
        if relative.endswith("accounts.py"):
            # User's own definition; a comparison of role names there is still a finding.
            checks = [c for c in checks if c.endswith("role name")]
        found += checks
    assert not found, "Scope decided outside intro/access.py (name the rule there):\n" + "\n".join(found)


def test_templates_ask_named_permissions():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(s in line for s in ("user.grants", "user.roles", "user.has(", "is_admin")):
                found.append(f"{path.relative_to(ROOT)}:{number}")
    assert not found, "Templates re-derive permissions from roles:\n" + "\n".join(found)


def test_the_scan_sees_the_old_checks():
    """The scan finds each kind of check it is meant to find (so the test above can fail)."""
    old = '''
def _own(user, partnership_id):
    if partnership_id not in user.partnerships(Role.coordinator):
        raise NotFound()
def _scope(user):
    return user.municipalities(Role.chief), user.is_admin, user.roles
def _may(user, grant):
    return user.has(Role.participant) or grant["role"] == "coordinator"
'''
    found = scope_checks(old, "web/example.py")
    assert sorted(f.split(" ", 1)[1] for f in found) == [
        "has", "is_admin", "municipalities", "partnerships", "role name", "roles"
    ]
    assert scope_checks("self.grants = []\nq = RoleGrant.role == 'chief'\n", "demo.py") == []


def test_allow_list_entries_are_still_needed():
    """An allow-list entry whose module no longer needs it is removed."""
    needed = set()
    for path, relative in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                needed.add((relative, node.func.attr))
            elif isinstance(node, ast.Attribute):
                needed.add((relative, node.attr))
    assert set(ALLOWED) <= needed, set(ALLOWED) - needed


def web_imports(source: str) -> list[int]:
    """The lines of a module that import the web layer (intro.web)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        if any(n == "intro.web" or n.startswith("intro.web.") for n in names):
            lines.append(node.lineno)
    return lines


def test_no_domain_module_imports_the_web_layer():
    """Dependencies point one way: web -> domain -> tables (DESIGN.md)."""
    found = [
        f"{relative}:{line}"
        for path, relative in _modules()
        if not relative.startswith("web/")
        for line in web_imports(path.read_text(encoding="utf-8"))
    ]
    assert web_imports("from intro import web\nfrom intro.web.forms import text\n") == [1, 2]
    assert not found, "Domain modules import the web layer:\n" + "\n".join(found)


def test_web_modules_read_forms_through_one_reader():
    """One form reader (issue 15): web handlers take their body as forms.FormData or
    forms.Upload; no other module declares a body type of its own."""
    found = []
    for path in sorted((PACKAGE / "web").rglob("*.py")):
        if path.name == "forms.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in {"URL_ENCODED", "MULTI_PART"}:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "Declare form bodies with intro.web.forms.FormData / Upload:\n" + "\n".join(found)
