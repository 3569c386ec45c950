"""Pure numpy/scipy/mpmath statistics behind every certificate (no torch, no OpenMMLab).

Every reported radius, range, level and bound is rounded towards the safe side
(:mod:`adcert.stats._rounding`, docs/certificates.md §6)."""

from adcert.stats.binomial import (
    binom_pvalue_greater,
    clopper_pearson,
    lower_confidence_bound,
    upper_confidence_bound,
)
from adcert.stats.multiple_testing import bonferroni, holm
from adcert.stats.order_statistics import order_statistic_indices
from adcert.stats.parameter_ranges import (
    ParameterRange,
    attack_range,
    certified_range,
    percentile_levels,
)
from adcert.stats.radii import cohen_radius, gamma_interval, lp_radius, segmentation_radius

__all__ = [
    "ParameterRange",
    "attack_range",
    "certified_range",
    "percentile_levels",
    "binom_pvalue_greater",
    "bonferroni",
    "clopper_pearson",
    "cohen_radius",
    "gamma_interval",
    "holm",
    "lower_confidence_bound",
    "lp_radius",
    "order_statistic_indices",
    "segmentation_radius",
    "upper_confidence_bound",
]
