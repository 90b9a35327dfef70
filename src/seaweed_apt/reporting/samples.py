"""The fixed-prompt sample grid every stage writes (same prompts and seeds, so grids compare)."""

from __future__ import annotations

import numpy as np
import torch

from seaweed_apt.config.sampling import SamplingConfig
from seaweed_apt.data.video_io import encode_video_bytes, video_grid
from seaweed_apt.diffusion.sampling import generate_videos
from seaweed_apt.reporting.figures import contact_sheet_png
from seaweed_apt.text.batch import TextBatch


def grid_videos(model: torch.nn.Module, prompts: TextBatch, sampling: SamplingConfig,
                geometry: tuple[int, int, int], steps: int, cfg_scale: float,
                one_step_generator: bool = False) -> np.ndarray:
    """Videos (P*S, T, H, W, 3) ordered prompt-major: every prompt with every seed."""
    seeds = len(sampling.seeds)
    index = torch.arange(prompts.tokens.shape[0]).repeat_interleave(seeds)
    text = prompts.select(index)
    frames, height, width = geometry
    return generate_videos(model, text, sampling.seeds * prompts.tokens.shape[0], steps,
                           cfg_scale, frames, height, width, shift=sampling.shift,
                           one_step_generator=one_step_generator)


def grid_files(videos: np.ndarray, prompts: list[str], sampling: SamplingConfig,
               name: str) -> dict[str, bytes]:
    """`<name>.mp4`, `<name>.gif` (prompts as rows, seeds as columns) and `<name>.png`."""
    tiled = video_grid(videos, columns=len(sampling.seeds))
    labels = [f"{p[:40]} | seed {s}" for p in prompts for s in sampling.seeds]
    return {
        f"{name}.mp4": encode_video_bytes(tiled, sampling.fps, "mp4"),
        f"{name}.gif": encode_video_bytes(tiled, sampling.fps, "gif"),
        f"{name}.png": contact_sheet_png(videos, labels),
    }
