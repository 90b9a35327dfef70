"""Stage B end to end: distil the teacher into a one-step student, then post-train it
adversarially. Each call runs one Ray Train stage and returns files and metrics."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from seaweed_apt.apt.apt_phase import build_apt_phase
from seaweed_apt.apt.distill_phase import build_distill_phase
from seaweed_apt.apt.kept import checkpoint_folder
from seaweed_apt.config.posttrain import APTConfig, DistillConfig
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.training.checkpoint import read_config
from seaweed_apt.training.stage import StageOutcome, export_kept_models, run_stage

logger = logging.getLogger(__name__)


def _weights_id(model_dir: str) -> str:
    return read_config(model_dir).get("weights_sha256", str(Path(model_dir).resolve()))


def run_distillation(manifest: pd.DataFrame, shards_dir: str, captions_path: str,
                     teacher_dir: str, config: DistillConfig, ray_config: RayConfig,
                     storage_path: str, negative_text: tuple[np.ndarray, ...] | None = None
                     ) -> tuple[StageOutcome, dict]:
    """Stage B1. `negative_text` (tokens, mask, pooled of one prompt) replaces the learned null
    caption in the teacher's guidance when `config.negative_prompt` is set."""
    identity = {"distill": config.model_dump(exclude={"steps"}),
                "teacher": _weights_id(teacher_dir)}
    extra = {"teacher_dir": str(Path(teacher_dir).resolve())}
    if negative_text is not None:
        extra["negative_text"] = [np.asarray(a).tolist() for a in negative_text]
    outcome = run_stage("distill", build_distill_phase,
                        config.model_dump(), identity, manifest, shards_dir, captions_path,
                        ray_config, storage_path, config.keep_checkpoints, extra)
    return outcome, outcome.record()


def teacher_pair_settings(distill: DistillConfig) -> dict:
    """The settings of distillation's stored teacher pairs (`StoredTeacherPairs`), which APT's
    regression term reuses so both stages draw the same pairs."""
    return {"count": distill.regression_pairs, "steps": distill.regression_teacher_steps,
            "cfg_scale": distill.cfg_scale, "seed": distill.seed}


def run_adversarial_post_training(manifest: pd.DataFrame, shards_dir: str,
                                  captions_path: str, teacher_dir: str, distilled_dir: str,
                                  config: APTConfig, ray_config: RayConfig, storage_path: str,
                                  teacher_pairs: dict | None = None,
                                  negative_text: tuple[np.ndarray, ...] | None = None
                                  ) -> tuple[StageOutcome, dict, dict[str, bytes]]:
    """Stage B2. `teacher_pairs` (`teacher_pair_settings`) and `negative_text` are read only
    with `config.regression_weight` > 0. Returns the outcome, metrics, and every kept EMA
    checkpoint of G as files `step-NNNNN/{model.safetensors,config.json}` so evaluation can pick
    the best one.

    Raises:
        ValueError: `config.regression_weight` > 0 without `teacher_pairs`.
    """
    identity = {"apt": config.model_dump(exclude={"generator_updates"}),
                "teacher": _weights_id(teacher_dir), "distilled": _weights_id(distilled_dir)}
    extra = {"teacher_dir": str(Path(teacher_dir).resolve()),
             "distilled_dir": str(Path(distilled_dir).resolve())}
    if config.regression_weight > 0:
        if teacher_pairs is None:
            raise ValueError("posttrain.apt.regression_weight > 0 needs the teacher pair "
                             "settings of posttrain.distill")
        identity["teacher_pairs"] = extra["teacher_pairs"] = teacher_pairs
        if negative_text is not None:
            identity["negative_text"] = True
            extra["negative_text"] = [np.asarray(a).tolist() for a in negative_text]
    outcome = run_stage("apt", build_apt_phase, config.model_dump(),
                        identity, manifest, shards_dir, captions_path, ray_config, storage_path,
                        config.keep_checkpoints, extra)
    kept = {f"{checkpoint_folder(step)}/{name}": data
            for step, files in export_kept_models(outcome, config.use_ema).items()
            for name, data in files.items()}
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
