"""The process-lifetime mechanisms on their own, in seconds: a lock that names its live holder and
dies with it, a stage that ends with its runner (and takes its children along), a launched
command that ends with its parent. The user-facing paths (`dvc repro` of a Kedro stage,
`seaweed-apt retrain`) are in tests/pipelines/test_run_lifetime.py and
tests/deployment/test_retrain_lifetime.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from seaweed_apt.lifetime import LockBusy, ProcessLock, RunnerGone, dvc_runner

pytestmark = pytest.mark.timeout(60)


def _wait_for(path: Path, timeout_s: float = 20.0) -> str:
    deadline = time.monotonic() + timeout_s
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, f"{path} never written"
        time.sleep(0.05)
    return path.read_text().strip()


def _gone_within(pids: list[int], timeout_s: float) -> list[str]:
    """What of `pids` still runs after `timeout_s` (as 'pid name')."""
    processes = []
    for pid in pids:
        try:
            processes.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(processes, timeout=timeout_s)
    for process in alive:  # leave nothing behind on failure
        process.kill()
    return [f"{process.pid} {process.name()}" for process in alive]


def test_a_held_lock_refuses_a_second_taker_naming_its_holder_and_dies_with_it(tmp_path):
    path = tmp_path / "data" / ".lock"
    ready = tmp_path / "ready"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from seaweed_apt.lifetime import ProcessLock;"
        f"lock = ProcessLock({str(path)!r}); lock.acquire(); Path({str(ready)!r}).write_text('1');"
        "time.sleep(60)"), "holder-marker"])
    try:
        _wait_for(ready)
        with pytest.raises(LockBusy) as busy:
            ProcessLock(path).acquire()
        assert busy.value.holder["pid"] == holder.pid
        assert f"pid {holder.pid}" in str(busy.value) and "holder-marker" in str(busy.value)
    finally:
        holder.kill()  # SIGKILL: no release, the kernel drops the lock
        holder.wait()
    with ProcessLock(path) as lock:
        assert lock.path == path


def test_a_stage_ends_with_its_runner_and_takes_its_children_along(tmp_path):
    runner = subprocess.Popen(["sleep", "60"])  # stands in for dvc
    child_pid = tmp_path / "child"
    stage = subprocess.Popen([sys.executable, "-c", (
        "import psutil, subprocess, time; from pathlib import Path;"
        "from seaweed_apt.lifetime import die_with;"
        f"die_with(psutil.Process({runner.pid}));"
        "child = subprocess.Popen(['sleep', '60']);"
        f"Path({str(child_pid)!r}).write_text(str(child.pid)); time.sleep(60)")])
    try:
        child = int(_wait_for(child_pid))
        assert stage.poll() is None
        runner.kill()
        runner.wait()
        assert _gone_within([stage.pid, child], 10) == []
    finally:
        for process in (runner, stage):
            process.kill()
            process.wait()


def test_a_stage_whose_runner_died_before_the_watch_began_ends_at_once(tmp_path):
    runner = subprocess.Popen(["sleep", "60"])
    go = tmp_path / "go"
    stage = subprocess.Popen([sys.executable, "-c", f"""
import psutil, time
from pathlib import Path
from seaweed_apt.lifetime import die_with
runner = psutil.Process({runner.pid})
Path({str(go)!r}).write_text("ready")
while Path({str(go)!r}).read_text() != "go":
    time.sleep(0.05)
die_with(runner)
time.sleep(60)
"""])
    try:
        _wait_for(go)
        runner.kill()
        runner.wait()
        go.write_text("go")
        assert _gone_within([stage.pid], 10) == []
    finally:
        stage.kill()
        stage.wait()


def test_outside_a_dvc_stage_there_is_no_runner_and_a_stage_without_its_dvc_refuses(monkeypatch):
    monkeypatch.delenv("DVC_STAGE", raising=False)
    assert dvc_runner() is None
    monkeypatch.setenv("DVC_STAGE", "pretrain")
    with pytest.raises(RunnerGone, match="'pretrain' was started by dvc, which is gone"):
        dvc_runner()


def test_a_launched_command_ends_with_its_parent_and_refuses_a_parent_already_gone(tmp_path):
    child_pid = tmp_path / "child"
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, time; from pathlib import Path;"
        "from seaweed_apt.lifetime import child_command;"
        "child = subprocess.Popen(child_command(['sleep', '60']));"
        f"Path({str(child_pid)!r}).write_text(str(child.pid)); time.sleep(60)")])
    try:
        child = int(_wait_for(child_pid))
        deadline = time.monotonic() + 20  # until the launcher has become `sleep`
        while psutil.Process(child).name() != "sleep":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert _gone_within([child], 10) == []
    finally:
        parent.kill()
        parent.wait()
    wrong = subprocess.run([sys.executable, "-m", "seaweed_apt.lifetime", "--parent", "1", "--",
                            "echo", "ran"], capture_output=True, text=True, timeout=30)
    assert wrong.returncode == 1 and "ran" not in wrong.stdout
    assert "(pid 1) is gone" in wrong.stderr
