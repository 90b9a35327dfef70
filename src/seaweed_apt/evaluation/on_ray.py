"""The evaluation's systems and floors measured on Ray: `ray.num_workers` actors, each with its
own `SetMeter` (EfficientNet-Lite0, the frozen evaluator, the reference's features), take the
sets one at a time, the costliest first; each system's model comes to them as files through the
object store. Rows and figures are those of `evaluate_systems` in one process; a system's seconds
per video are timed while the other actors work (the speed-up goal is timed apart, in
`time_one_step_against_teacher`). A set measured before from the same inputs comes from the
`ResultCache` (`result_cache.py`) instead, its seconds those of the run that measured it."""

from __future__ import annotations

import logging
from dataclasses import asdict

import pandas as pd
from tqdm.auto import tqdm

from seaweed_apt.config.evaluation import EvaluationConfig
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.device import default_device
from seaweed_apt.evaluation.data import LabelledClips, clips_inputs
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
from seaweed_apt.result_cache import ResultCache, result_key

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
        from seaweed_apt.training.checkpoint import load_model_from_files

        shared = self.shared
        if unit[0] == "reference":
            _, name, videos, asked, prompt_set = unit
            figures, clips = self.meter.figures(videos, asked)
            return order, reference_row(name, figures, prompt_set), clips
        system: System = unit[1]
        if self.loaded is None or self.loaded[0] != system.checkpoint:
            device = default_device()
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
                            shift: float, temporal_patch: int, ray_config: RayConfig,
                            cache: ResultCache | None = None
                            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`evaluate_systems` on `ray_config.num_workers` Ray actors (a GPU each with `use_gpu`).
    `model_files` maps each system's `checkpoint` ('teacher', 'distilled', 'apt/<update>') to
    its model files. Sets found in `cache` (by `unit_keys`) are not measured again; the rest
    are, and are added to it.

    Raises:
        ValueError: a system asks for a prompt set that was not given, or for a checkpoint that
            `model_files` lacks.
    """
    check_prompt_sets(systems, prompt_sets)
    missing = sorted({s.checkpoint for s in systems} - set(model_files))
    if missing:
        raise ValueError(f"no model files for checkpoint(s) {missing}")
    cache = cache or ResultCache(None)
    units = [("reference", *unit) for unit in reference_units(prompt_sets, floor_clips, config)]
    units += [("system", system) for system in systems]
    keys = unit_keys(units, model_files, reference, prompt_sets, evaluator_files, config,
                     geometry, shift, temporal_patch, ray_config)
    results: dict[int, tuple[dict, pd.DataFrame]] = {}
    for index, key in enumerate(keys):
        if (found := cache.get_row(key)) is not None:
            results[index] = found
    todo = [i for i in range(len(units)) if i not in results]
    logger.info("%d of %d sets from the evaluation cache, %d to measure", len(results),
                len(units), len(todo))
    if todo:
        measured = _measure_on_ray(units, todo, model_files, reference, prompt_sets,
                                   evaluator_files, config, geometry, shift, temporal_patch,
                                   ray_config)
        for index, (row, clips) in measured.items():
            cache.put_row(keys[index], row, clips)
            results[index] = (row, clips)
    return systems_table([results[i][0] for i in range(len(units))],
                         [results[i][1] for i in range(len(units))])


# Evaluation settings that change no measured figure (goals, selection, the speed-up timing,
# the systems' lists and the evaluator's training, whose inputs are keyed on their own): a change
# to them leaves cached sets valid.
NOT_MEASURED = {"goals", "selection_min_accuracy_ratio", "fd_tie_tolerance", "speed_timing",
                "teacher_steps", "apt_steps", "reference_teacher_steps", "evaluator",
                "paraphrases", "num_samples", "reference_clips"}


def unit_keys(units: list[tuple], model_files: dict[str, dict[str, bytes]],
              reference: LabelledClips, prompt_sets: dict[str, PromptSet],
              evaluator_files: dict[str, bytes], config: EvaluationConfig,
              geometry: tuple[int, int, int], shift: float, temporal_patch: int,
              ray_config: RayConfig) -> list[str]:
    """One `result_key` per unit: what every set shares (the measured settings, the evaluator,
    the reference clips, geometry, threads and device) and the unit's own inputs (a real or
    trivial set's videos and clips; a system's spec, model files and prompts with their text
    and seeds). The prompt sets' contents (num_samples, paraphrases) enter through the prompts."""
    # Hashed once: the reference clips and the evaluator are the largest inputs, and every unit
    # shares them.
    shared = result_key("evaluation_shared", config=config.model_dump(exclude=NOT_MEASURED),
                        evaluator=evaluator_files, reference=clips_inputs(reference),
                        geometry=list(geometry), shift=shift, temporal_patch=temporal_patch,
                        threads=ray_config.threads_per_worker, use_gpu=ray_config.use_gpu)
    keys = []
    for unit in units:
        if unit[0] == "reference":
            _, name, videos, asked, prompt_set = unit
            own = {"name": name, "videos": videos, "asked": clips_inputs(asked),
                   "prompt_set": prompt_set}
        else:
            system = unit[1]
            prompts = prompt_sets[system.prompt_set]
            own = {"system": asdict(system), "model": model_files[system.checkpoint],
                   "clips": clips_inputs(prompts.clips), "seeds": prompts.seeds,
                   "text": [prompts.text.tokens, prompts.text.mask, prompts.text.pooled]}
        keys.append(result_key("evaluation_set", shared=shared, unit=own))
    return keys


