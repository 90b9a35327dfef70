"""Where a run's Ray comes from: the configured address, else RAY_ADDRESS (as `ray job submit`
sets it for a job's driver), else a private Ray on loopback."""

import json
import os
import subprocess
import sys

import pytest

from seaweed_apt.ray_runtime import NO_STATE_API
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.timeout(300)

PROBE = """
import json, ray
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.ray_runtime import ensure_ray
config = RayConfig(address=None, num_workers=1, use_gpu=False, cpus_per_worker=1,
                   threads_per_worker=1, max_failures=0, cpu_bf16_autocast=False,
                   worker_poll_interval_s=0.5)
ensure_ray(config)


@ray.remote
def state_api_answer():  # what Ray Train's PlacementGroupCleaner asks in a worker
    from ray.util.state import get_actor
    try:
        return repr(get_actor("ff" * 16, timeout=5))
    except Exception as error:
        return f"{type(error).__name__}: {error}"


print(json.dumps({"gcs": ray.get_runtime_context().gcs_address,
                  "state_api": ray.get(state_api_answer.remote())}))
ray.shutdown()
"""


def _probes(*envs: dict) -> list[dict]:
    """PROBE in one process per environment, all at once (each mostly waits for its Ray)."""
    running = [subprocess.Popen([sys.executable, "-c", PROBE], env=env, cwd=PROJECT_ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for env in envs]
    answers = []
    for process in running:
        stdout, stderr = process.communicate(timeout=240)
        assert process.returncode == 0, stderr[-3000:]
        answers.append(json.loads(stdout.strip().splitlines()[-1]))
    return answers


def test_ray_address_in_the_environment_is_joined():
    from ray.cluster_utils import Cluster

    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    # A cluster of its own (not `ray start`, whose `ray stop` would end every Ray here).
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "node_ip_address": "127.0.0.1", "include_dashboard": False})
    try:
        joined, private = _probes({**env, "RAY_ADDRESS": cluster.address}, env)
        assert joined["gcs"] == cluster.address
        assert private["gcs"] != cluster.address
        # Its workers' State API is refused at once, never answered by another Ray's dashboard
        # on 127.0.0.1:8265 (the endpoint's head after a make demo), which made Ray Train's
        # placement-group cleaner give up and log 8 lines at every training launch.
        assert private["state_api"].startswith("ServerUnavailable") and \
            NO_STATE_API in private["state_api"], private["state_api"]
    finally:
        cluster.shutdown()
