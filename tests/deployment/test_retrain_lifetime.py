"""A SIGKILLed `seaweed-apt retrain` leaves no `dvc repro` and no stage running (issue 36, case 4):
its dvc dies with it, and the stage with its dvc. The stage here stands in for a Kedro stage and
watches its dvc as every Kedro stage does (pipelines/hooks.py, RunLifetimeHook; that path under a
real `kedro run` is tests/pipelines/test_run_lifetime.py), so the test takes seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.timeout(120)

BIN = Path(sys.executable).parent
STAGE = """import subprocess, time
from pathlib import Path
from seaweed_apt.lifetime import die_with, dvc_runner
die_with(dvc_runner())
child = subprocess.Popen(["sleep", "120"])
Path("started").write_text(str(child.pid))
time.sleep(120)
"""


def test_a_sigkilled_retrain_leaves_no_dvc_and_no_stage_running(tmp_path):
    project = tmp_path / "project"
    (project / "data" / "01_raw" / "videos").mkdir(parents=True)
    (project / "data" / "01_raw" / "videos" / "a.txt").write_text("clip a\n")
    (project / "stage.py").write_text(STAGE)
    env = {key: value for key, value in os.environ.items() if key != "DVC_STAGE"}
    env.update(DVC_NO_ANALYTICS="1", PATH=f"{BIN}:{os.environ['PATH']}")
    subprocess.run([str(BIN / "dvc"), "init", "--no-scm", "-q"], cwd=project, env=env,
                   check=True, timeout=60)
    (project / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: python stage.py\n    deps: [data/01_raw/videos]\n")
    retrain = subprocess.Popen([str(BIN / "seaweed-apt"), "retrain", "--project-dir",
                                str(project)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not (project / "started").exists():
            assert retrain.poll() is None, "retrain ended before its stage started"
            assert time.monotonic() < deadline, "the stage never started"
            time.sleep(0.1)
        tree = psutil.Process(retrain.pid).children(recursive=True)
        assert {"dvc", "sleep"} <= {Path(part).name for p in tree for part in p.cmdline()[:2]}
        retrain.kill()
        retrain.wait()
        _, alive = psutil.wait_procs(tree, timeout=10)
        assert not alive, [" ".join(p.cmdline()) for p in alive]
    finally:
        try:
            os.killpg(retrain.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
