"""Requirement verdicts: met, not met, or not evidenced — from complete runs only.

Rules (``docs/report.md``):
- a run is evidence for a requirement when it is complete, of the requirement's task and
  transform, certified at a per-box / per-frame level α no larger than the requirement's,
  and its certificate covers the requirement's whole attack set: detection at an ε' ≥ ε
  (the run's own ε or one of its ε-sweep, from the same samples; the smallest such ε'
  is taken, a rule fixed before any figure is read), segmentation at a certified range
  containing the attack set (the run's τ or a τ' of its sweep, the narrowest such range);
- every run that is evidence must meet the threshold: several runs are never reduced to
  their best one;
- a figure that is undefined (no ground truth, a class absent from the data), or whose
  failure bound is unknown, leaves the requirement not evidenced by that run;
- a requirement naming a hierarchy ``level`` is read at the run's own τ (the τ' sweep holds
  the fine level only) from the summary's per-level figures; a run certified without a
  class hierarchy, or whose hierarchy has no such level, is no evidence for it;
- a verdict rests on every certificate its runs' figures were read from, and is met only
  when the sum B of their failure bounds (every run; each ε or τ' point of one run's
  samples a certificate of its own) is at most 1 − ``confidence``; else it is not
  evidenced. The top goal sums over every goal's certificates, each distinct certificate
  once (:func:`top_goal`).

What B means: a detection run's bound is computed from its samples, so B is not a
probability the certificates fail with. What is proven is the threshold reading, for
every fixed b: P(some certificate wrong and B ≤ b) ≤ b (docs/certified_ap.md, "With
which probability"; sums over runs and a segmentation run's fixed frames × α keep it).
With b = 1 − confidence: a verdict is met while some certificate it rests on is wrong
with probability ≤ 1 − confidence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from adcert.certify.hierarchy import FINE_LEVEL
from adcert.report.requirements import Requirement
from adcert.report.runs import Run
from adcert.stats._rounding import MP, float_up, format_down, format_up

MET, NOT_MET, NOT_EVIDENCED = "met", "not met", "not evidenced"


@dataclass
class Finding:
    """What one run says about one requirement."""

    run: str  # the run's label
    value: float | None = None
    met: bool | None = None
    at: str = ""  # where in the run the figure was read: "ε = 0.1", "τ = 0.75"
    # Failure bound B of the certificates the figure was read from (threshold reading).
    joint_failure_bound: float | None = None
    note: str = ""
    # Which certificates: the run and the exact ε' / τ' (None for a measured figure). Two
    # findings with the same one rest on the very same certificates.
    certificate: str | None = None


@dataclass
class Verdict:
    requirement: Requirement
    verdict: str
    reason: str
    findings: list[Finding] = field(default_factory=list)
    # Sum of the failure bounds of every certificate the decided findings rest on (the
    # threshold reading holds for it); None when they rest on none or nothing was decided.
    joint_failure_bound: float | None = None


def union_bound(bounds: Iterable[float]) -> float:
    """The sum of failure bounds, capped at 1, taken at 50 digits and rounded up. For fixed
    bounds it bounds P(some certificate fails); for sample-dependent ones (detection) it
    keeps the threshold reading P(some certificate wrong and sum ≤ b) ≤ b."""
    return min(1.0, float_up(MP.fsum(MP.mpf(b) for b in bounds)))


def within(joint: float, confidence: float) -> bool:
    """Whether the failure bound ``joint`` is ≤ 1 − ``confidence`` (compared exactly, no
    rounding of 1 − confidence): then, by the threshold reading at b = 1 − confidence, a
    verdict so met rests on a wrong certificate with probability ≤ 1 − confidence."""
    return Fraction(joint) <= 1 - Fraction(confidence)


def certificates(findings: Iterable[Finding]) -> dict[str, float]:
    """The distinct certificates decided findings were read from, with their failure
    bounds (measured figures rest on none)."""
    return {f.certificate: f.joint_failure_bound for f in findings
            if f.met is not None and f.certificate is not None}


def frames_failure_bound(frames: int, alpha: float) -> float:
    """Union bound over ``frames`` certificates at ``alpha`` each (rounded up, capped)."""
    return union_bound([alpha] * frames) if frames else 0.0


def per_unit_alpha(run: Run) -> float | None:
    """The run's failure probability per box (detection) or per frame (segmentation); None
    when its correction gives no such guarantee."""
    s = run.settings
    alpha, correction = s.get("alpha"), s.get("correction")
    if alpha is None:
        return None
    if run.task == "detection":
        return {"box": alpha, "image": alpha, "none": min(1.0, 12 * alpha)}.get(correction)
    return alpha if correction in ("holm", "bonferroni") else None


def required_range(req: Requirement) -> tuple[float, float]:
    """The closed parameter interval the requirement's attack set spans, widened by one
    ulp on each side so that rounding never shrinks it."""
    e = req.eps
    low, high = {"gaussian": (0.0, e), "brightness": (-e, e)}.get(
        req.transform, (math.exp(-e), math.exp(e)))
    return math.nextafter(low, -math.inf), math.nextafter(high, math.inf)


def covers(certified: dict, req: Requirement) -> bool:
    """Whether a certified (open) range record contains the requirement's attack set."""
    if certified.get("transform") != req.transform or certified.get("high") is None:
        return False
    low, high = required_range(req)
    if req.transform == "gaussian":
        return certified["high"] > high
    return certified["low"] is not None and certified["low"] < low and certified["high"] > high


