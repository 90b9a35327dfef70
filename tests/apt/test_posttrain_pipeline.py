"""posttrain under conf/test: distillation and APT on Ray Train (2 workers), grids, resume."""

import json
import shutil

import pytest

from tests.conftest import run_kedro

pytestmark = pytest.mark.timeout(600)


def test_posttrain_trains_and_writes_checkpoints_grids_and_live_records(pretrained_root):
    run_kedro(pretrained_root, ["posttrain"])
    report = pretrained_root / "08_reporting" / "posttrain"
    distill = json.loads((report / "distill_metrics.json").read_text())
    apt = json.loads((report / "apt_metrics.json").read_text())
    assert distill["steps"] == 4 and apt["generator_updates"] == 4
    kept = sorted(p.name for p in (pretrained_root / "06_models" / "apt").iterdir())
    assert kept == ["step-00002", "step-00004"]
    for folder in kept:
        files = {p.name for p in (pretrained_root / "06_models" / "apt" / folder).iterdir()}
        assert files == {"model.safetensors", "config.json"}
    samples = {p.name for p in (report / "samples").iterdir()}
    assert {"distilled_1step.mp4", "apt_1step.gif", "apt_1step.png", "apt_by_update.png",
            "speed.json"} <= samples
    speed = json.loads((report / "speed.json").read_text())
    assert speed["apt_1step"]["network_evaluations"] == 1
    assert speed["teacher_2steps"]["network_evaluations"] == 4
    # DVCLive: APT's figures per logged update, as dvc plots/metrics read them.
    live = report / "apt_dvclive" / "plots" / "metrics"
    assert {"d_adv", "d_accuracy", "r1", "g_loss", "diversity"} <= {p.stem for p in live.iterdir()}
    assert [line.split("\t")[1] for line in
            (live / "d_accuracy.tsv").read_text().splitlines()[1:]] == ["1", "2", "3", "4"]
    assert json.loads((report / "distill_dvclive" / "metrics.json").read_text())["step"] == 4


@pytest.mark.slow
def test_more_generator_updates_resume_apt_and_read_distillation_back(pretrained_root, tmp_path):
    """A second posttrain with more APT updates resumes APT from its last checkpoint and
    continues its DVCLive record; the finished distillation is read back, not trained. Slow: two
    posttrain runs of their own (three Ray Train launches). By default the same stage code
    (`training.stage.run_stage`: resume by run name, a finished run read back and its DVCLive
    record rebuilt) is run on Ray by tests/pretrain/test_pretrain_ray.py."""
    root = tmp_path / "data"
    shutil.copytree(pretrained_root, root)
    run_kedro(root, ["posttrain"])
    report = root / "08_reporting" / "posttrain"
    distill = json.loads((report / "distill_metrics.json").read_text())
    live = report / "apt_dvclive" / "plots" / "metrics"
    # More generator updates for the same run: APT resumes from its last checkpoint. DVC deletes
    # a stage's non-persistent outputs first, DVCLive's folders among them.
    shutil.rmtree(report / "distill_dvclive")
    run_kedro(root, ["posttrain"], **{"posttrain.apt.generator_updates": 6})
    apt = json.loads((report / "apt_metrics.json").read_text())
    assert apt["generator_updates"] == 6 and apt["resumed_from_steps"] == [4]
    assert [line.split("\t")[1] for line in (live / "d_accuracy.tsv").read_text().splitlines()[1:]
            ] == ["1", "2", "3", "4", "5", "6"]  # the resumed run continued its record
    # Distillation was already finished: resumed at its last step, its training time kept.
    rerun_distill = json.loads((report / "distill_metrics.json").read_text())
    assert rerun_distill["resumed_from_steps"] == [4]
    assert rerun_distill["train_seconds"] == distill["train_seconds"] > 0
    # Read back without starting workers, its DVCLive record rebuilt from the checkpoint.
    assert json.loads((report / "distill_dvclive" / "metrics.json").read_text())["step"] == 4


@pytest.mark.slow
def test_a_collapse_watch_told_to_stop_ends_every_rank_cleanly(pretrained_root, tmp_path):
    """A collapse watch told to stop (here: any D loss counts as collapse) ends the run cleanly
    on both Ray workers after its first logged window, with a checkpoint, instead of failing the
    stage. Slow: a posttrain run of its own (two Ray Train launches); by default
    tests/apt/test_collapse.py runs the same stop in one process."""
    root = tmp_path / "data"
    shutil.copytree(pretrained_root, root)
    run_kedro(root, ["posttrain"], **{
        "posttrain.apt.generator_updates": 10, "posttrain.apt.collapse_watch.d_loss_floor": 1e9,
        "posttrain.apt.collapse_watch.patience": 1, "posttrain.apt.collapse_watch.stop": True})
    apt = json.loads((root / "08_reporting" / "posttrain" / "apt_metrics.json").read_text())
    assert apt["stopped_by_collapse_watch"] and apt["collapse_flagged"]
    assert apt["generator_updates"] < 10
