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
    "AWS_EC2_METADATA_DISABLED": "true",
}


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
