"""Stage A end to end for one call: shards in, teacher files and metrics out."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from seaweed_apt.config import PretrainConfig, RayConfig
from seaweed_apt.models.dit import VideoDiT, build_config, count_parameters, flops_per_sample
from seaweed_apt.training.checkpoint import export_model_files
from seaweed_apt.training.launch import fit, run_name
from seaweed_apt.training.pretrain_loop import train_loop_per_worker

logger = logging.getLogger(__name__)


@dataclass
class TrainingOutcome:
    model_files: dict[str, bytes]  # model.safetensors (EMA) + config.json
    metrics: dict
    history: list[dict]
    checkpoint_path: str


def caption_index_by_shard(manifest: pd.DataFrame, split: str = "train") -> dict[str, list[int]]:
    """Per training shard, the caption-table row of each clip in shard order."""
    rows = manifest[manifest["split"] == split].sort_values(["shard", "shard_offset"])
    return {shard: group["caption_embedding_index"].astype(int).tolist()
            for shard, group in rows.groupby("shard")}


def clip_geometry(manifest: pd.DataFrame) -> tuple[int, int, int]:
    first = manifest.iloc[0]
    return int(first["num_frames"]), int(first["height"]), int(first["width"])


def pretrain_teacher(manifest: pd.DataFrame, shards_dir: str, captions_path: str,
                     config: PretrainConfig, ray_config: RayConfig, storage_path: str
                     ) -> TrainingOutcome:
    storage_path = ray_config.storage_path or storage_path
    frames, height, width = clip_geometry(manifest)
    model_config = build_config(config.model.preset, config.model.overrides)
    params = count_parameters(VideoDiT(model_config))
    flops = flops_per_sample(model_config, frames, height, width)
    logger.info("teacher %s: %.2fM parameters, %.2f GFLOP forward per %dx%dx%d clip",
                config.model.preset, params / 1e6, flops / 1e9, frames, height, width)
    shards = caption_index_by_shard(manifest)
    data_info = {"train_clips": int(sum(len(v) for v in shards.values())),
                 "clip_shape": [frames, height, width]}
    # `steps` stays out of the run's identity: raising it continues the same run from its last
    # checkpoint (the schedule is warm-up then constant, so a longer run is the same run).
    resolved = {"pretrain": config.model_dump(exclude={"fail_once_at_step", "steps"}),
                "train_clips": data_info["train_clips"]}
    name = run_name("pretrain", resolved)
    loop_config = {
        "pretrain": config.model_dump(), "shards_dir": str(Path(shards_dir).resolve()),
        "captions_path": str(Path(captions_path).resolve()), "caption_index_by_shard": shards,
        "data_info": data_info, "threads_per_worker": ray_config.threads_per_worker,
        "fault_marker": str(Path(storage_path).resolve() / name / "fault-injected"),
    }
    Path(loop_config["fault_marker"]).parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = fit(train_loop_per_worker, loop_config, ray_config, storage_path, name,
                 config.keep_checkpoints)
    if result.error:
        raise RuntimeError(f"pretraining failed: {result.error}") from result.error
    wall = time.perf_counter() - start
    with result.checkpoint.as_directory() as folder:
        files = export_model_files(folder, use_ema=True)
        state = json.loads((Path(folder) / "trainer_state.json").read_text())
    history = state["history"]
    rank0 = [h for h in history if h.get("rank", 0) == 0]
    throughput = [h["samples_per_s"] for h in rank0[1:]] or [h["samples_per_s"] for h in rank0]
    metrics = {
        "run_name": name, "steps": rank0[-1]["step"] if rank0 else 0,
        "final_loss": rank0[-1]["loss"] if rank0 else None,
        "first_loss": rank0[0]["loss"] if rank0 else None,
        "samples_per_s_per_worker": sum(throughput) / max(len(throughput), 1),
        "workers": ray_config.num_workers, "wall_time_s": wall,
        "parameters": params, "gflop_forward_per_clip": flops / 1e9,
        "checkpoint": str(result.checkpoint.path), "train_clips": data_info["train_clips"],
        "resumed_from_steps": state.get("resumed_from", []),
    }
    logger.info("pretrain done: %d steps in %.0f s, loss %.4f -> %.4f", metrics["steps"], wall,
                metrics["first_loss"] or 0, metrics["final_loss"] or 0)
    return TrainingOutcome(files, metrics, rank0, str(result.checkpoint.path))
