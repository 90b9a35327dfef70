"""The Serve deployment's options come from `deployment.serve`: fixed replicas or Serve's
autoscaling, the queue bound, a GPU per replica under conf/gpu."""

import pytest
from pydantic import ValidationError

from seaweed_apt.config.deployment import DeploymentConfig, ServeConfig
from seaweed_apt.config.loading import load_config
from seaweed_apt.serving.app import deployment_options
from tests.conftest import PROJECT_ROOT
from tests.helpers import base_config


def test_fixed_replicas_and_the_queue_bound_by_default():
    options = deployment_options(base_config(ServeConfig, "deployment.serve"))
    assert options["num_replicas"] == 1 and "autoscaling_config" not in options
    assert options["max_queued_requests"] == 64
    assert "num_gpus" not in options["ray_actor_options"]


def test_request_slots_hold_every_bounded_stage_and_the_proxy_has_deadlines():
    """Serve's slots per replica are bodies arriving + generation + reserved, so that full
    stages leave the reserved slots to /healthz; the proxy ends any request after
    request_timeout_s and idle connections after keep_alive_timeout_s, in both ways the app
    is started (deploy_app's serve.start and the serve config file)."""
    from seaweed_apt.serving.app import AppArgs, build_serve_config, http_options

    limits = base_config(ServeConfig, "deployment.serve")
    assert deployment_options(limits)["max_ongoing_requests"] == (
        limits.max_body_reads + limits.max_ongoing_requests + limits.reserved_requests)
    proxy = http_options(limits)
    assert proxy == {"host": "127.0.0.1", "port": limits.port,
                     "request_timeout_s": limits.request_timeout_s,
                     "keep_alive_timeout_s": limits.keep_alive_timeout_s}
    assert limits.body_timeout_s < limits.request_timeout_s
    args = AppArgs(registry_uri="data/09_registry", serve=limits)
    assert build_serve_config(args)["http_options"] == proxy


def test_autoscaling_replaces_the_fixed_count():
    limits = base_config(ServeConfig, "deployment.serve", autoscaling={
        "enabled": True, "min_replicas": 1, "max_replicas": 4, "target_ongoing_requests": 8})
    options = deployment_options(limits)
    assert "num_replicas" not in options
    assert options["autoscaling_config"] == {"min_replicas": 1, "max_replicas": 4,
                                             "target_ongoing_requests": 8.0}
    with pytest.raises(ValidationError, match="min_replicas 5 > max_replicas 4"):
        base_config(ServeConfig, "deployment.serve", autoscaling={
            "enabled": True, "min_replicas": 5, "max_replicas": 4, "target_ongoing_requests": 8})


def test_gpu_env_gives_each_replica_a_gpu():
    config = load_config(DeploymentConfig, PROJECT_ROOT / "conf", "gpu",
                         "parameters_deployment.yml", "deployment")
    assert deployment_options(config.serve)["ray_actor_options"]["num_gpus"] == 1


def test_the_endpoint_goes_to_the_cluster_a_job_driver_is_in(monkeypatch):
    """Under `ray job submit` the driver has RAY_ADDRESS: the app goes to that cluster, not to a
    local head of its own; a configured address wins; neither means the local head."""
    from seaweed_apt.serving.deploy import cluster_address

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert cluster_address(None) is None
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    assert cluster_address(None) == "10.0.0.5:6379"
    assert cluster_address("head:6379") == "head:6379"
