"""One request that cannot be generated fails alone: the others batched with it get their videos,
the same videos they get alone (issue case 14)."""

import numpy as np
import pytest
import torch

from seaweed_apt.registry.registry import ModelRegistry
from seaweed_apt.registry.stores import open_store
from seaweed_apt.serving.generator import OneStepGenerator, generate_per_request
from tests.registry.conftest import GENERATION, generator_files, metrics

LINEAGE = {"data": {"hash": "d1"}, "code": {"commit": "c1", "dirty": False}, "params_hash": "p1"}


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    registry = ModelRegistry(open_store(str(tmp_path_factory.mktemp("registry"))))
    registry.register(generator_files(0), metrics(400.0, 0.2), LINEAGE, GENERATION)
    return OneStepGenerator(registry, "v0001", device=torch.device("cpu"))


def test_a_request_that_raises_fails_alone_and_the_rest_get_their_videos(generator):
    def generate(prompts, seeds):  # the real generator, failing as it would on a bad input
        if "cannot be generated" in prompts:
            raise ValueError("this prompt cannot be generated")
        return generator.generate(prompts, seeds)

    jobs = [("a bag", [1]), ("cannot be generated", [2]), ("a sneaker", [3, 4]), ("a bag", [5])]
    results = generate_per_request(generate, jobs)
    assert isinstance(results[1], ValueError)
    for (prompt, seeds), videos in zip(jobs, results, strict=True):
        if prompt != "cannot be generated":
            assert videos.shape == (len(seeds), GENERATION["num_frames"], 32, 32, 3)
            assert np.array_equal(videos, generator.generate([prompt] * len(seeds), seeds))


def test_a_batch_that_succeeds_is_split_back_per_request(generator):
    jobs = [("a bag", [1]), ("a sneaker", [3, 4])]
    first, second = generate_per_request(generator.generate, jobs)
    together = generator.generate(["a bag", "a sneaker", "a sneaker"], [1, 3, 4])
    assert np.array_equal(first, together[:1]) and np.array_equal(second, together[1:])


def test_a_batch_of_one_raises_its_own_error(generator):
    def generate(prompts, seeds):
        raise ValueError("nothing can be generated")

    with pytest.raises(ValueError, match="nothing can be generated"):
        generate_per_request(generate, [("a bag", [1])])
