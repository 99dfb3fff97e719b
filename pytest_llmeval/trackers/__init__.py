"""Experiment trackers (docs/trackers.md): a run's results sent to MLflow (`--llm-mlflow URI`) and
Weights & Biases (`--llm-wandb PROJECT`), each an optional extra (`pytest-llmbench[mlflow]`,
`pytest-llmbench[wandb]`).

- `payload`: what every tracker gets, built from the run's `RunResult` and the sample records
  (params, metrics with interval bounds, the samples table, the perf levels), secrets redacted.
- `mlflow_tracker`, `wandb_tracker`: one function each that sends a payload with the library's client.
- `plugin`: `TrackerPlugin`, fed by the record stream (`pytest_llmeval_sample_record`) and the final
  result (`pytest_llmeval_results`); registered where records arrive when a tracker option is given.
"""

from .payload import TrackerPayload, build_payload
from .plugin import TrackerPlugin, require_extra

__all__ = ["TrackerPayload", "TrackerPlugin", "build_payload", "require_extra"]
