"""``report.html``: one self-contained page (inline CSS, plots and drawings as data: URIs,
no script, no external asset) drawn from the report dict. Every string that comes from a
run, a config or a requirements file passes through :func:`esc`.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence

from adcert.report import plots
from adcert.report.gallery import Pick
from adcert.stats._rounding import figure_text

VERDICT_CLASS = {"met": "met", "not met": "notmet", "not evidenced": "none"}

FIGURE_WORDS = {
    "clean_ap50": "AP@50 of the base model on clean frames",
    "smoothed_ap50": "AP@50 of the smoothed detector, unattacked",
    "certified_ap50": "certified AP@50: lower bound under attack",
    "chiang_certified_ap50": "Chiang et al.'s reading (not a bound)",
    "certified_recall": "certified recall: lower bound under attack",
    "certified_failure_bound": "failure bound B of the run's certified figures: for every "
                               "b, P(some certificate wrong and B ≤ b) ≤ b",
    "may_vanish_rate": "share of boxes an attack may remove",
    "label_changeable_rate": "share of boxes whose label may change",
    "unlocalised_rate": "certain boxes with worst-case IoU < 0.5 to their own box",
    "may_appear_per_frame": "slots an attack may add, per frame",
    "seconds_per_frame": "certification time per frame (s)",
    "boxes": "boxes output by the smoothed detector",
    "certain_boxes": "boxes certified present with certified label",
    "certified_wrong_boxes": "certain boxes matching no ground truth (IoU ≥ 0.5)",
    "clean_acc": "pixel accuracy of the base model on clean frames",
    "certified_acc": "certified pixel accuracy: certified and correct",
    "on_certified_acc": "accuracy on certified pixels (measured)",
    "clean_miou": "mIoU of the base model on clean frames",
    "certified_miou": "certified mIoU: lower bound under attack (abstained pixels may take "
                      "any class)",
    "abstain_rate": "abstain rate: share of pixels the certificate at the clean frame "
                    "leaves uncertified (a property of the certificate, not certified)",
    "joint_failure_bound": "failure bound over the run's frames: frames × α (union bound)",
    "certified_wrong_rate": "share of pixels certified with a wrong class",
    "hierarchy": "class hierarchy: each pixel certified at its finest certifiable node "
                 "(docs/certificates.md §9)",
    "certified_information_gain": "certified information gain: mean over pixels of "
                                  "1 − log|classes of its certified node| / log C where that "
                                  "node holds the true class, else 0; a property of the "
                                  "certificate at the clean frame, measured",
}

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
 color:#1d2329;background:#f5f6f8}
main{max-width:1180px;margin:0 auto;padding:24px 32px 64px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;
 border-bottom:2px solid #dfe3e8;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #dfe3e8;padding:4px 7px;text-align:left;vertical-align:top}
th{background:#f0f2f5;width:auto}tbody th{width:17%;font-weight:600}
h4{font-size:13px;margin:10px 0 2px}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:2px 9px;border-radius:10px;font-weight:600;
 white-space:nowrap}.met{background:#d8f3dc;color:#1b5e20}
.notmet{background:#fde0dc;color:#b71c1c}.none{background:#eceff1;color:#455a64}
.top{font-size:17px;padding:14px 16px;border-radius:8px;margin:14px 0;border:1px solid}
.top.met{border-color:#81c784}.top.notmet{border-color:#e57373}.top.none{border-color:#b0bec5}
.muted{color:#5f6b76}.small{font-size:12px}code{font-size:12px;word-break:break-all}
figure{margin:10px 0;display:inline-block;vertical-align:top}
figure img{max-width:100%;border:1px solid #dfe3e8}figcaption{font-size:12px;color:#5f6b76;
 max-width:560px}.plots figure{width:49%}.gallery figure{width:100%}
nav a{margin-right:12px}.warn{background:#fff4e5;border-left:4px solid #f0a030;
 padding:6px 10px;margin:6px 0}ul{margin:4px 0 8px 20px;padding:0}
"""


