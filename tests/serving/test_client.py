"""`seaweed-apt generate`, the endpoint's command-line client, when no endpoint is running: one
line naming the URL, exit 2, no file written (it printed a 55-line urllib traceback before)."""

import logging
import socket

from seaweed_apt.cli import main


def test_generate_with_no_endpoint_names_the_url_and_exits_2(tmp_path, caplog):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    out = tmp_path / "video.mp4"
    with caplog.at_level(logging.ERROR):
        assert main(["generate", "a bag bouncing", "--url", url, "--out", str(out)]) == 2
    assert f"no endpoint answered at {url}" in caplog.text
    assert not out.exists()
