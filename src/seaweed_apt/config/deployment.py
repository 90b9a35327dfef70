"""`deployment` (conf/base/parameters_deployment.yml): registry, promotion gate and endpoint."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from seaweed_apt.config.base import Seed, StrictConfig


class RegistryConfig(StrictConfig):
    """Where model versions live: a local folder or `s3://bucket/prefix`."""

    uri: str
    endpoint_url: str | None = Field(description="S3-compatible store (MinIO, moto)")
    max_attempts: int = Field(
        ge=1, description="S3 calls: attempts in all (botocore's standard retry mode, "
                          "exponential backoff with jitter) before a store error is raised")


class PromotionGateConfig(StrictConfig):
    """A candidate is promoted only if it is not worse than production by these margins; the first
    model must beat the trivial baselines of evaluation (uniform noise, the mean frame)."""

    fd_margin_fraction: float = Field(ge=0.0, description="FD may rise by this fraction")
    accuracy_margin: float = Field(ge=0.0, le=1.0, description="accuracy may fall by this")
    motion_axis_margin: float = Field(
        ge=0.0, le=1.0, description="motion following may fall by this (first model: must beat "
                                    "always-one-axis by it)")
    class_accuracy_ratio_min: float = Field(
        ge=0.0, le=1.0, description="every class keeps this share of its teacher's accuracy on it")


class AutoscalingConfig(StrictConfig):
    """Ray Serve's `autoscaling_config`: replicas follow the requests in flight per replica."""

    enabled: bool = Field(description="false: a fixed num_replicas")
    min_replicas: int = Field(ge=0)
    max_replicas: int = Field(ge=1)
    target_ongoing_requests: float = Field(gt=0.0)

    @model_validator(mode="after")
    def _min_below_max(self) -> AutoscalingConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas {self.min_replicas} > max_replicas "
                             f"{self.max_replicas}")
        return self


class ServeConfig(StrictConfig):
    """The Ray Serve application: limits on requests and the batching knobs (`user_config`)."""

    app_name: str
    route_prefix: str
    host: str
    port: int = Field(ge=1, le=65535)
    num_replicas: int = Field(ge=1, description="fixed replicas when autoscaling is off")
    autoscaling: AutoscalingConfig
    max_queued_requests: int = Field(
        ge=-1, description="requests waiting for a replica beyond which Serve answers 503 at "
                           "once; -1: no bound (Ray's default)")
    cpus_per_replica: float = Field(gt=0.0)
    gpus_per_replica: float = Field(ge=0.0)
    max_batch_size: int = Field(ge=1)
    batch_wait_timeout_s: float = Field(ge=0.0)
    max_ongoing_requests: int = Field(
        ge=1, description="requests a replica generates or holds for their batch (at least "
                          "max_batch_size); beyond it an immediate 503")
    max_body_reads: int = Field(
        ge=1, description="requests a replica waits for the body of at once; beyond it an "
                          "immediate 503, so slow senders cannot take every request slot")
    reserved_requests: int = Field(
        ge=1, description="request slots per replica beyond those two, for /healthz, /model, "
                          "/stats, /docs (Serve's max_ongoing_requests is the sum of the three)")
    body_timeout_s: float = Field(gt=0.0, description="a request's whole body must arrive "
                                                      "within this; after it a 408")
    request_timeout_s: float = Field(
        gt=0.0, description="Serve's http_options.request_timeout_s: the proxy's end-to-end "
                            "bound on a request (a 408 in Serve's own words after it)")
    keep_alive_timeout_s: int = Field(ge=1, description="Serve's http_options: an idle "
                                                        "connection is closed after this")
    max_prompt_chars: int = Field(ge=1)
    max_body_bytes: int = Field(ge=64)
    max_json_depth: int = Field(ge=1, description="arrays/objects nested deeper: a 400 before "
                                                  "the body is parsed")
    max_num_videos: int = Field(ge=1)
    display_size: int = Field(ge=1, description="mp4/GIF height in pixels when a request names "
                                                "none: the frames upscaled by a whole factor, "
                                                "without smoothing (npy: the model's frames)")
    max_display_size: int = Field(ge=1, le=4096, description="the largest display_size a "
                                                            "request may ask for")
    mp4_preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium",
                        "slow", "slower", "veryslow"] = Field(
        description="x264's speed against size for mp4 answers")
    api_key_env: str = Field(description="set it to require this key")
    threads: int = Field(ge=1, description="torch threads per replica on CPU")

    @model_validator(mode="after")
    def _consistent_bounds(self) -> ServeConfig:
        if self.max_ongoing_requests < self.max_batch_size:
            raise ValueError(f"max_ongoing_requests {self.max_ongoing_requests} < max_batch_size "
                             f"{self.max_batch_size}: batches could never fill")
        if self.request_timeout_s <= self.body_timeout_s:
            raise ValueError(f"request_timeout_s {self.request_timeout_s} <= body_timeout_s "
                             f"{self.body_timeout_s}: the proxy would cut a slow body off "
                             "before the endpoint answers it")
        return self


class DeploymentConfig(StrictConfig):
    """The deployment stage: registry, gate, endpoint and its smoke test."""

    registry: RegistryConfig
    gate: PromotionGateConfig
    serve: ServeConfig
    deploy: bool = Field(description="false: register and gate only, start no endpoint")
    serve_experiments: bool = Field(
        description="false: under `dvc exp run` the stage registers, promotes and deploys "
                    "nothing and reports what the gate would decide against production")
    ray_address: str | None = Field(description="None: a local Ray head on 127.0.0.1")
    dashboard: bool = Field(description="the local head's dashboard on 127.0.0.1:8265 "
                                        "(serve status, serve deploy)")
    preview_when_no_production: bool = Field(
        description="nothing in production and the gate refused: serve the candidate "
                    "marked 'preview' (headers, /model) so the path can be seen working")
    smoke_prompt: str
    smoke_seed: Seed