def esc(value: object) -> str:
    """Text for HTML: every <, >, &, " and ' escaped."""
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: object, key: str = "") -> str:
    """A figure as HTML text, rounded on its safe side (:func:`figure_text`)."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return esc(value)
    return str(value) if isinstance(value, int) else esc(figure_text(key, value))


def _badge(verdict: str) -> str:
    return f'<span class="badge {VERDICT_CLASS[verdict]}">{esc(verdict)}</span>'


def _table(header: Sequence[str] | None, rows: Iterable[Sequence[str]]) -> str:
    """A table whose cells are already HTML (callers escape); ``header`` None for a
    key–value table, whose first column is then set as row headings."""
    if header is None:
        body = "".join(f"<tr><th>{row[0]}</th>" + "".join(f"<td>{c}</td>" for c in row[1:])
                       + "</tr>" for row in rows)
        return f"<table><tbody>{body}</tbody></table>"
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _image(data: bytes, alt: str) -> str:
    """An inline image: PNG (plots) or JPEG (gallery), told apart by their magic bytes."""
    mime = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:{mime};base64,{encoded}">'


def _summary(report: dict) -> str:
    goals = report["goals"]
    top = report["top_goal"]
    counts = {v: sum(g["verdict"] == v for g in goals) for v in VERDICT_CLASS}
    tally = ", ".join(f"{n} {esc(v)}" for v, n in counts.items() if n)
    rows = [(esc(g["requirement_id"]),
             esc(g["text"]) + (f'<div class="muted small">“{esc(g["requirement_text"])}”</div>'
                               if g["requirement_text"] else ""),
             _badge(g["verdict"]), esc(g["reason"]),
             f'<span class="num">{_num(g["joint_failure_bound"], "joint_failure_bound")}</span>',
             esc(", ".join(g["solutions"]) or "—")) for g in goals]
    unusable = [s for s in report["solutions"] if s["status"] != "complete"]
    warning = "".join(f'<p class="warn">{esc(s["run"])} ({esc(s["path"])}) is not evidence: '
                      f'{esc(s["problem"])}</p>' for s in unusable)
    return (f'<div class="top {VERDICT_CLASS[top["verdict"]]}"><b>{esc(top["id"])}</b> '
            f'{esc(top["text"])}: {_badge(top["verdict"])} '
            f'<span class="muted">({tally} of {len(goals)} requirements)</span></div>'
            + warning +
            '<h2 id="verdicts">Verdicts against the requirements</h2>'
            + _table(["requirement", "goal (formal statement)", "verdict", "evidence",
                      "failure bound B of its certificates (sum; met only if B ≤ 1 − "
                      "confidence)", "solutions"],
                     rows))


def _threat(report: dict) -> str:
    items = "".join(f"<li><b>{esc(c['id'])}</b> {esc(c['text'])}</li>"
                    for c in report["context"])
    assumptions = "".join(f"<li><b>{esc(a['id'])}</b> {esc(a['text'])}</li>"
                          for a in report["assumptions"])
    return ('<h2 id="threat">Threat model and context</h2>'
            f'<p><b>{esc(report["strategy"]["id"])}</b> {esc(report["strategy"]["text"])}</p>'
            f"<ul>{items}</ul><h3>Assumptions</h3><ul>{assumptions}</ul>")


def _by_transform(curves: Sequence[dict]) -> dict[str, list[dict]]:
    """Curves grouped by transform: ε and radii mean different things for each."""
    groups: dict[str, list[dict]] = {}
    for curve in curves:
        groups.setdefault(curve["transform"], []).append(curve)
    return groups


def _plots(figures: dict) -> str:
    panels = []
    for transform, curves in _by_transform(figures["detection_eps"]).items():
        panels.append((plots.plot_ap_vs_eps(curves, transform),
                       f"Detection ({transform}): certified AP@50 against ε, each ε its own "
                       "certificate from the same samples; Chiang et al.'s reading for "
                       "comparison only (not a bound)."))
    for transform, curves in _by_transform(figures["segmentation_tau"]).items():
        panels.append((plots.plot_accuracy_vs_radius(curves),
                       f"Segmentation ({transform}): certified pixel accuracy (certified and "
                       "correct: a lower bound under attack) and the certified fraction (a "
                       "property of the certificate at the clean frame) against the size of "
                       "the certified range, one point per τ'."))
    if figures["segmentation_tau"]:
        panels.append((plots.plot_abstain_vs_tau(figures["segmentation_tau"]),
                       "Abstain rate against τ': the share of pixels the certificate at "
                       "the clean frame leaves uncertified (a property of the certificate; "
                       "the smoothed segmenter itself never abstains)."))
    if figures["camera_effects"]:
        panels.append((plots.plot_camera_ranges(figures["camera_effects"]),
                       "Parameter ranges certified against camera effects (grey: no change)."))
    if figures["readings"]:
        panels.append((plots.plot_readings(figures["readings"]),
                       "Base model on clean frames, smoothed model without attack, and the "
                       "certified lower bound under attack. The smoothed bar is measured "
                       "(for segmentation: each pixel's majority class over the selection "
                       "copies), not certified."))
    if not panels:
        return '<h2 id="plots">Plots</h2><p>No complete run: nothing to plot.</p>'
    body = "".join(f"<figure>{_image(png, caption)}<figcaption>{esc(caption)}</figcaption>"
                   "</figure>" for png, caption in panels)
    return f'<h2 id="plots">Plots</h2><div class="plots">{body}</div>'


def _empty_warning(sol: dict) -> str:
    """A run that certified nothing says so in words, not only through zeros."""
    figs = sol["figures"]
    if sol["task"] == "detection" and figs.get("certain_boxes") == 0:
        text = ("No box of this run is certified: every box may vanish or may change its "
                "label under the attack set.")
    elif sol["task"] == "segmentation" and figs.get("abstain_rate") == 1.0:
        text = ("The certificate abstained on every pixel of every frame: this run "
                "certifies no pixel.")
    else:
        return ""
    return f'<p class="warn">{esc(text)}</p>'


def _run_section(sol: dict) -> str:
    head = (f'<h3 id="{esc(sol["run"])}">{esc(sol["id"])} · {esc(sol["run"])}: '
            f'{esc(sol["task"] or "unknown task")}, {esc(sol["transform"])}</h3>')
    if sol["status"] != "complete":
        return head + f'<p>{_badge("not evidenced")} {esc(sol["problem"])}</p>'
    figs = sol["figures"]
    warning = _empty_warning(sol)
    scalar = [(esc(FIGURE_WORDS.get(k, k)), f"<code>{esc(k)}</code>",
               f'<span class="num">{_num(v, k)}</span>')
              for k, v in figs.items() if k not in ("per_class", "by_level")]
    out = [head, warning, f'<p class="small">{esc(sol["guarantee_text"])}</p>',
           _table(["figure", "key", "value"], scalar), _level_table(figs)]
    per_class = figs.get("per_class") or {}
    if per_class:
        columns = list(next(iter(per_class.values())))
        rows = [[esc(name)] + [_num(values.get(c), c) for c in columns]
                for name, values in per_class.items()]
        out.append(_table(["class"] + [esc(c) for c in columns], rows))
    s = sol["settings"]
    provenance = [
        ("settings", ", ".join(f"{esc(k)}={esc(v)}" for k, v in s.items())),
        ("seed", esc(sol["seed"])), ("date", esc(sol["date"])),
        ("frames", f'{sol["frames_certified"]} of {sol["frames_planned"]}'),
        ("input shapes", esc(", ".join("×".join(map(str, x)) for x in sol["input_shapes"]))),
        ("config", f'{esc(sol["config"])}<br><code>sha256 {esc(sol["config_sha256"])}</code>'),
        ("checkpoint", f'{esc(sol["checkpoint"])}<br><code>sha256 '
                       f'{esc(sol["checkpoint_sha256"])}</code>'),
        ("denoiser", _denoiser_cell(sol.get("denoiser"))),
        ("adcert source", f'<code>sha256 {esc(sol.get("adcert_source_sha256"))}</code>'),
        ("versions", esc(", ".join(f"{k} {v}" for k, v in (sol["versions"] or {}).items()))),
        ("device", esc(sol["device"])),
        ("noise", esc((sol.get("noise") or {}).get("generator"))),
        ("space", esc(sol.get("norm_space"))),
        ("run folder", f"<code>{esc(sol['path'])}</code>"),
    ]
    out.append("<h4>provenance</h4>" + _table(None, provenance))
    return "".join(out)


def _level_table(figs: dict) -> str:
    """A hierarchical run's figures per level (docs/certificates.md §9); "" when flat."""
    by_level = figs.get("by_level") or {}
    if not by_level:
        return ""
    rows = [[esc(level), _num(values.get("certified_acc"), "certified_acc"),
             _num(values.get("certified_miou"), "certified_miou")]
            for level, values in by_level.items()]
    return ("<h4>per hierarchy level (a pixel counts at a level when its certified node lies "
            "at that level or finer and holds its true class; lower bounds under attack)</h4>"
            + _table(["level", "certified_acc", "certified_miou"], rows))


