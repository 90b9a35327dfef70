import json

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


def test_a_watch_told_to_stop_ends_the_loop_after_its_window_with_a_checkpoint(pretrained_root,
                                                                              tmp_path):
    """APT with any D loss counted as collapse and a patience of 2 windows stops after its
    second update of 6, writing a checkpoint there (one process; the slow
    test_a_collapse_watch_told_to_stop_ends_every_rank_cleanly runs it on 2 Ray workers)."""
    from seaweed_apt.apt.apt_phase import build_apt_phase
    from seaweed_apt.training.loop import training_loop
    from seaweed_apt.training.worker import LocalWorker
    from tests.apt.test_image_phase import _apt
    from tests.helpers import apt_loop_config

    apt = _apt(generator_updates=6, checkpoint_every=6, log_every=1, regression_weight=0.0,
               collapse_watch={"d_loss_floor": 1e9, "patience": 2, "stop": True})
    done = training_loop(build_apt_phase, apt_loop_config(pretrained_root, apt),
                         LocalWorker.start(tmp_path, 1))
    assert done["steps"] == 2
    assert sorted(p.name for p in tmp_path.glob("step-*")) == ["step-00002"]
    state = json.loads((tmp_path / "step-00002" / "trainer_state.json").read_text())
    assert [h["collapse_flag"] for h in state["history"]] == [0.0, 1.0]
