"""The quality figures of one set of videos against the held-out real test clips."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from seaweed_apt.evaluation.evaluator import ItemClassifier, classify_videos
from seaweed_apt.evaluation.features import clip_features, video_frame_features
from seaweed_apt.evaluation.frechet import frechet_distance
from seaweed_apt.evaluation.motion import ClipMotion, pixel_motion, read_motion


@dataclass(frozen=True)
class MotionReading:
    """How the motion readers read a set (`evaluation.motion` and the teacher's temporal patch)."""

    item_threshold: float  # share of the clip's brightest pixel: brighter pixels are the item
    min_speed_px: float  # px / frame: slower reads as no axis
    temporal_patch: int  # frames per temporal token of the generators: where a jump is looked for


@dataclass
class SetFeatures:
    """What every figure is computed from, extracted once per set of videos."""

    frame: torch.Tensor  # (B, T, 1280) EfficientNet-Lite0 features per frame
    evaluator: torch.Tensor  # (B, F) the item classifier's mean penultimate features
    predicted: np.ndarray  # (B,) the item classifier's class per clip
    consistency: np.ndarray  # (B,) share of frames that agree with the clip's class
    motion: ClipMotion  # per clip: axis read, speed, jump ratios
    pixel_motion: float  # mean |I(t+1) - I(t)| over the set
    probabilities: torch.Tensor  # (B, classes) the item classifier's mean frame probabilities


def to_float_videos(videos: np.ndarray) -> torch.Tensor:
    """(B, T, H, W, 3) uint8 -> (B, 3, T, H, W) in [-1, 1]."""
    # torch.tensor copies: arrays from Ray's object store are read-only (torch.from_numpy warns).
    return torch.tensor(videos).float().permute(0, 4, 1, 2, 3) / 127.5 - 1.0


def extract_set_features(videos: np.ndarray, extractor: nn.Module, evaluator: ItemClassifier,
                         motion: MotionReading, batch_size: int = 64) -> SetFeatures:
    frame = video_frame_features(extractor, to_float_videos(videos), batch_size)
    predicted, consistency, evaluator_features, probabilities = classify_videos(evaluator, videos)
    read = read_motion(videos, motion.item_threshold, motion.min_speed_px, motion.temporal_patch)
    return SetFeatures(frame, evaluator_features, predicted, consistency, read,
                       pixel_motion(videos), probabilities)


def diversity(clip_feats: torch.Tensor, captions: list[str]) -> float:
    """Mean pairwise L2 distance between clips that share a caption (different seeds of one
    prompt; mode collapse drives it to 0), averaged over captions with 2 clips or more."""
    groups: dict[str, list[int]] = {}
    for i, caption in enumerate(captions):
        groups.setdefault(caption, []).append(i)
    distances = [torch.pdist(clip_feats[rows]).mean() for rows in groups.values()
                 if len(rows) > 1]
    if not distances:
        raise ValueError("diversity needs two or more clips for at least one caption")
    return float(torch.stack(distances).mean())


def class_key(name: str) -> str:
    """A class name as a column suffix: 'ankle boot' -> 'ankle_boot', 't-shirt' -> 't_shirt'."""
    return name.replace(" ", "_").replace("-", "_").replace("/", "_")


def per_class_accuracy(predicted: np.ndarray, labels: np.ndarray, class_names: list[str]
                       ) -> dict[str, float]:
    """`accuracy_class_<name>` for every class asked for at least once, then `worst_class`
    (its name) and `worst_class_accuracy` (nan and "" when no clip is labelled)."""
    by_label = {label: float((predicted[labels == label] == label).mean())
                for label in sorted(set(labels[labels >= 0].tolist()))}
    if not by_label:
        return {"worst_class": "", "worst_class_accuracy": float("nan")}
    worst = min(by_label, key=by_label.get)
    return {f"accuracy_class_{class_key(class_names[label])}": accuracy
            for label, accuracy in by_label.items()} | {
        "worst_class": class_names[worst], "worst_class_accuracy": by_label[worst]}


def motion_axis_accuracy(read: np.ndarray, axes: list[str]) -> float:
    """Share of the clips whose caption names an axis that move along it (nan: none names one)."""
    named = np.array([bool(a) for a in axes])
    if not named.any():
        return float("nan")
    return float((read[named] == np.array(axes, dtype=object)[named]).mean())


def clip_table(sample: SetFeatures, captions: list[str], labels: np.ndarray,
               axes: list[str]) -> pd.DataFrame:
    """One row per clip: what it was asked for and what the readers saw in it."""
    return pd.DataFrame({"clip": np.arange(len(captions)), "caption": captions,
                         "label": labels, "predicted": sample.predicted, "axis": axes,
                         "axis_read": sample.motion.axis.astype(str),
                         "speed_px": sample.motion.speed, "jump": sample.motion.jump,
                         "boundary_jump": sample.motion.boundary_jump})


def quality_figures(sample: SetFeatures, captions: list[str], labels: np.ndarray,
                    axes: list[str], class_names: list[str], reference: SetFeatures,
                    reference_captions: list[str]) -> dict[str, float]:
    """FD-EffLite0 (frame and clip level, on all samples and on two disjoint halves), the
    evaluator's conditional accuracy (overall and per class, the worst class), class consistency
    and FD, diversity, and the motion readers (`motion.py`): the share moving along the captioned
    axis, the item's speed, the jump ratios; ratios to the real reference where a ratio reads
    better."""
    frames = sample.frame.flatten(0, 1)
    ref_frames = reference.frame.flatten(0, 1)
    halves = [sample.frame[0::2].flatten(0, 1), sample.frame[1::2].flatten(0, 1)]
    clip, ref_clip = clip_features(sample.frame), clip_features(reference.frame)
    labelled = labels >= 0
    figures = {
        "fd_efflite0": frechet_distance(ref_frames, frames),
        "fd_efflite0_half_a": frechet_distance(ref_frames, halves[0]),
        "fd_efflite0_half_b": frechet_distance(ref_frames, halves[1]),
        "fd_efflite0_clip": frechet_distance(ref_clip, clip),
        "fd_evaluator": frechet_distance(reference.evaluator, sample.evaluator),
        "conditional_accuracy": float((sample.predicted[labelled] == labels[labelled]).mean())
        if labelled.any() else float("nan"),
        "class_consistency": float(sample.consistency.mean()),
        "diversity_ratio": diversity(clip, captions) / diversity(ref_clip, reference_captions),
        "motion_ratio": sample.pixel_motion / reference.pixel_motion,
        "motion_axis_accuracy": motion_axis_accuracy(sample.motion.axis, axes),
        "speed_px": float(sample.motion.speed.mean()),
        "speed_ratio": float(sample.motion.speed.mean() / reference.motion.speed.mean()),
        "jump_ratio": float(sample.motion.jump.mean()),
        "boundary_jump_ratio": float(np.nanmean(sample.motion.boundary_jump))
        if np.isfinite(sample.motion.boundary_jump).any() else float("nan"),
        **per_class_accuracy(sample.predicted, labels, class_names),
    }
    figures["fd_efflite0_spread"] = abs(figures["fd_efflite0_half_a"]
                                        - figures["fd_efflite0_half_b"])
    return figures
