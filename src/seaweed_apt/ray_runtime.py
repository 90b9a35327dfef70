"""Joining or starting Ray on loopback: every Kedro run with Ray nodes, training and the tests
start Ray through here (the endpoint's detached head lives in `serving/deploy.py`)."""

from __future__ import annotations

import os

from seaweed_apt.config.ray import RayConfig

# A local Ray must never advertise the machine's external interface.
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled"}


def ensure_ray(ray_config: RayConfig) -> bool:
    """Connect to `ray_config.address`, else to the cluster `RAY_ADDRESS` names (a driver started
    by `ray job submit` has it set), else start a local Ray on loopback. Returns True when this
    call started or joined Ray (the caller then owns `ray.shutdown()`, which leaves a joined
    cluster running)."""
    import ray

    if ray.is_initialized():
        return False
    for key, value in LOOPBACK_ENV.items():
        os.environ.setdefault(key, value)
    address = ray_config.address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=True)
    else:
        # "local": a new Ray of our own, never the endpoint's detached head (`ray start`) that
        # a bare ray.init() would join.
        ray.init(address="local", include_dashboard=False, num_cpus=os.cpu_count(),
                 log_to_driver=True)
    return True
