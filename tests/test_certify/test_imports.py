"""The certifiers take counts and sample arrays: they import only numpy, scipy, the standard
library, :mod:`adcert.stats` and the class hierarchies of :mod:`adcert.certify.hierarchy`
(and ``adcert`` itself for ``ABSTAIN``)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

CERTIFY = Path(__file__).resolve().parents[2] / "adcert" / "certify"
CERTIFIERS = ("classification", "detection", "segmentation", "hierarchy")
HEAVY = {"torch", "mmengine", "mmcv", "mmdet", "mmseg", "cv2", "matplotlib"}


def test_importing_the_certifiers_loads_no_heavy_package():
    modules = ", ".join(f"adcert.certify.{name}" for name in CERTIFIERS)
    code = (f"import sys, {modules}; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(HEAVY)!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=CERTIFY.parents[1])
    assert out.stdout.strip() == "[]"


def _imported_modules(path: Path) -> set[str]:
    """Every module an ``import`` or ``from … import`` names, wherever it sits in the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            names.add(node.module)
    return names


def _allowed(module: str) -> bool:
    top = module.split(".")[0]
    return (module in ("adcert", "adcert.stats", "adcert.certify.hierarchy")
            or module.startswith("adcert.stats.")
            or top in ("numpy", "scipy") or top in sys.stdlib_module_names)


@pytest.mark.parametrize("name", CERTIFIERS)
def test_certifier_imports_only_numpy_scipy_stdlib_and_stats(name):
    imported = _imported_modules(CERTIFY / f"{name}.py")
    assert imported, "no imports parsed"
    assert sorted(m for m in imported if not _allowed(m)) == []
