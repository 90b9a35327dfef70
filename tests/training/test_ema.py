"""The EMA's weight on its start: decay^n without the warm-up, the warm-up's product with it."""

import math

import pytest
import torch

from seaweed_apt.training.ema import EMA, warmup_decay


def _weight_on_start(decay: float, warmup: bool, updates: int) -> float:
    """Start at 0, train at 1: the average is 1 - (the weight left on the start)."""
    start = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(start.weight)
    ema = EMA(start, decay, warmup)
    trained = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.ones_(trained.weight)
    for step in range(updates):
        ema.update(trained, step)
    return 1.0 - ema.model.weight.item()


@pytest.mark.parametrize("updates", [1, 100, 300])
def test_without_warmup_the_start_keeps_decay_to_the_n(updates):
    assert _weight_on_start(0.995, False, updates) == pytest.approx(0.995**updates, rel=1e-4)


def test_with_warmup_the_start_is_forgotten_as_the_warmup_says():
    expected = math.prod(warmup_decay(0.995, n) for n in range(300))
    assert _weight_on_start(0.995, True, 300) == pytest.approx(expected, rel=1e-3, abs=1e-7)
    assert expected < 1e-6 < 0.995**300  # the warm-up forgets a trained start almost at once
    assert warmup_decay(0.995, 300) == pytest.approx(301 / 310)  # ~34 updates' window at 300


def test_a_decay_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="decay"):
        EMA(torch.nn.Linear(1, 1), 1.0, warmup=False)
