"""Build and run a TorchTrainer for a training loop; scale comes from config, not from the loop."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from contextlib import contextmanager

from seaweed_apt.config.ray import RayConfig
from seaweed_apt.ray_runtime import ensure_ray
from seaweed_apt.storage import absolute

logger = logging.getLogger(__name__)

def run_name(stage: str, resolved: dict) -> str:
    """Same config -> same run name, so an interrupted run resumes from its checkpoints; a changed
    config starts a fresh run instead of resuming a stale one."""
    digest = hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()[:12]
    return f"{stage}-{digest}"


def fit(loop: Callable[[], dict | None], ray_config: RayConfig, storage_path: str, name: str,
        keep_checkpoints: int):
    """Run `loop` (its config bound into it) on `ray_config.num_workers` workers. Returns the
    Ray Train Result."""
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    ensure_ray(ray_config)
    resources = {"CPU": ray_config.cpus_per_worker}
    if ray_config.use_gpu:
        resources["GPU"] = 1
    storage = absolute(storage_path)
    trainer = TorchTrainer(
        train_loop_per_worker=loop,
        scaling_config=ScalingConfig(num_workers=ray_config.num_workers,
                                     use_gpu=ray_config.use_gpu,
                                     resources_per_worker=resources),
        run_config=RunConfig(
            name=name, storage_path=storage,
            checkpoint_config=CheckpointConfig(num_to_keep=keep_checkpoints),
            failure_config=FailureConfig(max_failures=ray_config.max_failures),
        ),
    )
    logger.info("training %s on %d worker(s) (gpu=%s), runs under %s", name,
                ray_config.num_workers, ray_config.use_gpu, storage)
    # Ray Train takes the interval from the driver's environment when it starts the run's
    # controller, and hands it on to the controller (ENV_VARS_TO_PROPAGATE).
    with environment(RAY_TRAIN_HEALTH_CHECK_INTERVAL_S=str(ray_config.worker_poll_interval_s)):
        return trainer.fit()


@contextmanager
def environment(**variables: str):
    """`variables` set in this process's environment for the block, then put back."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
