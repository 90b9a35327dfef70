"""Stage A end to end for one call: shards in, teacher files and metrics out."""

from __future__ import annotations

import logging

from seaweed_apt.config.pretrain import PretrainConfig
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.config.sampling import SamplingConfig
from seaweed_apt.config.text import TextEncoderConfig
from seaweed_apt.data.curated import CuratedClips
from seaweed_apt.diffusion.generation import GenerationConfig
from seaweed_apt.models.dit import VideoDiT, build_config, count_parameters, flops_per_sample
from seaweed_apt.pretrain.pretrain_phase import build_pretrain_phase
from seaweed_apt.training.checkpoint import with_generation
from seaweed_apt.training.stage import StageOutcome, StageSpec, run_stage

logger = logging.getLogger(__name__)


def run_identity(config: PretrainConfig) -> dict:
    """What makes two pretrain runs the same run (the same run name, so one resumes the other).

    The resolved network is part of it: a preset whose definition changed in code is a new run,
    never a resume of weights trained for the old one. `steps` is left out under a constant lr,
    so raising it continues the run; under a decaying lr a longer run is another schedule."""
    exclude = {"steps"} if config.lr_schedule == "constant" else set()
    return {"pretrain": config.model_dump(exclude=exclude),
            "network": build_config(config.model.preset, config.model.overrides).as_dict()}


def run_pretraining(clips: CuratedClips, config: PretrainConfig, ray_config: RayConfig,
                     storage_path: str, sampling: SamplingConfig,
                     text_encoder: TextEncoderConfig, live_dir: str | None = None
                     ) -> tuple[StageOutcome, dict]:
    """Pretrain the teacher on the training clips of `clips`. Returns the run's outcome, whose
    teacher files carry their generation block (the clips' shape; `sampling`'s fps, steps,
    guidance and shift; `text_encoder`), and its metrics (loss, throughput, size, time).
    `live_dir`: where rank 0 logs each window as it trains (DVCLive)."""
    frames, height, width = clips.clip_shape
    model_config = build_config(config.model.preset, config.model.overrides)
    params = count_parameters(VideoDiT(model_config))
    flops = flops_per_sample(model_config, frames, height, width)
    logger.info("teacher %s: %.2fM parameters, %.2f GFLOP forward per %dx%dx%d clip",
                config.model.preset, params / 1e6, flops / 1e9, frames, height, width)
    spec = StageSpec("pretrain", build_pretrain_phase, config, config.steps,
                     run_identity(config), config.keep_checkpoints)
    outcome = run_stage(spec, clips, ray_config, storage_path, live_dir)
    # Stamped on export, not inside the loop: a finished run read back gets it too.
    outcome.model_files = with_generation(outcome.model_files, GenerationConfig.for_teacher(
        (frames, height, width), sampling, text_encoder))
    history = outcome.history
    # The first window includes start-up: leave it out of the throughput where there are others.
    throughput = [h["samples_per_s"] for h in history[1:]] or [h["samples_per_s"] for h in history]
    metrics = outcome.record() | {
        "samples_per_s_per_worker": sum(throughput) / max(len(throughput), 1),
        "workers": ray_config.num_workers, "parameters": params,
        "gflop_forward_per_clip": flops / 1e9, "checkpoint": outcome.checkpoint_paths[-1],
        "train_clips": clips.count("train"),
    }
    return outcome, metrics
