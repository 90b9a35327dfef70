"""Metrics and plots are versioned as DVC expects: every `cache: false` metrics or plots file of
dvc.yaml is committed with dvc.lock (not git-ignored), so `dvc metrics diff` and `dvc plots
diff` compare commits, while the rest of data/ stays out of git."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

DVC = str(Path(sys.executable).parent / "dvc")


def _figure_files() -> list[str]:
    files = []
    for stage in yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"].values():
        for kind in ("metrics", "plots"):
            for entry in stage.get(kind, []):
                (path, options), = (entry if isinstance(entry, dict) else {entry: {}}).items()
                if options.get("cache") is False:
                    files.append(path)
    return files


def _ignored(paths: list[str]) -> set[str]:
    done = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=PROJECT_ROOT,
                          capture_output=True, text=True)
    return set(done.stdout.split())


def test_metrics_and_plots_files_are_committed_and_other_outputs_are_not():
    figures = _figure_files()
    assert "data/08_reporting/evaluation/metrics.json" in figures and len(figures) >= 10
    assert _ignored(figures) == set()
    others = ["data/01_raw/real_clips/walk.mp4", "data/06_models/teacher/model.safetensors",
              "data/08_reporting/pretrain/samples/teacher_25steps.mp4",
              "data/08_reporting/evaluation/report/index.html", "data/09_registry/x.json"]
    assert _ignored(others) == set(others)


def _dvc(*args: str, cwd: Path) -> str:
    done = subprocess.run([DVC, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"dvc {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout


RECORDED = subprocess.run(["git", "ls-files", "data/08_reporting/evaluation/metrics.json"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True).stdout.strip()


# Until a run is recorded with its metrics files in git (the next dvc.lock recording), there is
# nothing to diff; from then on this runs.
@pytest.mark.skipif(not RECORDED, reason="no recorded run's metrics files in git yet")
def test_dvc_metrics_diff_between_two_commits_prints_the_figures(tmp_path):
    """A clone holds the recorded run's figures (no `dvc pull`); a new run's figure committed on
    top is what `dvc metrics diff HEAD~1` reports, old and new."""
    import json

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(PROJECT_ROOT), str(clone)], check=True)
    shown = json.loads(_dvc("metrics", "show", "--json", cwd=clone))
    figures = next(iter(shown.values()))["data"]
    evaluation = figures["data/08_reporting/evaluation/metrics.json"]["data"]
    assert isinstance(evaluation["gap_closure"], float)
    path = clone / "data" / "08_reporting" / "evaluation" / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics["gap_closure"] = round(evaluation["gap_closure"] + 0.01, 6)
    path.write_text(json.dumps(metrics, indent=2))
    for key, value in (("user.email", "t@example.com"), ("user.name", "test")):
        subprocess.run(["git", "config", key, value], cwd=clone, check=True)
    subprocess.run(["git", "commit", "-qam", "a new run"], cwd=clone, check=True)
    diff = json.loads(_dvc("metrics", "diff", "HEAD~1", "--json", cwd=clone))
    change = diff["data/08_reporting/evaluation/metrics.json"]["gap_closure"]
    assert change["old"] == evaluation["gap_closure"] and change["new"] == metrics["gap_closure"]
    assert "data/08_reporting/pretrain/metrics.json" not in diff  # unchanged figures: not listed
