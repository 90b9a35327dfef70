"""Fixed-length windows over decoded frames and the motion score that drops near-static ones."""

from __future__ import annotations

import numpy as np


def window_starts(num_frames: int, clip_frames: int, stride: int, max_clips: int = 0) -> list[int]:
    """Start frames of every full window; an empty list when the video is shorter than one clip."""
    if clip_frames <= 0 or stride <= 0:
        raise ValueError("clip_frames and stride must be positive")
    starts = list(range(0, num_frames - clip_frames + 1, stride))
    return starts[:max_clips] if max_clips > 0 else starts


def motion_score(clip: np.ndarray) -> float:
    """Mean absolute temporal difference |dI/dt| of (T, H, W, C) uint8 frames, on a [0, 1] scale."""
    if clip.shape[0] < 2:
        return 0.0
    frames = clip.astype(np.float32) / 255.0  # (T, H, W, C)
    return float(np.abs(np.diff(frames, axis=0)).mean())


def run_bounds(run_starts: list[int] | tuple[int, ...], num_frames: int) -> list[tuple[int, int]]:
    """(first, end) frames of each run: run i from `run_starts[i]` to the next run's start, the
    last to `num_frames`; a run past `num_frames` is empty."""
    bounds = [min(start, num_frames) for start in (*run_starts, num_frames)]
    return list(zip(bounds, bounds[1:], strict=False))


def run_window_starts(run_starts: list[int] | tuple[int, ...], num_frames: int, clip_frames: int,
                      stride: int, max_clips: int = 0) -> list[int]:
    """`window_starts` within each run of frames (`run_bounds`), so that no window spans two
    runs; one run from 0 gives `window_starts(num_frames, ...)` itself."""
    starts = [first + start for first, end in run_bounds(run_starts, num_frames)
              for start in window_starts(end - first, clip_frames, stride)]
    return starts[:max_clips] if max_clips > 0 else starts
