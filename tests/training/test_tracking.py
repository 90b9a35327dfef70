"""Live metrics through DVCLive: one row per logging window as it is logged, a resumed run
rebuilding its rows from the checkpoint's history (none twice, none missing, even when DVC
deleted the folder before the rerun), and a folder on S3 kept up to date window by window."""

import json

from seaweed_apt.training.tracking import LiveMetrics


def _rows(folder, name: str) -> list[list[str]]:
    lines = (folder / "plots" / "metrics" / f"{name}.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["timestamp", "step", name]
    return [line.split("\t") for line in lines[1:]]


def _window(step: int, loss: float) -> dict:
    return {"step": step, "loss": loss, "rank": 0, "collapse_flag": False, "lr": 1e-3}


def test_each_window_is_written_when_logged_and_a_resume_rebuilds_the_checkpoints_rows(tmp_path):
    folder = tmp_path / "dvclive"
    live = LiveMetrics(str(folder))
    history = []
    for step in (10, 20, 30):
        history.append(_window(step, 1.0 / step))
        live.log(history[-1])
        # On disk as soon as it is logged, not when the run ends.
        assert [int(row[1]) for row in _rows(folder, "loss")] == list(range(10, step + 1, 10))
    assert not (folder / "plots" / "metrics" / "rank.tsv").exists()  # not a figure
    assert not (folder / "plots" / "metrics" / "collapse_flag.tsv").exists()
    assert json.loads((folder / "metrics.json").read_text())["step"] == 30
    # The run restarts from its checkpoint at step 20: step 30 is trained (and logged) again.
    live = LiveMetrics(str(folder), history=history[:2])
    live.log(_window(30, 0.5))
    live.close()
    rows = _rows(folder, "loss")
    assert [int(row[1]) for row in rows] == [10, 20, 30] and float(rows[-1][2]) == 0.5
    timestamps = [int(row[0]) for row in rows]
    assert timestamps == sorted(timestamps)
    # A fresh run of the stage starts a fresh record.
    LiveMetrics(str(folder)).log({"step": 5, "loss": 2.0})
    assert [int(row[1]) for row in _rows(folder, "loss")] == [5]


def test_a_run_resumed_at_its_last_step_writes_its_files_after_dvc_deleted_them(tmp_path):
    # `dvc repro` deletes a stage's outputs, the DVCLive folder among them, but keeps the
    # persistent checkpoints: the rerun resumes at its last step and trains no window.
    folder = tmp_path / "dvclive"
    history = [_window(step, 1.0 / step) for step in (10, 20)]
    LiveMetrics(str(folder), history=history).close()
    assert [int(row[1]) for row in _rows(folder, "loss")] == [10, 20]
    assert json.loads((folder / "metrics.json").read_text())["step"] == 20


def test_a_folder_on_s3_follows_each_window(tmp_path, s3_endpoint, monkeypatch):
    import boto3

    from seaweed_apt import storage

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    boto3.client("s3").create_bucket(Bucket="live")
    uri = "s3://live/data/08_reporting/pretrain/dvclive"
    live = LiveMetrics(uri)
    live.log({"step": 1, "loss": 3.0})
    assert storage.read_bytes(f"{uri}/plots/metrics/loss.tsv").decode().count("\n") == 2
    live.log({"step": 2, "loss": 2.0})
    live = LiveMetrics(uri, history=[{"step": 1, "loss": 3.0}])  # another node resumes at 1
    live.log({"step": 2, "loss": 1.5})
    live.close()
    table = storage.read_bytes(f"{uri}/plots/metrics/loss.tsv").decode().splitlines()
    assert [line.split("\t")[1:] for line in table[1:]] == [["1", "3.0"], ["2", "1.5"]]
