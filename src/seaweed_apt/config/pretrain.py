"""`pretrain` (conf/base/parameters_pretrain.yml): stage A, the rectified-flow teacher."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from seaweed_apt.config.base import LoopConfig, StrictConfig


class ModelSpec(StrictConfig):
    """A named preset of `seaweed_apt.models.dit.PRESETS`, with field overrides."""

    preset: str
    overrides: dict[str, bool | int | float | str]

    # Checked where the YAML is read, so a typo fails before any worker starts.
    @field_validator("preset")
    @classmethod
    def _known_preset(cls, preset: str) -> str:
        from seaweed_apt.models.dit import PRESETS

        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}: choose one of {sorted(PRESETS)}")
        return preset

    @field_validator("overrides")
    @classmethod
    def _known_fields(cls, overrides: dict) -> dict:
        from dataclasses import fields

        from seaweed_apt.models.dit import DiTConfig

        unknown = sorted(set(overrides) - {field.name for field in fields(DiTConfig)})
        if unknown:
            raise ValueError(f"not fields of DiTConfig: {unknown}")
        return overrides

    @model_validator(mode="after")
    def _buildable(self) -> ModelSpec:
        """The preset with its overrides is a network DiTConfig accepts (its bounds: positive
        sizes, heads dividing the width), checked before any worker builds it."""
        from dataclasses import replace

        from seaweed_apt.models.dit import PRESETS

        replace(PRESETS[self.preset], **self.overrides)  # raises ValueError naming the field
        return self


class TimestepConfig(StrictConfig):
    kind: str = Field(pattern="^(logit_normal|uniform)$")
    mean: float
    std: float = Field(gt=0.0)
    shift: float = Field(gt=0.0)


class PretrainConfig(LoopConfig):
    """Stage A: the rectified-flow teacher (docs/method.md §1)."""

    model: ModelSpec
    steps: int = Field(ge=1)
    lr: float = Field(gt=0.0)
    weight_decay: float = Field(ge=0.0)
    warmup_steps: int = Field(ge=0)
    # After warm-up: "constant", or "cosine" down to lr x min_lr_fraction at the last step.
    lr_schedule: Literal["constant", "cosine"]
    min_lr_fraction: float = Field(ge=0.0, le=1.0)
    grad_clip: float = Field(gt=0.0)
    ema_decay: float = Field(ge=0.0, lt=1.0)
    ema_warmup: bool = Field(description="min(decay, (1+n)/(10+n)): for a random start")
    caption_dropout: float = Field(ge=0.0, lt=1.0)
    # Joint image-video training (docs/method.md §1, as the paper's stage A): this share of steps
    # trains on single frames, which teaches appearance and text at a fraction of a clip's cost.
    image_fraction: float = Field(ge=0.0, le=1.0)
    image_batch_size: int = Field(ge=1, description="per worker, on image steps")
    timesteps: TimestepConfig
