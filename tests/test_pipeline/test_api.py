"""The Python API, through the README's own example (run as written, on generated frames)."""

import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("mmdet")
pytest.importorskip("mmseg")

from adcert.datasets import write_split  # noqa: E402

from ..helpers import REPO  # noqa: E402


def readme_example() -> str:
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    section = text[text.index("### Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_runs(tmp_path):
    write_split(str(tmp_path / "data"), "test", [71], height=64, width=128)
    code = (readme_example()
            .replace('"data/demo/"', repr(str(tmp_path / "data") + "/"))
            .replace('"work_dirs/api"', repr(str(tmp_path / "api"))))
    code += ("\nassert len(run.records) == 1 and os.path.isfile(run.summary_path)"
             "\nassert cert.labels.shape == (64, 128)\n")
    done = subprocess.run([sys.executable, "-c", "import os\n" + code], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr[-3000:]


def test_settings_of_the_wrong_task_are_refused():
    from adcert.pipeline import certify_dataset
    from adcert.pipeline.api import _task

    with pytest.raises(ValueError, match="DetSettings or SegSettings"):
        _task({"n": 3})
    with pytest.raises(ValueError, match="DetSettings or SegSettings"):
        certify_dataset("c.py", "m.pth", object())


def test_certify_image_keys_the_noise_by_path_not_file_name(monkeypatch, tmp_path):
    # a/x.png and b/x.png must not share a noise stream; with a root the key is the run
    # engine's (the path relative to it); an explicit image_id wins. Model, frames and
    # certifier are stand-ins: only the key handed to the noise matters here.
    from types import SimpleNamespace

    import adcert.models.data
    import adcert.noise
    from adcert.pipeline import DetSettings, certify_image, detection
    from adcert.pipeline.frames import frame_key

    keys = []
    monkeypatch.setattr(adcert.noise, "image_generator",
                        lambda seed, key, device, path: keys.append((seed, key)))
    monkeypatch.setattr(adcert.models.data, "ImageFrames", lambda cfg, paths: [{}])
    monkeypatch.setattr(detection, "certify_frame",
                        lambda *args, **kwargs: SimpleNamespace(certificate="cert"))
    model = SimpleNamespace(cfg=None, device="cpu", model=None, denoiser=None)
    images = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        images.append(tmp_path / folder / "x.png")
        images[-1].write_bytes(b"")
    settings = DetSettings(seed=3)
    for image in images:
        assert certify_image(model, str(image), settings) == "cert"
    assert keys[0] != keys[1] and keys[0] == (3, frame_key(str(images[0]), None))
    certify_image(model, str(images[1]), settings, root=str(tmp_path))
    assert keys[-1] == (3, "b/x.png") == (3, frame_key(str(images[1]), str(tmp_path)))
    certify_image(model, str(images[1]), settings, image_id="mine", root=str(tmp_path))
    assert keys[-1] == (3, "mine")


def test_load_model_reads_a_denoiser_as_the_flag_does(tmp_path):
    from adcert.pipeline import load_model

    from ..helpers import random_checkpoint

    config = os.path.join(REPO, "configs", "demo", "fpn_mnv2_demo.py")
    checkpoint = random_checkpoint(config, "mmseg", tmp_path / "m.pth")
    (tmp_path / "identity.py").write_text("denoiser = dict(type='IdentityDenoiser')\n")
    for weights in (None, "none", "NONE"):
        loaded = load_model(config, checkpoint, "segmentation", device="cpu",
                            denoiser=(str(tmp_path / "identity.py"), weights))
        assert loaded.denoiser.describe()["type"] == "IdentityDenoiser"
    with pytest.raises(FileNotFoundError, match="denoiser config file not found"):
        load_model(config, checkpoint, "segmentation", device="cpu",
                   denoiser=(str(tmp_path / "missing.py"), "none"))