def _value(entry: dict, req: Requirement) -> float | None:
    spec = req.spec
    if req.level is not None:
        return (entry.get(spec.level_key) or {}).get(req.level)
    if req.cls is not None:
        return (entry.get(spec.per_class_key) or {}).get(req.cls)
    if req.metric == "abstain_rate" and "abstain_rate" not in entry:
        fraction = entry.get("certified_fraction")
        return None if fraction is None else 1.0 - fraction
    return entry.get(spec.key)


def _detection_candidates(run: Run, req: Requirement) -> list[tuple[float, dict]]:
    """(ε', figures) pairs with ε' ≥ ε, smallest first (the run's own ε wins a tie)."""
    summary = run.summary
    own = [(float(run.settings["eps"]), summary)]
    sweep = [(float(e["eps"]), e) for e in summary.get("eps_sweep") or []]
    if req.spec.sweep_key is None:
        sweep = []
    usable = [(eps, entry) for eps, entry in own + sweep if eps >= req.eps]
    return sorted(usable, key=lambda pair: pair[0])


def _segmentation_candidates(run: Run, req: Requirement) -> list[tuple[float, dict]]:
    """(τ', figures) pairs whose certified range covers the attack set, narrowest first."""
    own_range = run.records[0].get("certified_range", {}) if run.records else {}
    failure = frames_failure_bound(len(run.records), run.settings.get("alpha", 1.0))
    pairs = [(run.settings.get("tau"), own_range, {**run.summary, "joint": failure})]
    if req.spec.sweep_key is not None and req.level is None:  # the sweep: fine level only
        pairs += [(e["tau"], e.get("certified_range", {}), {**e, "joint": failure})
                  for e in run.summary.get("tau_sweep") or []]
    usable = [(tau, rng, entry) for tau, rng, entry in pairs if covers(rng, req)]
    usable.sort(key=lambda item: item[1]["high"])
    return [(tau, entry) for tau, _, entry in usable]


def _reject(run: Run, req: Requirement) -> str | None:
    """Why ``run`` cannot be evidence for ``req`` at all (None if it can)."""
    if run.task != req.task:
        return None if run.task is None else ""  # another task: not worth a word
    if not run.usable:
        return f"{run.label} is {run.status}: {run.problem}"
    if run.transform != req.transform:
        return ""
    alpha = per_unit_alpha(run)
    if alpha is None:
        return f"{run.label}: its correction gives no per-box / per-frame guarantee"
    if alpha > req.alpha:
        return f"{run.label} is certified at α = {alpha:g}, weaker than the required {req.alpha:g}"
    return None


def _level_problem(run: Run, req: Requirement) -> str | None:
    """Why ``run`` has no figure at the requirement's hierarchy level (None if it has)."""
    tree = run.summary.get("hierarchy")
    if not isinstance(tree, dict):
        return (f"certified without a class hierarchy (flat), so it has no figure at "
                f"hierarchy level {req.level!r}")
    levels = [FINE_LEVEL] + [str(level.get("name")) for level in tree.get("levels") or []]
    if req.level not in levels:
        return (f"its hierarchy {tree.get('name')!r} has no level {req.level!r} (levels: "
                f"{', '.join(levels)})")
    return None


