import numpy as np
import pytest

from seaweed_apt.config.evaluation import EvaluatorConfig
from seaweed_apt.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist
from seaweed_apt.evaluation.data import LabelledClips
from seaweed_apt.evaluation.evaluator import evaluator_files, fit_evaluator, load_evaluator
from tests.helpers import base_config

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def _clips(split: str, count: int, seed: int) -> LabelledClips:
    """Real Fashion-MNIST garments at a random place on a 32x32 black frame, 2 frames each."""
    images, labels = load_fashion_mnist(FASHION_MNIST, split)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(images), count, replace=False)
    frames = np.zeros((count, 2, 32, 32, 3), np.uint8)
    for i, index in enumerate(pick):
        for t in range(2):
            y, x = rng.integers(0, 5, 2)
            frames[i, t, y:y + 28, x:x + 28] = images[index][..., None]
    return LabelledClips(frames, [CLASS_NAMES[k] for k in labels[pick]], labels[pick],
                         labels[pick].astype(np.int64), list(CLASS_NAMES), [""] * count)


@pytest.fixture(scope="module")
def fitted():
    config = base_config(EvaluatorConfig, "evaluation.evaluator", epochs=1, batch_size=64, lr=3e-3,
                         width=16)
    return fit_evaluator(_clips("train", 1500, 0), _clips("test", 300, 1), config)


def test_the_evaluator_beats_chance_by_a_wide_margin_on_real_test_clips(fitted):
    _, record = fitted
    assert record["chance_accuracy"] < 0.2
    assert record["test_clip_accuracy"] > 0.6
    assert record["test_clip_accuracy"] > 3 * record["chance_accuracy"]


def test_the_frozen_evaluator_round_trips_through_its_files(fitted):
    import torch

    model, record = fitted
    loaded, config = load_evaluator(evaluator_files(model, list(CLASS_NAMES), {"note": "x"}))
    frames = torch.randn(4, 3, 32, 32)
    torch.testing.assert_close(loaded(frames), model(frames))
    assert config["class_names"] == list(CLASS_NAMES) and config["note"] == "x"
    with pytest.raises(ValueError, match="evaluator files need"):
        load_evaluator({"evaluator.json": b"{}"})


def test_the_evaluator_reads_the_same_in_either_memory_layout(fitted):
    """Channels-last (the default, for speed) changes the layout, not the function: the same
    weights in the contiguous layout give the same logits."""
    import torch

    from seaweed_apt.evaluation.evaluator import ItemClassifier

    model, _ = fitted
    assert model.memory_format == torch.channels_last
    contiguous = ItemClassifier(model.head.out_features, model.num_features // 4,
                                torch.contiguous_format).eval()
    contiguous.load_state_dict(model.state_dict())
    frames = torch.randn(8, 3, 32, 32)
    torch.testing.assert_close(contiguous(frames), model(frames), atol=1e-4, rtol=1e-4)
