"""The shape of the code holds (DESIGN.md, "Shape of the code"): dependencies point one way,
web → domain → tables, and demo data stays out of the product.

Read from the source with `ast`, every import counted wherever it stands (module level or
inside a function), so a late import inside a handler is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INTRO = ROOT / "intro"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, *, module_level_only: bool = False) -> set[str]:
    """Every module a source text imports, as dotted paths: `from intro import web` counts as
    `intro.web`, `from intro.demo.national import x` as `intro.demo.national` and
    `intro.demo.national.x`. Relative imports are not used in this project and count as
    nothing."""
    tree = ast.parse(source)
    nodes = tree.body if module_level_only else ast.walk(tree)
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _domain_and_web_modules() -> list[Path]:
    return sorted(p for p in INTRO.rglob("*.py") if "piccolo_migrations" not in p.parts)


def test_the_scan_sees_the_packages():
    names = {_module_name(p) for p in _domain_and_web_modules()}
    # The walk is recursive: modules inside the area packages and the web layer are read.
    assert {"intro.planning.cohorts", "intro.demo.national", "intro.web.cohorts"} <= names
    assert len(names) > 60


def test_only_demo_itself_imports_demo_data():
    """Demo generators are no part of the product: no module of intro/ outside intro/demo/
    imports them. app.py may, but only inside its commands (seed-demo, demo-national), so
    serving the app never loads them."""
    offenders = [
        (_module_name(path), name)
        for path in _domain_and_web_modules()
        if not _inside(_module_name(path), "intro.demo")
        for name in imports_of(path.read_text())
        if _inside(name, "intro.demo")
    ]
    assert not offenders, f"imports demo data outside intro/demo/: {offenders}"
    at_top = {n for n in imports_of((ROOT / "app.py").read_text(), module_level_only=True)}
    assert not {n for n in at_top if _inside(n, "intro.demo")}, "app.py imports demo data at load"


def test_no_domain_module_imports_the_web_layer():
    """web → domain → tables: a module of intro/ outside intro/web/ never imports intro.web."""
    offenders = [
        (_module_name(path), name)
        for path in _domain_and_web_modules()
        if not _inside(_module_name(path), "intro.web")
        for name in imports_of(path.read_text())
        if _inside(name, "intro.web")
    ]
    assert not offenders, f"domain modules importing the web layer: {offenders}"


def test_the_layer_scan_catches_every_form_of_import():
    """The rules above can fail: each way of writing the import is seen."""
    for source in (
        "from intro.web import forms",
        "from intro import web",
        "import intro.web.forms",
        "def f():\n    from intro.web.forms import read\n",
    ):
        assert any(_inside(n, "intro.web") for n in imports_of(source)), source
    for source in ("from intro.demo import west_zealand", "from intro import demo",
                   "def f():\n    import intro.demo.national\n"):
        assert any(_inside(n, "intro.demo") for n in imports_of(source)), source
    late = "def command():\n    from intro.demo import national\n"
    assert not any(_inside(n, "intro.demo") for n in imports_of(late, module_level_only=True))
    assert not any(_inside(n, "intro.web") for n in imports_of("from intro import webhooks"))


def test_every_area_package_says_what_it_is_and_which_modules_are_pure():
    for init in sorted(INTRO.glob("*/__init__.py")):
        if init.parent.name in {"web", "piccolo_migrations"}:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "Pure" in doc or "pure" in doc, f"{init.relative_to(ROOT)} names no pure modules"
        # No re-exports: an area package is a folder, its modules are imported by their path.
        assert not imports_of(init.read_text()), f"{init.relative_to(ROOT)} re-exports"


def _status_values() -> set[str]:
    """Every stored status: the values of the `*Status` StrEnums beside the tables and of the
    outbox's."""
    from enum import StrEnum

    from intro import tables
    from intro.planning import outbox

    enums = [
        value
        for module in (tables, outbox)
        for name, value in vars(module).items()
        if name.endswith("Status") and isinstance(value, type) and issubclass(value, StrEnum)
    ]
    return {member.value for enum in enums for member in enum}


def string_status_comparisons(source: str, statuses: set[str]) -> list[str]:
    """Comparisons of a status with a spelt-out string, as source text: `x["status"] ==
    "planning"`, `Session.status != "cancelled"`, `status in ("enrolled", "completed")`,
    `Enrolment.status.is_in(["enrolled"])`. A side counts as a status when its text says
    `status`; a string counts when it is one of the stored statuses."""

    def literals(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return [v for elt in node.elts for v in literals(elt)]
        return []

    def is_status(node: ast.AST) -> bool:
        return "status" in ast.unparse(node).lower()

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(is_status(s) for s in sides) and any(
                v in statuses for s in sides for v in literals(s)
            ):
                found.append(ast.unparse(node))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "is_in"
            and is_status(node.func.value)
            and any(v in statuses for a in node.args for v in literals(a))
        ):
            found.append(ast.unparse(node))
    return found


def test_statuses_are_compared_through_their_enums():
    """Issue 15: a status is compared as `CohortStatus.planning` (or another `*Status` enum
    beside the tables), never as the string "planning", so a misspelt or renamed status
    fails at import instead of silently never matching."""
    statuses = _status_values()
    offenders = [
        (_module_name(path), found)
        for path in _domain_and_web_modules()
        for found in string_status_comparisons(path.read_text(), statuses)
    ]
    assert not offenders, f"statuses compared as strings: {offenders}"


def test_the_status_scan_catches_every_form_of_comparison():
    statuses = _status_values()
    assert {"planning", "scheduled", "enrolled", "present", "done", "waiting"} <= statuses
    for source in (
        'c["status"] == "planning"',
        "Session.status != 'cancelled'",
        'status in ("enrolled", "completed")',
        'Enrolment.status.is_in(["enrolled", "completed"])',
        '"withdrawn" == e.status',
        'e["cohort_status"] == "completed"',
    ):
        assert string_status_comparisons(source, statuses), source
    for source in (
        "c.status == CohortStatus.planning",
        'notice == "completed"',
        'Enrolment.status.is_in(ENROLMENT_ON_COHORT)',
        'status_name == _("Aflyst")',
    ):
        assert not string_status_comparisons(source, statuses), source
