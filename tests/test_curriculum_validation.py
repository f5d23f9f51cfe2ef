"""The curriculum validator: a good file passes, each kind of bad file is named with
its file and field path, and every problem is reported at once."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from intro.curriculum.versions import CurriculumInvalid, content_hash, read_file, validate

ROOT = Path(__file__).resolve().parent.parent

GOOD = {
    "curriculum": {"label": "t.1", "title": "Testplan"},
    "strands": [
        {"code": "lovgivning", "name": "Lovgivning"},
        {"code": "samtale", "name": "Den gode samtale"},
    ],
    "profiles": [
        {
            "code": "basis",
            "name": "Basisprofil",
            "kind": "base",
            "competences": [{"code": "basis-lov", "name": "Kender loven"}],
        },
        {
            "code": "helhed",
            "name": "Helhedsprofil",
            "kind": "specialist",
            "competences": [{"code": "helhed-plan", "name": "Laver en fælles plan"}],
        },
    ],
    "modules": [
        {
            "code": "LOV-1",
            "title": "Loven",
            "strand": "lovgivning",
            "format": "classroom",
            "duration_hours": 6,
            "objectives": ["Kender lovens opbygning"],
            "competences": ["basis-lov"],
            "transfer": {"title": "Prøv det", "assignment": "Brug det i en sag, og fortæl teamet."},
        },
        {
            "code": "SAM-1",
            "title": "Samtalen",
            "strand": "samtale",
            "format": "online",
            "duration_hours": 1.5,
            "objectives": ["Kan åbne en samtale"],
            "competences": ["basis-lov", "helhed-plan"],
            "prerequisites": ["LOV-1"],
            "transfer": {"title": "Prøv det", "assignment": "Hold en samtale, og del det."},
        },
    ],
}


def bad(change) -> list[str]:
    data = copy.deepcopy(GOOD)
    change(data)
    return [f"{p.path}: {p.message}" for p in validate(data, "t.toml")]


def test_a_good_file_has_no_problems():
    assert validate(copy.deepcopy(GOOD), "t.toml") == []


def test_the_shipped_curriculum_is_valid_and_realistic():
    files = sorted((ROOT / "curriculum").glob("*.toml"))
    assert files, "curriculum/ must hold at least one version file"
    data = read_file(files[0])
    assert len(data["modules"]) >= 10
    assert {"lovgivning", "samtale", "tvaerfaglig"} <= {s["code"] for s in data["strands"]}
    kinds = [p["kind"] for p in data["profiles"]]
    assert kinds.count("base") == 1 and kinds.count("specialist") == 4
    formats = {m["format"] for m in data["modules"]}
    assert formats == {"classroom", "online", "on_the_job"}
    assert all(m["transfer"]["assignment"].strip() for m in data["modules"])


def test_unknown_prerequisite_is_named():
    problems = bad(lambda d: d["modules"][1].update(prerequisites=["LOV-9"]))
    assert problems == ["modules[1] (SAM-1).prerequisites[0]: ukendt modul 'LOV-9'"]


def test_a_cycle_is_reported_with_its_path():
    problems = bad(lambda d: d["modules"][0].update(prerequisites=["SAM-1"]))
    assert problems == ["modules: forudsætningerne danner en cirkel: LOV-1 → SAM-1 → LOV-1"]


def test_a_module_cannot_require_itself():
    problems = bad(lambda d: d["modules"][0].update(prerequisites=["LOV-1"]))
    assert "modules[0] (LOV-1).prerequisites[0]: et modul kan ikke forudsætte sig selv" in problems


def test_duplicate_codes_are_named():
    def change(d):
        d["modules"][1]["code"] = "LOV-1"
        d["profiles"][1]["competences"][0]["code"] = "basis-lov"
        d["strands"][1]["code"] = "lovgivning"

    problems = bad(change)
    assert "modules[1] (LOV-1).code: koden 'LOV-1' er brugt før" in problems
    assert "profiles[1] (helhed).competences[0] (basis-lov).code: koden 'basis-lov' er brugt før" in problems
    assert "strands[1] (lovgivning).code: koden 'lovgivning' er brugt før" in problems


def test_missing_objective_and_missing_transfer():
    def change(d):
        d["modules"][0]["objectives"] = []
        del d["modules"][1]["transfer"]

    problems = bad(change)
    assert "modules[0] (LOV-1).objectives: skal have mindst ét element" in problems
    assert any(p.startswith("modules[1] (SAM-1).transfer: mangler") for p in problems)


@pytest.mark.parametrize(
    ("hours", "days", "expected"),
    [
        (0, 1, "skal være et positivt antal timer"),
        (-3, 1, "skal være et positivt antal timer"),
        ("seks", 1, "skal være et positivt antal timer"),
        (2.1, 1, "skal være et positivt antal timer"),
        (15, 1, "15 timer på 1 dag er mere end 7,5 timer om dagen"),
        (16, 2, "16 timer på 2 dage er mere end 7,5 timer om dagen"),
    ],
)
def test_bad_duration(hours, days, expected):
    problems = bad(lambda d: d["modules"][0].update(duration_hours=hours, days=days))
    assert len(problems) == 1
    assert problems[0].startswith("modules[0] (LOV-1).duration_hours: " + expected)


def test_unknown_references_and_values():
    def change(d):
        d["modules"][0]["strand"] = "ukendt"
        d["modules"][0]["format"] = "webinar"
        d["modules"][0]["competences"] = ["findes-ikke"]
        d["modules"][0]["varighed"] = 3

    problems = bad(change)
    assert "modules[0] (LOV-1).strand: ukendt spor 'ukendt'" in problems
    assert "modules[0] (LOV-1).format: skal være en af classroom, online, on_the_job" in problems
    assert "modules[0] (LOV-1).competences[0]: ukendt kompetence 'findes-ikke'" in problems
    assert "modules[0] (LOV-1).varighed: ukendt felt" in problems


def test_exactly_one_base_profile():
    problems = bad(lambda d: d["profiles"][1].update(kind="base"))
    assert 'profiles: der skal være præcis én basisprofil (kind = "base")' in problems


def test_every_problem_is_reported_at_once():
    def change(d):
        d["curriculum"]["label"] = ""
        d["modules"][0]["title"] = " "
        d["modules"][1]["prerequisites"] = ["X-1"]

    problems = bad(change)
    assert len(problems) == 3


def test_syntax_errors_name_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('[curriculum]\nlabel = "x\n', encoding="utf-8")
    with pytest.raises(CurriculumInvalid) as error:
        read_file(path)
    [problem] = error.value.problems
    assert problem.file == "broken.toml" and problem.path == "(syntaks)"


def test_non_utf8_file_is_refused(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[curriculum]\ntitle = "Sorø"\n'.encode("latin-1"))
    with pytest.raises(CurriculumInvalid) as error:
        read_file(path)
    assert "UTF-8" in error.value.problems[0].message


def test_content_hash_ignores_layout_but_not_content():
    a = copy.deepcopy(GOOD)
    b = copy.deepcopy(GOOD)
    assert content_hash(a) == content_hash(b)
    b["modules"][0]["title"] = "Loven, ny udgave"
    assert content_hash(a) != content_hash(b)
