"""Checks a run's inputs before its first node: a missing input fails in seconds, naming the
dataset and its path, instead of after an hour of training. (Kedro itself validates the typed
`params:<group>` inputs against `seaweed_apt.config` before the run, naming the key.)"""

from __future__ import annotations


class PreflightError(ValueError):
    """The run's inputs are not there; the message lists every missing one."""


def _location(catalog, dataset: str) -> str:
    description = catalog.get(dataset)._describe() if dataset in catalog else {}
    where = (description.get("filepath") or description.get("path")
             or description.get("folders") or description.get("manifest"))
    return ", ".join(map(str, where.values())) if isinstance(where, dict) else str(where or "")


def input_problems(pipeline, catalog) -> list[str]:
    """Free inputs (read by the pipeline, written by none of its nodes) that do not exist;
    datasets marked `optional` (an absent dvc.lock) are not asked for."""
    # An input may name a location an earlier node of this run writes.
    written = {_location(catalog, name) for name in pipeline.all_outputs()} - {""}
    problems = []
    for dataset in sorted(pipeline.inputs()):
        if dataset.startswith("params:") or dataset == "parameters" \
                or _location(catalog, dataset) in written:
            continue
        if dataset not in catalog:
            problems.append(f"dataset {dataset}: not in the catalog (conf/base/catalog_*.yml)")
        elif getattr(catalog.get(dataset), "optional", False):
            continue
        elif not catalog.exists(dataset):
            where = _location(catalog, dataset)
            problems.append(f"dataset {dataset}: {where or 'nothing'} does not exist; run the "
                            f"stage that writes it first (dvc repro)")
    return problems


def preflight(pipeline, catalog) -> None:
    problems = input_problems(pipeline, catalog)
    if problems:
        raise PreflightError("the run cannot start:\n  " + "\n  ".join(problems))