def _denoiser_cell(denoiser: dict | None) -> str:
    """None, or the denoiser's type, checkpoint (or diffusers folder) and sha256: the base
    model certified is the denoiser followed by the task model (docs/certificates.md §8)."""
    if not denoiser:
        return "none (the base model is the task model alone)"
    if denoiser.get("pretrained"):  # a saved diffusers folder: the hash of its files
        where, digest = denoiser["pretrained"], denoiser.get("pretrained_sha256")
    else:
        where, digest = denoiser.get("checkpoint"), denoiser.get("checkpoint_sha256")
    return (f'{esc(denoiser.get("type"))} in front of the task model: '
            f'{esc(where)}<br><code>sha256 {esc(digest)}</code>')


def _gallery(drawn: Sequence[tuple[Pick, bytes | None]]) -> str:
    if not drawn:
        return ('<h2 id="gallery">Worst frames</h2><p>No frame to show (no complete run, or '
                "no frame with abstention, vanishing or wrong outputs).</p>")
    items = []
    for pick, jpeg in drawn:
        caption = f"{pick.run.label} · {pick.record.get('image_id')} — {pick.why}"
        image = _image(jpeg, caption) if jpeg else "<p>(frame image not found)</p>"
        items.append(f"<figure>{image}<figcaption>{esc(caption)}</figcaption></figure>")
    legend = ("Detection: solid = smoothed box, dotted = certified outer bound, dashed = inner "
              "bound, red X = may vanish or label not certified, white = ground truth, "
              "black frame = certified but wrong; labels: class >=0.72 = certified, every "
              "box its bounds admit has IoU >= 0.72 with the smoothed box, class <0.5 = "
              "certified but unlocalised (worst-case IoU below 0.5), class X = may vanish "
              "or label not certified, 'N labels hidden' = labels left out where no free "
              "place was near their box; with a class hierarchy, node >=0.72 (e.g. vehicle "
              ">=0.72) = certified present, its class certified only up to that node. "
              "Segmentation: grey hatch = abstained, black = certified but wrong; with a "
              "class hierarchy, solid = class certified, hatched in colour = only a coarser "
              "node (category, group) certified, black = certified node without the true "
              "class.")
    return (f'<h2 id="gallery">Worst frames</h2><p class="small muted">{esc(legend)}</p>'
            f'<div class="gallery">{"".join(items)}</div>')


