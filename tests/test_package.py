import subprocess
import sys


def test_import_adcert_loads_neither_torch_nor_openmmlab():
    code = (
        "import sys, adcert, adcert.stats, adcert.noise, adcert.certify, "
        "adcert.certify.segmentation, adcert.certify.detection; "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'mmcv', 'mmengine', 'mmdet', 'mmseg'}); print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
