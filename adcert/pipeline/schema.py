"""JSON Schemas (draft 2020-12 subset) of the records and summaries a run writes.

``RECORD_SCHEMA`` describes one line of ``results.jsonl`` (either task), and
``SUMMARY_SCHEMA`` describes ``summary.json``. They ship with the package so that a
consumer can check a run's evidence; :func:`validate` checks a document against them
with jsonschema and returns every violation.
``python -m adcert.pipeline.schema`` prints both schemas as JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

from adcert.pipeline.provenance import SCHEMA_VERSION

_NUMBER_OR_NULL = {"type": ["number", "null"]}
_SHA256 = {"type": "string", "minLength": 64, "maxLength": 64}
_RANGE = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
_PROVENANCE = {
    "type": "object",
    "required": ["device", "torch", "noise", "unsafe_load", "norm_space"],
    "properties": {"device": {"type": "string"}, "torch": {"type": "string"},
                   "noise": {"type": "object"}, "unsafe_load": {"type": "boolean"},
                   "norm_space": {"type": "string"}},
}
# The denoiser in front of the task model (adcert.models.denoiser), or null without one.
_DENOISER = {"type": ["object", "null"], "required": ["type", "spec", "checkpoint_sha256"],
             "properties": {"type": {"type": "string"}, "spec": {"type": "object"},
                            "config": {"type": ["string", "null"]},
                            "checkpoint": {"type": ["string", "null"]},
                            "checkpoint_sha256": {"anyOf": [_SHA256, {"type": "null"}]},
                            # a DiffusionDenoiser's saved diffusers folder, hashed whole
                            "pretrained": {"type": ["string", "null"]},
                            "pretrained_sha256": {"anyOf": [_SHA256, {"type": "null"}]}}}
_MODEL = {"type": "object", "required": ["config", "checkpoint", "checkpoint_sha256"],
          "properties": {"config": {"type": "string"}, "checkpoint": {"type": "string"},
                         "checkpoint_sha256": _SHA256, "denoiser": _DENOISER}}
_BOX = {
    "type": "object",
    "required": ["bbox", "lower", "upper", "label", "label_certified", "may_vanish", "score"],
    "properties": {
        "bbox": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
        "lower": {"type": "array", "items": _NUMBER_OR_NULL},
        "upper": {"type": "array", "items": _NUMBER_OR_NULL},
        "label": {"type": "integer", "minimum": 0},
        "label_certified": {"type": "boolean"},
        "may_vanish": {"type": "boolean"},
        "score": {"type": "number"},
        # with a hierarchy (docs/certificates.md §9): the finest certified node
        "label_node": {"type": ["string", "null"]},
        "label_node_level": {"type": ["string", "null"]},
    },
}
_RATE_OR_NULL = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_BOXES = {"type": "array",
          "items": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4}}
# The same samples certified at another ε (each ε at level α on its own).
_EPS_SWEEP_ENTRY = {
    "type": "object",
    "required": ["eps", "alpha_per_bound", "certified_range", "observed_slots", "boxes",
                 "may_appear"],
    "properties": {"eps": {"type": "number", "minimum": 0},
                   "alpha_per_bound": {"type": "number", "minimum": 0, "maximum": 1},
                   "certified_range": _RANGE,
                   "observed_slots": {"type": ["integer", "null"], "minimum": 0},
                   "boxes": {"type": "array", "items": _BOX},
                   "may_appear": {"type": "array"}},
}
_GROUND_TRUTH = {
    "type": "object",
    "required": ["boxes", "labels", "ignored_boxes"],
    "properties": {"boxes": _BOXES,
                   "labels": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                   "ignored_boxes": _BOXES},
}
_TAU_SWEEP_ENTRY = {
    "type": "object",
    "required": ["tau", "certified_fraction", "certified_range"],
    "properties": {"tau": {"type": "number", "minimum": 0.5, "maximum": 1},
                   "certified_fraction": {"type": "number", "minimum": 0, "maximum": 1},
                   "certified_range": _RANGE, "certified_acc": _RATE_OR_NULL},
}
_COMMON = {
    "schema_version": {"const": SCHEMA_VERSION},
    "image_id": {"type": "string"},
    "img_path": {"type": ["string", "null"]},
    "index": {"type": "integer", "minimum": 0},
    "input_shape": {"type": "array", "items": {"type": "integer", "minimum": 1},
                    "minItems": 2, "maxItems": 2},
    "seed": {"type": "integer", "minimum": 0},
    "model": _MODEL,
    "method": {"enum": ["median_smoothing_sort_and_bin", "segcertify_tau_abstain"]},
    "transform": {"type": "string"},
    "sigma": {"type": "number", "minimum": 0},
    "n": {"type": "integer", "minimum": 1},
    "alpha": {"type": "number", "minimum": 0, "maximum": 1},
    "guarantee": {"enum": ["per_box", "per_image", "per_bound", "per_frame"]},
    "guarantee_text": {"type": "string"},
    "certified_range": _RANGE,
    "provenance": _PROVENANCE,
    "time_s": {"type": "number", "minimum": 0},
}
_REQUIRED = ["schema_version", "image_id", "img_path", "index", "input_shape", "seed",
             "model", "method", "transform", "sigma", "n", "alpha", "guarantee",
             "guarantee_text", "certified_range", "provenance", "time_s"]

DETECTION_RECORD_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "adcert detection record (one line of results.jsonl)",
    "type": "object",
    "required": [*_REQUIRED, "eps", "correction", "bin", "sort", "boxes"],
    "properties": {**_COMMON, "method": {"const": "median_smoothing_sort_and_bin"},
                   "eps": {"type": "number", "minimum": 0},
                   "correction": {"enum": ["box", "image", "none"]},
                   "bin": {"type": ["string", "null"]}, "sort": {"type": ["string", "null"]},
                   "boxes": {"type": "array", "items": _BOX},
                   "may_appear": {"type": "array"},
                   "eps_sweep": {"type": "array", "items": _EPS_SWEEP_ENTRY},
                   "ground_truth": _GROUND_TRUTH},
}
SEGMENTATION_RECORD_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "adcert segmentation record (one line of results.jsonl)",
    "type": "object",
    "required": [*_REQUIRED, "tau", "n0", "correction", "radius", "height", "width",
                 "abstain_rate", "mask_path"],
    "properties": {**_COMMON, "method": {"const": "segcertify_tau_abstain"},
                   "tau": {"type": "number", "minimum": 0.5, "maximum": 1},
                   "n0": {"type": "integer", "minimum": 1},
                   "correction": {"enum": ["holm", "bonferroni"]},
                   "radius": _NUMBER_OR_NULL,
                   "height": {"type": "integer", "minimum": 1},
                   "width": {"type": "integer", "minimum": 1},
                   "abstain_rate": {"type": "number", "minimum": 0, "maximum": 1},
                   "mask_path": {"type": "string"},
                   "tau_sweep": {"type": "array", "items": _TAU_SWEEP_ENTRY},
                   "certified_acc": _NUMBER_OR_NULL, "clean_acc": _NUMBER_OR_NULL,
                   "certified_wrong_rate": _RATE_OR_NULL,
                   "valid_pixels": {"type": "integer", "minimum": 0},
                   "gt_mask_path": {"type": "string"},
                   # hierarchical certificates (docs/certificates.md §9)
                   "hierarchy": {"type": "string"},
                   "nodes_mask_path": {"type": "string"},
                   "level_rates": {"type": "object",
                                   "additionalProperties": {"type": "number", "minimum": 0,
                                                            "maximum": 1}},
                   "certified_acc_by_level": {"type": "object",
                                              "additionalProperties": _RATE_OR_NULL},
                   "certified_information_gain": _RATE_OR_NULL,
                   "node_abstain_rate": _RATE_OR_NULL},
}
RECORD_SCHEMA: dict = {"anyOf": [DETECTION_RECORD_SCHEMA, SEGMENTATION_RECORD_SCHEMA]}
SUMMARY_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "adcert run summary (summary.json)",
    "type": "object",
    "required": ["schema_version", "task", "settings", "frames", "classes", "model",
                 "guarantee", "guarantee_text", "seconds_per_frame", "provenance"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "task": {"enum": ["detection", "segmentation"]},
        "settings": {"type": "object", "required": ["sigma", "n", "alpha", "seed"]},
        "frames": {"type": "integer", "minimum": 1},
        "classes": {"type": "array", "items": {"type": "string"}},
        "model": _MODEL,
        "guarantee": {"enum": ["per_box", "per_image", "per_bound", "per_frame"]},
        "guarantee_text": {"type": "string"},
        "seconds_per_frame": _NUMBER_OR_NULL,
        "eps_sweep": {"type": "array", "items": {
            "type": "object",
            "required": ["eps", "certified_ap50", "certified_ap50_per_class",
                         "chiang_certified_ap50", "certified_recall",
                         "certified_failure_bound", "may_vanish_rate"],
            "properties": {"eps": {"type": "number", "minimum": 0},
                           "certified_ap50": _RATE_OR_NULL,
                           "certified_ap50_per_class": {"type": "object"},
                           "chiang_certified_ap50": _RATE_OR_NULL,
                           "certified_recall": _RATE_OR_NULL,
                           "certified_failure_bound": _RATE_OR_NULL,
                           "may_vanish_rate": _RATE_OR_NULL}}},
        "tau_sweep": {"type": "array", "items": {
            "type": "object",
            "required": ["tau", "certified_range", "certified_fraction", "certified_acc"],
            "properties": {"tau": {"type": "number", "minimum": 0.5, "maximum": 1},
                           "certified_range": _RANGE,
                           "certified_fraction": {"type": "number", "minimum": 0,
                                                  "maximum": 1},
                           "certified_acc": _RATE_OR_NULL}}},
        "hierarchy": {"type": "object", "required": ["name", "levels"]},
        "certified_information_gain": _RATE_OR_NULL,
        "node_abstain_rate": _RATE_OR_NULL,
        "provenance": {"type": "object", "required": ["device", "torch", "versions",
                                                      "config_sha256", "checkpoint_sha256"]},
    },
}

def _finite_number(checker, value: Any) -> bool:
    """JSON numbers are finite: NaN and ±∞ (which strict JSON cannot hold) are no number."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _validator(schema: dict):
    from jsonschema import Draft202012Validator, validators

    checker = Draft202012Validator.TYPE_CHECKER.redefine("number", _finite_number)
    return validators.extend(Draft202012Validator, type_checker=checker)(schema)


def validate(document: Any, schema: dict, path: str = "$") -> list[str]:
    """Every violation of ``schema`` by ``document`` as "path: problem" (jsonschema,
    draft 2020-12, numbers finite); [] when valid."""
    errors = sorted(_validator(schema).iter_errors(document), key=lambda e: list(e.path))
    return [f"{path}{''.join(f'[{p}]' if isinstance(p, int) else f'.{p}' for p in e.path)}: "
            f"{e.message}"[:300] for e in errors]


if __name__ == "__main__":
    print(json.dumps({"record": RECORD_SCHEMA, "summary": SUMMARY_SCHEMA}, indent=2))
