import pytest

from seaweed_apt.training.schedule import learning_rate


def test_cosine_schedule_warms_up_then_decays_to_its_floor():
    rates = [learning_rate(step, 1e-3, 100, 1000, "cosine", 0.1) for step in range(1000)]
    assert rates[0] == pytest.approx(1e-5) and rates[99] == pytest.approx(1e-3)
    assert rates[100] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(rates[100:-1], rates[101:], strict=True))  # no rise
    assert rates[-1] == pytest.approx(1e-4)


def test_constant_schedule_holds_the_lr_after_warm_up():
    assert {learning_rate(step, 2e-4, 10, 500) for step in range(10, 500)} == {2e-4}
    assert learning_rate(0, 2e-4, 0, 500) == 2e-4  # no warm-up: the full rate from step 0


def test_an_unknown_schedule_is_refused_by_name():
    with pytest.raises(ValueError, match="'linear'"):
        learning_rate(0, 1e-3, 0, 10, "linear")
