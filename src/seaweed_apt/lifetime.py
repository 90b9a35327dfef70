"""Process lifetimes: a long process dies with the process that runs it, and a run never works
beside a live copy of itself.

- `dvc_runner` + `die_with`: a stage that `dvc repro` started watches that dvc process from a
  thread; when it is gone (SIGKILL, the OOM killer), the stage kills every process it started
  (Ray's head and workers, ffmpeg) and exits. A watcher rather than the kernel's parent-death
  signal: the stage's parent is dvc only where the shell execs the command, and the stage's own
  children must go too (Ray's agents outlived a SIGKILLed driver by 40-85 s here; an ffmpeg under
  a Ray worker outlives both).
- `python -m seaweed_apt.lifetime --parent PID -- command`: runs `command` with the kernel's
  parent-death signal (prctl PR_SET_PDEATHSIG, Linux), for a child we start ourselves
  (`seaweed-apt retrain`'s and `make demo`'s `dvc`). `child_command` builds that line.
- `ProcessLock`: an exclusive flock whose file names its holder. The kernel drops the lock of a
  process that ends however it ends, so a lock is never stale, and a second taker is told which
  live process holds it.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import json
import logging
import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from typing import NoReturn

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_watched: set[int] = set()  # runner pids this process already watches


class RunnerGone(RuntimeError):
    """The process that started this one has already exited."""


class LockBusy(RuntimeError):
    """Another live process holds the lock; `holder` is what it wrote (pid, command, since)."""

    def __init__(self, path: Path, holder: dict) -> None:
        self.path, self.holder = path, holder
        super().__init__(f"{path} is held by {self.holder_text}")

    @property
    def holder_text(self) -> str:
        """'pid 123 (kedro run ...) since 2026-12-06T20:54:06', or what is known of it."""
        pid, command = self.holder.get("pid", "unknown"), self.holder.get("command", "")
        since = self.holder.get("since")
        return f"pid {pid}" + (f" ({command})" if command else "") + \
            (f" since {since}" if since else "")


class ProcessLock:
    """An exclusive `flock` on `path`, held until `release()` or the end of this process.

    Not inherited by child processes (Python opens files non-inheritable), so a lock means that
    its holder itself is alive. Raises LockBusy from `acquire` while another process holds it."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._file = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open as the lock until release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read()
            handle.close()
            try:
                holder = json.loads(text)
            except json.JSONDecodeError:  # the holder is between taking and naming it
                holder = {"command": text.strip()} if text.strip() else {}
            raise LockBusy(self.path, holder) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "command": shlex.join(sys.argv),
                                 "since": time.strftime("%Y-%m-%dT%H:%M:%S")}))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> ProcessLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _is_dvc(process) -> bool:
    """`dvc ...`, `python .../bin/dvc ...` or `python -m dvc ...`."""
    import psutil

    try:
        command = process.cmdline()
    except psutil.Error:
        return False
    return "dvc" in [Path(part).name for part in command[:2]] or command[1:3] == ["-m", "dvc"]


def dvc_runner():
    """The `dvc` process (a psutil.Process) that runs this process as a stage command (DVC sets
    DVC_STAGE for its commands), or None outside a DVC stage.

    Raises:
        RunnerGone: DVC_STAGE is set but no dvc process is among this process's ancestors: the
            dvc that started the stage exited before the stage got here.
    """
    import psutil

    stage = os.environ.get("DVC_STAGE")
    if not stage:
        return None
    for ancestor in psutil.Process().parents():
        if _is_dvc(ancestor):
            return ancestor
    raise RunnerGone(f"stage {stage!r} was started by dvc, which is gone (no dvc process is "
                     "among this process's ancestors): nothing was run; run `dvc repro` again")


def end_process_tree(reason: str, exit_code: int = 1) -> NoReturn:
    """Kill (SIGKILL) every descendant of this process, then exit it: nothing this process
    started outlives it."""
    import psutil

    me = psutil.Process()
    descendants = me.children(recursive=True)
    logger.error("%s: ending this process (pid %d) and the %d it started", reason, me.pid,
                 len(descendants))
    for _ in range(2):  # a second pass for any started while the first was killing
        for process in descendants:
            try:
                process.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(descendants, timeout=2)
        descendants = me.children(recursive=True)
    os._exit(exit_code)


def die_with(runner) -> None:
    """End this process and everything it started (`end_process_tree`) as soon as `runner` (a
    psutil.Process, e.g. `dvc_runner()`) exits, watched from a daemon thread. A runner that is
    already gone ends it at once."""
    import psutil

    if runner.pid in _watched:
        return
    _watched.add(runner.pid)
    try:
        name = shlex.join(runner.cmdline()[:3])
    except psutil.Error:
        name = "the runner"

    def watch() -> None:
        if runner.is_running():  # compares start times: a reused pid is not the runner
            runner.wait()
        end_process_tree(f"{name} (pid {runner.pid}), which runs this process, is gone")

    threading.Thread(target=watch, name=f"die-with-{runner.pid}", daemon=True).start()


def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send `sig` to this process when its parent exits (prctl
    PR_SET_PDEATHSIG; kept across exec). Returns False where there is no prctl (not Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    return True


def child_command(command: list[str]) -> list[str]:
    """`command` run through this module's launcher, so that it gets SIGTERM when this process
    exits, however it exits."""
    return [sys.executable, "-m", "seaweed_apt.lifetime", "--parent", str(os.getpid()), "--",
            *command]


def main(argv: list[str] | None = None) -> int:
    parent_at_start = os.getppid()
    parser = argparse.ArgumentParser(
        prog="python -m seaweed_apt.lifetime",
        description="Run a command that gets SIGTERM when the process that started it exits.")
    parser.add_argument("--parent", type=int, help="the pid that must be this process's parent "
                        "(default: the parent at start)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- command [args ...]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    parent = args.parent or parent_at_start
    if not set_parent_death_signal(signal.SIGTERM):
        logger.warning("no parent-death signal on %s: %s will not end with its parent",
                       sys.platform, command[0])
    # Set first, then checked: a parent that exited before the prctl sends no signal.
    if os.getppid() != parent:
        print(f"seaweed-apt: the process that started this one (pid {parent}) is gone; "
              f"not running {shlex.join(command)}", file=sys.stderr)
        return 1
    os.execvp(command[0], command)
    return 127  # not reached: execvp replaces this process or raises


if __name__ == "__main__":
    sys.exit(main())
