"""Pretraining on Ray Train with 2 workers: a run, a resume, a worker fault, the pipeline."""

import json

import pandas as pd
import pytest

from seaweed_apt.config import PretrainConfig, RayConfig
from seaweed_apt.training.checkpoint import load_model_from_files
from seaweed_apt.training.pretrain import pretrain_teacher

pytestmark = pytest.mark.timeout(300)

TINY = dict(model={"preset": "tiny"}, batch_size=2, warmup_steps=1, log_every=1)


def _train(root, storage, **overrides):
    manifest = pd.read_parquet(root / "03_primary" / "clip_manifest.parquet")
    config = PretrainConfig.model_validate({**TINY, **overrides})
    outcome, metrics = pretrain_teacher(
        manifest, str(root / "03_primary" / "clip_shards"),
        str(root / "04_feature" / "caption_embeddings.safetensors"), config,
        RayConfig(num_workers=2), str(storage))
    return outcome, metrics


def test_two_workers_train_then_a_longer_run_resumes_at_the_last_step(ray_local, curated_root,
                                                                     tmp_path):
    first, first_metrics = _train(curated_root, tmp_path, steps=3, checkpoint_every=3)
    assert first_metrics["steps"] == 3 and first_metrics["resumed_from_steps"] == []
    assert {h["step"] for h in first.history} == {1, 2, 3}
    second, metrics = _train(curated_root, tmp_path, steps=6, checkpoint_every=3)
    assert metrics["run_name"] == first_metrics["run_name"]
    assert metrics["resumed_from_steps"] == [3]  # continued, not restarted from 0
    assert metrics["steps"] == 6
    assert [h["step"] for h in second.history] == [1, 2, 3, 4, 5, 6]
    assert [step for step, _ in second.checkpoints] == [3, 6]  # kept ones, oldest first
    assert metrics["checkpoint"] == second.checkpoint_paths[-1]
    model = load_model_from_files(second.model_files)
    assert json.loads(second.model_files["config.json"])["weights_are_ema"]
    assert model.config.hidden == 48


def test_a_worker_that_fails_once_is_restarted_from_the_last_checkpoint(ray_local, curated_root,
                                                                      tmp_path):
    _, metrics = _train(curated_root, tmp_path, steps=6, checkpoint_every=2, fail_once_at_step=5)
    assert (tmp_path / metrics["run_name"] / "fault-injected").exists()
    assert metrics["resumed_from_steps"] == [4]
    assert metrics["steps"] == 6


def test_pretrain_pipeline_writes_teacher_metrics_and_sample_grid(pretrained_root):
    curated_root = pretrained_root
    teacher = curated_root / "06_models" / "teacher"
    assert {p.name for p in teacher.iterdir()} == {"model.safetensors", "config.json"}
    metrics = json.loads((curated_root / "08_reporting" / "pretrain" / "metrics.json").read_text())
    assert metrics["steps"] == 6 and metrics["workers"] == 2
    samples = {p.name for p in (curated_root / "08_reporting" / "pretrain" / "samples").iterdir()}
    assert samples == {"teacher_2steps.mp4", "teacher_2steps.gif", "teacher_2steps.png"}
    assert (curated_root / "08_reporting" / "pretrain" / "loss_curve.png").stat().st_size > 1000
