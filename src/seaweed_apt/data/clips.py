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
