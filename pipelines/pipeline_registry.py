"""Every pipeline registered by name, in the order `__default__` runs them. A stage's modules are
imported only when Kedro asks for that stage, so `kedro run --pipelines data_curation` reads no
other stage's code and each DVC stage depends on its own pipeline only."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

# Kedro puts only the source dir on sys.path; DVC and tests may start elsewhere.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
for _path in (PROJECT_ROOT, PROJECT_ROOT / "src"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from kedro.pipeline import Pipeline  # noqa: E402

STAGES = ("data_curation", "pretrain", "posttrain", "evaluation", "deployment")


class _StagePipelines(Mapping):
    """The stage pipelines by name, each built when first asked for; `__default__` is all five."""

    def __getitem__(self, name: str) -> Pipeline:
        if name == "__default__":
            return sum((self[stage] for stage in STAGES), Pipeline([]))
        if name not in STAGES:
            raise KeyError(name)
        return _stage_pipeline(name)

    def __iter__(self) -> Iterator[str]:
        return iter((*STAGES, "__default__"))

    def __len__(self) -> int:
        return len(STAGES) + 1


@cache
def _stage_pipeline(name: str) -> Pipeline:
    return importlib.import_module(f"pipelines.{name}").create_pipeline()


def register_pipelines() -> Mapping[str, Pipeline]:
    """Returns the five stage pipelines and `__default__`, all five in order; Kedro reads them
    like a dict, and a stage's modules are imported on its first read."""
    return _StagePipelines()
