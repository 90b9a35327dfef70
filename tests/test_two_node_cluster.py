"""From laptop to cluster, on one machine: a Ray cluster of two nodes on loopback (one CPU and a
resource of its own each), an S3 server (moto) as the only store, and `kedro run` joining the
cluster through RAY_ADDRESS as a `ray job submit` driver would. Curation, pretraining,
post-training and evaluation run under conf/test with `data_root` on S3; each stage's work must
spread over both nodes, and nothing may be written to the local data/ folder."""

import json
import os
import subprocess
import sys
import urllib.request

import pytest

from tests.conftest import PROJECT_ROOT

# 7 minutes in the suite on 2 cores (five `kedro run`s, each starting Ray workers on two nodes):
# more than the default suite can carry, so `make test-slow` runs it.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

BUCKET = "cluster-data"
PIPELINES = ["data_curation", "pretrain", "posttrain", "evaluation", "deployment"]


def _upload(folder, prefix: str) -> None:
    import boto3

    s3 = boto3.client("s3")
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), BUCKET, f"{prefix}/{path.relative_to(folder).as_posix()}")


def _local_files(folder) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in folder.rglob("*") if p.is_file()} \
        if folder.exists() else {}


def test_curation_to_deployment_on_two_nodes_with_s3_as_the_only_store(
        s3_endpoint, real_clips_dir, moving_fashion_dir, monkeypatch):
    import boto3
    from ray.cluster_utils import Cluster

    from seaweed_apt import storage

    # Set before the nodes start, so that every raylet and worker reads the store as a cluster
    # node would read its own (instance role, or credentials in its environment).
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    _upload(real_clips_dir, "data/01_raw/real_clips")
    _upload(moving_fashion_dir, "data/01_raw/moving_fashion")
    data_root = f"s3://{BUCKET}/data"
    local_before = _local_files(PROJECT_ROOT / "data")

    node = {"num_cpus": 1, "node_ip_address": "127.0.0.1"}
    cluster = Cluster(initialize_head=True, head_node_args={
        **node, "resources": {"node_a": 1}, "include_dashboard": False})
    try:
        cluster.add_node(**node, resources={"node_b": 1})
        cluster.wait_for_nodes()
        logs = {}
        for pipeline in PIPELINES:
            run = subprocess.run(
                [sys.executable, "-m", "kedro", "run", "--env", "test", "--pipeline", pipeline,
                 "--params", f"data_root={data_root}"],
                cwd=PROJECT_ROOT, env={**os.environ, "RAY_ADDRESS": cluster.address},
                capture_output=True, text=True, timeout=900)
            logs[pipeline] = run.stdout + run.stderr
            assert run.returncode == 0, f"{pipeline} failed:\n{logs[pipeline][-6000:]}"
        # The endpoint runs on the cluster the deployment joined, from the registry on S3.
        record = json.loads(storage.read_bytes(
            f"{data_root}/08_reporting/deployment/deployment.json"))
        assert record["deployed"] and record["model_version"] == "v0001", record
        with urllib.request.urlopen(f"{record['url']}/model", timeout=30) as response:
            assert json.loads(response.read())["lineage"]["code"]["commit"]
    finally:
        cluster.shutdown()

    # Curation's probe and decode/cut tasks, each stage's training workers and evaluation's
    # actors ran on both nodes.
    for name in ("probe", "cut"):
        line = next((text for text in logs["data_curation"].splitlines() if f"{name}: " in text
                     and "share(s) ran on" in text), None)
        assert line is not None, f"no '{name}: ... share(s) ran on' line in curation's log"
        assert line.rstrip().endswith("on 2 node(s)"), line
    pretrain = json.loads(storage.read_bytes(f"{data_root}/08_reporting/pretrain/metrics.json"))
    assert pretrain["nodes"] == 2 and pretrain["steps"] == 6
    for phase in ("distill", "apt"):
        metrics = json.loads(storage.read_bytes(
            f"{data_root}/08_reporting/posttrain/{phase}_metrics.json"))
        assert metrics["nodes"] == 2, (phase, metrics)
    assert "on 2 node(s)" in logs["evaluation"]
    # Every stage's outputs are on S3, its Ray Train checkpoints too; nothing was written here.
    outputs = storage.list_files(data_root)
    for expected in ("03_primary/clip_manifest.parquet", "06_models/teacher/model.safetensors",
                     "06_models/apt_best/model.safetensors", "08_reporting/evaluation/systems.csv"):
        assert expected in outputs, sorted(outputs)[:40]
    assert any(key.startswith("06_models/runs/pretrain-") and key.endswith("trainer_state.json")
               for key in outputs)
    assert _local_files(PROJECT_ROOT / "data") == local_before
    assert not (PROJECT_ROOT / "s3:").exists()
