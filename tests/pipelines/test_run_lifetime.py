"""A Kedro stage under `dvc repro` dies with its dvc, and a second run over the same data root
refuses while the first lives (issue 36, case 4: a SIGKILLed `dvc repro` left its `kedro run`
going, and the rerun started a second copy over the same data/).

The project as a user has it (pyproject.toml, conf/, pipelines/) is copied into a temporary DVC
project whose one stage is `kedro run --env test --pipelines data_curation` over a temporary data
root. The stage is held mid-way by an `ffprobe` that never returns (as on a hung network mount),
found first on PATH: it runs under a Ray worker, so the stage's tree is dvc -> kedro -> Ray's
head and workers -> ffprobe, the whole of which must go with dvc."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from pipelines.hooks import RUN_LOCK_FILE, RunInProgress, RunLifetimeHook, run_data_root
from seaweed_apt.lifetime import ProcessLock
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.timeout(300)

BIN = Path(sys.executable).parent
STALLED_FFPROBE = """#!/bin/sh
echo $$ >> "{probes}"
exec sleep 600
"""


@pytest.fixture(scope="module")
def live_stage(tmp_path_factory):
    """A `dvc repro` whose data_curation stage stalls in its first node (Ray up, ffprobe
    running); yields (dvc process, kedro process, project, data root, probes log, env)."""
    base = tmp_path_factory.mktemp("run_lifetime")
    project, root, fake_bin = base / "project", base / "data", base / "bin"
    project.mkdir()
    shutil.copy(PROJECT_ROOT / "pyproject.toml", project)
    shutil.copytree(PROJECT_ROOT / "pipelines", project / "pipelines",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROJECT_ROOT / "conf", project / "conf",
                    ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir()
    for source, name in (("moving_fashion", "a.mp4"), ("real_clips", "b.mp4")):
        (root / "01_raw" / source).mkdir(parents=True)
        (root / "01_raw" / source / name).write_bytes(b"not probed: ffprobe stalls")
    probes = base / "probes.log"
    fake_bin.mkdir()
    (fake_bin / "ffprobe").write_text(STALLED_FFPROBE.format(probes=probes))
    (fake_bin / "ffprobe").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake_bin}:{BIN}:{os.environ['PATH']}",
               KEDRO_DISABLE_TELEMETRY="1", DVC_NO_ANALYTICS="1", HF_HUB_OFFLINE="1",
               RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_AUTH_MODE="disabled")
    env.pop("DVC_STAGE", None)
    subprocess.run([str(BIN / "dvc"), "init", "--no-scm", "-q"], cwd=project, check=True,
                   env=env, timeout=120)
    (project / "dvc.yaml").write_text(
        "stages:\n  data_curation:\n"
        f"    cmd: kedro run --env test --pipelines data_curation --params data_root={root}\n")
    log = open(base / "dvc.log", "w")  # noqa: SIM115 - the stage writes here while it lives
    # Its own session, so that teardown can end whatever is left of it, and nothing else.
    dvc = subprocess.Popen([str(BIN / "dvc"), "repro"], cwd=project, env=env, stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 240
    while not (probes.exists() and probes.read_text().strip()):
        assert dvc.poll() is None, (base / "dvc.log").read_text()[-3000:]
        assert time.monotonic() < deadline, (base / "dvc.log").read_text()[-3000:]
        time.sleep(0.2)
    runner = psutil.Process(dvc.pid)
    # The kedro process itself, not the `sh -c "kedro run ..."` dvc may run it under (a shell
    # that does not exec its last command holds the same command line: CI's stop 43 failed so).
    kedro = next(p for p in runner.children(recursive=True) if p.name() == "kedro")
    yield runner, kedro, project, root, probes, env
    try:
        os.killpg(dvc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    dvc.wait()
    log.close()


def test_a_second_run_beside_a_live_stage_refuses_naming_it(live_stage):
    _, kedro, project, root, probes, env = live_stage
    second = subprocess.Popen(
        [str(BIN / "kedro"), "run", "--env", "test", "--pipelines", "data_curation",
         "--params", f"data_root={root}"], cwd=project, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = second.communicate(timeout=120)
    except subprocess.TimeoutExpired:  # it runs beside the first: end it and its Ray
        os.killpg(second.pid, signal.SIGKILL)
        output, _ = second.communicate()
        pytest.fail("a second run over the same data root ran beside the live one: "
                    f"{output[-2000:]}")
    assert second.returncode != 0
    assert f"is in use by a live run: pid {kedro.pid}" in output, output[-3000:]
    assert "kedro run --env test --pipelines data_curation" in output
    assert len(probes.read_text().split()) == 1  # the second never reached a node


def test_a_sigkilled_dvc_repro_leaves_no_stage_process_running(live_stage):
    runner, kedro, _, root, _, _ = live_stage
    tree = runner.children(recursive=True)
    names = {process.name() for process in tree}
    assert kedro in tree and "raylet" in names and "sleep" in names, names  # Ray and ffprobe
    runner.kill()
    runner.wait(timeout=10)
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, [f"{p.pid} {p.name()}" for p in alive]
    with ProcessLock(root / RUN_LOCK_FILE):  # and the data root is free for the rerun
        pass


def test_the_run_lock_is_per_data_root_and_freed_by_a_failed_start(tmp_path):
    """In-process (a test, a notebook): a run whose start failed after taking the lock frees it
    at the next run; another data root is not blocked."""
    first, second = RunLifetimeHook(), RunLifetimeHook()
    params = {"runtime_params": {"data_root": str(tmp_path / "a")}, "project_path": "/x"}
    first.before_pipeline_run(params)
    with pytest.raises(RunInProgress, match=f"pid {os.getpid()}"):
        second.before_pipeline_run(params)
    second.before_pipeline_run({**params, "runtime_params": {"data_root": str(tmp_path / "b")}})
    first.before_pipeline_run(params)  # its earlier run never reached after_pipeline_run
    first.after_pipeline_run()
    second.after_pipeline_run()
    assert (tmp_path / "a" / RUN_LOCK_FILE).exists()


def test_the_locked_data_root_is_the_one_the_catalog_uses():
    assert run_data_root({"runtime_params": None, "project_path": "/p"}) == Path("/p/data")
    assert run_data_root({"runtime_params": {"data_root": "other"}, "project_path": "/p"}) \
        == Path("/p/other")
    assert run_data_root({"runtime_params": {"data_root": "s3://bucket/data"},
                          "project_path": "/p"}) is None  # no flock on a bucket
