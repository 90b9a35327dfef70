"""posttrain nodes: distil the teacher (B1), post-train adversarially (B2), draw one-step grids."""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pandas as pd
import torch

from seaweed_apt.apt.kept import kept_checkpoint_files, kept_checkpoint_steps
from seaweed_apt.apt.posttrain import (
    make_teacher_pairs,
    needs_teacher_pairs,
    run_adversarial_post_training,
    run_distillation,
)
from seaweed_apt.config.posttrain import APTConfig, DistillConfig
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.config.sampling import SamplingConfig
from seaweed_apt.data.curated import CuratedClips
from seaweed_apt.reporting.figures import frame_table_png, loss_curve_figure
from seaweed_apt.reporting.samples import grid_files, grid_videos
from seaweed_apt.result_cache import ResultCache
from seaweed_apt.text.batch import TextBatch
from seaweed_apt.text.encoder import embed_prompts
from seaweed_apt.timing import timed_passes
from seaweed_apt.training.checkpoint import (
    ModelFiles,
    generation_of_files,
    load_model_from_files,
)


def _negative_text(distill: DistillConfig, teacher_model: ModelFiles) -> TextBatch | None:
    """`distill.negative_prompt` encoded by the teacher's own text encoder (its files'
    generation block), or None for the learned null caption."""
    if not distill.negative_prompt:
        return None
    return embed_prompts([distill.negative_prompt], teacher_model.generation.text_encoder)


def draw_teacher_pairs(curated_clips: CuratedClips, teacher_model: ModelFiles,
                       teacher_pairs_cache_dir: str, distill: DistillConfig, apt: APTConfig,
                       ray: RayConfig) -> tuple[dict[str, np.ndarray], dict]:
    """The teacher's (noise seed, caption, sample) pairs that distillation by regression and
    APT's regression term read, drawn once here in `ray.num_workers` Ray tasks (or taken from
    the cache, keyed by the teacher's weights and the pairs' settings); an empty file when
    neither reads them.

    Returns:
        the pairs file's arrays, and a record (count, teacher steps, seconds).
    """
    if not needs_teacher_pairs(distill, apt):
        empty = {"noise_seed": np.zeros(0, np.int64), "caption_row": np.zeros(0, np.int64),
                 "sample": np.zeros((0, 1, 1, 1, 3), np.uint8)}
        return empty, {"pairs": 0, "why": "distill.objective is consistency and "
                                          "apt.regression_weight is 0: nothing reads them"}
    return make_teacher_pairs(curated_clips, teacher_model.uri, distill, ray,
                              _negative_text(distill, teacher_model),
                              ResultCache(teacher_pairs_cache_dir))


def distill_generator(curated_clips: CuratedClips, teacher_model: ModelFiles,
                      teacher_pairs: str, posttrain_runs_dir: str, distill_live_dir: str,
                      distill: DistillConfig, ray: RayConfig):
    """Stage B1: the teacher distilled into a one-step student (consistency distillation, or
    regression onto the teacher pairs). Workers read the teacher's folder and the pairs file
    (`teacher_pairs`, a URI) themselves.

    Returns:
        distilled model files, metrics, per-step history, loss curve.
    """
    outcome, metrics = run_distillation(curated_clips, teacher_model.uri, distill, ray,
                                        posttrain_runs_dir, _negative_text(distill, teacher_model),
                                        teacher_pairs, distill_live_dir)
    figure = loss_curve_figure(outcome.history, f"{distill.objective} distillation (rank 0)")
    return outcome.model_files, metrics, pd.DataFrame(outcome.history), figure


def adversarially_post_train(curated_clips: CuratedClips, teacher_model: ModelFiles,
                             distilled_model: ModelFiles, teacher_pairs: str,
                             posttrain_runs_dir: str, apt_live_dir: str, apt: APTConfig,
                             ray: RayConfig):
    """Stage B2: APT (with `apt.regression_weight` > 0 also regression onto the teacher pairs).
    Returns every kept EMA checkpoint of G, metrics, history, curves."""
    outcome, metrics, checkpoints = run_adversarial_post_training(
        curated_clips, teacher_model.uri, distilled_model.uri, apt, ray, posttrain_runs_dir,
        teacher_pairs, apt_live_dir)
    keys = ("d_adv", "g_loss", "d_accuracy", "r1", "diversity") + (
        ("g_regression",) if apt.regression_weight > 0 else ())
    figure = loss_curve_figure(outcome.history, "APT (rank 0)", keys=keys)
    return checkpoints, metrics, pd.DataFrame(outcome.history), figure


def sample_one_step_grids(teacher_model: ModelFiles, distilled_model: ModelFiles,
                          apt_checkpoints: dict[str, bytes], sampling: SamplingConfig
                          ) -> tuple[dict[str, bytes], dict]:
    """One-step grids of the distilled and the (latest) APT generator for the teacher grid's
    prompts and seeds, and the time per video of each against the teacher with CFG, each made
    as its files' generation block says; and `apt_by_update.png`: the middle frame of each
    prompt (first seed) from the distilled student, every kept APT checkpoint and the teacher,
    because the best APT checkpoint is often not the latest (evaluation picks it).

    Returns:
        grid files, and a speed record (seconds per video, network evaluations per video).
    """
    torch.manual_seed(0)
    teacher_generation = teacher_model.generation
    teacher_name = f"teacher_{teacher_generation.num_inference_steps}steps"
    prompts = embed_prompts(sampling.prompts, teacher_generation.text_encoder)
    latest_apt = kept_checkpoint_files(apt_checkpoints,
                                       kept_checkpoint_steps(apt_checkpoints)[-1])
    systems = {teacher_name: (teacher_model.load_model(), teacher_generation),
               "distilled_1step": (distilled_model.load_model(), distilled_model.generation),
               "apt_1step": (load_model_from_files(latest_apt), generation_of_files(latest_apt))}
    files, speed, first_seed_frames = {}, {}, {}
    videos_per_grid = len(sampling.prompts) * len(sampling.seeds)
    middle = teacher_generation.num_frames // 2
    for name, (model, generation) in systems.items():
        videos, seconds = timed_passes(partial(grid_videos, model, prompts, sampling.seeds,
                                               generation), sampling.min_timing_s)
        seconds /= videos_per_grid
        files |= grid_files(videos, sampling.prompts, sampling.seeds, generation.fps, name)
        evaluations = generation.num_inference_steps * (
            2 if generation.guidance_scale != 1.0 else 1)
        speed[name] = {"seconds_per_video": seconds, "network_evaluations": evaluations}
        first_seed_frames[name] = videos[:: len(sampling.seeds), middle]
    rows = {"distilled": first_seed_frames["distilled_1step"]}
    for step in kept_checkpoint_steps(apt_checkpoints):
        checkpoint = kept_checkpoint_files(apt_checkpoints, step)
        rows[f"APT {step}"] = grid_videos(load_model_from_files(checkpoint), prompts,
                                          sampling.seeds[:1], generation_of_files(checkpoint)
                                          )[:, middle]
    rows[f"teacher {teacher_generation.num_inference_steps} steps"] = \
        first_seed_frames[teacher_name]
    files["apt_by_update.png"] = frame_table_png(
        rows, [prompt[:24] for prompt in sampling.prompts],
        f"frame {middle}, seed {sampling.seeds[0]}: one step per APT checkpoint (update)")
    teacher = speed[teacher_name]["seconds_per_video"]
    speed["apt_speedup_over_teacher"] = teacher / speed["apt_1step"]["seconds_per_video"]
    files["speed.json"] = json.dumps(speed, indent=2).encode()
    return files, speed
