"""Import rules: the layering of adcert/pipeline, checked statically and at run time."""

import ast
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "adcert")
LIGHT = ["adcert", "adcert.pipeline", "adcert.pipeline.settings", "adcert.pipeline.journal",
         "adcert.pipeline.rundir", "adcert.pipeline.schema", "adcert.pipeline.frames"]
# Package → packages it must never import (lower layers never reach up).
FORBIDDEN = {"pipeline": ("adcert.cli",), "models": ("adcert.pipeline", "adcert.cli"),
             "certify": ("adcert.pipeline", "adcert.cli", "adcert.models"),
             "evaluation": ("adcert.pipeline", "adcert.cli")}


def imported_modules(path: str) -> set[str]:
    tree = ast.parse(open(path, encoding="utf-8").read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_lower_layers_never_import_higher_ones():
    for package, forbidden in FORBIDDEN.items():
        folder = os.path.join(ROOT, package)
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".py"):
                continue
            bad = [m for m in imported_modules(os.path.join(folder, name))
                   if m.startswith(forbidden)]
            assert not bad, f"adcert/{package}/{name} imports {bad}"


def test_light_modules_load_neither_torch_nor_openmmlab():
    code = ("import importlib, sys\n"
            f"for name in {LIGHT!r}: importlib.import_module(name)\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'mmengine', 'mmcv', 'mmdet', 'mmseg'))\n"
            "print(','.join(heavy))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_tools_stay_thin():
    tools = os.path.join(ROOT, "..", "tools")
    for name in ("certify_det.py", "certify_seg.py"):
        source = open(os.path.join(tools, name), encoding="utf-8").read()
        assert len(source.splitlines()) <= 15, name
        assert imported_modules(os.path.join(tools, name)) <= {"sys", f"adcert.cli.{name[:-3]}"}
