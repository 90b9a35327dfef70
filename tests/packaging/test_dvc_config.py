"""The repository's DVC config keeps a `dvc` run outside make local (no analytics)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_dvc_analytics_are_off_in_the_repository_config():
    dvc = Path(sys.executable).parent / "dvc"
    answer = subprocess.run([str(dvc), "config", "core.analytics"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, check=True)
    assert answer.stdout.strip() == "false"
