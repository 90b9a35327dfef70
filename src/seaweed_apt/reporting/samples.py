"""The fixed-prompt sample grid every stage writes (same prompts and seeds, so grids compare)."""

from __future__ import annotations

import numpy as np
import torch

from seaweed_apt.data.video_io import encode_video_bytes, video_grid
from seaweed_apt.diffusion.generation import GenerationConfig
from seaweed_apt.diffusion.sampling import generate_videos
from seaweed_apt.reporting.figures import contact_sheet_png
from seaweed_apt.text.batch import TextBatch


def grid_videos(model: torch.nn.Module, prompts: TextBatch, seeds: list[int],
                generation: GenerationConfig) -> np.ndarray:
    """Videos (P*S, T, H, W, 3) uint8 ordered prompt-major: every prompt with every seed, made
    as `generation` says (clip shape, steps, guidance, shift)."""
    index = torch.arange(prompts.tokens.shape[0]).repeat_interleave(len(seeds))
    frames, height, width = generation.clip_shape
    return generate_videos(model, prompts.select(index), list(seeds) * prompts.tokens.shape[0],
                           generation.num_inference_steps, generation.guidance_scale, frames,
                           height, width, shift=generation.shift,
                           one_step_generator=generation.is_one_step)


def grid_files(videos: np.ndarray, prompts: list[str], seeds: list[int], fps: int,
               name: str) -> dict[str, bytes]:
    """`<name>.mp4`, `<name>.gif` (prompts as rows, seeds as columns, `fps` frames per second)
    and `<name>.png`."""
    tiled = video_grid(videos, columns=len(seeds))
    labels = [f"{p[:40]} | seed {s}" for p in prompts for s in seeds]
    return {
        f"{name}.mp4": encode_video_bytes(tiled, fps, "mp4"),
        f"{name}.gif": encode_video_bytes(tiled, fps, "gif"),
        f"{name}.png": contact_sheet_png(videos, labels),
    }
