"""Clients that send their bodies a byte at a time (issue 36, case 3) through the real endpoint
on 127.0.0.1: each body must arrive within `body_timeout_s` (a 408 in the error shape after it),
at most `max_body_reads` of them are waited for at once (the rest: an immediate 503), and
`/healthz` and a valid `/generate` from another client are answered meanwhile. The limits are
the test's own small ones, so that it takes seconds."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest

from seaweed_apt.config.deployment import ServeConfig
from seaweed_apt.registry.registry import ModelRegistry
from seaweed_apt.registry.stores import open_store
from tests.helpers import base_config
from tests.registry.conftest import GENERATION, generator_files, metrics

pytestmark = pytest.mark.timeout(300)

# The port of tests/serving/test_endpoint.py: Serve's proxy is started once per Ray session.
PORT, APP = 18123, "slow-clients-test"
LINEAGE = {"data": {"hash": "d1"}, "code": {"commit": "c1", "dirty": False}, "params_hash": "p1"}
BODY_TIMEOUT_S = 1.5
LIMITS = {"body_timeout_s": BODY_TIMEOUT_S, "max_body_reads": 40, "max_ongoing_requests": 8,
          "reserved_requests": 8, "max_batch_size": 4}
SLOW_BODY = b'{"prompt": "a bag bouncing up and down", "seed": 1, "format": "npy"}'
BYTE_EVERY_S = 0.5  # the whole body would take 34 s


@dataclass
class Answer:
    status: int  # 0: no answer
    body: bytes
    seconds: float  # from the request's headers to the answer


def slow_client(answers: list, body: bytes = SLOW_BODY, byte_every_s: float = BYTE_EVERY_S,
                give_up_s: float = 20.0, headers: bytes = b"") -> None:
    """POST /generate over a raw socket, the body a byte every `byte_every_s` s, until the
    server answers; appends the Answer."""
    started = time.perf_counter()
    data = b""
    with socket.create_connection(("127.0.0.1", PORT), timeout=give_up_s) as sock:
        sock.sendall(b"POST /generate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\n%s"
                     b"Content-Length: %d\r\n\r\n" % (headers, len(body)))
        started = time.perf_counter()
        for byte in body:
            if select.select([sock], [], [], byte_every_s)[0]:
                break  # the server answered before the body was sent
            try:
                sock.send(bytes([byte]))
            except OSError:
                break
        while time.perf_counter() - started < give_up_s:
            if not select.select([sock], [], [], 0.2)[0]:
                continue
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            data += chunk
            if not chunk or _complete(data):
                break
    seconds = time.perf_counter() - started
    if not data.startswith(b"HTTP/1.1 "):
        answers.append(Answer(0, data, seconds))
        return
    head, _, payload = data.partition(b"\r\n\r\n")
    answers.append(Answer(int(head.split()[1]), payload, seconds))


def _complete(data: bytes) -> bool:
    head, found, payload = data.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(payload) >= int(value)
    return False


# Serve's proxy lets a client lift its request_timeout_s and keep its request running after
# a hang-up (headers of Serve's HAProxy path): the endpoint's own deadline must hold anyway.
LIFT_PROXY_TIMEOUT = b"x-request-timeout-seconds: 0\r\nx-request-disconnect-disabled: ?1\r\n"


def start_slow_clients(count: int) -> tuple[list[threading.Thread], list[Answer]]:
    answers: list[Answer] = []
    threads = [threading.Thread(target=slow_client, args=(answers,), daemon=True,
                                kwargs={"headers": LIFT_PROXY_TIMEOUT if i % 2 else b""})
               for i in range(count)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # every client connected and sending
    return threads, answers


def timed_request(path: str, body: bytes | None = None, timeout_s: float = 10.0
                  ) -> tuple[int, float]:
    """(status, seconds); status 0 when nothing answered within `timeout_s`."""
    call = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=body,
                                  headers={"content-type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(call, timeout=timeout_s) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, TimeoutError):
        status = 0
    return status, time.perf_counter() - started


@pytest.fixture(scope="module")
def endpoint(ray_local, tmp_path_factory):
    from ray import serve

    from seaweed_apt.serving.app import AppArgs, build_app, http_options

    folder = tmp_path_factory.mktemp("registry")
    registry = ModelRegistry(open_store(str(folder)))
    registry.register(generator_files(0), metrics(400.0, 0.2), LINEAGE, GENERATION)
    registry.promote("v0001", "test")
    limits = base_config(ServeConfig, "deployment.serve", port=PORT, app_name=APP,
                         cpus_per_replica=0.5, threads=1, **LIMITS)
    serve.start(http_options=http_options(limits))
    serve.run(build_app(AppArgs(registry_uri=str(folder), serve=limits)), name=APP,
              route_prefix="/")
    assert timed_request("/generate", SLOW_BODY)[0] == 200  # warm: the text encoder loaded
    yield limits
    serve.delete(APP)


def test_slow_bodies_get_408_while_health_and_a_valid_request_are_answered(endpoint):
    """34 clients sending a byte every 0.5 s (the issue's load; half of them lifting the proxy's
    timeout): /healthz and another client's /generate are answered at once; each slow client
    gets a 408 in the error shape when its body_timeout_s is spent, not when it gives up."""
    threads, answers = start_slow_clients(34)
    health, health_s = timed_request("/healthz")
    valid, valid_s = timed_request("/generate", SLOW_BODY)
    for thread in threads:
        thread.join(timeout=30)
    assert (health, valid) == (200, 200), (health, health_s, valid, valid_s)
    assert health_s < BODY_TIMEOUT_S and valid_s < BODY_TIMEOUT_S + 5
    assert sorted(answer.status for answer in answers) == [408] * 34, answers[:3]
    for answer in answers:
        error = json.loads(answer.body)
        assert set(error) == {"error", "request_id"} and "body_timeout_s" in error["error"]
        assert BODY_TIMEOUT_S <= answer.seconds < BODY_TIMEOUT_S + 5


def test_slow_senders_beyond_max_body_reads_are_refused_at_once_and_health_stays(endpoint):
    """More slow senders than the replica waits for (max_body_reads = 40): the rest get a 503 in
    the error shape at once, so they never hold the request slots /healthz needs."""
    threads, answers = start_slow_clients(50)
    health, health_s = timed_request("/healthz")
    for thread in threads:
        thread.join(timeout=30)
    assert health == 200 and health_s < BODY_TIMEOUT_S, (health, health_s)
    statuses = [answer.status for answer in answers]
    assert len(statuses) == 50 and set(statuses) <= {408, 503}, statuses
    refused = [answer for answer in answers if answer.status == 503]
    assert len(refused) >= 1 and statuses.count(408) <= 40
    for answer in refused:
        assert answer.seconds < BODY_TIMEOUT_S
        assert "max_body_reads" in json.loads(answer.body)["error"]
    assert timed_request("/generate", SLOW_BODY)[0] == 200  # every slot was given back


def test_clients_that_hang_up_mid_body_give_their_slots_back(endpoint):
    """As many clients as max_body_reads send two bytes and close: the bound counts them out
    at once, so the next valid request is generated, not refused."""
    for _ in range(LIMITS["max_body_reads"]):
        with socket.create_connection(("127.0.0.1", PORT), timeout=5) as sock:
            sock.sendall(b"POST /generate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(SLOW_BODY), SLOW_BODY[:2]))
    time.sleep(0.5)
    assert timed_request("/generate", SLOW_BODY)[0] == 200
    assert timed_request("/healthz")[0] == 200