def _log(report: dict) -> str:
    fields = (("formal_property", "requirement → formal property"), ("method", "method"),
              ("bounds_tested", "bounds tested"), ("why_these_bounds", "why these bounds"),
              ("data", "data used"), ("independence", "independence from development"),
              ("result", "result"))
    parts = []
    for entry in report["verification_log"]:
        rows = [(esc(label), esc(entry[key])) for key, label in fields]
        parts.append(f'<h3>{esc(entry["goal"])} · {esc(entry["requirement_id"])}</h3>'
                     + _table(None, rows))
    return '<h2 id="log">Verification log</h2>' + "".join(parts)


def render_html(report: dict, drawn: Sequence[tuple[Pick, bytes | None]]) -> str:
    """The whole page as one string."""
    limitations = "".join(f"<li>{esc(text)}</li>" for text in report["limitations"])
    runs = "".join(_run_section(sol) for sol in report["solutions"])
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in (
        ("verdicts", "verdicts"), ("threat", "threat model"), ("plots", "plots"),
        ("evidence", "evidence"), ("gallery", "worst frames"), ("log", "verification log"),
        ("limitations", "limitations")))
    req = report["requirements_file"]
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{esc(report['title'])}</title><style>{CSS}</style></head><body><main>"
        f"<h1>{esc(report['title'])}</h1>"
        f'<p class="muted">{esc(report["system"])} · generated {esc(report["generated"])} '
        f'by adcert {esc(report["generator"]["adcert"])} · requirements '
        f'<code>{esc(req["path"])}</code> (sha256 <code>{esc(req["sha256"])}</code>)</p>'
        f"<nav>{nav}</nav>"
        + _summary(report) + _threat(report) + _plots(report["figures"])
        + f'<h2 id="evidence">Evidence (solutions)</h2>{runs}'
        + _gallery(drawn) + _log(report)
        + f'<h2 id="limitations">Limitations</h2><ul>{limitations}</ul>'
        + "</main></body></html>\n")
