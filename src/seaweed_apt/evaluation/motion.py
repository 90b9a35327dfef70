"""Motion readers: which way a clip's item moves, how fast, and whether its frames change smoothly.

They read the item's path, the intensity-weighted centroid of the pixels brighter than the
background (a share of the clip's brightest pixel) in each frame, so they apply to clips of one
item on a dark background (the moving-fashion clips and what a generator draws for their
captions). Each is calibrated on
held-out real clips, which the evaluation reports beside the systems as the ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AXES = ("horizontal", "vertical", "diagonal")  # what a moving-fashion caption names
NO_AXIS = "none"  # a path too short to have a direction (a frozen clip reads this)


@dataclass(frozen=True)
class ClipMotion:
    """Per clip (B,): the axis read from the path, the item's speed in pixels per frame, the
    largest frame change over the mean of the others (`jump`, 1 for even change) and the frame
    change across temporal-patch boundaries over the change elsewhere (`boundary_jump`)."""

    axis: np.ndarray  # (B,) str, one of AXES or NO_AXIS
    speed: np.ndarray  # (B,) px / frame
    jump: np.ndarray  # (B,)
    boundary_jump: np.ndarray  # (B,) nan when the clip has no boundary or no other step


def item_paths(videos: np.ndarray, threshold: float) -> np.ndarray:
    """(B, T, H, W, 3) uint8 -> (B, T, 2) the (x, y) centroid in pixels of each frame's pixels
    brighter than `threshold` times the clip's brightest pixel, weighted by how much brighter;
    nan where none is. Relative to the clip, so a dimmer drawing of the same motion reads the
    same path."""
    grey = videos.astype(np.float32).mean(axis=-1) / 255.0  # (B, T, H, W)
    level = threshold * grey.max(axis=(1, 2, 3), keepdims=True)  # (B, 1, 1, 1)
    weight = np.clip(grey - level, 0.0, None)
    mass = weight.sum(axis=(2, 3))  # (B, T)
    ys, xs = np.arange(videos.shape[2]), np.arange(videos.shape[3])
    with np.errstate(invalid="ignore", divide="ignore"):
        x = (weight.sum(axis=2) * xs).sum(axis=2) / mass
        y = (weight.sum(axis=3) * ys).sum(axis=2) / mass
    return np.stack([x, y], axis=-1)


def read_axes(paths: np.ndarray, min_speed: float) -> tuple[np.ndarray, np.ndarray]:
    """(B, T, 2) paths -> the axis of each clip and its speed (mean step length, px / frame).

    The axis is the angle of (total |dx|, total |dy|) over the steps: below 22.5 degrees
    horizontal, above 67.5 vertical, diagonal between. Totals of absolute steps read a bounce off
    a wall (one component reverses) as the same axis. A clip slower than `min_speed` px / frame,
    or with fewer than two frames showing the item, reads NO_AXIS."""
    steps = np.diff(paths, axis=1)  # (B, T-1, 2)
    valid = np.isfinite(steps).all(axis=-1)  # (B, T-1)
    absolute = np.where(valid[..., None], np.abs(steps), 0.0)
    counts = valid.sum(axis=1)
    length = np.where(valid, np.linalg.norm(np.nan_to_num(steps), axis=-1), 0.0).sum(axis=1)
    speed = np.where(counts > 0, length / np.maximum(counts, 1), 0.0)
    angle = np.degrees(np.arctan2(absolute[..., 1].sum(axis=1), absolute[..., 0].sum(axis=1)))
    axis = np.where(angle < 22.5, AXES[0], np.where(angle > 67.5, AXES[1], AXES[2])).astype(object)
    axis[(speed < min_speed) | (counts == 0)] = NO_AXIS
    return axis, speed


def frame_changes(videos: np.ndarray) -> np.ndarray:
    """(B, T, H, W, 3) uint8 -> (B, T-1) mean |I(t+1) - I(t)| on [0, 1] pixels."""
    x = videos.astype(np.float32) / 255.0
    return np.abs(x[:, 1:] - x[:, :-1]).mean(axis=(2, 3, 4))


def jump_ratios(changes: np.ndarray, temporal_patch: int, eps: float = 1e-3
                ) -> tuple[np.ndarray, np.ndarray]:
    """(B, T-1) frame changes -> per clip the largest change over the mean of the others, and
    the mean change across temporal-patch boundaries (frame k*patch-1 to k*patch) over the mean
    change within patches. Even change scores 1 on both; a clip that jumps once scores high on
    the first, one that jumps where a network's temporal tokens meet on the second. `eps` keeps
    a frozen clip at 1 (no jump; the speed says it does not move)."""
    count = changes.shape[1]
    if count < 2:
        raise ValueError("jump ratios need clips of 3 frames or more")
    order = np.sort(changes, axis=1)
    jump = (order[:, -1] + eps) / (order[:, :-1].mean(axis=1) + eps)
    boundary = np.zeros(count, dtype=bool)
    if temporal_patch > 0:
        boundary[temporal_patch - 1::temporal_patch] = True
    if boundary.any() and not boundary.all():
        boundary_jump = ((changes[:, boundary].mean(axis=1) + eps)
                         / (changes[:, ~boundary].mean(axis=1) + eps))
    else:
        boundary_jump = np.full(len(changes), np.nan)
    return jump, boundary_jump


def read_motion(videos: np.ndarray, threshold: float, min_speed: float, temporal_patch: int
                ) -> ClipMotion:
    """Every reader on a set of clips (B, T, H, W, 3) uint8.

    Raises:
        ValueError: clips of fewer than 3 frames.
    """
    axis, speed = read_axes(item_paths(videos, threshold), min_speed)
    jump, boundary_jump = jump_ratios(frame_changes(videos), temporal_patch)
    return ClipMotion(axis, speed, jump, boundary_jump)


def pixel_motion(videos: np.ndarray) -> float:
    """Mean |I(t+1) - I(t)| on [0, 1] pixels over a set: 0 for frozen clips, any texture counts."""
    return float(frame_changes(videos).mean())
