"""Exponential moving average of a network's weights."""

from __future__ import annotations

import copy

import torch
from torch import nn


def warmup_decay(decay: float, step: int) -> float:
    """min(decay, (1 + n) / (10 + n)) at 0-based update n: a short average while the network is
    far from its start, so that a random initialisation does not linger in the average."""
    return min(decay, (1 + step) / (10 + step))


class EMA:
    """average <- decay * average + (1 - decay) * weights after every update.

    With `warmup`, the decay of update n is `warmup_decay(decay, n)`: right for a network trained
    from a random initialisation, whose start the average should forget fast. Without it the
    decay holds from the first update, so after n updates the start keeps weight decay^n: right
    when training starts from a trained network (distillation's target, APT's G; docs/method.md
    §3), where the warm-up would make the average little more than the latest weights (at 0.995,
    an effective window of ~34 updates at update 300 instead of ~200).
    """

    def __init__(self, model: nn.Module, decay: float, warmup: bool,
                 warmup_restart: int = 0) -> None:
        """`warmup_restart`: the update from which the warm-up counts from 0 again (APT's switch
        from images to video, where G restarts from this average); 0: none."""
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.warmup = warmup
        self.warmup_restart = warmup_restart
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        since = step - self.warmup_restart if step >= self.warmup_restart else step
        decay = warmup_decay(self.decay, since) if self.warmup else self.decay
        for average, current in zip(self.model.parameters(), model.parameters(), strict=True):
            average.lerp_(current.detach().to(average.dtype), 1 - decay)
