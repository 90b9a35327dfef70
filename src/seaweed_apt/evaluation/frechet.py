"""Fréchet distance between two feature sets, with torchmetrics' statistics.

torchmetrics' `FrechetInceptionDistance(feature=<module>)` computes the distance from whatever the
module returns; we hand it already extracted features through a pass-through module, so the
(expensive) extraction runs once per sample set and serves frame-level and clip-level distances.
The name of the result is FD-<features>, never FID or FVD: the features are not Inception's."""

from __future__ import annotations

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance


class _GivenFeatures(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.num_features = dim

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FD between (N, D) real and (M, D) fake features (N, M >= 2)."""
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sets must be (N, D) with the same D, got {tuple(real.shape)} "
                         f"and {tuple(fake.shape)}")
    if len(real) < 2 or len(fake) < 2:
        raise ValueError("a Fréchet distance needs at least 2 samples on each side")
    metric = FrechetInceptionDistance(feature=_GivenFeatures(real.shape[1]))
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    return float(metric.compute())
