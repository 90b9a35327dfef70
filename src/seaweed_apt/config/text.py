"""`text_encoder` (conf/base/parameters_data_curation.yml): the caption encoder, shared by
curation, training, evaluation and serving."""

from __future__ import annotations

from pydantic import Field

from seaweed_apt.config.base import StrictConfig


class TextEncoderConfig(StrictConfig):
    """The frozen caption encoder; `model` is a package name that ships its weights."""

    model: str
    max_tokens: int = Field(ge=2)
    batch_size: int = Field(ge=1)
