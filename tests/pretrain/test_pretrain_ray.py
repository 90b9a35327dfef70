"""Pretraining on Ray Train with 2 workers: a run, a resume, a killed worker, the pipeline."""

import json
import logging

import pandas as pd
import pytest

from seaweed_apt.config.loading import load_config
from seaweed_apt.config.pretrain import PretrainConfig
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.pretrain.pretrain import run_pretraining
from seaweed_apt.training.checkpoint import load_model_from_files
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.timeout(300)

# conf/test's tiny teacher; a constant lr, so that a longer run continues the same run.
TINY = dict(lr_schedule="constant", image_fraction=0.0, warmup_steps=1, log_every=1)


def _train(root, storage, **overrides):
    manifest = pd.read_parquet(root / "03_primary" / "clip_manifest.parquet")
    config = load_config(PretrainConfig, PROJECT_ROOT / "conf", "test",
                         "parameters_pretrain.yml", "pretrain", **{**TINY, **overrides})
    outcome, metrics = run_pretraining(
        manifest, str(root / "03_primary" / "clip_shards"),
        str(root / "04_feature" / "caption_embeddings.safetensors"), config,
        load_config(RayConfig, PROJECT_ROOT / "conf", "test", "parameters.yml", "ray",
                    num_workers=2), str(storage))
    return outcome, metrics


def test_two_workers_train_then_a_longer_run_resumes_at_the_last_step(ray_local, curated_root,
                                                                     tmp_path, capfd, caplog):
    first, first_metrics = _train(curated_root, tmp_path, steps=3, checkpoint_every=3)
    assert first_metrics["steps"] == 3 and first_metrics["resumed_from_steps"] == []
    assert {h["step"] for h in first.history} == {1, 2, 3}
    # What a crash while Ray copied a checkpoint into storage leaves: a newer, half folder. Ray
    # resumes from the checkpoints it recorded as complete, never from a folder it finds.
    half = tmp_path / first_metrics["run_name"] / "checkpoint_2099-01-01_00-00-00.000000"
    half.mkdir()
    (half / "model.safetensors").write_bytes(b"\0" * 100)
    second, metrics = _train(curated_root, tmp_path, steps=6, checkpoint_every=3)
    assert metrics["run_name"] == first_metrics["run_name"]
    assert metrics["resumed_from_steps"] == [3]  # continued, not restarted from 0
    assert metrics["steps"] == 6
    assert [h["step"] for h in second.history] == [1, 2, 3, 4, 5, 6]
    assert [step for step, _ in second.checkpoints] == [3, 6]  # kept ones, oldest first
    assert metrics["checkpoint"] == second.checkpoint_paths[-1]
    assert metrics["train_seconds"] > first_metrics["train_seconds"] > 0
    # The same run again: it resumes at its last step, trains nothing and says so, read back
    # from Ray Train's record without starting a worker.
    caplog.clear()
    caplog.set_level(logging.INFO, logger="seaweed_apt")
    again_outcome, again = _train(curated_root, tmp_path, steps=6, checkpoint_every=3)
    assert again["resumed_from_steps"] == [3, 6]
    assert again["train_seconds"] == metrics["train_seconds"]
    assert again_outcome.model_files == second.model_files
    assert [step for step, _ in again_outcome.checkpoints] == [3, 6]
    assert "read back, no workers started" in caplog.text
    assert "training pretrain-" not in caplog.text  # no Ray Train launch
    model = load_model_from_files(second.model_files)
    assert json.loads(second.model_files["config.json"])["weights_are_ema"]
    assert model.config.hidden == 48
    # The workers' logs reach the driver, without an echo of every ray.train.report (issue 22:
    # Ray names that logger by its file, so quieting it by module name had missed it).
    logs = "".join(capfd.readouterr())
    assert "Wrapping provided model in DistributedDataParallel" in logs
    assert "TrainingReport(" not in logs


def _recorded_steps(storage) -> list[int]:
    steps = []
    for snapshot in storage.glob("pretrain-*/checkpoint_manager_snapshot.json"):
        try:
            steps += [r["metrics"]["step"] for r in json.loads(snapshot.read_text())
                      ["checkpoint_results"]]
        except (ValueError, KeyError):  # caught mid-write
            pass
    return steps


def _ray_train_workers() -> list:
    """This session's Ray Train workers: descendants of this process, so that another Ray job on
    the machine (a trial run next to the tests) keeps its workers."""
    import psutil

    workers = []
    for process in psutil.Process().children(recursive=True):
        try:
            if "RayTrainWorker" in " ".join(process.cmdline()):
                workers.append(process)
        except psutil.Error:  # exited (a zombie not yet reaped, or gone) since it was listed
            pass
    return workers


def test_a_worker_killed_with_sigkill_mid_run_resumes_and_ends_at_the_configured_step(
        ray_local, curated_root, tmp_path):
    import signal
    import threading
    import time

    outcome = {}
    run = threading.Thread(target=lambda: outcome.update(result=_train(
        curated_root, tmp_path, steps=60, checkpoint_every=10, log_every=10)))
    run.start()
    deadline = time.monotonic() + 240
    # Kill once Ray has recorded a checkpoint (its controller records one when it polls the
    # workers; a worker killed before that restarts from the checkpoint before, here from 0).
    while not _recorded_steps(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    victims = _ray_train_workers()
    assert victims, "no Ray Train worker process found"
    victims[0].send_signal(signal.SIGKILL)  # a real kill, not an exception
    run.join(timeout=280)
    assert not run.is_alive() and "result" in outcome
    trained, metrics = outcome["result"]
    assert metrics["steps"] == 60
    assert len(metrics["resumed_from_steps"]) == 1
    assert metrics["resumed_from_steps"][0] in set(range(10, 60, 10))
    assert [h["step"] for h in trained.history] == list(range(10, 61, 10))
    assert victims[0].pid not in {process.pid for process in _ray_train_workers()}


def test_pretrain_pipeline_writes_teacher_metrics_and_sample_grid(pretrained_root):
    curated_root = pretrained_root
    teacher = curated_root / "06_models" / "teacher"
    assert {p.name for p in teacher.iterdir()} == {"model.safetensors", "config.json"}
    metrics = json.loads((curated_root / "08_reporting" / "pretrain" / "metrics.json").read_text())
    assert metrics["steps"] == 6 and metrics["workers"] == 2
    samples = {p.name for p in (curated_root / "08_reporting" / "pretrain" / "samples").iterdir()}
    assert samples == {"teacher_2steps.mp4", "teacher_2steps.gif", "teacher_2steps.png"}
    assert (curated_root / "08_reporting" / "pretrain" / "loss_curve.png").stat().st_size > 1000
    # DVCLive wrote each logged step while training: rows in step order, timestamps rising.
    table = curated_root / "08_reporting" / "pretrain" / "dvclive" / "plots" / "metrics"
    rows = [line.split("\t") for line in (table / "loss.tsv").read_text().splitlines()[1:]]
    assert [int(row[1]) for row in rows] == list(range(1, 7))
    assert [int(row[0]) for row in rows] == sorted(int(row[0]) for row in rows)
    assert {"loss", "grad_norm", "lr", "samples_per_s"} <= {p.stem for p in table.iterdir()}
