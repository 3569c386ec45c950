"""``--denoiser CONFIG CHECKPOINT`` and ``certify.denoiser`` end to end: records name the
denoiser and its hash, the identity denoiser changes no figure, a resume refuses another
denoiser, and bad denoiser configs or checkpoints are one line and exit status 2."""

import json
import os
import shutil

import pytest
import torch

pytest.importorskip("mmseg")

from adcert.cli.certify_seg import cli  # noqa: E402
from adcert.models.denoiser import ConvDenoiser, folder_sha256  # noqa: E402
from adcert.pipeline.schema import SEGMENTATION_RECORD_SCHEMA, validate  # noqa: E402

from ..helpers import REPO, saved_diffusion_folder, tiny_demo_run  # noqa: E402

CONFIG = os.path.join(REPO, "configs", "demo", "fpn_mnv2_demo.py")
CONV = "denoiser = dict(type='ConvDenoiser', channels=4, fold=2, depth=1)\n"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root, checkpoint, options = tiny_demo_run(tmp_path_factory.mktemp("denoised"), CONFIG,
                                              "mmseg", [21])
    (root / "identity.py").write_text("denoiser = dict(type='IdentityDenoiser')\n")
    (root / "conv.py").write_text(CONV)
    torch.manual_seed(0)
    torch.save({"state_dict": ConvDenoiser(channels=4, fold=2, depth=1).state_dict()},
               root / "conv.pth")
    (root / "none.pth").write_bytes(b"")
    return root, checkpoint, options


def run(tiny_run, work, *extra, config=CONFIG):
    root, checkpoint, options = tiny_run
    return cli([config, checkpoint, "--work-dir", str(root / work), "--n0", "2", "--n", "4",
                "--alpha", "0.1", "--tau", "0.6", "--seed", "3", *extra,
                "--cfg-options", *options])


def records(root, work):
    run_dir = max(p for p in (root / work).iterdir() if p.is_dir())
    return [json.loads(line) for line in open(run_dir / "results.jsonl")], run_dir


def test_identity_denoiser_changes_no_figure(tiny_run):
    root = tiny_run[0]
    assert run(tiny_run, "plain") == 0
    assert run(tiny_run, "identity", "--denoiser", str(root / "identity.py"),
               "none") == 0
    (plain,), _ = records(root, "plain")
    (denoised,), run_dir = records(root, "identity")
    assert denoised["model"]["denoiser"]["type"] == "IdentityDenoiser"
    assert plain["model"]["denoiser"] is None
    for key in ("abstain_rate", "tau_sweep", "certified_acc", "clean_acc"):
        assert plain[key] == denoised[key]
    assert "denoiser followed by the task model" in denoised["guarantee_text"]
    manifest = json.load(open(run_dir / "run.json"))
    assert manifest["denoiser"]["type"] == "IdentityDenoiser"


def test_records_name_the_denoiser_and_its_hash_and_resume_checks_it(tiny_run):
    root = tiny_run[0]
    flag = ["--denoiser", str(root / "conv.py"), str(root / "conv.pth")]
    assert run(tiny_run, "conv", *flag) == 0
    (record,), run_dir = records(root, "conv")
    denoiser = record["model"]["denoiser"]
    assert denoiser["type"] == "ConvDenoiser" and len(denoiser["checkpoint_sha256"]) == 64
    assert denoiser["checkpoint"] == str(root / "conv.pth")
    # A resume with another denoiser is refused before any frame.
    other = root / "conv2.pth"
    torch.manual_seed(1)
    torch.save({"state_dict": ConvDenoiser(channels=4, fold=2, depth=1).state_dict()}, other)
    assert run(tiny_run, "conv", "--resume", str(run_dir),
               "--denoiser", str(root / "conv.py"), str(other)) == 2
    assert run(tiny_run, "conv", "--resume", str(run_dir)) == 2  # and none at all


def test_a_diffusers_folder_is_hashed_and_resume_refuses_a_changed_one(tiny_run, capsys):
    """A DiffusionDenoiser read from a saved folder: the record holds one sha256 of the
    folder's weight and config files, so other weights at the same path are noticed."""
    root = tiny_run[0]
    folder = root / "ddpm"
    saved_diffusion_folder(folder, seed=0)
    (root / "diffusion.py").write_text(
        f"denoiser = dict(type='DiffusionDenoiser', pretrained={str(folder)!r})\n")
    flag = ["--denoiser", str(root / "diffusion.py"), "none"]
    assert run(tiny_run, "diffusion", *flag) == 0
    (record,), run_dir = records(root, "diffusion")
    block = record["model"]["denoiser"]
    assert block["pretrained"] == str(folder) and block["checkpoint_sha256"] is None
    assert block["pretrained_sha256"] == folder_sha256(str(folder))
    assert validate(record, SEGMENTATION_RECORD_SCHEMA) == []
    assert json.load(open(run_dir / "run.json"))["denoiser"] == block
    shutil.rmtree(folder)
    saved_diffusion_folder(folder, seed=1)  # other weights, same path, same spec
    capsys.readouterr()
    assert run(tiny_run, "diffusion", "--resume", str(run_dir), *flag) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --resume: denoiser.pretrained_sha256 is ") and "\n" not in err


def test_certify_dict_names_the_denoiser(tiny_run):
    root = tiny_run[0]
    config = root / "denoised_config.py"
    config.write_text(f"_base_ = {CONFIG!r}\ncertify = dict(denoiser=dict(type='ConvDenoiser', "
                      f"channels=4, fold=2, depth=1, checkpoint='{root}/conv.pth'))\n")
    assert run(tiny_run, "from_config", config=str(config)) == 0
    (record,), _ = records(root, "from_config")
    assert record["model"]["denoiser"]["type"] == "ConvDenoiser"


@pytest.mark.parametrize("files, message", [
    (("missing.py", "conv.pth"), "denoiser config file not found"),
    (("identity.py", "conv.pth"), "denoiser checkpoint"),  # weights for a weightless one
    (("conv.py", "missing.pth"), "checkpoint file not found"),
    (("conv.py", "none.pth"), "not a readable checkpoint"),
    (("bad_type.py", "conv.pth"), "denoiser type must be one of"),
    (("no_spec.py", "conv.pth"), "has no `denoiser = dict"),
])
def test_bad_denoisers_are_one_line_and_exit_2(tiny_run, capsys, files, message):
    root = tiny_run[0]
    (root / "bad_type.py").write_text("denoiser = dict(type='Blur')\n")
    (root / "no_spec.py").write_text("x = 1\n")
    code = run(tiny_run, "bad", "--denoiser", *(str(root / f) for f in files))
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (root / "bad").exists() or not any((root / "bad").iterdir())
