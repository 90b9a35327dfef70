"""The teacher's (noise, caption, sample) pairs: drawn once per post-training run, stored as one
file, read by every worker of distillation by regression and of APT's regression term.

The noise is not stored: each pair keeps its seed, and `seeded_noise` draws the same noise on any
device. Samples are stored as uint8 frames, like the curated clips (rounding error <= 1/255 of the
[-1, 1] range, against a regression loss of ~0.04).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seaweed_apt import storage
from seaweed_apt.apt.consistency import teacher_sample_pairs
from seaweed_apt.diffusion.sampling import seeded_noise, to_uint8_video
from seaweed_apt.text.batch import TextBatch
from seaweed_apt.text.caption_table import load_caption_table

SEED_STRIDE = 1_000_003  # the pair seeds: seed x SEED_STRIDE + 0, 1, ...


def plan_teacher_pairs(caption_rows: np.ndarray, count: int, seed: int
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The `count` pairs' noise seeds and caption rows, drawn (with replacement, by `seed`) from
    `caption_rows` (the caption-table rows of training clips). Returns two (N,) int64 arrays.

    Raises:
        ValueError: no caption rows to draw from.
    """
    if len(caption_rows) == 0:
        raise ValueError("teacher pairs need the captions of training clips: there are none")
    rows = np.random.default_rng(seed).choice(np.asarray(caption_rows, np.int64), size=count)
    return np.arange(count, dtype=np.int64) + seed * SEED_STRIDE, rows


def sample_teacher_pairs(teacher: nn.Module, caption_table: TextBatch, noise_seeds: np.ndarray,
                         caption_rows: np.ndarray, clip_shape: tuple[int, int, int], steps: int,
                         cfg_scale: float, batch_size: int = 32,
                         negative: TextBatch | None = None, shift: float = 1.0) -> np.ndarray:
    """The teacher's `steps`-step Euler sample (time grid shifted by `shift`) with guidance
    `cfg_scale` from each seed's noise
    for its row of `caption_table`. `clip_shape` is (T, H, W) of a clip. Returns
    (N, T, H, W, 3) uint8. Shares of a plan cut at multiples of `batch_size` run the same
    batches as the whole plan."""
    rows = np.array(caption_rows, np.int64)  # a copy: Ray's arrays are read-only, torch warns
    text = caption_table.select(rows).float()
    _, sample = teacher_sample_pairs(teacher, text, [int(s) for s in noise_seeds],
                                     (3, *clip_shape), steps, cfg_scale, batch_size, negative,
                                     shift)
    return np.ascontiguousarray(to_uint8_video(sample))  # a file writes the buffer


def draw_teacher_pairs(teacher: nn.Module, caption_table: TextBatch, caption_rows: np.ndarray,
                       clip_shape: tuple[int, int, int], count: int, steps: int,
                       cfg_scale: float, seed: int, batch_size: int = 32,
                       negative: TextBatch | None = None,
                       shift: float = 1.0) -> dict[str, np.ndarray]:
    """`count` pairs in this process: `plan_teacher_pairs`, then `sample_teacher_pairs`.

    Returns {"noise_seed": (N,) int64, "caption_row": (N,) int64, "sample": (N, T, H, W, 3)
    uint8}, the arrays of a pairs file.

    Raises:
        ValueError: no caption rows to draw from.
    """
    seeds, rows = plan_teacher_pairs(caption_rows, count, seed)
    return {"noise_seed": seeds, "caption_row": rows,
            "sample": sample_teacher_pairs(teacher, caption_table, seeds, rows, clip_shape, steps,
                                           cfg_scale, batch_size, negative, shift)}


@dataclass
class TeacherPairs:
    """One worker's share of a pairs file: every `world_size`-th pair from `rank`."""

    noise_seed: torch.Tensor  # (N,) int64
    sample: torch.Tensor  # (N, T, H, W, 3) uint8
    text: TextBatch  # (N, L, Dt), (N, L), (N, Dt)

    @classmethod
    def load(cls, pairs_uri: str | Path, caption_table_uri: str | Path, rank: int = 0,
             world_size: int = 1) -> TeacherPairs:
        """Raises:
            ValueError: the file holds fewer pairs than there are workers."""
        arrays = storage.load_safetensors(pairs_uri)
        share = slice(rank, None, world_size)
        seeds = torch.from_numpy(arrays["noise_seed"][share].copy())
        if len(seeds) == 0:
            raise ValueError(f"{pairs_uri}: {len(arrays['noise_seed'])} teacher pairs for "
                             f"{world_size} workers; draw more (posttrain.distill."
                             "regression_pairs)")
        rows = torch.from_numpy(arrays["caption_row"][share].copy())
        table = load_caption_table(caption_table_uri)
        return cls(seeds, torch.from_numpy(np.ascontiguousarray(arrays["sample"][share])),
                   table.select(rows).float())

    def __len__(self) -> int:
        return self.noise_seed.shape[0]

    def batch(self, rows: torch.Tensor, device: str | torch.device = "cpu"
              ) -> tuple[torch.Tensor, TextBatch, torch.Tensor]:
        """(noise (B, C, T, H, W), text, sample (B, C, T, H, W) in [-1, 1]) at `rows`."""
        sample = self.sample[rows].permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0
        noise = seeded_noise(self.noise_seed[rows].tolist(), tuple(sample.shape[1:]), device)
        return noise, self.text.select(rows).to(device), sample.to(device)
