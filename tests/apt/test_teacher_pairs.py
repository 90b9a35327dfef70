"""The teacher pairs' guidance: a negative prompt travels as a TextBatch and replaces the
learned null caption."""

import numpy as np
import torch

from seaweed_apt.apt.teacher_pairs import sample_teacher_pairs
from seaweed_apt.text.batch import TextBatch
from tests.helpers import random_text, tiny_model


def draw(model, negative):
    return sample_teacher_pairs(model, random_text(3), np.array([5, 6]), np.array([2, 0]),
                                (4, 16, 16), steps=2, cfg_scale=3.0, negative=negative)


def test_a_negative_prompt_replaces_the_null_caption_in_the_guidance():
    model = tiny_model(std=0.05).requires_grad_(False)
    learned_null = model.null_text(1)
    as_config_carries_it = TextBatch.from_arrays(
        *(a.tolist() for a in (learned_null.tokens, learned_null.mask, learned_null.pooled)))
    np.testing.assert_array_equal(draw(model, None), draw(model, as_config_carries_it))
    other = random_text(1, seed=9)
    assert not np.array_equal(draw(model, None), draw(model, other))
    assert draw(model, other).shape == (2, 4, 16, 16, 3)
    assert torch.equal(as_config_carries_it.mask, learned_null.mask)
