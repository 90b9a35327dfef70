"""Every pipeline registered by name, in the order `__default__` runs them."""

from __future__ import annotations

import sys
from pathlib import Path

# Kedro puts only the source dir on sys.path; DVC and tests may start elsewhere.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
for _path in (PROJECT_ROOT, PROJECT_ROOT / "src"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from kedro.pipeline import Pipeline  # noqa: E402

from pipelines import data_curation, deployment, evaluation, posttrain, pretrain  # noqa: E402

STAGES = ("data_curation", "pretrain", "posttrain", "evaluation", "deployment")


def register_pipelines() -> dict[str, Pipeline]:
    """Returns the five stage pipelines and `__default__`, all five in order.
    """
    pipelines = {name: Pipeline([]) for name in STAGES}
    pipelines["data_curation"] = data_curation.create_pipeline()
    pipelines["pretrain"] = pretrain.create_pipeline()
    pipelines["posttrain"] = posttrain.create_pipeline()
    pipelines["evaluation"] = evaluation.create_pipeline()
    pipelines["deployment"] = deployment.create_pipeline()
    pipelines["__default__"] = sum((pipelines[name] for name in STAGES), Pipeline([]))
    return pipelines
