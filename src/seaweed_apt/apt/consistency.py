"""Consistency distillation with CFG baked in (docs/method.md §2): the loss of stage B1.

Consistency function of a rectified-flow network: f(x, t) = x - t v(x, t), so f(x, 0) = x holds by
construction and f(z, 1) = z - v(z, 1) is APT's one-step generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seaweed_apt.diffusion.flow import interpolate, predict_velocity, shift_timesteps
from seaweed_apt.diffusion.sampling import euler_sample, guided_velocity, seeded_noise
from seaweed_apt.text.batch import TextBatch


def consistency_output(model: nn.Module, x: torch.Tensor, t: torch.Tensor,
                       text: TextBatch) -> torch.Tensor:
    """f(x, t) = x - t v(x, t): the network's estimate of the clean sample. x (B, C, T, H, W),
    t (B,) in [0, 1]."""
    return x - t.view(-1, *([1] * (x.dim() - 1))) * predict_velocity(model, x, t, text)


@dataclass(frozen=True)
class ConsistencyDistillationLoss:
    """L = || f_student(x_{t_n}, t_n) - f_target(x_{t_{n-1}}, t_{n-1}) ||^2 (docs/method.md §2;
    Song et al. 2023, eq. 10 with an MSE metric), on the shifted grid t_n = shift(n / N, s).

    x_{t_n} comes from data and noise; x_{t_{n-1}} is one Euler step of the teacher with
    classifier-free guidance `cfg_scale` from x_{t_n} (so the student learns the guided flow);
    the target network is an EMA of the student. Gradients reach the student only.
    """

    intervals: int  # N of the time grid
    cfg_scale: float  # w of the teacher's guided velocity
    timestep_shift: float = 1.0  # s of shift(t, s)

    def __call__(self, student: nn.Module, target: nn.Module, teacher: nn.Module,
                 x0: torch.Tensor, text: TextBatch, rng: torch.Generator,
                 negative: TextBatch | None = None) -> dict[str, torch.Tensor]:
        """x0 (B, C, T, H, W) in [-1, 1]; `negative` replaces the learned null caption in the
        teacher's guidance. Returns {"loss", "t_mean"}."""
        batch = x0.shape[0]
        n = torch.randint(1, self.intervals + 1, (batch,), generator=rng)
        t_high = shift_timesteps(n / self.intervals, self.timestep_shift).to(x0.device)
        t_low = shift_timesteps((n - 1) / self.intervals, self.timestep_shift).to(x0.device)
        noise = torch.randn(x0.shape, generator=rng).to(x0.device)
        x_high = interpolate(x0, noise, t_high)
        with torch.no_grad():
            velocity = guided_velocity(teacher, x_high, t_high, text, self.cfg_scale, negative)
            x_low = x_high + (t_low - t_high).view(-1, 1, 1, 1, 1) * velocity.float()
            goal = consistency_output(target, x_low, t_low, text)
        prediction = consistency_output(student, x_high, t_high, text)
        return {"loss": F.mse_loss(prediction.float(), goal.float()), "t_mean": t_high.mean()}


def teacher_sample_pairs(teacher: nn.Module, text: TextBatch, seeds: list[int], shape: tuple,
                         steps: int, cfg_scale: float, batch_size: int,
                         negative: TextBatch | None = None,
                         shift: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(noise, sample) pairs of the teacher: z from each seed (drawn on the CPU, as every sample
    of this project), x = the teacher's `steps`-step Euler sample from z with guidance
    `cfg_scale` on the time grid shifted by `shift`. Returns two (B, C, T, H, W) tensors on
    the teacher's device."""
    device = next(teacher.parameters()).device
    noises, samples = [], []
    for begin in range(0, len(seeds), batch_size):
        chunk = slice(begin, begin + batch_size)
        z = seeded_noise(seeds[chunk], shape, device)
        part = text.select(chunk).to(device)
        neg = None if negative is None else negative.repeat(z.shape[0]).to(device)
        x = euler_sample(teacher, z, part, steps, cfg_scale, shift, negative=neg)
        noises.append(z)
        samples.append(x.clamp(-1, 1))
    return torch.cat(noises), torch.cat(samples)


@dataclass(frozen=True)
class RegressionDistillationLoss:
    """L = || G(z, c) - x_teacher(z, c) ||^2 with G(z, c) = z - v(z, c, 1): the one-step output
    regressed onto the teacher's multi-step sample from the same noise and caption (knowledge
    distillation, Luhman & Luhman 2021). Every sample trains the t = 1 output the generator
    serves, where consistency distillation reaches it only through 1 of its N intervals."""

    def __call__(self, student: nn.Module, noise: torch.Tensor, text: TextBatch,
                 sample: torch.Tensor) -> dict[str, torch.Tensor]:
        t = torch.ones(noise.shape[0], device=noise.device)
        prediction = consistency_output(student, noise, t, text)
        return {"loss": F.mse_loss(prediction.float(), sample.float()), "t_mean": t.mean()}

