"""Sampling: Euler steps on dx/dt = v with classifier-free guidance, and the one function that makes
every sample in this project (evaluation and the endpoint both call `generate_videos`)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seaweed_apt.device import bf16_autocast
from seaweed_apt.diffusion.flow import predict_velocity, shift_timesteps
from seaweed_apt.text.batch import TextBatch


def guided_velocity(model: nn.Module, x: torch.Tensor, t: torch.Tensor, text: TextBatch,
                    cfg_scale: float, negative: TextBatch | None = None) -> torch.Tensor:
    """v = v_uncond + w (v_cond - v_uncond); w = 1 is the plain conditional prediction (1 NFE).
    The unconditional branch uses `negative` (a negative prompt) or the learned null caption."""
    if cfg_scale == 1.0:
        return predict_velocity(model, x, t, text)
    batch = x.shape[0]
    null = negative if negative is not None else model.null_text(batch)
    both = TextBatch(torch.cat([text.tokens, null.tokens.to(text.tokens.dtype)]),
                     torch.cat([text.mask, null.mask]),
                     torch.cat([text.pooled, null.pooled.to(text.pooled.dtype)]))
    v = predict_velocity(model, torch.cat([x, x]), torch.cat([t, t]), both)
    v_cond, v_uncond = v.chunk(2)
    return v_uncond + cfg_scale * (v_cond - v_uncond)


@torch.no_grad()
def euler_sample(model: nn.Module, noise: torch.Tensor, text: TextBatch, steps: int,
                 cfg_scale: float = 1.0, shift: float = 1.0,
                 negative: TextBatch | None = None) -> torch.Tensor:
    """Integrate from t = 1 (noise) to t = 0 in `steps` Euler steps on a shifted time grid;
    `negative` (one caption per sample) replaces the null caption in the guidance."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    grid = shift_timesteps(torch.linspace(1.0, 0.0, steps + 1), shift).tolist()
    x = noise
    for t_now, t_next in zip(grid[:-1], grid[1:], strict=True):
        t = torch.full((x.shape[0],), t_now, device=x.device)
        x = x + (t_next - t_now) * guided_velocity(model, x, t, text, cfg_scale,
                                                   negative).float()
    return x


def seeded_noise(seeds: list[int], shape: tuple[int, ...], device) -> torch.Tensor:
    """One noise tensor per seed, drawn on the CPU so a seed gives the same video on any device."""
    return torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(int(s)))
                        for s in seeds]).to(device)


def to_uint8_video(x: torch.Tensor) -> np.ndarray:
    """(B, C, T, H, W) in [-1, 1] -> (B, T, H, W, C) uint8."""
    x = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 4, 1).cpu().numpy()


@torch.no_grad()
def generate_videos(model: nn.Module, text: TextBatch, seeds: list[int], steps: int,
                    cfg_scale: float, num_frames: int, height: int, width: int,
                    shift: float = 1.0, one_step_generator: bool = False,
                    batch_size: int = 16) -> np.ndarray:
    """The only way samples are made. Returns (B, T, H, W, 3) uint8, one video per seed/caption.

    With `one_step_generator`, the model is an APT generator: x = z - v_hat(z, c, t=1), always one
    network evaluation and no guidance (docs/method.md §3); `steps > 1` then runs it zero-shot on
    the teacher's Euler grid.
    """
    if len(seeds) != text.tokens.shape[0]:
        raise ValueError(f"{len(seeds)} seeds for {text.tokens.shape[0]} captions")
    model.eval()
    device = next(model.parameters()).device
    channels = model.config.in_channels
    autocast = bf16_autocast(device)
    videos = []
    for begin in range(0, len(seeds), batch_size):
        chunk = slice(begin, begin + batch_size)
        noise = seeded_noise(seeds[chunk], (channels, num_frames, height, width), device)
        part = text.select(chunk).to(device)
        with autocast:
            scale = 1.0 if one_step_generator else cfg_scale
            x = euler_sample(model, noise, part, steps, scale, shift)
        videos.append(to_uint8_video(x))
    return np.concatenate(videos)
