
import pytest
import torch

from seaweed_apt.models.dit import (
    PRESETS,
    VideoDiT,
    build_config,
    count_parameters,
    flops_per_sample,
)
from seaweed_apt.text.batch import TextBatch
from tests.helpers import random_text, tiny_model


@pytest.mark.parametrize("frames", [1, 3, 16])
def test_same_weights_take_images_and_videos(frames):
    model = tiny_model()
    x = torch.randn(2, 3, frames, 32, 32)
    out = model(x, torch.rand(2), random_text(2))
    assert out.shape == x.shape


def test_hidden_states_at_chosen_depths():
    model = tiny_model(depth=3)
    hidden = model.hidden_states(torch.randn(2, 3, 16, 32, 32), torch.rand(2),
                                 random_text(2), depths=(1, 3))
    assert len(hidden) == 2 and hidden[0].shape == (2, 8 * 8 * 8, 48)
    with pytest.raises(ValueError, match="depths"):
        model.hidden_states(torch.randn(1, 3, 16, 32, 32), torch.rand(1),
                            random_text(1), depths=(4,))


def test_text_changes_the_prediction_and_padding_is_ignored():
    model = tiny_model(std=0.05)
    x, t = torch.randn(1, 3, 4, 32, 32), torch.rand(1)
    text = random_text(1)
    base = model(x, t, text)
    other = TextBatch(torch.randn_like(text.tokens), text.mask, text.pooled)
    assert not torch.allclose(base, model(x, t, other))
    text.mask[:, 12:] = False
    padded = model(x, t, text)
    text.tokens[:, 12:] = 99.0  # masked tokens must not matter
    assert torch.allclose(padded, model(x, t, text), atol=1e-5)


def test_presets_and_overrides():
    assert count_parameters(VideoDiT(PRESETS["tiny"])) < 1_000_000
    assert build_config("cpu", {"depth": 2}).depth == 2
    with pytest.raises(ValueError, match="unknown model preset 'huge'"):
        build_config("huge")
    with pytest.raises(ValueError, match="deph"):
        build_config("cpu", {"deph": 2})
    # the largest GPU preset stays near 1B parameters (775M; docs/scaling.md)
    with torch.device("meta"):  # shapes only: no memory for 0.8B weights
        large = count_parameters(VideoDiT(PRESETS["gpu-large"]))
    assert 5e8 < large < 1.2e9
    cpu, tiny = (flops_per_sample(PRESETS[n], 16, 32, 32) for n in ("cpu", "tiny"))
    assert cpu > tiny


@pytest.mark.parametrize("frames", [1, 8])
def test_output_conv_starts_as_identity_and_then_acts_on_images_and_videos(frames):
    model = tiny_model(output_conv=True)
    plain = tiny_model(seed=None)
    for p in model.final.parameters():  # the zero-initialised head would give 0 everywhere
        torch.nn.init.normal_(p, std=0.05)
    plain.load_state_dict(model.state_dict(), strict=False)
    x, t, text = torch.randn(1, 3, frames, 16, 16), torch.rand(1), random_text(1)
    torch.testing.assert_close(model(x, t, text), plain(x, t, text))  # zero-init residual
    torch.nn.init.normal_(model.output_conv.weight, std=0.05)
    out = model(x, t, text)
    assert out.shape == x.shape and not torch.allclose(out, plain(x, t, text))


def test_x0_prediction_returns_the_velocity_of_its_clean_estimate():
    x0_model = tiny_model(prediction="x0")
    raw = tiny_model(seed=None)  # same weights, output read as it is
    for p in x0_model.final.parameters():
        torch.nn.init.normal_(p, std=0.05)
    raw.load_state_dict(x0_model.state_dict())
    x, text = torch.randn(3, 3, 8, 16, 16), random_text(3)
    t = torch.tensor([1.0, 0.5, 0.01])  # the last is below min_t and is clamped
    clean = raw(x, t, text)
    expected = (x - clean) / torch.tensor([1.0, 0.5, 0.05]).view(3, 1, 1, 1, 1)
    torch.testing.assert_close(x0_model(x, t, text), expected)
    # a one-step generator, x = z - v(z, t=1), then returns the clean estimate itself
    one = torch.ones(3)
    torch.testing.assert_close(x - x0_model(x, one, text), raw(x, one, text))
    with pytest.raises(ValueError, match="prediction 'eps'"):
        build_config("tiny", {"prediction": "eps"})
