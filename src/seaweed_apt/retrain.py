"""Scheduled retraining: new or changed raw data -> `dvc repro` of what changed (the deployment
stage at its end gates and redeploys). Nothing changed: nothing runs. A lock file keeps two runs
from overlapping, and every `dvc` it starts dies with it (`seaweed_apt.lifetime`): a killed
retrain leaves no repro running, and its stages end with their dvc."""

from __future__ import annotations

import functools
import json
import logging
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from seaweed_apt.lifetime import LockBusy, ProcessLock, child_command

logger = logging.getLogger(__name__)

LOCK_FILE = ".seaweed-apt-retrain.lock"


class RetrainBusy(RuntimeError):
    """Another retrain holds the lock."""


@contextmanager
def exclusive_lock(path: Path):
    """An flock held for the duration; the kernel releases it if the holder dies.

    Raises:
        RetrainBusy: another live retrain holds it (named by pid and command).
    """
    lock = ProcessLock(path)
    try:
        lock.acquire()
    except LockBusy as busy:
        raise RetrainBusy(f"another retrain holds {path} ({busy.holder_text})") from None
    try:
        yield
    finally:
        lock.release()


def dvc_command(dvc: str | None = None) -> str:
    """`dvc` when given (`seaweed-apt retrain --dvc`), else the `dvc` installed beside this
    Python (the venv's, whose DVC version the project pins), else the first on PATH."""
    if dvc:
        return dvc
    beside = Path(sys.executable).parent / "dvc"
    return str(beside) if beside.exists() else "dvc"


def _run_dvc(project: Path, *args: str, capture: bool = True, dvc: str | None = None) -> str:
    # Through the launcher: the kernel sends this dvc SIGTERM when this process ends, however it
    # ends (its stages then end with it: pipelines/hooks.py).
    done = subprocess.run(child_command([dvc_command(dvc), *args]), cwd=project, text=True,
                          capture_output=capture)
    if done.returncode != 0:
        detail = (done.stderr or "")[-2000:] if capture else "see the output above"
        raise RuntimeError(f"dvc {' '.join(args)} failed ({done.returncode}): {detail}")
    return done.stdout or ""


def parse_status(stdout: str) -> dict:
    """The object `dvc status --json` printed. DVC can print a line of text before it (a notice,
    a warning from git or a plugin), so the object is read from the first line that starts one.
    Raises RuntimeError quoting the output when there is none."""
    if not stdout.strip():
        return {}
    lines = stdout.splitlines(keepends=True)
    for start, line in enumerate(lines):
        if line.lstrip().startswith("{"):
            try:
                status, _ = json.JSONDecoder().raw_decode("".join(lines[start:]).lstrip())
            except json.JSONDecodeError:
                continue
            if isinstance(status, dict):
                return status
    raise RuntimeError(f"dvc status --json printed no JSON object: {stdout[:500]!r}")


def changed_outputs(entry: list) -> list[str]:
    """The paths of a `dvc status --json` entry whose recorded outputs were changed by hand
    (modified or new, not missing)."""
    paths = []
    for change in entry:
        if isinstance(change, dict) and "changed outs" in change:
            paths += [path for path, how in change["changed outs"].items() if how != "deleted"]
    return paths


def only_missing(entry: list) -> bool:
    """Whether every change of a `dvc status --json` entry is a dependency or output that is
    absent ("deleted"): in a fresh clone after `dvc pull`, the outputs DVC never pushes
    (`cache: false`: Ray Train checkpoints, the registry) are absent though nothing changed.
    `dvc repro --allow-missing` skips such stages."""
    for change in entry:
        if not isinstance(change, dict) or not change:
            return False
        for kind, paths in change.items():
            if kind not in ("changed outs", "changed deps") or not isinstance(paths, dict) \
                    or any(how != "deleted" for how in paths.values()):
                return False
    return bool(entry)


def retrain_once(project: str | Path, raw_prefix: str = "data/01_raw",
                 dvc: str | None = None) -> dict:
    """One pass, with the `dvc` command `dvc_command(dvc)` names. Returns what happened:
    {"ran": bool, "stages": [...], "accepted_raw": [...]}."""
    project = Path(project).resolve()
    run_dvc = functools.partial(_run_dvc, project, dvc=dvc)
    with exclusive_lock(project / LOCK_FILE):
        status = parse_status(run_dvc("status", "--json"))
        # A stage that always runs (resolve_params: the parameters of this environment) is not
        # a change by itself; run it first, so a value it writes anew shows in the next status.
        always = [target for target, entry in status.items() if entry == ["always changed"]]
        if always:
            run_dvc("repro", "-q", "--single-item", *always)
            status = {target: entry for target, entry in
                      parse_status(run_dvc("status", "--json")).items()
                      if entry != ["always changed"]}
        missing = sorted(target for target, entry in status.items() if only_missing(entry))
        if missing:
            logger.info("retrain: %s only lack files (never pushed: cache: false outputs such "
                        "as checkpoints in a fresh clone; or not checked out: `dvc pull` "
                        "restores cached ones): not a change", missing)
        status = {target: entry for target, entry in status.items() if target not in missing}
        if not status:
            logger.info("retrain: nothing changed (dvc status is clean); nothing runs")
            return {"ran": False, "stages": [], "accepted_raw": []}
        accepted = []
        for target, entry in status.items():
            edited = changed_outputs(entry)
            if not edited:
                continue
            foreign = [p for p in edited if not p.startswith(raw_prefix)]
            if foreign:
                raise RuntimeError(
                    f"retrain: {foreign} (outputs of {target}) were changed by hand outside "
                    f"{raw_prefix}; `dvc checkout {target}` restores them. Nothing was run.")
            # New or edited raw videos become the stage's recorded output, so what follows
            # reruns on them instead of the raw stage overwriting them.
            run_dvc("commit", "-f", "-q", target)
            accepted += edited
            logger.info("retrain: accepted changed raw data %s (dvc commit %s)", edited, target)
        logger.info("retrain: changed: %s; running dvc repro", sorted(status))
        run_dvc("repro", "--allow-missing", capture=False)
        return {"ran": True, "stages": sorted(status), "accepted_raw": accepted}


def parse_interval(text: str) -> float:
    """'24h', '30m', '90s', '1d' -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if not match:
        raise ValueError(f"--every {text!r}: use a number and a unit, as in 24h, 30m, 90s, 1d")
    value = float(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    if value <= 0:
        raise ValueError(f"--every {text!r} must be positive")
    return value


def retrain_every(project: str | Path, interval_s: float, runs: int | None = None,
                  dvc: str | None = None) -> None:
    """Retrain now and then every `interval_s` (for a single machine without cron)."""
    count = 0
    while runs is None or count < runs:
        started = time.monotonic()
        try:
            logger.info("retrain: %s", retrain_once(project, dvc=dvc))
        except RetrainBusy as busy:
            logger.warning("retrain: skipped, %s", busy)
        except Exception as error:  # noqa: BLE001 - one failed pass must not end the schedule,
            # whatever it raised (an unreadable answer from dvc, a folder gone for a while).
            logger.error("retrain: pass failed (%s: %s); next pass in %.0f s",
                         type(error).__name__, error, interval_s)
        count += 1
        if runs is None or count < runs:
            time.sleep(max(0.0, interval_s - (time.monotonic() - started)))
