"""Learning-rate schedules shared by every training phase."""

from __future__ import annotations

import math
from typing import Literal


def learning_rate(step: int, lr: float, warmup_steps: int, total_steps: int,
                  schedule: Literal["constant", "cosine"] = "constant",
                  min_lr_fraction: float = 0.0) -> float:
    """The learning rate of 0-based `step`: linear warm-up over `warmup_steps`, then constant, or
    a cosine down to lr x min_lr_fraction at the last step (`total_steps` - 1).

    Raises:
        ValueError: an unknown `schedule`.
    """
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"lr schedule {schedule!r}: use constant or cosine")
    if warmup_steps and step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if schedule == "constant":
        return lr
    progress = (step - warmup_steps) / max(total_steps - 1 - warmup_steps, 1)
    floor = lr * min_lr_fraction
    return floor + (lr - floor) * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
