"""Stage B end to end: distil the teacher into a one-step student, then post-train it
adversarially. Each call runs one Ray Train stage and returns files and metrics."""

from __future__ import annotations

import logging
import time

import numpy as np

from seaweed_apt import storage
from seaweed_apt.apt.apt_phase import APTInputs, build_apt_phase
from seaweed_apt.apt.distill_phase import DistillInputs, build_distill_phase
from seaweed_apt.apt.kept import checkpoint_folder
from seaweed_apt.apt.teacher_pairs import plan_teacher_pairs, sample_teacher_pairs
from seaweed_apt.config.posttrain import APTConfig, DistillConfig
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.data.curated import CuratedClips
from seaweed_apt.device import bf16_autocast, default_device
from seaweed_apt.diffusion.generation import GenerationConfig
from seaweed_apt.ray_map import map_shares, split_evenly
from seaweed_apt.result_cache import ResultCache, result_key
from seaweed_apt.text.batch import TextBatch
from seaweed_apt.text.caption_table import load_caption_table
from seaweed_apt.training.checkpoint import (
    export_model_files,
    load_model_from_files,
    read_config,
    read_generation,
    with_generation,
)
from seaweed_apt.training.stage import StageOutcome, StageSpec, export_kept_models, run_stage

logger = logging.getLogger(__name__)

PAIRS_BATCH_SIZE = 32  # videos per teacher call; batch 16-128 drew at the same rate on 2 cores


def _weights_id(model_dir: str) -> str:
    return read_config(model_dir).get("weights_sha256", storage.absolute(model_dir))


def teacher_generation(teacher_dir: str) -> GenerationConfig:
    """The teacher's generation block (its files at `teacher_dir`, local or a storage URI).

    Raises: CheckpointError when the files have none or an invalid one."""
    return read_generation(read_config(teacher_dir), str(teacher_dir))


def run_distillation(clips: CuratedClips, teacher_dir: str, config: DistillConfig,
                     ray_config: RayConfig, storage_path: str, negative: TextBatch | None = None,
                     teacher_pairs_path: str | None = None, live_dir: str | None = None
                     ) -> tuple[StageOutcome, dict]:
    """Stage B1 on the training clips of `clips`. The distilled files carry the teacher's
    generation block as one step. `negative` (one encoded prompt) replaces the learned null
    caption in the teacher's guidance when `config.negative_prompt` is set; `teacher_pairs_path`
    (a file of `make_teacher_pairs`) is read with the regression objective; `live_dir`: where
    rank 0 logs each window as it trains (DVCLive).

    Raises:
        ValueError: the regression objective without `teacher_pairs_path`.
        CheckpointError: the teacher's files have no generation block.
    """
    generation = teacher_generation(teacher_dir).as_one_step()
    identity = {"distill": config.model_dump(exclude={"steps"}),
                "teacher": _weights_id(teacher_dir)}
    pairs_uri = None
    if config.objective == "regression":
        if teacher_pairs_path is None:
            raise ValueError("posttrain.distill.objective regression needs the teacher pairs file")
        identity["teacher_pairs"] = storage.sha256(teacher_pairs_path)
        pairs_uri = storage.absolute(teacher_pairs_path)
    inputs = DistillInputs(config, storage.absolute(teacher_dir), negative, pairs_uri)
    spec = StageSpec("distill", build_distill_phase, inputs, config.steps, identity,
                     config.keep_checkpoints)
    outcome = run_stage(spec, clips, ray_config, storage_path, live_dir)
    outcome.model_files = with_generation(outcome.model_files, generation)
    return outcome, outcome.record()


def needs_teacher_pairs(distill: DistillConfig, apt: APTConfig) -> bool:
    """Whether distillation (objective regression) or APT (regression_weight > 0) reads them."""
    return distill.objective == "regression" or apt.regression_weight > 0


