"""APT's lr schedule (posttrain.apt.lr_schedule): constant is the paper's; cosine lowers G's and
D's video lrs to lr x min_lr_fraction at the last update, the caption projection's W keeps its
own, and the image phase keeps its constant lrs."""

import pytest
import torch

from tests.apt.test_image_phase import _apt


def _lrs_per_update(pretrained_root, tmp_path, **overrides) -> list[dict[str, list[float]]]:
    """Run APT for `generator_updates` with a checkpoint per update; the lrs each update used,
    read from its checkpoint's optimiser states, per optimiser."""
    from seaweed_apt.apt.apt_phase import build_apt_phase
    from seaweed_apt.training.loop import training_loop
    from seaweed_apt.training.worker import LocalWorker
    from tests.helpers import apt_loop_config

    apt = _apt(checkpoint_every=1, log_every=1, regression_weight=0.0, g_lr=1e-6, d_lr=4e-6,
               caption_projection=True, caption_projection_lr=1e-3, **overrides)
    training_loop(build_apt_phase, apt_loop_config(pretrained_root, apt),
                  LocalWorker.start(tmp_path, 1))
    return [{name: [group["lr"] for group in
                    torch.load(tmp_path / f"step-{update:05d}" / f"{name}.pt",
                               weights_only=True)["param_groups"]]
             for name in ("optimizer", "discriminator_optimizer")}
            for update in range(1, apt.generator_updates + 1)]


def test_constant_keeps_every_lr(pretrained_root, tmp_path):
    lrs = _lrs_per_update(pretrained_root, tmp_path, generator_updates=3, keep_checkpoints=3,
                          lr_schedule="constant")
    for update in lrs:
        assert update["optimizer"] == [1e-6]
        assert sorted(update["discriminator_optimizer"]) == [4e-6, 1e-3]


def test_cosine_falls_to_the_floor_over_the_video_updates(pretrained_root, tmp_path):
    """Two image updates at their own lrs, then three video updates on the cosine: full lr,
    halfway between lr and the floor, the floor."""
    lrs = _lrs_per_update(pretrained_root, tmp_path, generator_updates=5, keep_checkpoints=5,
                          lr_schedule="cosine", min_lr_fraction=0.25,
                          image_phase={"updates": 2, "g_lr": 5e-6, "d_lr": 5e-6,
                                       "r1_sigma": 0.01, "timestep_shift": 1.0})
    factors = [1.0, 1.0, 1.0, 0.625, 0.25]
    for update, (used, factor) in enumerate(zip(lrs, factors, strict=True)):
        g_lr, d_lr = (5e-6, 5e-6) if update < 2 else (1e-6 * factor, 4e-6 * factor)
        assert used["optimizer"] == [pytest.approx(g_lr)]
        assert sorted(used["discriminator_optimizer"]) == [pytest.approx(d_lr), 1e-3]
