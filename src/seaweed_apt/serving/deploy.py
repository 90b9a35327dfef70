"""Put the app on a Ray cluster that outlives this process, update it in place, and smoke-test it.

With an address (`deployment.ray_address`, else `RAY_ADDRESS`, which a `ray job submit` driver
has), the app goes to that cluster. With neither, the endpoint runs on a local Ray head on
loopback started with `ray start` (detached from the Kedro or DVC process that deployed it, so
the endpoint stays up afterwards; `ray stop` ends it)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from seaweed_apt.ray_runtime import LOOPBACK_ENV
from seaweed_apt.serving.app import AppArgs, build_app

logger = logging.getLogger(__name__)

LOCAL_HEAD_PORT = 6390  # not Ray's default 6379, so a user's own local Ray is left alone


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout_s)
        return probe.connect_ex((host, port)) == 0


def start_local_head(num_cpus: int | None = None, port: int = LOCAL_HEAD_PORT,
                     dashboard: bool = True) -> str:
    """A detached Ray head on 127.0.0.1 (reused when one is already listening). With the
    dashboard (on 127.0.0.1:8265), `serve status` and `serve deploy <config>` work against it."""
    address = f"127.0.0.1:{port}"
    if port_open("127.0.0.1", port):
        return address
    ray_cli = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
    if ray_cli is None:
        raise RuntimeError("the `ray` command is not installed (pip install 'ray[serve]')")
    command = [ray_cli, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
               f"--include-dashboard={str(dashboard).lower()}", "--dashboard-host=127.0.0.1",
               "--disable-usage-stats",
               f"--num-cpus={num_cpus or os.cpu_count()}"]
    logger.info("starting a local Ray head for the endpoint: %s", " ".join(command))
    subprocess.run(command, check=True, capture_output=True, timeout=120,
                   env={**os.environ, **LOOPBACK_ENV})
    return address


def cluster_address(address: str | None) -> str | None:
    """The cluster the endpoint goes to: `address`, else `RAY_ADDRESS`; None means the local
    endpoint head."""
    return address or os.environ.get("RAY_ADDRESS") or None


def connect(address: str | None, dashboard: bool = True) -> bool:
    """Join `cluster_address(address)` (or the local endpoint head, started if needed). Returns
    True when this call connected (the caller then disconnects; the cluster and its apps stay)."""
    import ray

    if ray.is_initialized():  # already in a Ray (tests, a driver on a cluster): use it
        return False
    for key, value in LOOPBACK_ENV.items():
        os.environ.setdefault(key, value)
    ray.init(address=cluster_address(address) or start_local_head(dashboard=dashboard),
             log_to_driver=False)
    return True


def deploy_app(args: AppArgs, address: str | None = None, dashboard: bool = True) -> str:
    """Deploy, or update in place (same app name: Serve rolls the replicas over). Returns the
    base URL."""
    import ray
    from ray import serve

    limits = args.serve
    connected = connect(address, dashboard)
    try:
        serve.start(http_options={"host": limits.host, "port": limits.port})
        serve.run(build_app(args), name=limits.app_name, route_prefix=limits.route_prefix)
    finally:
        if connected:
            ray.shutdown()
    url = f"http://{limits.host}:{limits.port}{limits.route_prefix.rstrip('/')}"
    logger.info("endpoint %s serves %s", url, args.version or "production")
    return url


@dataclass(frozen=True)
class SmokeResult:
    url: str
    status: int
    model_version: str
    seed: str
    content_type: str
    bytes: int
    latency_s: float


def post_generate(url: str, body: dict, timeout_s: float = 120.0,
                  headers: dict | None = None) -> tuple[int, dict, bytes]:
    """POST `body` to `<url>/generate`: (status, headers, body) for any HTTP answer. Raises
    RuntimeError naming the URL when nothing answers (refused, unknown host, timed out)."""
    request = urllib.request.Request(f"{url}/generate", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json",
                                              **(headers or {})}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()
    except (urllib.error.URLError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise RuntimeError(f"no endpoint answered at {url} ({reason}): is it running? "
                           "`seaweed-apt serve` brings back the last deployment") from None


def smoke_test(url: str, prompt: str, seed: int, api_key: str | None = None
               ) -> tuple[SmokeResult, bytes]:
    """One request through HTTP, as a user would send it; raises if it does not return a video."""
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    started = time.perf_counter()
    status, response_headers, body = post_generate(url, {"prompt": prompt, "seed": seed},
                                                   headers=headers)
    latency = time.perf_counter() - started
    headers_lower = {k.lower(): v for k, v in response_headers.items()}
    if status != 200:
        raise RuntimeError(f"smoke test: POST {url}/generate returned {status}: {body[:300]!r}")
    result = SmokeResult(url, status, headers_lower.get("x-model-version", ""),
                         headers_lower.get("x-seed", ""), headers_lower.get("content-type", ""),
                         len(body), latency)
    logger.info("smoke test: %s", asdict(result))
    return result, body
