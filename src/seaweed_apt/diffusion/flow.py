"""Rectified flow with velocity prediction (docs/method.md §0).

x_t = (1 - t) x0 + t eps, t in [0, 1] (t = 1 is pure noise); the network predicts v = eps - x0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seaweed_apt.text.batch import TextBatch


def interpolate(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t = (1 - t) x0 + t eps, with t (B,) broadcast over (B, C, T, H, W)."""
    t = t.view(-1, *([1] * (x0.dim() - 1)))
    return (1 - t) * x0 + t * noise


def shift_timesteps(t: torch.Tensor, shift: float) -> torch.Tensor:
    """shift(t, s) = s t / (1 + (s - 1) t): s > 1 pushes t toward noise (used for video)."""
    return shift * t / (1 + (shift - 1) * t)


@dataclass(frozen=True)
class TimestepSampler:
    """Training times: logit-normal (SD3) or uniform, then shifted."""

    kind: str = "logit_normal"
    mean: float = 0.0
    std: float = 1.0
    shift: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in ("logit_normal", "uniform"):
            raise ValueError(f"timestep sampler kind {self.kind!r}: use logit_normal or uniform")

    def __call__(self, batch: int, rng: torch.Generator | None = None,
                 device: torch.device | str = "cpu") -> torch.Tensor:
        if self.kind == "uniform":
            t = torch.rand(batch, generator=rng)
        else:
            t = torch.sigmoid(self.mean + self.std * torch.randn(batch, generator=rng))
        return shift_timesteps(t, self.shift).to(device)


def predict_velocity(model: nn.Module, x: torch.Tensor, t: torch.Tensor, text: TextBatch
                     ) -> torch.Tensor:
    return model(x, t, text)


class RectifiedFlowLoss:
    """|| net(x_t, t, c) - (eps - x0) ||^2, with caption dropout to the learned null caption so
    that classifier-free guidance works at sampling time. Returns named terms."""

    def __init__(self, sampler: TimestepSampler, caption_dropout: float = 0.1) -> None:
        if not 0.0 <= caption_dropout < 1.0:
            raise ValueError(f"caption_dropout must be in [0, 1), got {caption_dropout}")
        self.sampler = sampler
        self.caption_dropout = caption_dropout

    def __call__(self, model: nn.Module, x0: torch.Tensor, text: TextBatch,
                 rng: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        batch = x0.shape[0]
        noise = torch.randn(x0.shape, generator=rng).to(x0.device)
        t = self.sampler(batch, rng, x0.device)
        keep = torch.rand(batch, generator=rng) >= self.caption_dropout
        core = model.module if hasattr(model, "module") else model  # DDP wraps the network
        text = text.where(keep, core.null_text(batch))
        prediction = predict_velocity(model, interpolate(x0, noise, t), t, text)
        loss = F.mse_loss(prediction.float(), (noise - x0).float())
        return {"loss": loss, "t_mean": t.mean().detach(),
                "caption_kept": keep.float().mean()}
