"""Statistics of a run: error bars on aggregated metrics, paired comparisons of two runs, and the
anytime-valid tests behind `--llm-early-stop`. Formulas and sources: docs/statistics.md.

Pure functions of numbers; nothing here imports benchmarks, items, report or gating.
"""

from .estimate import metric_uncertainty
from .intervals import LEVEL, clustered_ratio, mean_interval, wilson_bounds, wilson_interval, z_value
from .paired import Difference, mcnemar_exact, paired_difference, unpaired_difference
from .sequential import ThresholdTest

__all__ = [
    "LEVEL",
    "Difference",
    "ThresholdTest",
    "clustered_ratio",
    "mcnemar_exact",
    "mean_interval",
    "metric_uncertainty",
    "paired_difference",
    "unpaired_difference",
    "wilson_bounds",
    "wilson_interval",
    "z_value",
]
