"""Project hooks: local and offline defaults, Ray's lifecycle, preflight, and a run's lifetime
(it dies with its runner and never shares its data root with another live run)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)

# Nothing in a run may reach beyond this machine: no telemetry, no model hub, Ray on loopback.
LOCAL_DEFAULTS = {
    "KEDRO_DISABLE_TELEMETRY": "1",
    "DVC_NO_ANALYTICS": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "disabled",
}
# Not here: AWS_EC2_METADATA_DISABLED. It keeps boto3 from probing 169.254.169.254 for an instance
# role, right on a laptop (the Makefile sets it for `make demo` and `make test`) and wrong on a
# cluster node, whose S3 access is usually that role: a run there must find it.


def apply_local_defaults() -> None:
    for key, value in LOCAL_DEFAULTS.items():
        os.environ.setdefault(key, value)


class QuietLocalDefaultsHook:
    @hook_impl
    def after_context_created(self, context) -> None:
        apply_local_defaults()

    @hook_impl
    def before_pipeline_run(self, run_params: dict) -> None:
        logger.info("seaweed-apt: running pipeline(s) %s in env %s",
                    run_params.get("pipeline_names") or ["__default__"], run_params.get("env"))


class RayLifecycleHook:
    """Starts a local Ray on loopback (or joins `ray.address`) before a pipeline with nodes tagged
    `ray`, and shuts down only a Ray it started."""

    def __init__(self) -> None:
        self._started = False

    @hook_impl
    def before_pipeline_run(self, run_params: dict, pipeline, catalog) -> None:
        if not any("ray" in node.tags for node in pipeline.nodes):
            return
        from seaweed_apt.config.ray import RayConfig
        from seaweed_apt.ray_runtime import ensure_ray

        apply_local_defaults()
        self._started = ensure_ray(RayConfig.model_validate(catalog.load("params:ray")))

    def _shutdown(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._shutdown()

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._shutdown()


class PreflightHook:
    """Checks that every input of the run exists before its first node
    (and before Ray starts: pluggy calls the hook registered last first)."""

    @hook_impl
    def before_pipeline_run(self, run_params: dict, pipeline, catalog) -> None:
        from pipelines.preflight import preflight

        preflight(pipeline, catalog)
        logger.info("seaweed-apt: preflight passed (the inputs of %d nodes exist)",
                    len(pipeline.nodes))


# The catalog's `${runtime_params:data_root,data}`: every dataset lives under this root.
DEFAULT_DATA_ROOT = "data"
RUN_LOCK_FILE = ".seaweed-apt-run.lock"


class RunInProgress(RuntimeError):
    """Another live run works on the same data root."""


def run_data_root(run_params: dict) -> Path | None:
    """The data root this run reads and writes (`--params data_root=...`, else data/ in the
    project; relative to the project, as Kedro makes catalog paths); None for a storage URI."""
    root = str((run_params.get("runtime_params") or {}).get("data_root") or DEFAULT_DATA_ROOT)
    if "://" in root:
        return None
    path = Path(root).expanduser()
    return path if path.is_absolute() else Path(run_params["project_path"]) / path


class RunLifetimeHook:
    """A run dies with its runner and never works beside another run on its data root.

    Under `dvc repro` (DVC_STAGE set) the run watches that dvc process from the start; when it is
    gone (SIGKILL, the OOM killer) the run kills what it started (Ray, ffmpeg) and exits, so a
    rerun does not find the old stage still writing. A stage whose dvc is already gone refuses to
    start. Outside DVC (a terminal, `nohup`) nothing is watched: such a run is its own runner.

    Every run holds an flock on `<data root>/.seaweed-apt-run.lock` from before preflight and Ray
    to its end; the kernel drops it when the run ends, however it ends. A second run refuses at
    once, naming the live one, rather than waiting: the live one is either an orphan of a killed
    runner, whose outputs the new run would rebuild after waiting for it, or a run someone started
    on purpose; either way a person decides (DVC's own locks refuse the same way)."""

    def __init__(self) -> None:
        self._lock = None

    @hook_impl
    def after_context_created(self, context) -> None:
        from seaweed_apt.lifetime import die_with, dvc_runner

        runner = dvc_runner()
        if runner is not None:
            die_with(runner)

    @hook_impl
    def before_pipeline_run(self, run_params: dict) -> None:
        from seaweed_apt.lifetime import LockBusy, ProcessLock

        # Still held by an earlier run in this process (a test, a notebook) whose start failed.
        self._release()
        root = run_data_root(run_params)
        if root is None:
            logger.warning("seaweed-apt: the data root is a storage URI: no run lock guards it "
                           "against a second run")
            return
        lock = ProcessLock(root / RUN_LOCK_FILE)
        try:
            lock.acquire()
        except LockBusy as busy:
            pid = busy.holder.get("pid", "<pid>")
            raise RunInProgress(
                f"data root {root} is in use by a live run: {busy.holder_text}. Two runs over one "
                f"data root would write the same files: wait for that run to end, or end it "
                f"(kill {pid}), then run again.") from None
        self._lock = lock

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._release()

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._release()
