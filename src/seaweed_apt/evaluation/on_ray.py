"""The evaluation's systems and floors measured on Ray: `ray.num_workers` actors, each with its
own `SetMeter` (EfficientNet-Lite0, the frozen evaluator, the reference's features), take the
sets one at a time, the costliest first; each system's model comes to them as files through the
object store. Rows and figures are those of `evaluate_systems` in one process; a system's seconds
per video are timed while the other actors work (the speed-up goal is timed apart, in
`time_one_step_against_teacher`)."""

from __future__ import annotations

import logging

import pandas as pd
from tqdm.auto import tqdm

from seaweed_apt.config.evaluation import EvaluationConfig
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.evaluation.data import LabelledClips
from seaweed_apt.evaluation.run import (
    PromptSet,
    SetMeter,
    check_prompt_sets,
    measure_system,
    reference_row,
    reference_units,
    systems_table,
)
from seaweed_apt.evaluation.systems import System
from seaweed_apt.ray_runtime import ensure_ray

logger = logging.getLogger(__name__)


class SetMeterActor:
    """One actor's meter and the inputs every set shares; `measure` returns (order, row, clips)."""

    def __init__(self, shared: dict, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.shared = shared
        self.meter = SetMeter(shared["evaluator_files"], shared["config"],
                              shared["temporal_patch"])
        self.meter.compare_to(shared["reference"], shared["reference_captions"])
        self.loaded: tuple[str, object] | None = None  # one model in memory at a time

    def node_id(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()

    def measure(self, order: int, unit: tuple) -> tuple[int, dict, pd.DataFrame]:
        import torch

        from seaweed_apt.training.checkpoint import load_model_from_files

        shared = self.shared
        if unit[0] == "reference":
            _, name, videos, asked, prompt_set = unit
            figures, clips = self.meter.figures(videos, asked)
            return order, reference_row(name, figures, prompt_set), clips
        system: System = unit[1]
        if self.loaded is None or self.loaded[0] != system.checkpoint:
            device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
            self.loaded = (system.checkpoint, load_model_from_files(
                shared["model_files"][system.checkpoint], device=device))
        row, clips = measure_system(self.meter, self.loaded[1], system,
                                    shared["prompt_sets"][system.prompt_set],
                                    shared["geometry"], shared["shift"], shared["config"])
        return order, row, clips


def evaluate_systems_on_ray(systems: list[System], model_files: dict[str, dict[str, bytes]],
                            reference: LabelledClips, prompt_sets: dict[str, PromptSet],
                            floor_clips: LabelledClips | None, evaluator_files: dict[str, bytes],
                            config: EvaluationConfig, geometry: tuple[int, int, int],
                            shift: float, temporal_patch: int, ray_config: RayConfig
                            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`evaluate_systems` on `ray_config.num_workers` Ray actors (a GPU each with `use_gpu`).
    `model_files` maps each system's `checkpoint` ('teacher', 'distilled', 'apt/<update>') to
    its model files.

    Raises:
        ValueError: a system asks for a prompt set that was not given, or for a checkpoint that
            `model_files` lacks.
    """
    import ray
    from ray.util import ActorPool

    check_prompt_sets(systems, prompt_sets)
    missing = sorted({s.checkpoint for s in systems} - set(model_files))
    if missing:
        raise ValueError(f"no model files for checkpoint(s) {missing}")
    ensure_ray(ray_config)
    meter = SetMeter(evaluator_files, config, temporal_patch)
    shared = ray.put({"evaluator_files": evaluator_files, "config": config,
                      "temporal_patch": temporal_patch,
                      "reference": meter.features(reference.frames),
                      "reference_captions": reference.captions, "model_files": model_files,
                      "prompt_sets": prompt_sets, "geometry": geometry, "shift": shift})
    units = [("reference", *unit) for unit in reference_units(prompt_sets, floor_clips, config)]
    units += [("system", system) for system in systems]
    # The costliest first (network evaluations per video; a real set has none), so the last set
    # finishing is a short one. Within a cost, one checkpoint's systems stay together.
    order = sorted(range(len(units)), key=lambda i: (
        -(units[i][1].network_evaluations if units[i][0] == "system" else 0),
        units[i][1].checkpoint if units[i][0] == "system" else "", i))
    actor = ray.remote(num_cpus=ray_config.cpus_per_worker,
                       num_gpus=1 if ray_config.use_gpu else 0)(SetMeterActor)
    actors = [actor.remote(shared, ray_config.threads_per_worker)
              for _ in range(min(ray_config.num_workers, len(units)))]
    nodes = set(ray.get([handle.node_id.remote() for handle in actors]))
    logger.info("measuring %d systems and %d real or trivial sets on %d Ray actors on %d "
                "node(s)", len(systems), len(units) - len(systems), len(actors), len(nodes))
    results: dict[int, tuple[dict, pd.DataFrame]] = {}
    pool = ActorPool(actors)
    with tqdm(total=len(units), desc="evaluation", unit="set") as progress:
        for index, row, clips in pool.map_unordered(lambda a, i: a.measure.remote(i, units[i]),
                                                    order):
            results[index] = (row, clips)
            progress.update(1)
    for handle in actors:
        ray.kill(handle)
    return systems_table([results[i][0] for i in range(len(units))],
                         [results[i][1] for i in range(len(units))])
