"""Where a model came from: the DVC hash of its training data, the git commit, the params hash."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path


def params_hash(params: dict, ignore: tuple[str, ...] = ()) -> str:
    """sha256 of the parameters as canonical JSON (key order does not matter), without the
    top-level groups in `ignore`."""
    kept = {key: value for key, value in params.items() if key not in ignore}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()


def git_commit(repo_dir: str | Path) -> dict:
    """{"commit": sha or "unknown", "dirty": whether tracked files differ from it}."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo_dir, capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        # dvc.lock is rewritten by `dvc repro` itself while the stages run.
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".",
                         ":(exclude)dvc.lock"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}
    return {"commit": commit, "dirty": dirty}


def dvc_data_version(dvc_lock: dict | None, stage: str = "data_curation") -> dict:
    """The md5 DVC recorded for each output of `stage` (the curated training data), and one hash
    over them all: the same data gives the same `hash` on any machine."""
    outs = ((dvc_lock or {}).get("stages", {}).get(stage, {}) or {}).get("outs", [])
    md5s = {out["path"]: out.get("md5", "") for out in outs}
    if not md5s:
        return {"stage": stage, "outs": {}, "hash": "unknown (no dvc.lock entry)"}
    combined = hashlib.sha256(json.dumps(md5s, sort_keys=True).encode()).hexdigest()
    return {"stage": stage, "outs": md5s, "hash": combined}


def dvc_experiment_name() -> str | None:
    """The experiment's name when the stage runs under `dvc exp run` (queued or in the
    workspace: DVC sets `DVC_EXP_NAME` in every stage command's environment,
    dvc/repo/experiments/queue/base.py), else None (`dvc repro`, `kedro run`)."""
    return os.environ.get("DVC_EXP_NAME") or None