def _measure_on_ray(units: list[tuple], todo: list[int],
                    model_files: dict[str, dict[str, bytes]], reference: LabelledClips,
                    prompt_sets: dict[str, PromptSet], evaluator_files: dict[str, bytes],
                    config: EvaluationConfig, geometry: tuple[int, int, int], shift: float,
                    temporal_patch: int, ray_config: RayConfig
                    ) -> dict[int, tuple[dict, pd.DataFrame]]:
    """The units `todo` measured on Ray actors: index -> (row, clips)."""
    import ray
    from ray.util import ActorPool

    ensure_ray(ray_config)
    meter = SetMeter(evaluator_files, config, temporal_patch)
    shared = ray.put({"evaluator_files": evaluator_files, "config": config,
                      "temporal_patch": temporal_patch,
                      "reference": meter.features(reference.frames),
                      "reference_captions": reference.captions, "model_files": model_files,
                      "prompt_sets": prompt_sets, "geometry": geometry, "shift": shift})
    # The costliest first (network evaluations per video; a real set has none), so the last set
    # finishing is a short one. Within a cost, one checkpoint's systems stay together.
    order = sorted(todo, key=lambda i: (
        -(units[i][1].network_evaluations if units[i][0] == "system" else 0),
        units[i][1].checkpoint if units[i][0] == "system" else "", i))
    actor = ray.remote(num_cpus=ray_config.cpus_per_worker,
                       num_gpus=1 if ray_config.use_gpu else 0)(SetMeterActor)
    actors = [actor.remote(shared, ray_config.threads_per_worker)
              for _ in range(min(ray_config.num_workers, len(todo)))]
    nodes = set(ray.get([handle.node_id.remote() for handle in actors]))
    systems = sum(units[i][0] == "system" for i in todo)
    logger.info("measuring %d systems and %d real or trivial sets on %d Ray actors on %d "
                "node(s)", systems, len(todo) - systems, len(actors), len(nodes))
    results: dict[int, tuple[dict, pd.DataFrame]] = {}
    pool = ActorPool(actors)
    with tqdm(total=len(todo), desc="evaluation", unit="set") as progress:
        for index, row, clips in pool.map_unordered(lambda a, i: a.measure.remote(i, units[i]),
                                                    order):
            results[index] = (row, clips)
            progress.update(1)
    for handle in actors:
        ray.kill(handle)
    return results
