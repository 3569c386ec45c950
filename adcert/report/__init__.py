"""Evidence → figures and the safety-case report (``docs/report.md``).

:func:`write_report` reads certification runs and a requirements file and writes
``report.json`` (validated against the shipped ``schema.json``) and ``report.html``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from importlib import resources

REPORT_JSON, REPORT_HTML = "report.json", "report.html"


def report_schema() -> dict:
    """The JSON Schema (draft 2020-12) every ``report.json`` satisfies."""
    return json.loads(resources.files("adcert.report").joinpath("schema.json").read_text(
        encoding="utf-8"))


def schema_errors(report: dict) -> list[str]:
    """Every way ``report`` breaks the schema, one line each (empty when it is valid)."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(report_schema())
    return [f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}"
            for e in sorted(validator.iter_errors(report), key=lambda e: list(e.path))]


def write_report(run_dirs: Sequence[str], requirements: str, out_dir: str,
                 command: Sequence[str] | None = None) -> tuple[str, str, dict]:
    """Build the safety case of ``run_dirs`` against ``requirements`` and write
    ``out_dir/report.json`` and ``out_dir/report.html`` (each replaced atomically; an
    earlier report there is overwritten). Returns both paths and the report dict.
    Raises ValueError / FileNotFoundError for a bad requirements file; missing or
    unfinished runs are reported, not raised."""
    from adcert.pipeline.rundir import dumps, write_atomic
    from adcert.report.case import build_report
    from adcert.report.gallery import gallery, pick_frames
    from adcert.report.html import render_html
    from adcert.report.requirements import load_requirements
    from adcert.report.runs import load_runs

    spec = load_requirements(requirements)
    runs = load_runs(list(run_dirs))
    picks = [p for run in runs for p in pick_frames(run)]
    report = json.loads(dumps(build_report(spec, runs, command, picks=picks)))  # strict JSON
    errors = schema_errors(report)
    if errors:
        raise RuntimeError(f"internal error: report.json breaks its schema: {errors[0]}")
    page = render_html(report, gallery(picks))
    os.makedirs(out_dir, exist_ok=True)
    json_path = write_atomic(os.path.join(out_dir, REPORT_JSON),
                             dumps(report, indent=2, ensure_ascii=False) + "\n")
    html_path = write_atomic(os.path.join(out_dir, REPORT_HTML), page)
    return json_path, html_path, report
