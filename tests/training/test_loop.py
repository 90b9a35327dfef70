"""The one training loop in a local process (no Ray): exact resume, the non-finite guard."""

import pytest
import torch
from safetensors.torch import load_file

from seaweed_apt.config.loading import load_config
from seaweed_apt.config.pretrain import PretrainConfig
from seaweed_apt.pretrain.pretrain_phase import build_pretrain_phase
from seaweed_apt.training.ema import EMA
from seaweed_apt.training.loop import (
    LoopConfig,
    LoopSchedule,
    StepResult,
    TrainingPhase,
    training_loop,
)
from seaweed_apt.training.worker import LocalWorker
from tests.conftest import PROJECT_ROOT
from tests.helpers import curated_clips


def _loop_config(root, **overrides) -> LoopConfig[PretrainConfig]:
    config = load_config(PretrainConfig, PROJECT_ROOT / "conf", "test",
                         "parameters_pretrain.yml", "pretrain", lr_schedule="constant",
                         **overrides)
    return LoopConfig(config, curated_clips(root))


def test_a_run_resumed_from_its_checkpoint_ends_where_the_uninterrupted_run_ends(curated_root,
                                                                                tmp_path):
    whole = training_loop(build_pretrain_phase, _loop_config(curated_root, steps=4),
                          LocalWorker.start(tmp_path / "whole", 1))
    training_loop(build_pretrain_phase, _loop_config(curated_root, steps=2),
                  LocalWorker.start(tmp_path / "split", 1))
    resumed = training_loop(build_pretrain_phase, _loop_config(curated_root, steps=4),
                            LocalWorker.start(tmp_path / "split", 1))
    assert whole == {"steps": 4, "resumed_from": []}
    assert resumed == {"steps": 4, "resumed_from": [2]}
    for name in ("model", "ema"):  # weights, the EMA, and (through them) the optimiser state
        expected = load_file(str(tmp_path / "whole" / "step-00004" / f"{name}.safetensors"))
        got = load_file(str(tmp_path / "split" / "step-00004" / f"{name}.safetensors"))
        assert expected.keys() == got.keys()
        for key, tensor in expected.items():
            assert torch.equal(got[key], tensor), f"{name}/{key}"


def test_a_non_finite_loss_stops_training_and_names_the_phase_and_the_term(curated_root,
                                                                          tmp_path):
    def build(loop_config, worker):
        network = torch.nn.Linear(2, 2)

        def train_step(networks, clips, rng, step):
            return StepResult({"loss": 1.0 if step < 2 else float("nan")}, 1)

        return TrainingPhase(name="toy", schedule=LoopSchedule(6, 0, 2, 6),
                             networks={"model": network},
                             optimizers={"optimizer": torch.optim.SGD(network.parameters(), 0.1)},
                             ema=EMA(network, 0.9, warmup=False), train_step=train_step,
                             saved_config={})

    with pytest.raises(FloatingPointError, match="toy: loss is nan at step 4"):
        training_loop(build, _loop_config(curated_root), LocalWorker.start(tmp_path, 1))


def test_bf16_on_the_cpu_is_a_switch_and_off_by_default(tmp_path):
    """`ray.cpu_bf16_autocast`: the phases' autocast regions run bf16 products on the CPU only
    when it is on; conf/base leaves it off (slower at the default's width)."""
    import torch

    from seaweed_apt.config.ray import RayConfig
    from tests.helpers import base_config

    assert base_config(RayConfig, "ray").cpu_bf16_autocast is False
    a = torch.randn(4, 8)
    with LocalWorker.start(tmp_path, 1).autocast:
        assert (a @ a.T).dtype == torch.float32
    with LocalWorker.start(tmp_path, 1, cpu_bf16_autocast=True).autocast:
        assert (a @ a.T).dtype == torch.bfloat16