def _finding(run: Run, req: Requirement) -> Finding:
    certified = req.spec.certified
    if req.level is not None and (problem := _level_problem(run, req)):
        return Finding(run.label, note=problem)
    if req.task == "detection":
        candidates = _detection_candidates(run, req) if certified else [
            (run.settings["eps"], run.summary)]
        if not candidates:
            biggest = max([run.settings["eps"]] + [e["eps"] for e in
                                                   run.summary.get("eps_sweep") or []])
            return Finding(run.label, note=f"certified only up to ε = {biggest:g} < {req.eps:g}")
        eps, entry = candidates[0]
        at, joint = f"ε = {eps:g}", entry.get("certified_failure_bound")
        certificate = f"{run.label} ε'={float(eps)!r}"
    else:
        candidates = _segmentation_candidates(run, req) if certified else [
            (run.settings.get("tau"), {**run.summary, "joint": None})]
        if not candidates:
            return Finding(run.label, note="its certified range does not contain the "
                                           "required attack set at any τ'")
        tau, entry = candidates[0]
        at, joint = f"τ = {tau:g}", entry.get("joint")
        if req.level is not None:  # the same certificates: one family over every level
            at += f", level {req.level}"
        certificate = f"{run.label} τ'={float(tau)!r}"
    value = _value(entry, req)
    finding = Finding(run.label, value, None, at, joint,
                      certificate=certificate if certified else None)
    if not certified:
        finding.note = "measured on the noisy samples without an attack: not a certified bound"
    elif req.spec.describes_certificate:
        finding.note = ("a property of the certificate at the clean frame, not a figure of "
                        "the attacked output")
    if value is None:
        finding.note = "the figure is undefined in this run (no ground truth for it)"
        return finding
    if certified and joint is None:
        finding.note = "the failure bound of its certificates is unknown"
        return finding
    finding.met = value >= req.threshold if req.at_least else value <= req.threshold
    return finding


def shown(value: float, req: Requirement) -> str:
    """A figure as text, rounded towards the requirement's unsafe side: down when it must
    reach a minimum, up when it must stay below a maximum."""
    return format_down(value, 4) if req.at_least else format_up(value, 4)


def _bound_words(finding: Finding) -> str:
    if finding.certificate is None or finding.joint_failure_bound is None:
        return ""
    return (f" (failure bound of its certificates ≤ "
            f"{format_up(finding.joint_failure_bound, 3)})")


def _too_loose(joint: float, count: int, confidence: float) -> str:
    return (f"the failure bound of the {count} certificate "
            f"famil{'y' if count == 1 else 'ies'} it rests on, {format_up(joint, 3)}, "
            f"exceeds 1 − confidence = {1.0 - confidence:.3g}")


def assess(req: Requirement, runs: list[Run]) -> Verdict:
    """The verdict on ``req`` from ``runs`` (rules in the module docstring)."""
    reasons, findings = [], []
    for run in runs:
        why = _reject(run, req)
        if why is None and run.task == req.task:
            findings.append(_finding(run, req))
        elif why:
            reasons.append(why)
    decided = [f for f in findings if f.met is not None]
    reasons += [f"{f.run}: {f.note}" for f in findings if f.met is None and f.note]
    if not decided:
        reason = "; ".join(reasons) or (
            f"no complete {req.task} run with transform {req.transform} was given")
        return Verdict(req, NOT_EVIDENCED, reason, findings)
    rests_on = certificates(decided)
    joint = union_bound(rests_on.values()) if rests_on else None
    failed = [f for f in decided if not f.met]
    verdict = NOT_MET if failed else MET
    sign = "≥" if req.at_least else "≤"
    parts = [f"{f.run} ({f.at}): {shown(f.value, req)} {sign if f.met else 'fails'} "
             f"{req.threshold:g}{_bound_words(f)}" for f in decided]
    if joint is not None:
        if len(rests_on) > 1:
            parts.append(f"failure bound of the verdict ≤ {format_up(joint, 3)} (sum over "
                         f"{len(rests_on)} certificate families)")
        if verdict == MET and not within(joint, req.confidence):
            verdict = NOT_EVIDENCED
            parts.append(_too_loose(joint, len(rests_on), req.confidence))
    return Verdict(req, verdict, "; ".join(parts + reasons), findings, joint)


def top_goal(verdicts: Sequence[Verdict], confidence: float) -> tuple[str, float | None, int]:
    """The top goal's verdict, the summed failure bound of every distinct certificate any
    goal's decided findings rest on (an ε' or τ' point of a run shared by several goals
    counts once), and how many there are. Met only when every goal is and that bound is at most
    1 − ``confidence``."""
    rests_on: dict[str, float] = {}
    for v in verdicts:
        rests_on.update(certificates(v.findings))
    joint = union_bound(rests_on.values()) if rests_on else None
    states = {v.verdict for v in verdicts}
    if NOT_MET in states:
        verdict = NOT_MET
    elif NOT_EVIDENCED in states or (joint is not None and not within(joint, confidence)):
        verdict = NOT_EVIDENCED
    else:
        verdict = MET
    return verdict, joint, len(rests_on)
