"""The Ray Serve endpoint on a local Ray, over HTTP on 127.0.0.1: playable videos, batching,
malformed input answered with 4xx while the server stays up, the API key, the model card."""

from __future__ import annotations

import io
import json
import subprocess
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from seaweed_apt.config.deployment import ServeConfig
from seaweed_apt.registry.registry import ModelRegistry
from seaweed_apt.registry.stores import open_store
from tests.helpers import base_config
from tests.registry.conftest import GENERATION, generator_files, metrics
from tests.serving.cases import BAD_BODIES

pytestmark = pytest.mark.timeout(600)

PORT, APP, KEY = 18123, "endpoint-test", "test-key"
URL = f"http://127.0.0.1:{PORT}"
LINEAGE = {"data": {"hash": "d1"}, "code": {"commit": "c1", "dirty": False}, "params_hash": "p1"}


@pytest.fixture(scope="module")
def endpoint(ray_local, tmp_path_factory):
    from ray import serve

    from seaweed_apt.serving.app import (
        AppArgs,
        VideoGenerator,
        build_app,
        deployment_options,
        http_options,
    )

    folder = tmp_path_factory.mktemp("registry")
    registry = ModelRegistry(open_store(str(folder)))
    registry.register(generator_files(0), metrics(400.0, 0.2), LINEAGE, GENERATION)
    registry.promote("v0001", "test")
    limits = base_config(ServeConfig, "deployment.serve", port=PORT, app_name=APP, max_batch_size=8,
                         batch_wait_timeout_s=0.2, cpus_per_replica=0.5, threads=1)
    options = deployment_options(limits)
    # The key reaches the replica's process through its runtime environment.
    options["ray_actor_options"]["runtime_env"] = {"env_vars": {limits.api_key_env: KEY}}
    app = VideoGenerator.options(**options).bind(AppArgs(registry_uri=str(folder), serve=limits))
    serve.start(http_options=http_options(limits))
    serve.run(app, name=APP, route_prefix="/")
    # A model registered with the wrong text width: it loads, and every generation fails.
    broken = ModelRegistry(open_store(str(folder / "broken")))
    broken.register(generator_files(0, text_dim=64), metrics(400.0, 0.2), LINEAGE, GENERATION)
    broken.promote("v0001", "test")
    limits = limits.model_copy(update={"app_name": "broken", "route_prefix": "/broken"})
    serve.run(build_app(AppArgs(registry_uri=str(folder / "broken"), serve=limits)),
              name="broken", route_prefix="/broken")
    yield URL
    serve.delete("broken")
    serve.delete(APP)


