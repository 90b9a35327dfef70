"""Joining or starting Ray on loopback: every Kedro run with Ray nodes, training and the tests
start Ray through here (the endpoint's detached head lives in `serving/deploy.py`)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from seaweed_apt.config.ray import RayConfig

# A local Ray must never advertise the machine's external interface.
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled"}

# The State API server of our own local Ray, which has none (see ensure_ray).
NO_STATE_API = "http://127.0.0.1:0"

# Ray Train V2 loggers that make a healthy run read like a failing one, and the level each is
# raised to in every worker of our runs (a fresh-clone `make demo` log had 1,286 of its first
# 1,807 lines from the first; issue 22). Real warnings and errors of Ray stay visible.
QUIETER_LOGGERS = {
    # Polls the State API every second to clean up after a dead controller; a Ray without its
    # dashboard (ours: it would double an idle Ray's 2 GiB) has no State API, so it warns
    # "temporarily unavailable" each time, for the whole run.
    "ray.train.v2._internal.execution.controller.placement_group_cleaner": logging.ERROR,
    # Echoes every `ray.train.report` at INFO as `TrainingReport(...)`: our progress bars and
    # the stage's own log say the same.
    "ray.train.v2._internal.execution.context": logging.WARNING,
}


def quieter_ray_train_logs() -> None:
    """Ray's `worker_process_setup_hook`: raise the levels of `QUIETER_LOGGERS` in a worker.

    Each logger is named both ways Ray names them: by module (`__name__`) and by file path (Ray
    2.60's execution/context.py uses `__file__`). The path is built from `ray.__file__` rather
    than by importing the module, which would cost every worker ~1.4 s of start-up."""
    import ray

    ray_root = Path(ray.__file__).parent
    for module, level in QUIETER_LOGGERS.items():
        file = ray_root.joinpath(*module.split(".")[1:]).with_suffix(".py")
        for name in (module, str(file)):
            logging.getLogger(name).setLevel(level)


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
    runtime_env = {"worker_process_setup_hook": quieter_ray_train_logs}
    if address:
        ray.init(address=address, log_to_driver=True, runtime_env=runtime_env)
    else:
        # "local": a new Ray of our own, never the endpoint's detached head (`ray start`) that
        # a bare ray.init() would join. It has no dashboard, so no State API. Unnamed, the API
        # server defaults to 127.0.0.1:8265, the endpoint head's dashboard once it runs: Ray
        # Train's PlacementGroupCleaner asks it about a controller it cannot know, exits, and
        # each training launch logs "Failed to register placement group with cleaner" (8 lines,
        # reproduced beside a `ray start --head`). Port 0 refuses at once: the API reads as
        # unavailable, as with no other Ray running, and the cleaner waits quietly.
        runtime_env["env_vars"] = {"RAY_API_SERVER_ADDRESS": NO_STATE_API}
        ray.init(address="local", include_dashboard=False, num_cpus=os.cpu_count(),
                 log_to_driver=True, runtime_env=runtime_env)
    return True
