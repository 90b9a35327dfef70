"""Put the app on a Ray cluster that outlives this process, update it in place, and smoke-test it.

With an address (`deployment.ray_address`, else `RAY_ADDRESS`, which a `ray job submit` driver
has), the app goes to that cluster. With neither, the endpoint runs on a local Ray head on
loopback started with `ray start` (detached from the Kedro or DVC process that deployed it, so
the endpoint stays up afterwards; `seaweed-apt stop` ends it and no other Ray)."""

from __future__ import annotations

import json
import logging
import os
import re
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
from seaweed_apt.serving.app import AppArgs, build_app, http_options

logger = logging.getLogger(__name__)

LOCAL_HEAD_PORT = 6390  # not Ray's default 6379, so a user's own local Ray is left alone
DASHBOARD_PORT = 8265  # Ray's default: `serve status` and `serve deploy` look there


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
    if dashboard and port_open("127.0.0.1", DASHBOARD_PORT):
        # Ray's dashboard takes no other port when its own is taken (--port-retries=0): the
        # head would start with a dead dashboard, and `serve status` would reach the other Ray.
        logger.warning("127.0.0.1:%d already answers (another Ray's dashboard?): the endpoint's "
                       "head starts without a dashboard, so `serve status` and `serve deploy` "
                       "there reach that other Ray, not this endpoint", DASHBOARD_PORT)
        dashboard = False
    command = [ray_cli, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
               f"--include-dashboard={str(dashboard).lower()}", "--dashboard-host=127.0.0.1",
               f"--dashboard-port={DASHBOARD_PORT}",
               "--disable-usage-stats",
               f"--num-cpus={num_cpus or os.cpu_count()}"]
    logger.info("starting a local Ray head for the endpoint: %s", " ".join(command))
    subprocess.run(command, check=True, capture_output=True, timeout=120,
                   env={**os.environ, **LOOPBACK_ENV})
    return address


def stop_local_head(port: int = LOCAL_HEAD_PORT, grace_s: float = 10.0) -> int:
    """Stop the local endpoint head on 127.0.0.1:`port` (`start_local_head`) and nothing else.

    `ray stop` ends every Ray process of the user, a training run's or another project's
    included. This finds the head's session by its GCS server (`--gcs_server_port`), then every
    process whose command line names that session or the head's address (GCS, raylet, monitors),
    with their children (agents, workers, Serve's proxy and replicas), and stops them in
    `ray stop`'s order: the raylet, then the rest, the GCS server last (signalled together,
    the GCS server and raylet did not exit within 10 s). Each group gets SIGTERM, then SIGKILL
    after `grace_s` seconds. Returns how many processes were stopped (0: no head on that port)."""
    processes = _head_processes(port)
    if not processes:
        return 0
    killed = _stop_in_order(processes, grace_s)
    logger.info("stopped the Ray head on port %d: %d processes (%d killed after %.0f s)",
                port, len(processes), killed, grace_s)
    return len(processes)


def _head_processes(port: int) -> dict:
    """pid -> process of every process of the head whose GCS listens on `port`, with their
    children; empty when there is no such head."""
    import psutil

    def command_lines():  # (process, its arguments); [] where they cannot be read
        for process in psutil.process_iter(["cmdline"]):
            yield process, process.info["cmdline"] or []

    heads = [args for _, args in command_lines() if f"--gcs_server_port={port}" in args]
    if not heads:
        return {}

    def values(key: str) -> set[str]:
        return {arg.split("=", 1)[1] for args in heads for arg in args
                if arg.startswith(f"--{key}=")}

    # Whole words only: port 6390 must not match a Ray on 63901, nor a session a longer one.
    # The address on loopback, and on the node's own IP (a head `ray start` gave one).
    marks = {*values("session-name"), f"127.0.0.1:{port}",
             *(f"{ip}:{port}" for ip in values("node-ip-address"))}
    processes = {}
    for process, args in command_lines():
        if any(marks & set(re.split(r"[=/\s]", arg)) for arg in args):
            try:
                for member in (process, *process.children(recursive=True)):
                    processes[member.pid] = member
            except psutil.NoSuchProcess:
                pass
    return processes


def _stop_in_order(processes: dict, grace_s: float) -> int:
    """SIGTERM to the raylet, then the rest, the GCS server last, each group SIGKILLed after
    `grace_s` seconds; returns how many had to be killed."""
    import psutil

    def name(process) -> str:
        try:
            return process.name()
        except psutil.Error:
            return ""

    groups = [[p for p in processes.values() if name(p) == "raylet"],
              [p for p in processes.values() if name(p) not in ("raylet", "gcs_server")],
              [p for p in processes.values() if name(p) == "gcs_server"]]
    killed = 0
    for group in groups:
        for process in group:
            try:
                process.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(group, timeout=grace_s)
        for process in alive:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=grace_s)
        killed += len(alive)
    return killed


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
        serve.start(http_options=http_options(limits))
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
