"""moving-fashion: one or two Fashion-MNIST items bouncing in a square frame, as real mp4 files.

Train videos use only the train images and test videos only the t10k images, so no garment is seen
in both. Each item moves along one axis (or a diagonal) and reflects off the walls, which keeps the
caption true for every window cut from the video. Some (item, motion) compositions are held out:
no train video shows them, every `held_out_test_every`-th test video shows one (and the other test
videos only seen ones), so an evaluation can tell a model that composes the caption from one that
memorised its training captions.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from seaweed_apt.config.fetch import MovingFashionConfig
from seaweed_apt.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist
from seaweed_apt.data.raw_index import write_captions_table
from seaweed_apt.data.video_io import encode_video

logger = logging.getLogger(__name__)

ITEM_SIZE = 28
_AXES = {  # axis -> (unit direction, caption phrase)
    "horizontal": ((1.0, 0.0), "bouncing left and right"),
    "vertical": ((0.0, 1.0), "bouncing up and down"),
    "diagonal": ((0.7071, 0.7071), "bouncing diagonally"),
}
SOURCE_PACKAGE = "Debian dataset-fashion-mnist (Zalando Fashion-MNIST)"
LICENCE = "MIT"


@dataclass(frozen=True)
class MovingItem:
    label: int
    image_index: int
    axis: str
    trajectory: np.ndarray  # (T, 2) top-left (x, y) per frame


def bounce_trajectory(start: np.ndarray, velocity: np.ndarray, frames: int,
                      limit: float) -> np.ndarray:
    """Positions (T, 2) of a point moving at `velocity` inside [0, limit]^2, reflecting off
    walls."""
    position, velocity = start.astype(np.float64).copy(), velocity.astype(np.float64).copy()
    path = np.empty((frames, 2))
    for step in range(frames):
        path[step] = position
        position = position + velocity
        for axis in range(2):
            if position[axis] < 0:
                position[axis], velocity[axis] = -position[axis], -velocity[axis]
            elif position[axis] > limit:
                position[axis], velocity[axis] = 2 * limit - position[axis], -velocity[axis]
    return path


def sample_items(rng: np.random.Generator, labels: np.ndarray, config: MovingFashionConfig,
                 held_out: bool = False) -> list[MovingItem]:
    """One video's items: any image with an axis of a seen composition, or (`held_out`) an
    image of a held-out composition's class with that composition's axis."""
    count = int(rng.integers(1, config.max_items + 1))
    limit = config.frame_size - ITEM_SIZE
    unseen = [(CLASS_NAMES.index(item), axis) for item, axis in config.held_out_compositions]
    items = []
    for _ in range(count):
        if held_out:
            label, axis = unseen[int(rng.integers(len(unseen)))]
            image_index = int(rng.choice(np.flatnonzero(labels == label)))
        else:
            image_index = int(rng.integers(len(labels)))
            seen = [a for a in _AXES if (int(labels[image_index]), a) not in unseen]
            axis = str(rng.choice(seen))
        direction = np.array(_AXES[axis][0]) * rng.choice([-1.0, 1.0], size=2)
        speed = rng.uniform(*config.speed_px_per_frame)
        start = rng.uniform(0, limit, size=2)
        path = bounce_trajectory(start, direction * speed, config.frames_per_video, limit)
        items.append(MovingItem(int(labels[image_index]), image_index, axis, path))
    return items


def render_video(items: list[MovingItem], images: np.ndarray, frame_size: int) -> np.ndarray:
    """Frames (T, H, W, 3) uint8: items pasted on black, overlaps keep the brighter pixel."""
    frames_count = len(items[0].trajectory)
    canvas = np.zeros((frames_count, frame_size, frame_size), dtype=np.uint8)  # (T, H, W)
    for item in items:
        picture = images[item.image_index]  # (28, 28)
        for step, (x, y) in enumerate(np.rint(item.trajectory).astype(int)):
            window = canvas[step, y : y + ITEM_SIZE, x : x + ITEM_SIZE]
            np.maximum(window, picture, out=window)
    return np.repeat(canvas[..., None], 3, axis=-1)  # (T, H, W, 3)


def caption_for(items: list[MovingItem]) -> str:
    return " and ".join(f"a {CLASS_NAMES[item.label]} {_AXES[item.axis][1]}" for item in items)


def compose_moving_fashion(out_dir: str | Path, config: MovingFashionConfig,
                           num_workers: int = 1) -> int:
    """Write train/ and test/ mp4 videos and `captions.csv` under `out_dir`. Returns the video
    count."""
    out_dir = Path(out_dir)
    jobs = []
    rows = []
    for split, count in (("train", config.train_videos), ("test", config.test_videos)):
        images, labels = load_fashion_mnist(config.fashion_mnist_dir, split)
        (out_dir / split).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            # Seeded per video, so a changed count keeps every earlier video identical.
            rng = np.random.default_rng([config.seed, 0 if split == "train" else 1, index])
            held_out = split == "test" and (index + 1) % config.held_out_test_every == 0
            items = sample_items(rng, labels, config, held_out)
            relative = f"{split}/mf-{split}-{index:05d}.mp4"
            jobs.append((relative, items, images))
            rows.append({
                "file": relative,
                "caption": caption_for(items),
                "split_hint": split,
                "source_package": SOURCE_PACKAGE,
                "licence": LICENCE,
                "metadata": json.dumps({
                    "classes": [CLASS_NAMES[item.label] for item in items],
                    "labels": [item.label for item in items],
                    "image_split": split,
                    "image_indices": [item.image_index for item in items],
                    "axes": [item.axis for item in items],
                    "held_out_composition": held_out,
                    "trajectories": [np.round(item.trajectory, 2).tolist() for item in items],
                }),
            })

    def write(job: tuple) -> None:
        relative, items, images = job
        target = out_dir / relative
        if not target.exists():  # resumable: an interrupted fetch keeps what it finished
            encode_video(render_video(items, images, config.frame_size), target, config.fps)

    # ffmpeg runs in its own process, so threads overlap its start-up and encoding.
    with ThreadPoolExecutor(max_workers=max(1, num_workers)) as pool:
        for _ in tqdm(pool.map(write, jobs), total=len(jobs), desc="moving-fashion", unit="video"):
            pass
    write_captions_table(out_dir, rows)
    logger.info("moving-fashion: %d videos under %s", len(jobs), out_dir)
    return len(jobs)
