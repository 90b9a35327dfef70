"""The picture of the pipeline: `kedro viz` (the `viz` extra) draws the five pipelines, and
`dvc dag` links the stages exactly as the Kedro pipelines pass data between them (a dataset one
pipeline writes and another reads is an edge in both, found through the catalog's paths)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

PIPELINES = ["data_curation", "pretrain", "posttrain", "evaluation", "deployment"]
BIN = Path(sys.executable).parent


def _paths(entry: dict) -> set[str]:
    """The data paths a catalog entry reads or writes (every string but its types; the curated
    clips name three)."""
    if "folders" in entry:
        return set(entry["folders"].values())
    return {value for key, value in entry.items()
            if isinstance(value, str) and key not in ("type", "dataset")}


def _kedro_edges() -> set[tuple[str, str]]:
    from kedro.framework.project import pipelines, settings
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    catalog = settings.CONFIG_LOADER_CLASS(conf_source=str(PROJECT_ROOT / settings.CONF_SOURCE),
                                           **settings.CONFIG_LOADER_ARGS)["catalog"]

    def paths(names) -> set[str]:
        return {path for name in names if name in catalog for path in _paths(catalog[name])}

    def linked(written: set[str], read: set[str]) -> bool:
        return any(r == w or r.startswith(w + "/") or w.startswith(r + "/")
                   for w in written for r in read)

    return {(a, b) for a in PIPELINES for b in PIPELINES if a != b and
            linked(paths(pipelines[a].all_outputs()), paths(pipelines[b].inputs()))}


def _dvc_edges() -> set[tuple[str, str]]:
    dot = subprocess.run([str(BIN / "dvc"), "dag", "--dot"], cwd=PROJECT_ROOT, check=True,
                         capture_output=True, text=True).stdout
    edges = set()
    for line in dot.splitlines():
        if "->" in line:
            a, b = (part.strip().strip(';"') for part in line.split("->"))
            if a in PIPELINES and b in PIPELINES:
                edges.add((a, b))
    return edges


def test_dvc_dag_links_the_stages_as_the_kedro_pipelines_pass_data():
    kedro = _kedro_edges()
    assert ("evaluation", "deployment") in kedro and ("pretrain", "posttrain") in kedro
    assert _dvc_edges() == kedro


def _free_port() -> int:
    """A free port below 49152 (kedro viz refuses the ephemeral range)."""
    for port in range(18760, 18860):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port in 18760-18859")


@pytest.mark.timeout(300)
def test_kedro_viz_draws_the_five_pipelines():
    port = _free_port()
    server = subprocess.Popen(
        [str(BIN / "kedro"), "viz", "run", "--host", "127.0.0.1", "--port", str(port),
         "--no-browser"], cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}, start_new_session=True)
    try:
        deadline, graph = time.monotonic() + 180, None
        while graph is None:
            assert server.poll() is None, server.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "kedro viz did not answer in 180 s"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/main", timeout=5) as r:
                    graph = json.loads(r.read())
            except OSError:
                time.sleep(1)
        assert {p["id"] for p in graph["pipelines"]} >= set(PIPELINES)
        names = {node["name"] for node in graph["nodes"]}
        assert {"pretrain_teacher", "adversarially_post_train", "deploy_endpoint"} <= {
            n.replace(" ", "_").lower() for n in names}, sorted(names)[:20]
    finally:
        # The whole process group: `kedro viz run` serves from a multiprocessing child that
        # outlives a SIGTERM to the parent (one listening server left per suite run before).
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
