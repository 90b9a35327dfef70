"""Pretraining on Ray Train with 2 workers: a run, a resume, a killed worker, the pipeline."""

import json
import logging
import shutil

import pytest

from seaweed_apt.config.loading import load_config
from seaweed_apt.config.pretrain import PretrainConfig
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.config.sampling import SamplingConfig
from seaweed_apt.config.text import TextEncoderConfig
from seaweed_apt.pretrain.pretrain import run_pretraining
from seaweed_apt.training.checkpoint import generation_of_files, load_model_from_files
from tests.conftest import PROJECT_ROOT
from tests.helpers import curated_clips

pytestmark = pytest.mark.timeout(300)

# conf/test's tiny teacher; a constant lr, so that a longer run continues the same run.
TINY = dict(lr_schedule="constant", image_fraction=0.0, warmup_steps=1, log_every=1)


def _train(root, storage, live=None, **overrides):
    config = load_config(PretrainConfig, PROJECT_ROOT / "conf", "test",
                         "parameters_pretrain.yml", "pretrain", **{**TINY, **overrides})
    outcome, metrics = run_pretraining(
        curated_clips(root), config,
        load_config(RayConfig, PROJECT_ROOT / "conf", "test", "parameters.yml", "ray",
                    num_workers=2), str(storage),
        load_config(SamplingConfig, PROJECT_ROOT / "conf", "test", "parameters_pretrain.yml",
                    "sampling"),
        load_config(TextEncoderConfig, PROJECT_ROOT / "conf", "test",
                    "parameters_data_curation.yml", "text_encoder"),
        str(live) if live else None)
    return outcome, metrics


def test_two_workers_train_a_longer_run_resumes_and_a_killed_worker_resumes_it_again(
        ray_local, curated_root, tmp_path, capfd, caplog):
    import signal
    import threading
    import time

    live = tmp_path / "dvclive"  # rank 0's live record (DVCLive), continued by each resume
    first, first_metrics = _train(curated_root, tmp_path, live, steps=3, checkpoint_every=3)
    assert first_metrics["steps"] == 3 and first_metrics["resumed_from_steps"] == []
    assert {h["step"] for h in first.history} == {1, 2, 3}
    # What a crash while Ray copied a checkpoint into storage leaves: a newer, half folder. Ray
    # resumes from the checkpoints it recorded as complete, never from a folder it finds.
    half = tmp_path / first_metrics["run_name"] / "checkpoint_2099-01-01_00-00-00.000000"
    half.mkdir()
    (half / "model.safetensors").write_bytes(b"\0" * 100)
    # A longer run of the same run continues from step 3; one of its workers is killed with
    # SIGKILL (a real kill, not an exception) once Ray has recorded a newer checkpoint, and the
    # workers restart from it and end at the configured step. (One run for both paths: each
    # run costs a Ray Train launch.)
    outcome = {}
    run = threading.Thread(target=lambda: outcome.update(result=_train(
        curated_root, tmp_path, live, steps=30, checkpoint_every=3)))
    run.start()
    deadline = time.monotonic() + 240
    while max(_recorded_steps(tmp_path), default=0) <= 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    victims = _ray_train_workers()
    assert victims, "no Ray Train worker process found"
    victims[0].send_signal(signal.SIGKILL)
    run.join(timeout=280)
    assert not run.is_alive() and "result" in outcome
    second, metrics = outcome["result"]
    assert metrics["run_name"] == first_metrics["run_name"]
    assert metrics["steps"] == 30
    resumed = metrics["resumed_from_steps"]
    assert resumed[0] == 3 and len(resumed) == 2  # continued, not restarted from 0
    assert resumed[1] in set(range(6, 30, 3))  # after the kill, from Ray's newest checkpoint
    assert [h["step"] for h in second.history] == list(range(1, 31))
    assert [step for step, _ in second.checkpoints] == [21, 24, 27, 30]  # kept, oldest first
    assert metrics["checkpoint"] == second.checkpoint_paths[-1]
    assert metrics["train_seconds"] > first_metrics["train_seconds"] > 0
    assert victims[0].pid not in {process.pid for process in _ray_train_workers()}
    # One row per step in the live record, through the resume and the restart after the kill.
    rows = (live / "plots" / "metrics" / "loss.tsv").read_text().splitlines()[1:]
    assert [int(row.split("\t")[1]) for row in rows] == list(range(1, 31))
    # The same run again: it resumes at its last step, trains nothing and says so, read back
    # from Ray Train's record without starting a worker.
    # DVC deletes a stage's outputs (the live record among them) before it reruns the stage.
    caplog.clear()
    caplog.set_level(logging.INFO, logger="seaweed_apt")
    shutil.rmtree(live)
    again_outcome, again = _train(curated_root, tmp_path, live, steps=30, checkpoint_every=3)
    assert again["resumed_from_steps"] == [*resumed, 30]
    assert again["train_seconds"] == metrics["train_seconds"]
    assert again_outcome.model_files == second.model_files
    # Read back without training, the teacher's files still say how to generate.
    generation = generation_of_files(again_outcome.model_files)
    assert generation.clip_shape == curated_clips(curated_root).clip_shape
    assert generation.num_inference_steps > 1 and generation.guidance_scale > 1
    assert [step for step, _ in again_outcome.checkpoints] == [21, 24, 27, 30]
    assert "read back, no workers started" in caplog.text
    assert "training pretrain-" not in caplog.text  # no Ray Train launch
    assert json.loads((live / "metrics.json").read_text())["step"] == 30  # rebuilt
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
