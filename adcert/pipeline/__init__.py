"""Certify frames end to end: settings → session → engine → records and summary.

``engine`` owns a run (:mod:`adcert.pipeline.engine`); ``detection`` / ``segmentation``
are the per-frame pipeline functions; ``api`` is the Python API for notebooks::

    from adcert.pipeline import DetSettings, SegSettings, certify_dataset, certify_image

Importing this package loads neither torch nor any OpenMMLab package; the API functions
load them when called.
"""

from adcert.pipeline.api import certify_dataset, certify_image, load_model
from adcert.pipeline.settings import DetSettings, SegSettings

__all__ = ["DetSettings", "SegSettings", "certify_dataset", "certify_image", "load_model"]
