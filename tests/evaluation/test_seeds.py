"""Evaluation noise seeds: disjoint across prompt sets and from every training and teacher-pair
seed any configuration can produce."""

import pytest

from seaweed_apt.apt.teacher_pairs import plan_teacher_pairs
from seaweed_apt.config.posttrain import DistillConfig
from seaweed_apt.evaluation.run import EVALUATION_SEED_BASE, prompt_seeds
from seaweed_apt.training.worker import step_seed
from tests.helpers import base_config

LARGEST_SEED = 2**31 - 1  # config.base.Seed's bound


def test_validation_test_and_unseen_seeds_are_disjoint_and_paraphrases_reuse_the_tests():
    val, test, unseen = (set(prompt_seeds(0, name, 160)) for name in ("val", "test", "unseen"))
    assert not val & test and not val & unseen and not test & unseen
    assert prompt_seeds(0, "paraphrase", 160) == prompt_seeds(0, "test", 160)
    assert not set(prompt_seeds(LARGEST_SEED, "val", 10_000)) & set(prompt_seeds(0, "test", 10))
    with pytest.raises(KeyError):
        prompt_seeds(0, "train", 1)


def test_no_evaluation_seed_is_a_teacher_pair_or_training_seed():
    config = base_config(DistillConfig, "posttrain.distill")
    pairs, _ = plan_teacher_pairs([0, 1, 2], config.regression_pairs, config.seed)
    evaluated = {s for name in ("val", "test", "unseen") for s in prompt_seeds(0, name, 1_000)}
    assert not evaluated & set(pairs.tolist())
    # The largest seeds any configuration can draw for training stay below the evaluation range.
    largest_pair, _ = plan_teacher_pairs([0], 10**7, LARGEST_SEED)
    assert int(largest_pair.max()) < EVALUATION_SEED_BASE
    assert step_seed(LARGEST_SEED, 1_000, 10**9) < EVALUATION_SEED_BASE
