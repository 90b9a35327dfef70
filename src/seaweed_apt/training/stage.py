"""One training stage as a single call: shards in, the run's final checkpoint and history out.
Pretraining, distillation and APT all run through `run_stage`."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ray.train import Checkpoint, Result

from seaweed_apt import storage
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.data.curated import CuratedClips
from seaweed_apt.training.checkpoint import export_model_files
from seaweed_apt.training.launch import fit, run_name
from seaweed_apt.training.loop import LoopConfig, PhaseBuilder, train_loop_per_worker
from seaweed_apt.training.tracking import LiveMetrics

logger = logging.getLogger(__name__)


@dataclass
class StageOutcome:
    model_files: dict[str, bytes]  # model.safetensors (EMA) + config.json of the last checkpoint
    history: list[dict]  # rank 0's logged windows
    run_name: str
    wall_time_s: float  # this call's, start-up and checkpoint writes included
    train_seconds: float  # in training steps, summed over every attempt of the run
    checkpoints: list[tuple[int, Checkpoint]]  # every kept checkpoint with its step, oldest first
    resumed_from: list[int]
    worker_nodes: list[str]  # the Ray node of each rank in the last attempt

    @property
    def checkpoint_paths(self) -> list[str]:
        return [checkpoint.path for _, checkpoint in self.checkpoints]

    def record(self) -> dict:
        """What every stage's metrics file says of its run: name, steps, first and last logged
        loss (where the phase logs one), mean MFU and FLOP/s of rank 0 over its windows, time,
        the steps it resumed from and how many nodes its workers ran on."""
        first, last = (self.history[0], self.history[-1]) if self.history else ({}, {})
        record = {"run_name": self.run_name, "steps": last.get("step", 0)}
        if "loss" in last:
            record |= {"first_loss": first["loss"], "final_loss": last["loss"]}
        windows = [window for window in self.history if "mfu" in window]
        if windows:  # per worker, against its device's peak (training.mfu)
            record |= {"mfu": sum(w["mfu"] for w in windows) / len(windows),
                       "flop_per_s": sum(w["flop_per_s"] for w in windows) / len(windows)}
        return record | {"wall_time_s": self.wall_time_s, "train_seconds": self.train_seconds,
                         "resumed_from_steps": self.resumed_from,
                         "nodes": len(set(self.worker_nodes))}


@dataclass(frozen=True)
class StageSpec:
    """One training stage to run: its name ("pretrain", "distill", "apt": the run name's
    prefix), the phase its workers build, the phase's inputs (`LoopConfig.phase`), the step it
    trains to, what makes two runs the same run (`identity`: a rerun of the same run resumes
    it) and how many checkpoints Ray keeps."""

    stage: str
    build_phase: PhaseBuilder
    inputs: Any
    last_step: int
    identity: dict
    keep_checkpoints: int


def run_stage(spec: StageSpec, clips: CuratedClips, ray_config: RayConfig, storage_path: str,
              live_dir: str | None = None) -> StageOutcome:
    """Run the phase `spec` names, up to its last step, in the one training loop on Ray Train,
    on the training clips of `clips`. The run is named by `spec.identity`, so rerunning resumes
    it from its checkpoints; a run whose recorded checkpoint is already at the last step is read
    back without starting workers. `live_dir`: a folder (local or a storage URI) for the live
    metrics of rank 0 (DVCLive, `training.tracking`). Raises RuntimeError naming the stage when
    training fails."""
    stage, last_step = spec.stage, spec.last_step
    storage_path = ray_config.storage_path or storage_path
    # bf16 on CPU names its own run (fp32 checkpoints are not its to resume); the default keeps
    # the names runs had before the switch.
    precision = {"cpu_bf16_autocast": True} if ray_config.cpu_bf16_autocast else {}
    name = run_name(stage, {**spec.identity, **precision, "train_clips": clips.count("train")})
    run_uri = storage.join(storage.absolute(storage_path), name)
    loop_config = LoopConfig(
        spec.inputs, replace(clips, shards_uri=storage.absolute(clips.shards_uri),
                             caption_table_uri=storage.absolute(clips.caption_table_uri)),
        ray_config.threads_per_worker, ray_config.cpu_bf16_autocast,
        storage.absolute(live_dir) if live_dir else None)
    step_before = last_recorded_step(run_uri)
    start = time.perf_counter()
    finished = finished_run(run_uri, last_step) if step_before is not None else None
    if finished is None:
        result = fit(train_loop_per_worker(spec.build_phase, loop_config), ray_config,
                     storage_path, name, spec.keep_checkpoints)
    else:
        result = finished
        logger.info("%s: run %s already has its checkpoint at step %d: read back, no workers "
                    "started", stage, name, result.metrics["step"])
    if result.error:
        raise RuntimeError(f"{stage} failed: {result.error}") from result.error
    with result.checkpoint.as_directory() as folder:
        files = export_model_files(folder, use_ema=True)
        state = json.loads((Path(folder) / "trainer_state.json").read_text())
    if finished is not None and live_dir:  # as the loop's rank 0 does at every start
        LiveMetrics(storage.absolute(live_dir), history=state["history"]).close()
    wall = time.perf_counter() - start
    # Ray does not promise the order of best_checkpoints: sort by the step reported with each.
    kept = sorted(((int(metrics["step"]), checkpoint)
                   for checkpoint, metrics in getattr(result, "best_checkpoints", None) or []),
                  key=lambda pair: pair[0])
    history = [h for h in state["history"] if h.get("rank", 0) == 0]
    resumed_from = state.get("resumed_from", [])
    # A run resumed at its last step trains nothing and writes no checkpoint, so the resumption
    # is in no trainer state: record it here.
    if step_before == state["step"] and step_before not in resumed_from:
        resumed_from = [*resumed_from, step_before]
    nodes = state.get("worker_nodes", [])
    logger.info("%s done: %d steps, %.0f s of training over all attempts, this call %.0f s, "
                "%d worker(s) on %d node(s) in its %s attempt (run %s)", stage, state["step"],
                state.get("train_seconds", 0.0), wall, len(nodes), len(set(nodes)),
                "last" if finished is not None else "latest", name)
    return StageOutcome(files, history, name, wall, state.get("train_seconds", 0.0),
                        kept or [(state["step"], result.checkpoint)], resumed_from, nodes)


def finished_run(run_uri: str, last_step: int) -> Result | None:
    """Ray Train's own record of the run at `run_uri` (`Result.from_path`) when its newest
    checkpoint is at `last_step` or later, else None. Such a run has nothing left to train, and
    launching it again costs a controller and a process per worker, each importing torch and Ray
    Train (`benchmarks/train_launch.py`, docs/benchmarks.md "A finished run: launched again or
    read back")."""
    # Reading the snapshot, Ray Train logs 3 lines on starting a brand new job instead: none starts.
    snapshot_logger = logging.getLogger(
        "ray.train.v2._internal.execution.checkpoint.checkpoint_manager")
    level = snapshot_logger.level
    snapshot_logger.setLevel(logging.WARNING)
    try:
        result = Result.from_path(run_uri)
    except RuntimeError:  # no snapshot yet: Ray never recorded a checkpoint of this run
        return None
    finally:
        snapshot_logger.setLevel(level)
    if result.checkpoint is None or int((result.metrics or {}).get("step", -1)) < last_step:
        return None
    return result


def last_recorded_step(run_uri: str) -> int | None:
    """The step of the newest complete checkpoint already in the run folder `run_uri` (local
    or a storage URI), if any (a folder without a trainer state is half-written and does not
    count)."""
    steps = [json.loads(storage.read_bytes(uri))["step"]
             for relative, uri in storage.list_files(run_uri).items()
             if relative.count("/") == 1 and relative.startswith("checkpoint_")
             and relative.endswith("/trainer_state.json")]
    return max(steps, default=None)


def export_kept_models(outcome: StageOutcome, use_ema: bool) -> dict[int, dict[str, bytes]]:
    """The deployable files of every kept checkpoint, by step; `as_directory` fetches a
    checkpoint from remote storage (s3://) when the run did not write to a local folder."""
    models = {}
    for step, checkpoint in outcome.checkpoints:
        with checkpoint.as_directory() as folder:
            models[step] = export_model_files(folder, use_ema=use_ema)
    return models
