"""The collapse watch: D's loss near zero for several logged windows means D has won and G
is about to emit 'flat coloured plates' (docs/method.md §3); low diversity across seeds means mode
collapse."""

from __future__ import annotations

import logging

import torch

from seaweed_apt.config.posttrain import CollapseWatchConfig

logger = logging.getLogger(__name__)


def batch_diversity(fake: torch.Tensor, real: torch.Tensor) -> float:
    """Mean pairwise distance between generated samples over that between real samples
    (about 1 for a healthy generator, near 0 when every seed gives the same video)."""

    def spread(x: torch.Tensor) -> float:
        flat = x.detach().float().flatten(1)
        if flat.shape[0] < 2:
            return float("nan")
        distances = torch.cdist(flat, flat)
        count = flat.shape[0]
        return float(distances.sum() / (count * (count - 1)))

    return spread(fake) / max(spread(real), 1e-8)


class CollapseWatch:
    def __init__(self, config: CollapseWatchConfig) -> None:
        self.config = config
        self.low_windows = 0
        self.fired = False

    def update(self, d_adversarial_loss: float, step: int) -> bool:
        """Feed one logged window's mean adversarial D loss; True while collapse is flagged."""
        if d_adversarial_loss < self.config.d_loss_floor:
            self.low_windows += 1
        else:
            self.low_windows = 0
        if self.low_windows < self.config.patience:
            return False
        if not self.fired:
            logger.warning("collapse watch at step %d: D's adversarial loss has stayed below %s "
                           "for %d logged windows (D wins; raise r1_weight or lower d_lr)%s",
                           step, self.config.d_loss_floor, self.low_windows,
                           "; stopping" if self.config.stop else "")
        self.fired = True
        return True
