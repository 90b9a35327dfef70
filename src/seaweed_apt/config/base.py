"""The base of every parameter group: unknown keys refused, values frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictConfig(BaseModel):
    """A parameter group: a typo'd key fails naming the key, and nobody mutates a run's config."""

    model_config = ConfigDict(extra="forbid", frozen=True)
