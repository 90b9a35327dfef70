import torch

from seaweed_apt.config.text import TextEncoderConfig
from seaweed_apt.text.encoder import TextEncoder
from tests.helpers import base_config


def test_shipped_encoder_embeds_offline_and_separates_meanings():
    encoder = TextEncoder(base_config(TextEncoderConfig, "text_encoder", max_tokens=12))
    out = encoder.encode(["a sneaker bouncing left and right", "a sneaker moving left and right",
                          "glass skyscrapers lit at night"])
    # As the caption table stores it.
    assert out.tokens.shape == (3, 12, 384) and out.tokens.dtype == torch.float16
    assert out.mask.shape == (3, 12) and out.mask.dtype == torch.uint8
    assert out.mask[:, 0].all() and not out.mask[:, -1].any()
    assert out.pooled.dtype == torch.float32
    assert torch.allclose(out.pooled.norm(dim=1), torch.ones(3), atol=1e-4)
    similar, different = out.pooled[0] @ out.pooled[1], out.pooled[0] @ out.pooled[2]
    assert similar > different + 0.3
    assert (out.tokens[~out.mask.bool()] == 0).all()

    text = encoder.encode_text(["a sneaker bouncing left and right"])
    assert text.tokens.dtype == torch.float32 and text.mask.dtype == torch.bool
    assert torch.equal(text.tokens[0], out.tokens[0].float())
    assert torch.equal(text.pooled[0], out.pooled[0])
