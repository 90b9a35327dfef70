import torch

from seaweed_apt.apt.collapse import CollapseWatch, batch_diversity
from seaweed_apt.config.posttrain import CollapseWatchConfig


def test_watch_fires_on_a_constructed_collapse_and_not_on_a_balanced_game():
    watch = CollapseWatch(CollapseWatchConfig(d_loss_floor=0.05, patience=3, stop=False))
    assert not any(watch.update(loss, step) for step, loss in enumerate([1.3, 1.2, 0.01, 1.1]))
    assert [watch.update(0.001, s) for s in range(3)] == [False, False, True]
    stopping = CollapseWatch(CollapseWatchConfig(d_loss_floor=0.05, patience=2, stop=True))
    assert [stopping.update(0.0, s) for s in (1, 2)] == [False, True]  # the loop then stops


def test_diversity_is_near_zero_for_identical_samples_and_near_one_for_real_like_ones():
    real = torch.randn(8, 3, 4, 8, 8)
    assert batch_diversity(real[:1].expand(8, -1, -1, -1, -1), real) < 1e-6
    assert 0.8 < batch_diversity(torch.randn(8, 3, 4, 8, 8), real) < 1.2
