"""The Ray Serve application: `POST /generate`, `GET /healthz`, `GET /model`, `GET /stats`, and
the API's description at `/openapi.json` and `/docs` (the FastAPI app of `serving/api.py`,
the deployment's ingress).

    serve run data/08_reporting/deployment/serve_config.yaml     (what the deployment stage writes)
    seaweed-apt serve                                             (the same, from the CLI)
"""

# No `from __future__ import annotations` here: FastAPI reads the route methods' annotations
# (`request: Request`) at runtime, and through serve.ingress a postponed one was not resolved
# (the route then asked for a query parameter named request: a 422 on every POST).
import asyncio
import json
import logging
import os
import time
from pathlib import Path

from fastapi import Request
from pydantic import BaseModel, ConfigDict, field_validator
from ray import serve
from ray.serve import Application
from starlette.responses import Response

from seaweed_apt.config.deployment import ServeConfig
from seaweed_apt.registry.registry import ModelRegistry
from seaweed_apt.registry.stores import open_store
from seaweed_apt.serving.api import (
    GENERATE_ROUTE,
    BatchStats,
    Health,
    ModelCard,
    api,
    error_response,
    request_id,
)
from seaweed_apt.serving.requests import (
    FORMATS,
    BadRequest,
    GenerateRequest,
    StageBound,
    check_api_key,
    parse_generate_request,
    read_body,
    require_key_beyond_loopback,
)

logger = logging.getLogger("ray.serve")


class AppArgs(BaseModel):
    """The typed arguments of `build_app` (the `args:` of a Serve config file)."""

    model_config = ConfigDict(extra="forbid")

    registry_uri: str  # conf: deployment.registry.uri
    endpoint_url: str | None = None
    registry_max_attempts: int | None = None  # conf: deployment.registry.max_attempts
    version: str | None = None  # None: whatever production points at when a replica starts
    status: str = "production"  # or "preview": a version the promotion gate did not promote
    status_note: str = ""
    serve: ServeConfig  # conf: deployment.serve

    @field_validator("registry_uri")
    @classmethod
    def _absolute_folder(cls, uri: str) -> str:
        """Replicas may start in another working directory: a local registry path is made
        absolute where the app is built."""
        return uri if "://" in uri else str(Path(uri).expanduser().resolve())


@serve.deployment(name="VideoGenerator")
@serve.ingress(api)
class VideoGenerator:
    def __init__(self, args: AppArgs) -> None:
        import torch

        from seaweed_apt.serving.generator import OneStepGenerator

        self.args = args
        self.limits = args.serve
        self.api_key = os.environ.get(args.serve.api_key_env) or None
        require_key_beyond_loopback(args.serve.host, self.api_key, args.serve.api_key_env)
        if not torch.cuda.is_available():
            torch.set_num_threads(args.serve.threads)
        registry = ModelRegistry(open_store(args.registry_uri, args.endpoint_url,
                                            args.registry_max_attempts))
        self.generator = OneStepGenerator(registry, args.version)
        self.manifest = self.generator.model_version.manifest
        self.batch_sizes: list[int] = []  # requests per batch formed, last 1,000 (GET /stats)
        # Serve holds a request slot from the headers on: a body that trickles in keeps it, so
        # the bodies waited for are bounded (each also by body_timeout_s), as is generation, and
        # the reserved_requests slots stay free for /healthz whatever slow senders do.
        self.body_reads = StageBound(args.serve.max_body_reads, "max_body_reads",
                                     "sending their bodies to")
        self.generations = StageBound(args.serve.max_ongoing_requests, "max_ongoing_requests",
                                      "being generated on")

    def reconfigure(self, user_config: dict) -> None:
        """Batching knobs from `user_config`, changed in place without a restart."""
        self._generate_batch.set_max_batch_size(int(user_config["max_batch_size"]))
        self._generate_batch.set_batch_wait_timeout_s(float(user_config["batch_wait_timeout_s"]))

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.05)
    async def _generate_batch(self, jobs: list[tuple[str, list[int]]]) -> list:
        """Every request of the batch in one generation; results split back, a request that
        fails alone gets its exception (`generate_per_request`)."""
        from seaweed_apt.serving.generator import generate_per_request

        self.batch_sizes = (self.batch_sizes + [len(jobs)])[-1000:]
        return await asyncio.to_thread(generate_per_request, self.generator.generate, jobs)

    @api.get("/healthz", summary="Liveness, and which model answers")
    def healthz(self) -> Health:
        return Health(status="ok", model_version=self.generator.version,
                      model_status=self.args.status, api_key_required=self.api_key is not None)

    @api.get("/model", summary="The served model's card: lineage, metrics, generation settings")
    def model(self) -> ModelCard:
        return ModelCard(**self.model_card())

    @api.get("/stats", summary="Batch sizes Ray Serve formed")
    def stats(self) -> BatchStats:
        return BatchStats(batch_sizes=self.batch_sizes)

    @api.post("/generate", **GENERATE_ROUTE)
    async def generate(self, request: Request) -> Response:
        try:
            return await self._generate(request)
        except BadRequest:
            raise  # the API's handler answers it in the error shape
        except Exception:
            logger.exception("request %s failed", request_id(request))
            return error_response(request, 500,
                                  "generation failed; the server log has the details")

    async def _generate(self, request: Request) -> Response:
        check_api_key(self.api_key, dict(request.headers))
        limits = self.limits
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limits.max_body_bytes:
            raise BadRequest(413, f"body is {declared} bytes; the limit "
                                  "(deployment.serve.max_body_bytes) is "
                                  f"{limits.max_body_bytes}")
        with self.body_reads.admit():
            try:
                raw = await read_body(request.stream(), limits.max_body_bytes,
                                      limits.body_timeout_s)
            except BadRequest:
                raise
            except Exception as error:  # the client hung up mid-body (TaskCancelledError)
                logger.info("request %s: the body could not be read (%s)", request_id(request),
                            type(error).__name__)  # a line, not a traceback per dropped client
                raise BadRequest(400, "the connection closed before the body was complete"
                                 ) from None
        job = parse_generate_request(raw, limits, height=self.generator.geometry[1])
        with self.generations.admit():
            return await self._generate_job(request, job)

    async def _generate_job(self, request: Request, job: GenerateRequest) -> Response:
        started = time.perf_counter()
        videos = await self._generate_batch((job.prompt, job.seeds))
        if isinstance(videos, Exception):
            raise videos  # this request's own failure: a 500 for it alone
        from seaweed_apt.serving.generator import encode_response

        body = await asyncio.to_thread(encode_response, videos, job.format, self.generator.fps,
                                       job.scale, self.limits.mp4_preset)
        seconds = time.perf_counter() - started
        logger.info("request %s: %d video(s) %r seeds %s as %s in %.3f s", request_id(request),
                    job.num_videos, job.prompt[:60], job.seeds, job.format, seconds)
        return Response(body, media_type=FORMATS[job.format], headers={
            "x-model-version": self.generator.version,
            "x-model-status": self.args.status,
            "x-seed": ",".join(map(str, job.seeds)),
            "x-video-shape": "x".join(map(str, videos.shape)),
            "x-generation-seconds": f"{seconds:.4f}",
        })

    def model_card(self) -> dict:
        manifest = self.manifest
        return {"model_version": self.generator.version, "model_status": self.args.status,
                "status_note": self.args.status_note, "created_at": manifest["created_at"],
                "files_sha256": manifest["files"], "lineage": manifest["lineage"],
                "metrics": manifest["metrics"], "generation": manifest["generation"],
                "device": str(self.generator.device)}