def request(path: str, body: bytes | None = None, key: str | None = KEY,
            method: str | None = None) -> tuple[int, dict, bytes]:
    headers = {"content-type": "application/json"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    call = urllib.request.Request(f"{URL}{path}", data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(call, timeout=120) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, \
                response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def generate(**body) -> tuple[int, dict, bytes]:
    return request("/generate", json.dumps(body).encode())


def ffprobe(path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                          "-show_entries", "stream=codec_name,width,height,r_frame_rate,"
                          "nb_read_frames", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["streams"][0]


def test_generate_returns_a_playable_mp4_with_version_and_seed(endpoint, tmp_path):
    status, headers, body = generate(prompt="a sneaker bouncing left and right", seed=3)
    assert status == 200, body[:300]
    assert headers["content-type"] == "video/mp4"
    assert headers["x-model-version"] == "v0001" and headers["x-seed"] == "3"
    (tmp_path / "video.mp4").write_bytes(body)
    stream = ffprobe(tmp_path / "video.mp4")
    assert stream["codec_name"] == "h264"
    # 32x32 frames shown at deployment.serve.display_size (256): each pixel an 8x8 block.
    assert (stream["width"], stream["height"]) == (256, 256)
    assert int(stream["nb_read_frames"]) == GENERATION["num_frames"]
    assert stream["r_frame_rate"] == "8/1"
    status, headers, body = generate(prompt="a sneaker bouncing left and right", seed=3,
                                     display_size=64)
    assert status == 200 and headers["x-video-shape"] == "1x4x32x32x3"
    (tmp_path / "small.mp4").write_bytes(body)
    assert (ffprobe(tmp_path / "small.mp4")["width"], ffprobe(tmp_path / "small.mp4")["height"]) \
        == (64, 64)


def test_same_seed_same_video_several_videos_and_formats(endpoint):
    first = np.load(io.BytesIO(generate(prompt="a bag", seed=5, num_videos=2, format="npy")[2]))
    status, headers, body = generate(prompt="a bag", seed=5, num_videos=2, format="npy")
    assert status == 200 and headers["x-seed"] == "5,6"
    again = np.load(io.BytesIO(body))
    assert again.shape == (2, 4, 32, 32, 3) and again.dtype == np.uint8
    assert np.array_equal(first, again)
    assert not np.array_equal(again[0], again[1])  # seeds 5 and 6 differ
    status, headers, body = generate(prompt="a bag", seed=5, format="gif")
    assert status == 200 and headers["content-type"] == "image/gif" and body[:4] == b"GIF8"


def test_concurrent_requests_are_batched(endpoint):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: generate(prompt=f"item {i}", seed=i, format="npy"),
                                range(8)))
    assert all(status == 200 for status, _, _ in results)
    assert [h["x-seed"] for _, h, _ in results] == [str(i) for i in range(8)]
    _, _, stats = request("/stats")
    assert max(json.loads(stats)["batch_sizes"]) > 1


def test_one_bad_request_among_valid_ones_fails_alone(endpoint):
    """Five valid requests and one lone-surrogate prompt sent together: the bad one is a 422,
    every valid one gets its video (all six of a batch used to fail with a 500)."""
    bodies = [json.dumps({"prompt": f"item {i}", "seed": i, "format": "npy"}).encode()
              for i in range(5)]
    bodies.insert(2, b'{"prompt": "a bag \\ud800 bouncing", "format": "npy"}')
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda body: request("/generate", body), bodies))
    statuses = [status for status, _, _ in results]
    assert statuses == [200, 200, 422, 200, 200, 200], [body[:200] for _, _, body in results]
    assert "prompt" in json.loads(results[2][2])["error"]


