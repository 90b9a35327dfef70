"""Fashion-MNIST from Debian's `dataset-fashion-mnist` package (real Zalando images, MIT)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

CLASS_NAMES = (
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def load_fashion_mnist(folder: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Returns images (N, 28, 28) uint8 and labels (N,) int64 of the `train` or `test` split."""
    folder = Path(folder)
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    image_file, label_file = (folder / name for name in _FILES[split])
    if not image_file.exists():
        raise FileNotFoundError(
            f"{image_file} not found: install Debian's package with "
            "`apt-get install dataset-fashion-mnist` "
            "(or set fetch.moving_fashion.fashion_mnist_dir)"
        )
    with gzip.open(image_file, "rb") as handle:
        images = np.frombuffer(handle.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(label_file, "rb") as handle:
        labels = np.frombuffer(handle.read(), dtype=np.uint8, offset=8).astype(np.int64)
    if len(images) != len(labels):
        raise ValueError(f"{folder}: {len(images)} images but {len(labels)} labels")
    return images, labels
