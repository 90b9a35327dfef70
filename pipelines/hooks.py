"""Project hooks: quiet, local and offline defaults for every run."""

from __future__ import annotations

import logging
import os

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
