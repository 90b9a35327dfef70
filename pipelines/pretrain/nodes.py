"""pretrain nodes: launch the Ray Train teacher run; draw the teacher's sample grid."""

from __future__ import annotations

import pandas as pd

from seaweed_apt.config.pretrain import PretrainConfig
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.config.sampling import SamplingConfig
from seaweed_apt.config.text import TextEncoderConfig
from seaweed_apt.data.curated import CuratedClips
from seaweed_apt.pretrain.pretrain import run_pretraining
from seaweed_apt.reporting.figures import loss_curve_figure
from seaweed_apt.reporting.samples import grid_files, grid_videos
from seaweed_apt.text.encoder import embed_prompts
from seaweed_apt.training.checkpoint import ModelFiles


def pretrain_teacher(curated_clips: CuratedClips, pretrain_runs_dir: str,
                     pretrain_live_dir: str, pretrain: PretrainConfig, ray: RayConfig,
                     sampling: SamplingConfig, text_encoder: TextEncoderConfig):
    """Train the rectified-flow teacher on Ray Train (workers read the shards by URI; rank 0
    logs each window to `pretrain_live_dir` through DVCLive as it trains).

    Returns:
        teacher model files (EMA weights + config.json with the generation block: clip shape,
        `sampling`'s fps, steps, guidance and shift, `text_encoder`), metrics, per-step history,
        loss curve.
    """
    outcome, metrics = run_pretraining(curated_clips, pretrain, ray, pretrain_runs_dir,
                                       sampling, text_encoder, pretrain_live_dir)
    figure = loss_curve_figure(outcome.history, "pretrain (rank 0)",
                               keys=("loss", "grad_norm", "samples_per_s"))
    return outcome.model_files, metrics, pd.DataFrame(outcome.history), figure


def sample_teacher_grid(teacher_model: ModelFiles, sampling: SamplingConfig
                        ) -> dict[str, bytes]:
    """Returns: the teacher's grid for `sampling`'s fixed prompts and seeds, made as the teacher's
    files say (Euler steps with CFG), as mp4, GIF and a PNG contact sheet."""
    model, generation = teacher_model.load_model(), teacher_model.generation
    prompts = embed_prompts(sampling.prompts, generation.text_encoder)
    videos = grid_videos(model, prompts, sampling.seeds, generation)
    return grid_files(videos, sampling.prompts, sampling.seeds, generation.fps,
                      f"teacher_{generation.num_inference_steps}steps")
