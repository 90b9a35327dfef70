"""`seaweed-apt retrain` on a real DVC project: a no-op when nothing changed, a repro of what
follows when raw data changed, refused while another run holds the lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from seaweed_apt.cli import main
from seaweed_apt.retrain import (
    LOCK_FILE,
    RetrainBusy,
    exclusive_lock,
    parse_interval,
    parse_status,
    retrain_every,
    retrain_once,
)

pytestmark = pytest.mark.timeout(300)

DVC_YAML = """stages:
  curate:
    cmd: cat data/01_raw/videos/*.txt > curated.txt
    deps: [data/01_raw/videos]
    outs: [curated.txt]
"""


def _run(*command: str, cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture
def project(tmp_path) -> Path:
    dvc = str(Path(sys.executable).parent / "dvc")
    root = tmp_path / "project"
    raw = root / "data" / "01_raw" / "videos"
    raw.mkdir(parents=True)
    (raw / "a.txt").write_text("clip a\n")
    _run("git", "init", "-q", cwd=root)
    _run(dvc, "init", "-q", cwd=root)
    _run(dvc, "add", "-q", "data/01_raw/videos", cwd=root)
    (root / "dvc.yaml").write_text(DVC_YAML)
    _run(dvc, "repro", "-q", cwd=root)
    return root


def test_retrain_is_a_no_op_when_nothing_changed_and_reruns_on_new_raw_data(project):
    curated = project / "curated.txt"
    before = curated.stat().st_mtime_ns
    assert retrain_once(project) == {"ran": False, "stages": [], "accepted_raw": []}
    assert curated.stat().st_mtime_ns == before

    (project / "data" / "01_raw" / "videos" / "b.txt").write_text("clip b\n")  # new raw video
    outcome = retrain_once(project)
    assert outcome["ran"] and outcome["accepted_raw"] == ["data/01_raw/videos"]
    assert curated.read_text() == "clip a\nclip b\n"
    assert retrain_once(project)["ran"] is False  # and settled again


TWO_STAGES = """stages:
  curate:
    cmd: cat data/01_raw/videos/*.txt > curated.txt
    deps: [data/01_raw/videos]
    outs: [curated.txt]
  train:
    cmd: mkdir -p runs && wc -l < curated.txt > runs/state && cp runs/state model.txt
    deps: [curated.txt]
    outs:
      - model.txt
      - runs:
          cache: false   # as Ray Train's checkpoints: never in the remote
          persist: true
"""


def test_a_fresh_clone_lacking_the_outputs_dvc_never_pushes_retrains_only_on_new_data(project,
                                                                                     tmp_path):
    # The retraining job's situation: a clone of the repository, dvc pull, and no checkpoints.
    dvc = str(Path(sys.executable).parent / "dvc")
    (project / "dvc.yaml").write_text(TWO_STAGES)
    _run(dvc, "repro", "-q", cwd=project)
    _run(dvc, "remote", "add", "-q", "-d", "store", str(tmp_path / "remote"), cwd=project)
    _run(dvc, "push", "-q", cwd=project)
    with open(project / ".gitignore", "a") as ignore:
        ignore.write("/runs\n")  # as data/ is git-ignored in the project
    _run("git", "add", "-A", cwd=project)
    _run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "run", cwd=project)
    clone = tmp_path / "clone"
    _run("git", "clone", "-q", str(project), str(clone), cwd=tmp_path)
    _run(dvc, "pull", "-q", cwd=clone)
    assert not (clone / "runs").exists() and (clone / "model.txt").read_text() == "1\n"

    assert retrain_once(clone)["ran"] is False  # absent checkpoints are not a change
    (clone / "data" / "01_raw" / "videos" / "b.txt").write_text("clip b\n")
    outcome = retrain_once(clone)
    assert outcome["ran"] and outcome["accepted_raw"] == ["data/01_raw/videos"]
    assert (clone / "model.txt").read_text() == "2\n" and (clone / "runs" / "state").exists()
    assert retrain_once(clone)["ran"] is False


def test_hand_edited_stage_output_is_refused_not_overwritten(project):
    (project / "curated.txt").write_text("edited by hand\n")
    with pytest.raises(RuntimeError, match="changed by hand"):
        retrain_once(project)
    assert (project / "curated.txt").read_text() == "edited by hand\n"


def test_a_second_retrain_waits_for_the_lock(project):
    with exclusive_lock(project / LOCK_FILE):
        with pytest.raises(RetrainBusy, match="another retrain"):
            retrain_once(project)


def test_interval_parsing():
    assert parse_interval("24h") == 86400 and parse_interval("90s") == 90
    with pytest.raises(ValueError, match="24h"):
        parse_interval("daily")


def test_dvc_status_with_text_before_its_json_is_read():
    status = '{"curate": [{"changed deps": {"data/01_raw/videos": "modified"}}]}'
    assert parse_status("") == {} and parse_status("{}\n") == {}
    assert parse_status(f"Update available 3.0 -> 3.1 {{see dvc.org}}\n{status}\n") == \
        {"curate": [{"changed deps": {"data/01_raw/videos": "modified"}}]}
    with pytest.raises(RuntimeError, match="no JSON object.*ERROR: unexpected"):
        parse_status("ERROR: unexpected error\n")


def test_the_schedule_outlives_a_failed_pass(tmp_path, caplog):
    # The project path names a file, not a folder (a slip in the schedule's command line):
    # each pass fails with an OSError, not a RuntimeError, and the schedule logs it and goes
    # on to the next pass instead of ending.
    not_a_folder = tmp_path / "project"
    not_a_folder.write_text("")
    with caplog.at_level("ERROR", logger="seaweed_apt.retrain"):
        retrain_every(not_a_folder, interval_s=0.01, runs=2)
    failed = [r for r in caplog.records if "pass failed" in r.getMessage()]
    assert len(failed) == 2 and "FileExistsError" in failed[0].getMessage()


def test_retrain_runs_the_dvc_it_is_given(tmp_path, capsys):
    """`--dvc`: the venv's dvc is preferred over PATH's, so a stand-in (or another DVC) must be
    named (helper-13 put one first on PATH and the real one ran). This one prints a line of text
    before its JSON, as case 12 of issue 20 does."""
    stand_in = tmp_path / "dvc"
    stand_in.write_text('#!/bin/sh\necho "$@" >> "$0.calls"\n'
                        'echo "Update available"\necho "{}"\n')
    stand_in.chmod(0o755)
    project = tmp_path / "project"
    project.mkdir()
    assert main(["retrain", "--project-dir", str(project), "--dvc", str(stand_in)]) == 0
    assert "'ran': False" in capsys.readouterr().out
    assert (tmp_path / "dvc.calls").read_text() == "status --json\n"


RESOLVED_YAML = """stages:
  resolve_params:
    cmd: cp conf/local.yaml params.yaml
    always_changed: true
    outs:
      - params.yaml:
          cache: false
  train:
    cmd: echo steps > trained.txt
    params:
      - params.yaml:
          - steps
    outs: [trained.txt]
"""


def test_retrain_sees_a_parameter_only_its_always_run_stage_resolves(tmp_path):
    """As dvc.yaml's resolve_params: the params file is written by a stage that always runs, so
    retrain runs it first; nothing else changed is a no-op, a changed value reruns its stage."""
    dvc = str(Path(sys.executable).parent / "dvc")
    root = tmp_path / "project"
    (root / "conf").mkdir(parents=True)
    (root / "conf" / "local.yaml").write_text("steps: 10\n")
    _run("git", "init", "-q", cwd=root)
    _run(dvc, "init", "-q", cwd=root)
    (root / "dvc.yaml").write_text(RESOLVED_YAML)
    _run(dvc, "repro", "-q", cwd=root)
    trained = (root / "trained.txt").stat().st_mtime_ns
    assert retrain_once(root) == {"ran": False, "stages": [], "accepted_raw": []}
    assert (root / "trained.txt").stat().st_mtime_ns == trained
    (root / "conf" / "local.yaml").write_text("steps: 20\n")
    outcome = retrain_once(root)
    assert outcome["ran"] and outcome["stages"] == ["train"]
    assert (root / "trained.txt").stat().st_mtime_ns != trained
