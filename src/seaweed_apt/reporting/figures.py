"""Loss curves, video grids and contact sheets (matplotlib on the Agg backend: no display)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def loss_curve_figure(history: list[dict], title: str, keys: tuple[str, ...] = ("loss",)):
    """One panel per metric key against the step."""
    figure, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.5), squeeze=False)
    steps = [h["step"] for h in history]
    for axis, key in zip(axes[0], keys, strict=True):
        axis.plot(steps, [h.get(key, np.nan) for h in history], lw=1.2)
        axis.set_xlabel("step")
        axis.set_ylabel(key)
        axis.grid(alpha=0.3)
        if key == "loss" and all(h.get(key, 0) > 0 for h in history):
            axis.set_yscale("log")
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def contact_sheet_png(videos: np.ndarray, labels: list[str], frames_shown: int = 6) -> bytes:
    """A PNG with one row per video (its label on the left) and evenly spaced frames across."""
    count, frames = videos.shape[:2]
    picks = np.linspace(0, frames - 1, min(frames_shown, frames)).round().astype(int)
    figure, axes = plt.subplots(count, len(picks), figsize=(1.3 * len(picks) + 3, 1.3 * count),
                                squeeze=False)
    for row in range(count):
        for column, frame in enumerate(picks):
            axis = axes[row][column]
            axis.imshow(videos[row, frame], interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(f"frame {frame}", fontsize=8)
        axes[row][0].set_ylabel(labels[row], rotation=0, ha="right", va="center", fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def frame_table_png(rows: dict[str, np.ndarray], column_labels: list[str], title: str) -> bytes:
    """A PNG table of still frames: one labelled row per entry of `rows` (N, H, W, 3), one
    column per label, e.g. how one prompt's sample changes from checkpoint to checkpoint."""
    figure, axes = plt.subplots(len(rows), len(column_labels),
                                figsize=(1.2 * len(column_labels) + 1.6, 1.2 * len(rows) + 0.6),
                                squeeze=False)
    for row, (label, images) in enumerate(rows.items()):
        for column, image in enumerate(images):
            axis = axes[row][column]
            axis.imshow(image, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(column_labels[column], fontsize=7)
        axes[row][0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()
