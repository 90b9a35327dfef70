"""`seaweed-apt stop` ends the endpoint's Ray head and no other Ray (`ray stop` ends them all)."""

import contextlib
import logging
import socket

import pytest

from seaweed_apt.cli import main
from seaweed_apt.serving.deploy import (
    DASHBOARD_PORT,
    port_open,
    start_local_head,
    stop_local_head,
)
from tests.helpers import free_port

pytestmark = pytest.mark.timeout(180)


def test_stop_ends_the_endpoint_head_and_leaves_another_ray_running(ray_local, capsys, caplog):
    import psutil
    import ray

    port = free_port()
    # Another Ray's dashboard holds 8265 (here a bare listener, unless one already does): the
    # head starts without its own, saying so, rather than with a dead one.
    with contextlib.ExitStack() as stack:
        if not port_open("127.0.0.1", DASHBOARD_PORT):
            listener = stack.enter_context(socket.socket())
            listener.bind(("127.0.0.1", DASHBOARD_PORT))
            listener.listen()
        with caplog.at_level(logging.WARNING, logger="seaweed_apt"):
            start_local_head(num_cpus=1, port=port, dashboard=True)
    assert f"127.0.0.1:{DASHBOARD_PORT} already answers" in caplog.text
    assert port_open("127.0.0.1", port)
    def our_ray_daemons() -> set[int]:  # this process's Ray: its GCS server and raylet
        return {process.pid for process in psutil.Process().children(recursive=True)
                if process.name() in ("gcs_server", "raylet")}

    ours = our_ray_daemons()
    assert len(ours) == 2
    assert stop_local_head(port) >= 3  # at least the GCS server, the raylet and a monitor
    assert not port_open("127.0.0.1", port)
    assert not any(f"--gcs_server_port={port}" in (process.info["cmdline"] or [])
                   for process in psutil.process_iter(["cmdline"]))
    # The suite's own Ray, started by this process, still runs tasks and kept its processes.
    assert ray.get(ray.remote(lambda: 41 + 1).remote()) == 42
    assert our_ray_daemons() == ours
    assert main(["stop", "--port", str(port)]) == 0
    assert f"no Ray head runs on port {port}" in capsys.readouterr().out
