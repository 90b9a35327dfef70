"""The paper's image-then-video schedule (posttrain.apt.image_phase; APT §3)."""

import pytest
import torch


def _apt(**overrides):
    from seaweed_apt.config.loading import load_config
    from seaweed_apt.config.posttrain import APTConfig
    from tests.conftest import PROJECT_ROOT

    return load_config(APTConfig, PROJECT_ROOT / "conf", "test", "parameters_posttrain.yml",
                       "posttrain.apt", **overrides)


def test_the_video_phase_restarts_g_from_the_image_ema_and_d_from_its_start(pretrained_root,
                                                                            tmp_path):
    """One image update at a large lr, then one video update at a negligible one: after the
    switch G is the image updates' EMA and D its initial weights, though both had moved."""
    from safetensors.torch import load_file

    from seaweed_apt.apt.apt_phase import build_apt_phase, build_players
    from seaweed_apt.training.loop import training_loop
    from seaweed_apt.training.worker import LocalWorker
    from tests.helpers import apt_loop_config

    teacher = str(pretrained_root / "06_models" / "teacher")
    apt = _apt(generator_updates=2, checkpoint_every=1, keep_checkpoints=2, log_every=1,
               regression_weight=0.0, use_ema=True, ema_decay=0.9, ema_warmup=False,
               g_lr=1e-12, d_lr=1e-12,
               image_phase={"updates": 1, "g_lr": 1e-3, "d_lr": 1e-3, "r1_sigma": 0.01,
                            "timestep_shift": 1.0})
    training_loop(build_apt_phase, apt_loop_config(pretrained_root, apt),
                  LocalWorker.start(tmp_path, 1))
    torch.manual_seed(apt.seed)  # as build_apt_phase: D's heads are drawn after this
    start = build_players(apt, teacher, teacher)[1].state_dict()
    image, video = (tmp_path / "step-00001", tmp_path / "step-00002")
    g1, ema1, d1 = (load_file(image / f"{name}.safetensors")
                    for name in ("model", "ema", "discriminator"))
    g2, d2 = (load_file(video / f"{name}.safetensors") for name in ("model", "discriminator"))

    def distance(a: dict, b: dict) -> float:
        return max((a[k].float() - b[k].float()).abs().max().item() for k in a)

    assert distance(g1, ema1) > 1e-4  # the image update moved G; the average lags
    assert distance(g2, ema1) < 1e-6
    assert distance(d1, start) > 1e-4
    assert distance(d2, start) < 1e-6


@pytest.mark.parametrize("overrides", [{"generator_updates": 4}, {"image_mode": True}],
                         ids=["no-video-updates-left", "with-image-mode"])
def test_an_image_phase_without_video_updates_after_it_is_refused(overrides):
    from pydantic import ValidationError

    phase = {"updates": 4, "g_lr": 5e-6, "d_lr": 5e-6, "r1_sigma": 0.01, "timestep_shift": 1.0}
    with pytest.raises(ValidationError, match="image_phase.updates 4 needs video updates"):
        _apt(image_phase=phase, **{"generator_updates": 8, **overrides})


def test_the_ema_warm_up_starts_again_at_a_restart():
    from seaweed_apt.training.ema import EMA

    model = torch.nn.Linear(1, 1, bias=False)
    ema = EMA(model, 0.995, warmup=True, warmup_restart=5)
    with torch.no_grad():
        model.weight.fill_(1.0)
        ema.model.weight.fill_(0.0)
    ema.update(model, 5)  # decay (1 + 0) / (10 + 0) = 0.1 at the restart, not 6/15
    assert ema.model.weight.item() == pytest.approx(0.9)