def _sample_pairs_share(shared: dict, share: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """One Ray task's share of the pairs: the teacher from its files, on CUDA when the task has
    one (bf16 autocast)."""
    device = default_device()
    teacher = load_model_from_files(shared["teacher_files"], device=device).requires_grad_(False)
    seeds, rows = share
    with bf16_autocast(device):
        return sample_teacher_pairs(teacher, shared["caption_table"], seeds, rows,
                                    shared["clip_shape"], shared["steps"], shared["cfg_scale"],
                                    PAIRS_BATCH_SIZE, shared["negative"], shared["shift"])


def make_teacher_pairs(clips: CuratedClips, teacher_dir: str, config: DistillConfig,
                       ray_config: RayConfig, negative: TextBatch | None = None,
                       cache: ResultCache | None = None
                       ) -> tuple[dict[str, np.ndarray], dict]:
    """Draw `config.regression_pairs` teacher pairs for captions of `clips`' training clips
    (`plan_teacher_pairs`, then `sample_teacher_pairs` with `config.regression_teacher_steps`
    Euler steps and guidance `config.cfg_scale` on the grid shifted by
    `config.timestep_shift`), in `ray_config.num_workers` Ray tasks (`map_shares`); the
    teacher's weights reach them through the object store. Pairs drawn before by the same
    teacher weights, captions, settings, tasks and code come from `cache` instead (`cached:
    true` in the record). Returns the arrays of the pairs file and a record (count, steps,
    tasks, seconds).

    Raises:
        ValueError: no training clips to take captions from.
    """
    manifest = clips.manifest
    train_rows = manifest.loc[manifest["split"] == "train", "caption_row"]
    seeds, rows = plan_teacher_pairs(train_rows.to_numpy(np.int64), config.regression_pairs,
                                     config.seed)
    shares = [(seeds[part], rows[part]) for part in
              split_evenly(len(seeds), ray_config.num_workers, PAIRS_BATCH_SIZE)]
    shared = {"teacher_files": export_model_files(teacher_dir),  # EMA weights where present
              "caption_table": load_caption_table(clips.caption_table_uri),
              "clip_shape": teacher_generation(teacher_dir).clip_shape,
              "steps": config.regression_teacher_steps, "cfg_scale": config.cfg_scale,
              "shift": config.timestep_shift, "negative": negative}
    record = {"pairs": config.regression_pairs, "teacher_steps": config.regression_teacher_steps,
              "cfg_scale": config.cfg_scale, "shift": config.timestep_shift,
              "negative_prompt": config.negative_prompt,
              "ray_tasks": len(shares)}
    cache = cache or ResultCache(None)
    table = shared["caption_table"]
    key = result_key("teacher_pairs", teacher=shared["teacher_files"], seeds=seeds, rows=rows,
                     captions=[table.tokens, table.mask, table.pooled],
                     clip_shape=list(shared["clip_shape"]), steps=config.regression_teacher_steps,
                     cfg_scale=config.cfg_scale, shift=config.timestep_shift,
                     negative_text=[] if negative is None else [
                         negative.tokens, negative.mask, negative.pooled],
                     tasks=len(shares), threads=ray_config.threads_per_worker,
                     use_gpu=ray_config.use_gpu)
    if (arrays := cache.get_arrays(key)) is not None:
        logger.info("%d teacher pairs from the cache (same teacher, captions and settings)",
                    len(arrays["sample"]))
        return arrays, record | {"seconds": 0.0, "cached": True}
    logger.info("drawing %d teacher samples of %d steps (CFG %.1f) in %d Ray tasks",
                config.regression_pairs, config.regression_teacher_steps, config.cfg_scale,
                len(shares))
    began = time.perf_counter()
    samples = map_shares(_sample_pairs_share, shared, shares, ray_config)
    seconds = time.perf_counter() - began
    logger.info("drew %d teacher pairs in %.0f s", config.regression_pairs, seconds)
    arrays = {"noise_seed": seeds, "caption_row": rows, "sample": np.concatenate(samples)}
    cache.put_arrays(key, arrays)
    return arrays, record | {"seconds": round(seconds, 1), "cached": False}


def run_adversarial_post_training(clips: CuratedClips, teacher_dir: str, distilled_dir: str,
                                  config: APTConfig, ray_config: RayConfig, storage_path: str,
                                  teacher_pairs_path: str | None = None,
                                  live_dir: str | None = None
                                  ) -> tuple[StageOutcome, dict, dict[str, bytes]]:
    """Stage B2 on the training clips of `clips`. `teacher_pairs_path` (a file of
    `make_teacher_pairs`) is read only with `config.regression_weight` > 0. Returns the
    outcome, metrics, and every kept EMA checkpoint of G as files
    `step-NNNNN/{model.safetensors,config.json}` (with the teacher's generation block as one
    step) so evaluation can pick the best one. `live_dir`: where rank 0 logs each window (D
    loss, D(real), D(fake), D accuracy, aR1, G std, diversity, ...) as it trains (DVCLive).

    Raises:
        ValueError: `config.regression_weight` > 0 without `teacher_pairs_path`.
        CheckpointError: the teacher's files have no generation block.
    """
    generation = teacher_generation(teacher_dir).as_one_step()
    identity = {"apt": config.model_dump(exclude={"generator_updates"}),
                "teacher": _weights_id(teacher_dir), "distilled": _weights_id(distilled_dir)}
    pairs_uri = None
    if config.regression_weight > 0:
        if teacher_pairs_path is None:
            raise ValueError("posttrain.apt.regression_weight > 0 needs the teacher pairs file")
        identity["teacher_pairs"] = storage.sha256(teacher_pairs_path)
        pairs_uri = storage.absolute(teacher_pairs_path)
    inputs = APTInputs(config, storage.absolute(teacher_dir), storage.absolute(distilled_dir),
                       pairs_uri)
    spec = StageSpec("apt", build_apt_phase, inputs, config.generator_updates, identity,
                     config.keep_checkpoints)
    outcome = run_stage(spec, clips, ray_config, storage_path, live_dir)
    kept = {f"{checkpoint_folder(step)}/{name}": data
            for step, files in export_kept_models(outcome, config.use_ema).items()
            for name, data in with_generation(files, generation).items()}
    history = outcome.history
    last = history[-1] if history else {}
    metrics = {**outcome.record(), "generator_updates": last.get("step", 0),
               "kept_checkpoints": sorted({k.split("/")[0] for k in kept}),
               **{f"final_{k}": last[k] for k in ("d_adv", "d_accuracy", "r1", "g_loss",
                                                  "diversity", "fake_std") if k in last},
               "collapse_flagged": any(h.get("collapse_flag") for h in history),
               "stopped_by_collapse_watch": (config.collapse_watch.stop
                                             and last.get("step", 0) < config.generator_updates)}
    return outcome, metrics, kept
