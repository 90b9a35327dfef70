"""The consistency-distillation loss (docs/method.md §2)."""

import torch

from seaweed_apt.apt.consistency import (
    ConsistencyDistillationLoss,
    RegressionDistillationLoss,
    consistency_output,
    teacher_sample_pairs,
)
from tests.helpers import random_text, tiny_model


class _ConstantVelocity(torch.nn.Module):
    """v(x, t) = c for every x and t: its flow is a straight line, on which f(x_t, t) is the same
    clean sample for every t."""

    def __init__(self, velocity: float) -> None:
        super().__init__()
        self.velocity = torch.nn.Parameter(torch.tensor(velocity))
        self.null_text_tokens = torch.nn.Parameter(torch.zeros(1, 24, 384))
        self.null_text_pooled = torch.nn.Parameter(torch.zeros(1, 384))

    def null_text(self, batch):
        return (self.null_text_tokens.expand(batch, -1, -1), torch.ones(batch, 24, dtype=bool),
                self.null_text_pooled.expand(batch, -1))

    def forward(self, x, t, tokens, mask, pooled):
        return self.velocity.expand_as(x)


def test_f_is_the_identity_at_t_zero_and_one_euler_step_at_t():
    model, x = tiny_model(std=0.05), torch.randn(2, 3, 4, 16, 16)
    text = random_text(2)
    assert torch.equal(consistency_output(model, x, torch.zeros(2), text), x)
    t = torch.tensor([0.3, 1.0])
    v = model(x, t, text.tokens, text.mask, text.pooled)
    torch.testing.assert_close(consistency_output(model, x, t, text),
                               x - t.view(-1, 1, 1, 1, 1) * v)


def test_the_loss_is_zero_on_a_straight_flow_and_positive_when_the_student_departs_from_it():
    loss = ConsistencyDistillationLoss(intervals=8, cfg_scale=5.0, timestep_shift=3.0)
    x0, text = torch.rand(4, 3, 4, 16, 16) * 2 - 1, random_text(4)
    teacher = _ConstantVelocity(0.7)
    terms = loss(_ConstantVelocity(0.7), _ConstantVelocity(0.7), teacher, x0, text,
                 torch.Generator().manual_seed(0))
    assert terms["loss"].item() < 1e-10
    departed = loss(_ConstantVelocity(0.2), _ConstantVelocity(0.7), teacher, x0, text,
                    torch.Generator().manual_seed(0))
    assert departed["loss"].item() > 1e-3
    assert 0.0 < departed["t_mean"].item() <= 1.0


def test_gradients_reach_the_student_only():
    loss = ConsistencyDistillationLoss(intervals=4, cfg_scale=2.0)
    student, target, teacher = tiny_model(std=0.05), tiny_model(std=0.05), tiny_model(std=0.05)
    terms = loss(student, target, teacher, torch.rand(2, 3, 4, 16, 16) * 2 - 1, random_text(2),
                 torch.Generator().manual_seed(0))
    terms["loss"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in student.parameters())
    assert all(p.grad is None for p in (*target.parameters(), *teacher.parameters()))


def test_the_same_rng_gives_the_same_loss():
    loss = ConsistencyDistillationLoss(intervals=8, cfg_scale=5.0)
    nets = tiny_model(std=0.05), tiny_model(std=0.05), tiny_model(std=0.05)
    x0, text = torch.rand(2, 3, 4, 16, 16) * 2 - 1, random_text(2)
    first = loss(*nets, x0, text, torch.Generator().manual_seed(5))["loss"]
    assert torch.equal(first, loss(*nets, x0, text, torch.Generator().manual_seed(5))["loss"])


def test_regression_is_zero_when_the_one_step_output_is_the_teachers_sample():
    noise, text = torch.randn(3, 3, 4, 8, 8), random_text(3)
    student = _ConstantVelocity(0.25)
    loss = RegressionDistillationLoss()
    assert loss(student, noise, text, noise - 0.25)["loss"].item() < 1e-12
    departed = loss(student, noise, text, noise)["loss"]
    assert departed.item() > 0.05
    departed.backward()
    assert student.velocity.grad.abs() > 0


def test_teacher_pairs_are_the_teachers_samples_from_seeded_noise():
    teacher, text = _ConstantVelocity(0.5), random_text(4)
    noise, sample = teacher_sample_pairs(teacher, text, [1, 2, 1, 3], (3, 2, 4, 4), steps=4,
                                         cfg_scale=1.0, batch_size=3)
    assert noise.shape == sample.shape == (4, 3, 2, 4, 4)
    assert torch.equal(noise[0], noise[2]) and not torch.equal(noise[0], noise[1])
    # A constant velocity's flow is a straight line: x(0) = z - v, then clamped to [-1, 1].
    assert torch.allclose(sample, (noise - 0.5).clamp(-1, 1), atol=1e-6)


