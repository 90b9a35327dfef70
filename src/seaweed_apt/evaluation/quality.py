"""The quality figures of one set of videos against the held-out real test clips."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from seaweed_apt.evaluation.evaluator import ItemClassifier, classify_videos
from seaweed_apt.evaluation.features import clip_features, video_frame_features
from seaweed_apt.evaluation.frechet import frechet_distance
from seaweed_apt.evaluation.motion import motion_figures


@dataclass
class SetFeatures:
    """What every figure is computed from, extracted once per set of videos."""

    frame: torch.Tensor  # (B, T, 1280) EfficientNet-Lite0 features per frame
    evaluator: torch.Tensor  # (B, F) the item classifier's mean penultimate features
    predicted: np.ndarray  # (B,) the item classifier's class per clip
    consistency: np.ndarray  # (B,) share of frames that agree with the clip's class
    motion: dict[str, float]
    probabilities: torch.Tensor  # (B, classes) the item classifier's mean frame probabilities


def to_float_videos(videos: np.ndarray) -> torch.Tensor:
    """(B, T, H, W, 3) uint8 -> (B, 3, T, H, W) in [-1, 1]."""
    # torch.tensor copies: arrays from Ray's object store are read-only (torch.from_numpy warns).
    return torch.tensor(videos).float().permute(0, 4, 1, 2, 3) / 127.5 - 1.0


def extract_set_features(videos: np.ndarray, extractor: nn.Module, evaluator: ItemClassifier,
                         batch_size: int = 64) -> SetFeatures:
    frame = video_frame_features(extractor, to_float_videos(videos), batch_size)
    predicted, consistency, evaluator_features, probabilities = classify_videos(evaluator, videos)
    return SetFeatures(frame, evaluator_features, predicted, consistency, motion_figures(videos),
                       probabilities)


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


def quality_figures(sample: SetFeatures, captions: list[str], labels: np.ndarray,
                    reference: SetFeatures, reference_captions: list[str]) -> dict[str, float]:
    """FD-EffLite0 (frame and clip level, on all samples and on two disjoint halves), the
    evaluator's conditional accuracy, class consistency and FD, diversity and motion, each
    relative to the real reference where a ratio reads better."""
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
        "motion_ratio": sample.motion["motion"] / reference.motion["motion"],
        "coherence": sample.motion["coherence"],
    }
    figures["fd_efflite0_spread"] = abs(figures["fd_efflite0_half_a"]
                                        - figures["fd_efflite0_half_b"])
    return figures
