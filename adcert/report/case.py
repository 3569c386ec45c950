"""The safety case as data: goals, strategy, context, assumptions and solutions (a GSN-like
structure, ``docs/report.md``), built from requirements and runs. ``report.json`` is this
dict; the HTML page is drawn from it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Sequence

from adcert.report import figures
from adcert.report.gallery import Pick, pick_frames
from adcert.report.requirements import Requirement, RequirementSet
from adcert.report.runs import Run
from adcert.report.verdicts import Verdict, assess, top_goal
from adcert.stats._rounding import format_up

SCHEMA_VERSION = 1
KIND = "adcert.safety_case"

STRATEGY = (
    "Argue over each robustness requirement in turn. Each becomes a formal property of the "
    "smoothed model (a figure that must hold under every perturbation of the stated set), "
    "verified by randomized-smoothing certification on held-out frames: a statistical "
    "proof whose failure probability α is stated, not a test of sampled attacks.")

SMOOTHED_MODEL = {
    "detection": (
        "The smoothed detector runs the base detector on n copies of the frame with "
        "independent noise, groups the boxes by bin (location cell and label), sorts them "
        "in each bin and outputs each slot's per-coordinate median (Chiang et al. 2020, "
        "median smoothing); its boxes, labels and scores are what is certified."),
    "segmentation": (
        "The smoothed segmenter runs the base segmenter on copies of the frame with "
        "independent noise and outputs each pixel's majority class; it never abstains. Its "
        "certificate (Fischer et al. 2021, SegCertify: a τ-test per pixel with Holm "
        "correction over the pixels) is computed at the clean frame: a pixel certified "
        "there keeps its class under every attack within the certified radius R; a pixel "
        "the certificate abstains on may take any class under attack. The abstain rate and "
        "the certified-pixel share are properties of that certificate at the clean frame, "
        "not certified figures of the attacked output."),
}

ASSUMPTIONS = [
    ("A1", "The deployed perception runs the smoothed model with the recorded settings "
           "(σ, n, α, binning), not the base model: no certificate here says anything about "
           "the base model's own outputs."),
    ("A2", "Perturbations act on the resized model input (values in [0, 1], before "
           "normalization), as the certificates state; how a change of the camera image or "
           "of the world maps into that space is outside this argument."),
    ("A3", "The certified frames represent the operational design domain. adcert checks "
           "which frames were certified, not whether they are representative."),
    ("A4", "The checkpoint under test is the one whose sha256 is recorded, trained as its "
           "config says; adcert can compare data splits named in the config, not verify "
           "what the checkpoint was actually trained on."),
]

LIMITATIONS = [
    "Space: ε and radii are ℓ2 norms (or camera-effect parameters) over the resized model "
    "input in [0, 1] before normalization — not over the original image, the raw sensor "
    "signal or the physical scene. A perturbation of the original image of a given norm "
    "changes norm when the test pipeline resizes it.",
    "No clipping: noise and camera effects are applied without clipping to [0, 1]; the "
    "certified set includes such unclipped inputs and the smoothed model sees them too.",
    "Camera effects are certified for one global transform of the whole frame "
    "(brightness offset, contrast factor or gamma exponent), not for local, per-channel or "
    "sensor-noise changes.",
    "The smoothed model is what is certified and must be what is deployed; it costs n "
    "forward passes per frame (see each run's seconds per frame).",
    "Certified is not correct: a certified box or pixel keeps the smoothed model's output, "
    "which can be wrong. The gallery shows certified-but-wrong pixels and boxes.",
    "Sampling confidence: each certificate holds with probability ≥ 1 − α over adcert's "
    "random noise, per box (detection) or per frame (segmentation). A figure over a data "
    "set needs all of them at once, a verdict every figure it reads and the top goal "
    "every verdict: each states the failure bound B of the certificates it rests on (a "
    "sum over them) and is met only when B ≤ 1 − confidence. A detection run's B is "
    "computed from its samples, so it is not the probability that the certificates fail; "
    "what is proven is that for every b, P(some certificate wrong and B ≤ b) ≤ b, so a "
    "verdict is met while resting on a wrong certificate with probability ≤ 1 − "
    "confidence.",
    "Per box vs per frame: a detection run with correction 'box' guarantees each box's "
    "bounds with probability ≥ 1 − α on its own, not all boxes of a frame at once (that "
    "takes --correction image, α per frame); a segmentation certificate covers all "
    "certified pixels of a frame at once (Holm).",
    "Each ε of the detection sweep and each τ' of the segmentation sweep is its own "
    "certificate at α from the same samples, not a joint statement over the curve.",
    "Chiang et al.'s reading of certified AP is shown for comparison only: it is not a "
    "bound (it can overclaim); the certified AP@50 is.",
    "Requirements argue over the frames certified here only; nothing is claimed for frames, "
    "cameras or conditions that were not certified.",
]


def _sha256(path: str) -> str | None:
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _run_date(run: Run) -> str | None:
    """The run's start, from its folder name (YYYYmmdd_HHMMSS) or its manifest's mtime."""
    name = os.path.basename(os.path.normpath(run.path)).split("_")
    try:
        return dt.datetime.strptime("_".join(name[:2]), "%Y%m%d_%H%M%S").isoformat()
    except ValueError:
        manifest = os.path.join(run.path, "run.json")
        if os.path.isfile(manifest):
            return dt.datetime.fromtimestamp(os.path.getmtime(manifest)).isoformat(
                timespec="seconds")
        return None


def _dataset_part(dataset: dict | None) -> dict | None:
    if not isinstance(dataset, dict):
        return None
    while "dataset" in dataset and isinstance(dataset["dataset"], dict):
        dataset = dataset["dataset"]  # RepeatDataset / ClassBalancedDataset wrappers
    return {key: dataset.get(key) for key in ("type", "data_root", "ann_file", "data_prefix")}


def _config_splits(path: str) -> tuple[dict | None, dict | None]:
    """(certified split, training split) named by a saved config; Nones if unreadable."""
    if not os.path.isfile(path):
        return None, None
    try:
        from mmengine.config import Config

        cfg = Config.fromfile(path)
        return (_dataset_part(cfg.get("test_dataloader", {}).get("dataset")),
                _dataset_part((cfg.get("train_dataloader") or {}).get("dataset")))
    except Exception:  # a config that no longer loads is reported, not fatal
        return None, None


def dataset_info(run: Run) -> dict:
    """The certified split and the split the config trains on, from the run's saved config
    (None parts when the config cannot be read)."""
    test, train = _config_splits(os.path.join(run.path, "config.py"))
    frames = run.manifest.get("frames") or []
    return {"certified_split": test, "training_split": train,
            "frames": len(frames), "source": run.manifest.get("source"),
            "frames_sha256": hashlib.sha256("\n".join(frames).encode()).hexdigest()}


def independence(data: dict) -> str:
    """Whether verification data is kept apart from development data, as far as the
    config tells."""
    test, train = data["certified_split"], data["training_split"]
    if test is None:
        return "unknown: the run's saved config could not be read"
    if train is None:
        return "not evidenced: the config names no training split to compare with"
    keys = ("data_root", "ann_file", "data_prefix")
    if all(test.get(k) == train.get(k) for k in keys):
        return ("NOT independent: the certified frames come from the split the config "
                "trains on")
    return ("the certified split differs from the split the config trains on "
            f"(certified: {_split_words(test)}; training: {_split_words(train)})")


def _split_words(part: dict) -> str:
    bits = [str(part.get(k)) for k in ("data_root", "ann_file") if part.get(k)]
    prefix = part.get("data_prefix")
    if isinstance(prefix, dict):
        bits += [str(v) for v in prefix.values()]
    return " ".join(bits) or "unnamed"


def solution(run: Run, dataset: dict | None) -> dict:
    """A run as a GSN solution: what it certified and everything that produced it."""
    m, s = run.manifest, run.summary
    records = run.records
    item = {
        "id": f"Sn{run.label[1:]}", "run": run.label, "path": os.path.abspath(run.path),
        "status": run.status, "problem": run.problem, "task": run.task,
        "transform": run.transform, "settings": run.settings,
        "seed": m.get("seed"), "date": _run_date(run),
        "frames_certified": len(records), "frames_planned": run.frames_planned,
        "world_size": m.get("world_size"), "amp": m.get("amp"),
        "config": m.get("config"), "config_sha256": m.get("config_sha256"),
        "checkpoint": m.get("checkpoint"), "checkpoint_sha256": m.get("checkpoint_sha256"),
        # The denoiser in front of the model (docs/certificates.md §8), None without one.
        "denoiser": m.get("denoiser"),
        "adcert_source_sha256": m.get("adcert_source_sha256"),
        "versions": m.get("versions"), "device": m.get("device"),
        "input_shapes": sorted({tuple(r["input_shape"]) for r in records
                                if r.get("input_shape")}),
        "norm_space": m.get("norm_space"),
        "guarantee_text": s.get("guarantee_text") or (
            records[0].get("guarantee_text") if records else None),
        "noise": (s.get("provenance") or {}).get("noise"),
        "dataset": dataset,
        "classes": run.classes,
        "figures": figures.headline(run),
    }
    return item


def _context(runs: Sequence[Run]) -> list[dict]:
    items = []
    for task in ("detection", "segmentation"):
        if any(r.task == task for r in runs):
            items.append({"id": f"C-{task}", "text": SMOOTHED_MODEL[task]})
    for run in runs:
        if run.usable:
            s = run.settings
            text = (f"{run.label} ({run.task}, {run.transform} noise σ = {s.get('sigma')}, "
                    f"n = {s.get('n')}, α = {s.get('alpha')}): "
                    f"{solution_guarantee(run)}")
            items.append({"id": f"C-{run.label}", "text": text})
    return items


def solution_guarantee(run: Run) -> str:
    records = run.records
    text = run.summary.get("guarantee_text") or (
        records[0].get("guarantee_text") if records else "")
    if run.task == "segmentation" and records:
        text += f" Certified range: {records[0].get('certified_range', {}).get('text')}."
    return text


def _goal(index: int, verdict: Verdict, solutions: dict[str, str]) -> dict:
    req = verdict.requirement
    return {
        "id": f"G{index}", "requirement_id": req.id, "requirement_text": req.text,
        "text": req.goal_text(), "verdict": verdict.verdict, "reason": verdict.reason,
        "joint_failure_bound": verdict.joint_failure_bound,
        "solutions": sorted({solutions[f.run] for f in verdict.findings}),
        "findings": [vars(f) for f in verdict.findings],
        "requirement": {"task": req.task, "metric": req.metric, "cls": req.cls,
                        "threshold": req.threshold,
                        "direction": "min" if req.at_least else "max",
                        "transform": req.transform, "eps": req.eps, "alpha": req.alpha,
                        "confidence": req.confidence, "level": req.level},
    }


def _formal_property(req: Requirement) -> str:
    """The requirement as the property the certificates must establish."""
    sign = "≥" if req.at_least else "≤"
    spec = req.spec
    if not spec.certified:
        return (f"The {spec.words} is measured on the smoothed model without attack and "
                f"must be {sign} {req.threshold:g}; it is not a certified property.")
    per = "box" if req.task == "detection" else "frame"
    head = (f"For each certified frame x and every perturbation in the set “"
            f"{req.threat_words()}”, the smoothed model's output on the perturbed frame lies "
            f"inside the certificate computed for x (each with probability ≥ 1 − "
            f"{req.alpha:g} per {per}; the verdict is met only when the failure bound B of "
            f"every certificate it rests on is ≤ 1 − {req.confidence:g}, and for every b, "
            f"P(some certificate wrong and B ≤ b) ≤ b); ")
    if spec.describes_certificate:
        return (head + f"the {spec.words} is a property of those certificates at the clean "
                f"frames, which bounds from above {spec.describes_certificate}, and must be "
                f"{sign} {req.threshold:g}.")
    side = "below" if spec.higher_is_better else "above"
    if req.level is not None:  # docs/certificates.md §9: a node certified at a finer
        # level keeps its ancestor at this level the majority, so g at this level is bounded
        return (head + f"the {spec.words}{req.level_words()} computed from these "
                f"certificates bounds from {side} the same figure, over that level's nodes, "
                f"of the attacked smoothed segmenter at level {req.level} (each pixel's "
                f"majority node of that level), under every such perturbation, and must be "
                f"{sign} {req.threshold:g}.")
    return (head + f"the {spec.words} computed from these certificates bounds the same figure "
            f"of the attacked smoothed model, under every such perturbation, from {side}, "
            f"and must be {sign} {req.threshold:g}.")


def _log_entry(goal: dict, verdict: Verdict, runs: dict[str, Run],
               datasets: dict[str, dict]) -> dict:
    req = verdict.requirement
    used = [runs[f.run] for f in verdict.findings]
    bounds = []
    for run in used:
        if run.task == "detection":
            eps = sorted({run.settings.get("eps")} | {e["eps"] for e in
                                                      run.summary.get("eps_sweep") or []})
            bounds.append(f"{run.label}: ε ∈ {{{', '.join(f'{e:g}' for e in eps)}}}")
        else:
            taus = sorted({run.settings.get("tau")} | {e["tau"] for e in
                                                       run.summary.get("tau_sweep") or []})
            bounds.append(f"{run.label}: τ' ∈ {{{', '.join(f'{t:g}' for t in taus)}}}")
    data = [f"{run.label}: {len(run.records)} frames, {_split_words(d['certified_split'])}"
            if (d := datasets[run.label])["certified_split"] else
            f"{run.label}: {len(run.records)} frames" for run in used]
    return {
        "goal": goal["id"], "requirement_id": req.id,
        "formal_property": _formal_property(req),
        "method": ("formal verification with a statistical guarantee: randomized-smoothing "
                   "certificates (Clopper–Pearson / order-statistic bounds) from n noisy "
                   "forward passes per frame"),
        "bounds_tested": "; ".join(bounds) or "none",
        "why_these_bounds": (f"the requirement's attack set (ε = {req.eps:g}, {req.transform}) "
                             "and, from the same samples, a sweep around it that shows the "
                             "margin"),
        "data": "; ".join(data) or "none",
        "independence": "; ".join(f"{run.label}: {independence(datasets[run.label])}"
                                  for run in used) or "no run used",
        "result": f"{verdict.verdict}: {verdict.reason}",
    }


def _top_goal(verdicts: Sequence[Verdict], system: str, confidence: float) -> dict:
    """G0: every goal met, and the failure bound B of all their certificates (summed over
    each distinct certificate once) ≤ 1 − ``confidence``: then a met G0 rests on a wrong
    certificate with probability ≤ 1 − confidence (the threshold reading of
    :mod:`adcert.report.verdicts`)."""
    verdict, joint, count = top_goal(verdicts, confidence)
    bound = ("rests on no certificate" if joint is None else
             f"rests on {count} certificate famil{'y' if count == 1 else 'ies'} with "
             f"failure bound B ≤ {format_up(joint, 3)}")
    return {"id": "G0", "verdict": verdict, "joint_failure_bound": joint,
            "confidence": confidence, "certificates": count,
            "text": f"{system}: meets its {len(verdicts)} robustness requirements, certified "
                    f"as stated below, met only when the failure bound B of all their "
                    f"certificates is ≤ 1 − {confidence:g}, so that it is met on a wrong "
                    f"certificate with probability ≤ 1 − {confidence:g} ({bound})"}


def build_report(requirements: RequirementSet, runs: Sequence[Run],
                 command: Sequence[str] | None = None,
                 now: dt.datetime | None = None,
                 picks: Sequence[Pick] | None = None) -> dict:
    """The whole safety case as a JSON-able dict (validated by ``schema.json``); ``picks``
    are the gallery's frames (every run's :func:`pick_frames` when not given)."""
    from adcert import __version__

    if picks is None:
        picks = [p for run in runs for p in pick_frames(run)]
    verdicts = [assess(req, list(runs)) for req in requirements.requirements]
    solutions = {run.label: f"Sn{run.label[1:]}" for run in runs}
    goals = [_goal(i, v, solutions) for i, v in enumerate(verdicts, 1)]
    by_label = {run.label: run for run in runs}
    datasets = {run.label: dataset_info(run) for run in runs if run.status != "missing"}
    system = requirements.system or "the camera perception models certified below"
    now = now or dt.datetime.now(dt.UTC)
    return {
        "schema_version": SCHEMA_VERSION, "kind": KIND,
        "title": requirements.title, "system": system,
        "generated": now.isoformat(timespec="seconds"),
        "generator": {"adcert": __version__, "command": list(command or [])},
        "requirements_file": {"path": os.path.abspath(requirements.path),
                              "sha256": _sha256(requirements.path)},
        "top_goal": _top_goal(verdicts, system, requirements.confidence),
        "strategy": {"id": "S1", "text": STRATEGY},
        "context": _context(runs),
        "assumptions": [{"id": i, "text": t} for i, t in ASSUMPTIONS],
        "goals": goals,
        "solutions": [solution(run, datasets.get(run.label)) for run in runs],
        "figures": {**figures.report_figures(runs), "gallery": [
            {"run": p.run.label, "image_id": p.record.get("image_id", ""), "why": p.why}
            for p in picks]},
        "verification_log": [_log_entry(g, v, by_label, datasets)
                             for g, v in zip(goals, verdicts, strict=True)],
        "limitations": LIMITATIONS,
    }
