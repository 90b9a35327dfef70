"""Motion figures that real motion has and a frozen frame lacks."""

from __future__ import annotations

import numpy as np


def motion_figures(videos: np.ndarray) -> dict[str, float]:
    """(B, T, H, W, 3) uint8 -> `motion`: mean |I(t+1) - I(t)| on [0, 1] pixels (0 for a frozen
    clip), and `coherence`: mean |I(t+2) - I(t)| over mean |I(t+1) - I(t)|. Frames that change at
    random (flicker) score ~1; an object that keeps moving drifts farther in two frames than in
    one and scores above 1 (up to 2); nan for a frozen clip."""
    x = videos.astype(np.float32) / 255.0
    if x.shape[1] < 3:
        raise ValueError("motion figures need clips of 3 frames or more")
    one = np.abs(x[:, 1:] - x[:, :-1]).mean()
    two = np.abs(x[:, 2:] - x[:, :-2]).mean()
    return {"motion": float(one), "coherence": float(two / one) if one > 0 else float("nan")}
