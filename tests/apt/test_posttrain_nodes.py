"""posttrain's nodes: what they take from the teacher's files rather than from parameters."""

from seaweed_apt.config.posttrain import DistillConfig
from seaweed_apt.training.checkpoint import GENERATION_KEY, ModelFiles
from tests.helpers import base_config
from tests.registry.conftest import GENERATION


def test_the_negative_prompt_is_encoded_by_the_teachers_own_text_encoder():
    """The teacher's files name the encoder its captions came from (its generation block); the
    negative prompt must be encoded by that one, whatever `text_encoder` the parameters hold."""
    from pipelines.posttrain.nodes import _negative_text

    teacher = ModelFiles("/nowhere/teacher", {GENERATION_KEY: {
        **GENERATION, "text_encoder": {**GENERATION["text_encoder"], "max_tokens": 7},
        "prediction_type": "flow", "num_inference_steps": 2, "guidance_scale": 5.0,
        "shift": 1.0}})
    distill = base_config(DistillConfig, "posttrain.distill", negative_prompt="a blurry frame")
    text = _negative_text(distill, teacher)
    assert text.tokens.shape[:2] == (1, 7) and text.pooled.shape[0] == 1  # the teacher's 7
    assert _negative_text(base_config(DistillConfig, "posttrain.distill", negative_prompt=""),
                          teacher) is None
