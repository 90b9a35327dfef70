"""The base of every parameter group: unknown keys refused, values frozen."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class StrictConfig(BaseModel):
    """A parameter group: a typo'd key fails naming the key, and nobody mutates a run's config."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# Bounded numbers used inside containers and across groups. Every numeric field of every group has
# its bound (tests/test_config.py walks them all), so a value no code can use is refused where the
# parameters are read, naming its key, not deep inside a node.
# A seed: numpy's SeedSequence refuses negatives; below 2**31 leaves room for the per-worker and
# per-sample offsets added to it.
Seed = Annotated[int, Field(ge=0, lt=2**31)]
PositiveInt = Annotated[int, Field(ge=1)]


class LoopConfig(StrictConfig):
    """The fields every training phase's config shares with the one training loop
    (`training/loop.py`): its batch, checkpoint cadence, logging window and seed."""

    batch_size: int = Field(ge=1, description="per worker")
    checkpoint_every: int = Field(ge=1)
    keep_checkpoints: int = Field(ge=1)
    log_every: int = Field(ge=1)
    seed: Seed
