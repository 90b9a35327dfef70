"""Endpoint throughput with dynamic batching against batch size 1, measured side by side in one run.

    python benchmarks/serve_load.py [--registry data/09_registry --clients 16 --requests 6]

Deploys the production generator of the registry on a local Ray (127.0.0.1), then for each
`max_batch_size` (1, then the batched setting, changed in place through `user_config`) sends
`clients` x `requests` POST /generate requests from concurrent clients over loopback HTTP. Prints
throughput, p50 / p99 latency, errors and the batch sizes the replica formed, for mp4 (at the
default display size) and npy responses; the goals are batched >= 4x the throughput of batch size
1 with 0 errors, and mp4 under batching within 1.5x of npy's throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PORT = 18200


def one_request(url: str, index: int, fmt: str, display_size: int | None = None
                ) -> tuple[float, int]:
    fields = {"display_size": display_size} if display_size and fmt != "npy" else {}
    body = json.dumps({"prompt": f"a sneaker bouncing left and right {index % 7}",
                       "seed": index, "format": fmt, **fields}).encode()
    call = urllib.request.Request(f"{url}/generate", data=body, method="POST",
                                  headers={"content-type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(call, timeout=300) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = -1
    return time.perf_counter() - started, status


def load(url: str, clients: int, per_client: int, fmt: str, display_size: int | None) -> dict:
    one_request(url, 0, fmt, display_size)  # warm-up
    total = clients * per_client
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda i: one_request(url, i, fmt, display_size),
                                range(total)))
    wall = time.perf_counter() - started
    latencies = sorted(seconds for seconds, _ in results)
    return {"requests": total, "errors": sum(status != 200 for _, status in results),
            "throughput_rps": total / wall, "p50_s": statistics.median(latencies),
            "p99_s": latencies[min(total - 1, round(0.99 * (total - 1)))], "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", default="data/09_registry")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=6, help="per client")
    parser.add_argument("--batch", type=int, default=16, help="the batched max_batch_size")
    parser.add_argument("--wait", type=float, default=0.05, help="batch_wait_timeout_s")
    parser.add_argument("--formats", default="npy,mp4")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the replica")
    parser.add_argument("--version", help="default: production, else the newest version")
    parser.add_argument("--display-size", type=int,
                        help="mp4 height in px (default: deployment.serve.display_size)")
    args = parser.parse_args()
    formats = args.formats.split(",")
    for key, value in {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled",
                       "HF_HUB_OFFLINE": "1"}.items():
        os.environ.setdefault(key, value)
    import ray
    from ray import serve

    from seaweed_apt.config.deployment import ServeConfig
    from seaweed_apt.config.loading import load_config
    from seaweed_apt.registry.registry import ModelRegistry
    from seaweed_apt.registry.stores import open_store
    from seaweed_apt.serving.app import AppArgs, build_app

    ray.init(address="local", include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": PORT})
    url = f"http://127.0.0.1:{PORT}"
    registry = str(Path(args.registry).resolve())
    models = ModelRegistry(open_store(registry))
    version = args.version or models.production() or models.versions()[-1]
    print(f"serving {version} of {registry}; {args.clients} clients x {args.requests} requests;"
          f" {args.threads} torch thread(s) in the replica; {os.cpu_count()} CPUs")
    rows = []
    for batch in (1, args.batch):
        limits = load_config(ServeConfig, "conf", "local", "parameters_deployment.yml",
                             "deployment.serve", port=PORT, max_batch_size=batch,
                             batch_wait_timeout_s=args.wait,
                             max_ongoing_requests=max(32, args.clients),
                             threads=args.threads)
        serve.run(build_app(AppArgs(registry_uri=registry, version=version, serve=limits)),
                  name="bench",
                  route_prefix="/")  # same app: only user_config changes, replicas stay
        for fmt in formats:
            figures = load(url, args.clients, args.requests, fmt, args.display_size)
            with urllib.request.urlopen(f"{url}/stats") as response:
                sizes = json.loads(response.read())["batch_sizes"][-figures["requests"]:]
            figures |= {"max_batch_size": batch, "format": fmt,
                        "mean_batch": statistics.mean(sizes) if sizes else 0.0}
            rows.append(figures)
            print(f"max_batch_size {batch:>2} {fmt}: {figures['throughput_rps']:.1f} req/s, "
                  f"p50 {figures['p50_s']:.3f} s, p99 {figures['p99_s']:.3f} s, errors "
                  f"{figures['errors']}/{figures['requests']}, mean batch "
                  f"{figures['mean_batch']:.1f}", flush=True)
    for fmt in formats:
        single, batched = (next(r for r in rows if r["format"] == fmt and
                                r["max_batch_size"] == b) for b in (1, args.batch))
        ratio = batched["throughput_rps"] / single["throughput_rps"]
        print(f"{fmt}: batching {args.batch} gives {ratio:.2f}x the throughput of batch size 1 "
              f"(goal >= 4x): {'met' if ratio >= 4 else 'NOT met'}")
    if {"mp4", "npy"} <= set(formats):
        mp4, npy = (next(r for r in rows if r["format"] == fmt and
                         r["max_batch_size"] == args.batch) for fmt in ("mp4", "npy"))
        ratio = npy["throughput_rps"] / mp4["throughput_rps"]
        print(f"under batching npy answers {ratio:.2f}x the requests per second of mp4 "
              f"(goal <= 1.5x): {'met' if ratio <= 1.5 else 'NOT met'}")
    serve.shutdown()
    ray.shutdown()


if __name__ == "__main__":
    main()
