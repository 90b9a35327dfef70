"""The consistency-distillation loss (docs/method.md §2)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from seaweed_apt.apt.consistency import (
    ConsistencyDistillationLoss,
    RegressionDistillationLoss,
    consistency_output,
    teacher_sample_pairs,
)
from seaweed_apt.diffusion.sampling import euler_sample
from seaweed_apt.text.batch import TextBatch
from tests.helpers import apt_loop_config, curated_clips, random_text, tiny_model


class _ConstantVelocity(torch.nn.Module):
    """v(x, t) = c for every x and t: its flow is a straight line, on which f(x_t, t) is the same
    clean sample for every t."""

    def __init__(self, velocity: float) -> None:
        super().__init__()
        self.velocity = torch.nn.Parameter(torch.tensor(velocity))
        self.null_text_tokens = torch.nn.Parameter(torch.zeros(1, 24, 384))
        self.null_text_pooled = torch.nn.Parameter(torch.zeros(1, 384))

    def null_text(self, batch):
        return TextBatch(self.null_text_tokens.expand(batch, -1, -1),
                         torch.ones(batch, 24, dtype=bool), self.null_text_pooled.expand(batch, -1))

    def forward(self, x, t, text):
        return self.velocity.expand_as(x)


def test_f_is_the_identity_at_t_zero_and_one_euler_step_at_t():
    model, x = tiny_model(std=0.05), torch.randn(2, 3, 4, 16, 16)
    text = random_text(2)
    assert torch.equal(consistency_output(model, x, torch.zeros(2), text), x)
    t = torch.tensor([0.3, 1.0])
    v = model(x, t, text)
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


def _distill_config():
    """conf/test's distillation settings: the teacher pairs' guidance and time-grid shift."""
    from seaweed_apt.config.loading import load_config
    from seaweed_apt.config.posttrain import DistillConfig
    from tests.conftest import PROJECT_ROOT

    return load_config(DistillConfig, PROJECT_ROOT / "conf", "test", "parameters_posttrain.yml",
                       "posttrain.distill")


def _pairs_file(pretrained_root, tmp_path, count: int) -> str:
    """A pairs file of the pretrained test teacher, drawn as the posttrain node draws it."""
    from safetensors.numpy import save_file

    from seaweed_apt.apt.posttrain import make_teacher_pairs
    from seaweed_apt.config.loading import load_config
    from seaweed_apt.config.posttrain import DistillConfig
    from seaweed_apt.config.ray import RayConfig
    from tests.conftest import PROJECT_ROOT
    from tests.helpers import base_config

    distill = load_config(DistillConfig, PROJECT_ROOT / "conf", "test",
                          "parameters_posttrain.yml", "posttrain.distill",
                          regression_pairs=count, regression_teacher_steps=2)
    arrays, record = make_teacher_pairs(
        curated_clips(pretrained_root), str(pretrained_root / "06_models" / "teacher"), distill,
        base_config(RayConfig, "ray", num_workers=2))
    assert record["pairs"] == count and record["teacher_steps"] == 2
    path = tmp_path / "teacher_pairs.safetensors"
    save_file(arrays, str(path))
    return str(path)


TEACHER = Path("06_models") / "teacher"
CAPTION_TABLE = Path("04_feature") / "caption_embeddings.safetensors"


def test_a_pairs_file_gives_each_worker_its_share_of_the_teachers_samples(pretrained_root,
                                                                           tmp_path):
    from safetensors.numpy import load_file

    from seaweed_apt.apt.teacher_pairs import TeacherPairs
    from seaweed_apt.diffusion.sampling import seeded_noise
    from seaweed_apt.text.caption_table import load_caption_table
    from seaweed_apt.training.checkpoint import load_model

    path = _pairs_file(pretrained_root, tmp_path, 5)
    arrays = load_file(path)
    assert arrays["sample"].dtype == np.uint8 and arrays["sample"].shape[0] == 5
    shares = [TeacherPairs.load(path, pretrained_root / CAPTION_TABLE, rank, 2) for rank in (0, 1)]
    assert [len(share) for share in shares] == [3, 2]
    noise, text, sample = shares[1].batch(torch.tensor([0, 1]))
    # Rank 1 holds pairs 1 and 3: its noise is theirs, its captions their rows'.
    assert torch.equal(noise, seeded_noise(arrays["noise_seed"][[1, 3]].tolist(),
                                           tuple(noise.shape[1:]), "cpu"))
    table = load_caption_table(pretrained_root / CAPTION_TABLE)
    assert torch.equal(text.pooled, table.pooled[arrays["caption_row"][[1, 3]]].float())
    # The stored sample is the teacher's 2-step guided sample from that noise (the configured
    # guidance and time grid), to 1/255.
    teacher = load_model(pretrained_root / TEACHER)
    distill = _distill_config()
    expected = euler_sample(teacher, noise, text, 2, distill.cfg_scale,
                            distill.timestep_shift).clamp(-1, 1)
    assert (sample - expected).abs().max() <= 1.0 / 127.5 + 1e-4
    with pytest.raises(ValueError, match="5 teacher pairs for 8 workers"):
        TeacherPairs.load(path, pretrained_root / CAPTION_TABLE, 5, 8)


def test_pairs_drawn_in_two_ray_tasks_are_the_pairs_drawn_in_one_process(pretrained_root,
                                                                         tmp_path):
    """40 pairs: two tasks (32 + 8) against `draw_teacher_pairs` in this process."""
    from safetensors.numpy import load_file

    from seaweed_apt.apt.teacher_pairs import draw_teacher_pairs
    from seaweed_apt.text.caption_table import load_caption_table
    from seaweed_apt.training.checkpoint import load_model
    arrays = load_file(_pairs_file(pretrained_root, tmp_path, 40))
    clips = curated_clips(pretrained_root)
    train_rows = clips.manifest.loc[clips.manifest["split"] == "train", "caption_row"]
    here = draw_teacher_pairs(load_model(pretrained_root / TEACHER),
                              load_caption_table(clips.caption_table_uri),
                              train_rows.to_numpy(np.int64), clips.clip_shape, 40, 2,
                              _distill_config().cfg_scale, seed=0,
                              shift=_distill_config().timestep_shift)
    assert np.array_equal(arrays["noise_seed"], here["noise_seed"])
    assert np.array_equal(arrays["caption_row"], here["caption_row"])
    # One thread per task against this process's threads: the same to one uint8 level.
    difference = np.abs(arrays["sample"].astype(int) - here["sample"].astype(int))
    assert arrays["sample"].shape == here["sample"].shape and difference.max() <= 1


def test_the_distill_phase_trains_by_regression_when_switched(pretrained_root,
                                                               four_teacher_pairs, tmp_path):
    from seaweed_apt.apt.distill_phase import DistillInputs, build_distill_phase
    from seaweed_apt.config.loading import load_config
    from seaweed_apt.config.posttrain import DistillConfig
    from seaweed_apt.training.checkpoint import STATE_FILE
    from seaweed_apt.training.loop import LoopConfig, training_loop
    from seaweed_apt.training.worker import LocalWorker
    from tests.conftest import PROJECT_ROOT

    config = load_config(DistillConfig, PROJECT_ROOT / "conf", "test",
                         "parameters_posttrain.yml", "posttrain.distill", steps=2,
                         objective="regression", log_every=1)
    loop_config = LoopConfig(DistillInputs(config, str(pretrained_root / TEACHER),
                                           teacher_pairs_uri=four_teacher_pairs),
                             curated_clips(pretrained_root))
    done = training_loop(build_distill_phase, loop_config, LocalWorker.start(tmp_path / "run", 1))
    assert done == {"steps": 2, "resumed_from": []}
    history = json.loads((tmp_path / "run" / "step-00002" / STATE_FILE).read_text())["history"]
    assert len(history) == 2 and all(row["loss"] > 0 for row in history)


def test_apt_adds_the_regression_term_on_the_teacher_pairs_when_weighted(pretrained_root,
                                                                         four_teacher_pairs,
                                                                         tmp_path):
    from seaweed_apt.apt.apt_phase import build_apt_phase
    from seaweed_apt.config.loading import load_config
    from seaweed_apt.config.posttrain import APTConfig
    from seaweed_apt.training.checkpoint import STATE_FILE
    from seaweed_apt.training.loop import training_loop
    from seaweed_apt.training.worker import LocalWorker
    from tests.conftest import PROJECT_ROOT

    histories = {}
    for weight in (0.0, 1.0):
        apt = load_config(APTConfig, PROJECT_ROOT / "conf", "test", "parameters_posttrain.yml",
                          "posttrain.apt", generator_updates=2, log_every=1,
                          regression_weight=weight)
        folder = tmp_path / f"run-{weight}"
        training_loop(build_apt_phase, apt_loop_config(pretrained_root, apt, four_teacher_pairs),
                      LocalWorker.start(folder, 1))
        histories[weight] = json.loads((folder / "step-00002" / STATE_FILE).read_text())["history"]
    assert all("g_regression" not in row for row in histories[0.0])
    assert all(row["g_regression"] > 0 for row in histories[1.0])


def test_apt_warms_the_discriminator_up_and_gives_the_caption_projection_its_own_lr(
        pretrained_root, tmp_path):
    from seaweed_apt.apt.apt_phase import build_apt_phase
    from seaweed_apt.config.loading import load_config
    from seaweed_apt.config.posttrain import APTConfig
    from seaweed_apt.training.loop import training_loop
    from seaweed_apt.training.worker import LocalWorker
    from tests.conftest import PROJECT_ROOT

    apt = load_config(APTConfig, PROJECT_ROOT / "conf", "test", "parameters_posttrain.yml",
                      "posttrain.apt", generator_updates=1, log_every=1, regression_weight=0.0,
                      caption_projection=True, caption_projection_lr=7e-4,
                      discriminator_warmup_updates=3)
    training_loop(build_apt_phase, apt_loop_config(pretrained_root, apt),
                  LocalWorker.start(tmp_path / "run", 1))
    saved = tmp_path / "run" / "step-00001"
    d_state = torch.load(saved / "discriminator_optimizer.pt")
    g_state = torch.load(saved / "optimizer.pt")
    assert {group["lr"] for group in d_state["param_groups"]} == {apt.d_lr, 7e-4}
    # Three updates of D alone, then the usual one with G's one.
    assert {float(s["step"]) for s in d_state["state"].values()} == {4.0}
    assert {float(s["step"]) for s in g_state["state"].values()} == {1.0}


def test_teacher_pairs_drawn_once_are_taken_from_the_cache_until_an_input_changes(
        pretrained_root, tmp_path):
    """Keyed by the teacher's weights, the captions and the pairs' settings: the same draw
    again is the cache's (equal arrays, no Ray task); another step count is drawn anew."""

    from seaweed_apt.apt.posttrain import make_teacher_pairs
    from seaweed_apt.config.loading import load_config
    from seaweed_apt.config.posttrain import DistillConfig
    from seaweed_apt.config.ray import RayConfig
    from seaweed_apt.result_cache import ResultCache
    from tests.conftest import PROJECT_ROOT
    from tests.helpers import base_config

    def draw(steps: int, cache: ResultCache):
        distill = load_config(DistillConfig, PROJECT_ROOT / "conf", "test",
                              "parameters_posttrain.yml", "posttrain.distill",
                              regression_pairs=4, regression_teacher_steps=steps)
        return make_teacher_pairs(
            curated_clips(pretrained_root), str(pretrained_root / TEACHER), distill,
            base_config(RayConfig, "ray", num_workers=2), cache=cache)

    first, record = draw(2, ResultCache(tmp_path))
    assert record["cached"] is False
    cache = ResultCache(tmp_path)
    again, record = draw(2, cache)
    assert record["cached"] is True and (cache.hits, cache.misses) == (1, 0)
    for name in first:
        np.testing.assert_array_equal(again[name], first[name])
    other = ResultCache(tmp_path)
    _, record = draw(1, other)
    assert record["cached"] is False and other.misses == 1