def test_the_distill_phase_trains_by_regression_when_switched(pretrained_root, tmp_path, caplog):
    import pandas as pd

    from seaweed_apt.apt.distill_phase import build_distill_phase
    from seaweed_apt.config.loading import load_config
    from seaweed_apt.config.posttrain import DistillConfig
    from seaweed_apt.training.data import caption_index_by_shard
    from seaweed_apt.training.loop import training_loop
    from seaweed_apt.training.worker import LocalWorker
    from tests.conftest import PROJECT_ROOT

    config = load_config(DistillConfig, PROJECT_ROOT / "conf", "test",
                         "parameters_posttrain.yml", "posttrain.distill", steps=2,
                         objective="regression", regression_pairs=4,
                         regression_teacher_steps=2, log_every=1)
    manifest = pd.read_parquet(pretrained_root / "03_primary" / "clip_manifest.parquet")
    loop_config = {"distill": config.model_dump(),
                   "teacher_dir": str(pretrained_root / "06_models" / "teacher"),
                   "shards_dir": str(pretrained_root / "03_primary" / "clip_shards"),
                   "caption_index_by_shard": caption_index_by_shard(manifest),
                   "captions_path": str(pretrained_root / "04_feature" /
                                        "caption_embeddings.safetensors")}
    with caplog.at_level("INFO", logger="seaweed_apt.apt.consistency"):
        done = training_loop(build_distill_phase, loop_config, LocalWorker.start(tmp_path, 1))
    assert done == {"steps": 2, "resumed_from": []}
    import json

    from seaweed_apt.training.checkpoint import STATE_FILE

    history = json.loads((tmp_path / "step-00002" / STATE_FILE).read_text())["history"]
    assert len(history) == 2 and all(row["loss"] > 0 for row in history)
    assert "4 teacher samples of 2 steps for the regression" in caplog.text


def test_apt_adds_the_regression_term_on_distillations_pairs_when_weighted(
        pretrained_root, tmp_path, caplog):
    import json

    import pandas as pd

    from seaweed_apt.apt.apt_phase import build_apt_phase
    from seaweed_apt.apt.posttrain import teacher_pair_settings
    from seaweed_apt.config.loading import load_config
    from seaweed_apt.config.posttrain import APTConfig, DistillConfig
    from seaweed_apt.training.checkpoint import STATE_FILE
    from seaweed_apt.training.data import caption_index_by_shard
    from seaweed_apt.training.loop import training_loop
    from seaweed_apt.training.worker import LocalWorker
    from tests.conftest import PROJECT_ROOT

    def config(kind, key, **overrides):
        return load_config(kind, PROJECT_ROOT / "conf", "test", "parameters_posttrain.yml",
                           key, **overrides)

    distill = config(DistillConfig, "posttrain.distill", regression_pairs=4,
                     regression_teacher_steps=2)
    manifest = pd.read_parquet(pretrained_root / "03_primary" / "clip_manifest.parquet")
    teacher = str(pretrained_root / "06_models" / "teacher")
    common = {"teacher_dir": teacher, "distilled_dir": teacher,
              "shards_dir": str(pretrained_root / "03_primary" / "clip_shards"),
              "caption_index_by_shard": caption_index_by_shard(manifest),
              "captions_path": str(pretrained_root / "04_feature" /
                                   "caption_embeddings.safetensors"),
              "teacher_pairs": teacher_pair_settings(distill)}
    histories = {}
    for weight in (0.0, 1.0):
        apt = config(APTConfig, "posttrain.apt", generator_updates=2, log_every=1,
                     regression_weight=weight)
        caplog.clear()
        with caplog.at_level("INFO", logger="seaweed_apt.apt.consistency"):
            training_loop(build_apt_phase, {"apt": apt.model_dump(), **common},
                          LocalWorker.start(tmp_path / str(weight), 1))
        state = tmp_path / str(weight) / "step-00002" / STATE_FILE
        histories[weight] = json.loads(state.read_text())["history"]
        drew = "4 teacher samples of 2 steps for the regression" in caplog.text
        assert drew == (weight > 0)
    assert all("g_regression" not in row for row in histories[0.0])
    assert all(row["g_regression"] > 0 for row in histories[1.0])
