"""`curation`, `split` and `quality_gate` (conf/base/parameters_data_curation.yml): the
data_curation stage."""

from __future__ import annotations

from pydantic import Field, model_validator

from seaweed_apt.config.base import PositiveInt, Seed, StrictConfig


class CurationConfig(StrictConfig):
    """Decode, resize, cut and score: the shape every downstream stage trains on."""

    fps: int = Field(ge=1)
    width: int = Field(ge=8)
    height: int = Field(ge=8)
    clip_frames: int = Field(ge=2)
    default_stride_frames: int = Field(ge=1)
    # Short real footage needs overlapping windows to give enough clips; synthetic data does not.
    stride_frames_by_source: dict[str, PositiveInt]
    min_motion: float = Field(ge=0.0, description="mean |dI/dt| on [0, 1] pixels")
    max_clips_per_file: int = Field(ge=0, description="0: no limit")
    min_truncation_ratio: float = Field(
        gt=0.0, le=1.0,
        description="decoded/expected frames below this ratio marks a file truncated",
    )
    shard_size: int = Field(ge=1)
    files_per_task: int = Field(ge=1, description="raw files per Ray task (and candidate part)")
    num_workers: int = Field(ge=0, description="threads of the in-process path: 0, one per core")


class SplitConfig(StrictConfig):
    """Fractions of source videos (never windows) per split; a source's split hint wins."""

    val_fraction: float = Field(ge=0.0, lt=1.0)
    test_fraction: float = Field(ge=0.0, lt=1.0)
    seed: Seed

    @model_validator(mode="after")
    def _fractions_leave_a_train_split(self) -> SplitConfig:
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError("split: val_fraction + test_fraction must be < 1")
        return self


class QualityGateConfig(StrictConfig):
    """The Great Expectations gate: what fraction of clips may fail before the run stops."""

    max_failed_fraction: float = Field(ge=0.0, le=1.0)
    min_clips: int = Field(ge=1)
    max_motion: float = Field(gt=0.0)
