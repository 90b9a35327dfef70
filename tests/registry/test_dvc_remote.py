"""`dvc push` / `dvc pull` of versioned data through an S3 remote (moto's server on loopback)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(300)


def _run(*command: str, cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(command)}: {done.stderr[-2000:]}"
    return done.stdout


def test_dvc_push_and_pull_through_an_s3_remote(tmp_path, s3_endpoint, s3_bucket):
    dvc = str(Path(sys.executable).parent / "dvc")
    project = tmp_path / "project"
    project.mkdir()
    _run("git", "init", "-q", cwd=project)
    _run(dvc, "init", "-q", cwd=project)
    data = project / "data" / "clips"
    data.mkdir(parents=True)
    for index in range(3):
        (data / f"clip_{index}.bin").write_bytes(bytes([index]) * 5000)
    _run(dvc, "add", "-q", "data/clips", cwd=project)
    _run(dvc, "remote", "add", "-d", "store", f"s3://{s3_bucket}/dvc", cwd=project)
    _run(dvc, "remote", "modify", "store", "endpointurl", s3_endpoint, cwd=project)
    _run(dvc, "push", "-q", cwd=project)

    shutil.rmtree(data)
    shutil.rmtree(project / ".dvc" / "cache")
    _run(dvc, "pull", "-q", cwd=project)
    assert sorted(p.name for p in data.iterdir()) == ["clip_0.bin", "clip_1.bin", "clip_2.bin"]
    assert (data / "clip_2.bin").read_bytes() == bytes([2]) * 5000