@pytest.mark.parametrize(("name", "body", "status"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_malformed_request_gets_4xx(endpoint, name, body, status):
    got, headers, answer = request("/generate", body)
    assert got == status, answer[:300]
    assert "error" in json.loads(answer) and headers["x-request-id"]


def test_the_api_describes_itself_and_its_docs_need_no_internet(endpoint):
    status, _, body = request("/openapi.json", key=None)
    spec = json.loads(body)
    assert status == 200 and {"/generate", "/healthz", "/model", "/stats"} <= set(spec["paths"])
    schema = spec["paths"]["/generate"]["post"]["requestBody"]["content"]["application/json"]
    assert schema["schema"]["title"] == "GenerateBody"
    status, headers, page = request("/docs", key=None)
    assert status == 200 and headers["content-type"].startswith("text/html")
    # Swagger UI's script comes from the endpoint itself, not from a CDN.
    script = next(line for line in page.decode().splitlines() if "swagger-ui-bundle.js" in line)
    assert "http" not in script, script
    path = script.split('src="')[1].split('"')[0]
    status, _, bundle = request(path, key=None)
    assert status == 200 and len(bundle) > 100_000


def test_auth_routes_and_health_after_bad_input(endpoint):
    assert request("/generate", b'{"prompt": "a bag"}', key=None)[0] == 401
    assert request("/generate", b'{"prompt": "a bag"}', key="wrong")[0] == 401
    assert request("/generate", method="GET")[0] == 405
    assert request("/nowhere")[0] == 404
    status, _, body = request("/healthz")
    assert status == 200 and json.loads(body)["model_version"] == "v0001"
    assert json.loads(body)["api_key_required"] is True  # the operator can see it is on
    assert json.loads(request("/broken/healthz", key=None)[2])["api_key_required"] is False
    card = json.loads(request("/model")[2])
    assert card["lineage"] == LINEAGE and card["metrics"]["fd_efflite0_apt1"] == 400.0
    assert card["files_sha256"]["model.safetensors"]


def test_a_failed_generation_is_a_500_with_a_request_id_and_the_server_stays_up(endpoint):
    status, headers, body = request("/broken/generate", b'{"prompt": "a bag", "seed": 1}',
                                    key=None)
    assert status == 500
    answer = json.loads(body)
    assert answer["request_id"] == headers["x-request-id"] and "failed" in answer["error"]
    assert request("/broken/healthz", key=None)[0] == 200
    assert generate(prompt="a bag", seed=1)[0] == 200  # the other app is unaffected


class _Load:
    """A bounded load on loopback: `count` requests from `threads` clients; counts what is in
    flight so a fault can be charged against it."""

    def __init__(self, count: int, threads: int):
        import threading

        self.count, self.threads = count, threads
        self.lock = threading.Lock()
        self.in_flight = 0
        self.done = 0
        self.results: list[tuple[int, float]] = []

    def one(self, index: int) -> tuple[int, float]:
        import time

        with self.lock:
            self.in_flight += 1
        start = time.perf_counter()
        try:
            status = generate(prompt=f"item {index % 5}", seed=index, format="npy")[0]
        except OSError:  # connection reset: also an error
            status = 0
        latency = time.perf_counter() - start
        with self.lock:
            self.in_flight -= 1
            self.done += 1
            self.results.append((status, latency))
        return status, latency

    def run(self):
        with ThreadPoolExecutor(self.threads) as pool:
            return pool.map(self.one, range(self.count))

    def errors(self) -> int:
        return sum(status != 200 for status, _ in self.results)

    def percentiles(self) -> tuple[float, float]:
        latencies = np.array([latency for _, latency in self.results])
        return float(np.percentile(latencies, 50)), float(np.percentile(latencies, 99))


def _replica_processes(app: str) -> list:
    import psutil

    return [process for process in psutil.process_iter(["cmdline"])
            if f"ServeReplica:{app}:" in " ".join(process.info["cmdline"] or [])]


# Kills a replica: the last test of this module, so nothing after it depends on the old one.
def test_under_load_no_errors_and_a_killed_replica_costs_at_most_the_requests_in_flight(
        endpoint, capsys):
    import signal
    import threading
    import time

    steady = _Load(count=64, threads=8)
    start = time.perf_counter()
    list(steady.run())
    wall = time.perf_counter() - start
    p50, p99 = steady.percentiles()
    with capsys.disabled():
        print(f"\nendpoint load: {steady.count} requests, {steady.threads} clients, "
              f"{steady.errors()} errors, p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
              f"{steady.count / wall:.1f} req/s")
    assert steady.errors() == 0 and wall < 120

    (victim,) = _replica_processes(APP)
    faulted = _Load(count=48, threads=4)
    runner = threading.Thread(target=lambda: list(faulted.run()))
    runner.start()
    while faulted.done < 12:
        time.sleep(0.01)
    with faulted.lock:  # nothing starts or ends between the count and the kill
        in_flight = faulted.in_flight
        victim.send_signal(signal.SIGKILL)
    runner.join(timeout=240)
    assert not runner.is_alive() and len(faulted.results) == 48
    with capsys.disabled():
        print(f"replica killed with {in_flight} request(s) in flight: {faulted.errors()} failed")
    assert faulted.errors() <= in_flight
    (restarted,) = _replica_processes(APP)
    assert restarted.pid != victim.pid  # Ray started a new replica
    assert request("/healthz")[0] == 200 and generate(prompt="a bag", seed=2)[0] == 200
