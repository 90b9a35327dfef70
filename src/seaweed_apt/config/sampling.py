"""`sampling` (conf/base/parameters_pretrain.yml): the fixed prompts and seeds of every sample
grid, read by pretrain, posttrain, evaluation and deployment."""

from __future__ import annotations

from pydantic import Field

from seaweed_apt.config.base import Seed, StrictConfig


class SamplingConfig(StrictConfig):
    """The fixed prompts and seeds of every sample grid (teacher now, one-step generator later)."""

    prompts: list[str] = Field(min_length=1)
    seeds: list[Seed] = Field(min_length=1)
    steps: int = Field(ge=1)
    cfg_scale: float = Field(ge=1.0)
    shift: float = Field(gt=0.0)
    fps: int = Field(ge=1)
    min_timing_s: float = Field(ge=0.0, description="repeat shorter passes to time them")
