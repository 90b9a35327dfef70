import pytest

from seaweed_apt.config import PretrainConfig
from seaweed_apt.training.pretrain_loop import learning_rate


def test_cosine_schedule_warms_up_then_decays_to_its_floor():
    config = PretrainConfig(steps=1000, lr=1e-3, warmup_steps=100, lr_schedule="cosine",
                            min_lr_fraction=0.1)
    rates = [learning_rate(config, step) for step in range(config.steps)]
    assert rates[0] == pytest.approx(1e-5) and rates[99] == pytest.approx(1e-3)
    assert rates[100] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(rates[100:-1], rates[101:], strict=True))  # no rise
    assert rates[-1] == pytest.approx(1e-4)


def test_constant_schedule_holds_the_lr_after_warm_up():
    config = PretrainConfig(steps=500, lr=2e-4, warmup_steps=10)
    assert {learning_rate(config, step) for step in range(10, 500)} == {2e-4}
