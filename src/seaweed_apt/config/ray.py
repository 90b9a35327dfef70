"""`ray` (conf/base/parameters.yml): where the training stages run."""

from __future__ import annotations

from pydantic import Field

from seaweed_apt.config.base import StrictConfig


class RayConfig(StrictConfig):
    """Where and how wide training runs.

    No address: a local Ray on loopback; an address: join that cluster."""

    address: str | None
    num_workers: int = Field(ge=1)
    use_gpu: bool
    cpus_per_worker: float = Field(gt=0.0)
    threads_per_worker: int = Field(ge=1, description="torch intra-op threads per worker")
    storage_path: str | None = Field(None, description="None: the catalog's run folder; or s3://")
    max_failures: int = Field(ge=0)
    cpu_bf16_autocast: bool = Field(description=(
        "training steps under bf16 autocast on CPU workers too (CUDA workers always are)"))
    worker_poll_interval_s: float = Field(gt=0.0, description=(
        "seconds between Ray Train's polls of the workers (its RAY_TRAIN_HEALTH_CHECK_INTERVAL_S, "
        "2 s by default); each poll takes one report, so the reports of a run's last steps "
        "and its end wait one interval each"))
