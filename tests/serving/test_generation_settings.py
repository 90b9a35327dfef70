"""The endpoint makes videos as the registered files say (their config.json's generation block);
a version registered before files carried one is served from its manifest's settings."""

import json

import pytest

from seaweed_apt.serving.generator import served_generation
from seaweed_apt.training.checkpoint import CheckpointError
from tests.registry.conftest import GENERATION, GENERATION_BLOCK, generator_files


def test_the_files_block_is_what_is_served_even_where_the_manifest_says_otherwise():
    files = generator_files(0, generation={**GENERATION_BLOCK, "fps": 12, "num_frames": 8})
    generation = served_generation(files, {"generation": GENERATION}, "v0007")
    assert (generation.fps, generation.clip_shape) == (12, (8, 32, 32))
    assert generation.text_encoder.model == GENERATION["text_encoder"]["model"]


def test_a_version_registered_before_files_carried_a_block_is_served_from_its_manifest():
    generation = served_generation(generator_files(0, generation={}),
                                   {"generation": GENERATION}, "v0001")
    assert generation.clip_shape == (4, 32, 32) and generation.fps == 8
    assert generation.is_one_step
    with pytest.raises(CheckpointError, match="v0001 has no generation settings"):
        served_generation(generator_files(0, generation={}), {}, "v0001")


def test_a_multi_step_model_or_a_broken_block_is_refused_naming_the_version():
    teacher = generator_files(0, generation={**GENERATION_BLOCK, "num_inference_steps": 25,
                                             "guidance_scale": 3.0})
    with pytest.raises(ValueError, match="v0003 is a 25-step model"):
        served_generation(teacher, {"generation": GENERATION}, "v0003")
    broken = generator_files(0, generation={**GENERATION_BLOCK, "fps": 0})
    with pytest.raises(CheckpointError, match="v0004: invalid 'generation' block"):
        served_generation(broken, {}, "v0004")
    assert json.loads(broken["config.json"])["generation"]["fps"] == 0