def deployment_options(limits: ServeConfig) -> dict:
    """`serve.deployment` options from `deployment.serve`: replicas (fixed, or Serve's
    autoscaling), CPUs and GPUs per replica, request slots and the queue bound, and the batching
    `user_config`. A replica's slots are those of its three stages (bodies arriving, generation,
    the rest), each bounded in the replica."""
    actor = {"num_cpus": limits.cpus_per_replica}
    if limits.gpus_per_replica:
        actor["num_gpus"] = limits.gpus_per_replica
    scaling = limits.autoscaling
    replicas = ({"autoscaling_config": scaling.model_dump(exclude={"enabled"})}
                if scaling.enabled else {"num_replicas": limits.num_replicas})
    return {**replicas,
            "max_ongoing_requests": (limits.max_body_reads + limits.max_ongoing_requests
                                     + limits.reserved_requests),
            "max_queued_requests": limits.max_queued_requests,
            "ray_actor_options": actor,
            "user_config": {"max_batch_size": limits.max_batch_size,
                            "batch_wait_timeout_s": limits.batch_wait_timeout_s}}


def build_app(args: AppArgs | dict) -> Application:
    """The typed app builder `serve run` calls (with a config file's `args:` it may hand over
    the plain dict: validated here, so a wrong key fails before any replica starts)."""
    if not isinstance(args, AppArgs):
        args = AppArgs.model_validate(args)
    return VideoGenerator.options(**deployment_options(args.serve)).bind(args)


def http_options(limits: ServeConfig) -> dict:
    """Serve's `http_options` (the proxies', cluster-wide, read when Serve starts)."""
    return {"host": limits.host, "port": limits.port,
            "request_timeout_s": limits.request_timeout_s,
            "keep_alive_timeout_s": limits.keep_alive_timeout_s}


def build_serve_config(args: AppArgs) -> dict:
    """The `serve deploy` / `serve run` config file for the same application."""
    limits = args.serve
    return {
        "proxy_location": "EveryNode",
        "http_options": http_options(limits),
        "applications": [{
            "name": limits.app_name, "route_prefix": limits.route_prefix,
            "import_path": "seaweed_apt.serving.app:build_app",
            "args": json.loads(args.model_dump_json()),
            "deployments": [{"name": "VideoGenerator", **deployment_options(limits)}],
        }],
    }
