"""Metrics and plots are versioned as DVC expects: every `cache: false` metrics or plots file of
dvc.yaml is committed with dvc.lock (not git-ignored), so `dvc metrics diff` and `dvc plots
diff` compare commits, while the rest of data/ stays out of git."""

import subprocess
import sys
from pathlib import Path

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
