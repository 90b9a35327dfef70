"""Kedro project settings."""

from kedro.config import OmegaConfigLoader

from pipelines.hooks import (
    PreflightHook,
    QuietLocalDefaultsHook,
    RayLifecycleHook,
    RunLifetimeHook,
)

# pluggy calls the last registered first: the run lock is taken first, then preflight runs,
# then Ray starts.
HOOKS = (QuietLocalDefaultsHook(), RayLifecycleHook(), PreflightHook(), RunLifetimeHook())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An env (conf/test, conf/gpu) overrides single fields instead of whole parameter groups.
    "merge_strategy": {"parameters": "soft"},
}
