"""Where a run's Ray comes from: the configured address, else RAY_ADDRESS (as `ray job submit`
sets it for a job's driver), else a private Ray on loopback."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.timeout(300)

PROBE = """
import json, ray
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.ray_runtime import ensure_ray
config = RayConfig(address=None, num_workers=1, use_gpu=False, cpus_per_worker=1,
                   threads_per_worker=1, max_failures=0)
ensure_ray(config)
print(json.dumps({"gcs": ray.get_runtime_context().gcs_address}))
ray.shutdown()
"""


def _gcs_address_seen(env: dict) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=240, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["gcs"]


def test_ray_address_in_the_environment_is_joined():
    from ray.cluster_utils import Cluster

    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    # A cluster of its own (not `ray start`, whose `ray stop` would end every Ray here).
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "node_ip_address": "127.0.0.1", "include_dashboard": False})
    try:
        assert _gcs_address_seen({**env, "RAY_ADDRESS": cluster.address}) == cluster.address
        assert _gcs_address_seen(env) != cluster.address  # no address: a private Ray
    finally:
        cluster.shutdown()
