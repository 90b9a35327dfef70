"""The collapse alarm (evaluation/collapse_alarm.py) read through the evaluation's own readers:
a frozen generator and a constant one raise it, one like the teacher does not, and selection
never serves an alarmed checkpoint."""

import numpy as np
import pandas as pd
import pytest
import torch

from seaweed_apt.config.evaluation import CollapseAlarmConfig
from seaweed_apt.evaluation.collapse_alarm import collapse_alarms
from seaweed_apt.evaluation.features import EffLite0Features, clip_features, video_frame_features
from seaweed_apt.evaluation.motion import read_motion
from seaweed_apt.evaluation.quality import diversity, to_float_videos
from seaweed_apt.evaluation.selection import select_checkpoint

ALARM = CollapseAlarmConfig(min_speed_ratio=0.5, min_diversity_ratio=0.5,
                            min_worst_class_ratio=0.5)


def _moving_items(count: int, seed: int) -> np.ndarray:
    """(count, 8, 32, 32, 3) uint8: a bright 10-px square of random shade bouncing along a
    random axis from a random start, 2 px per frame, on black."""
    rng = np.random.default_rng(seed)
    videos = np.zeros((count, 8, 32, 32, 3), np.uint8)
    for i in range(count):
        x, y = rng.integers(2, 20, size=2)
        dx, dy = [(2, 0), (0, 2), (2, 2)][i % 3]
        shade = rng.integers(120, 255)
        for frame in range(8):
            videos[i, frame, y:y + 10, x:x + 10] = shade
            if not 0 <= x + dx <= 22:
                dx = -dx
            if not 0 <= y + dy <= 22:
                dy = -dy
            x, y = x + dx, y + dy
    return videos


def _figures(videos: np.ndarray, captions: list[str], extractor) -> dict[str, float]:
    """What the evaluation's table holds for the alarm, from the same readers."""
    motion = read_motion(videos, 0.1, 0.25, 4)
    features = clip_features(video_frame_features(extractor, to_float_videos(videos)))
    return {"speed_px": float(motion.speed.mean()),
            "diversity_ratio": diversity(features, captions), "worst_class_accuracy": 0.8}


def test_a_frozen_or_constant_generator_raises_the_alarm_and_a_moving_varied_one_does_not():
    torch.manual_seed(0)
    extractor = EffLite0Features(image_size=64)
    captions = [f"item {i % 3}" for i in range(12)]  # 4 seeds of 3 prompts
    teacher = pd.Series(_figures(_moving_items(12, 0), captions, extractor))
    healthy = _moving_items(12, 1)
    frozen = np.repeat(healthy[:, :1], 8, axis=1)  # motion collapse: every frame the first
    constant = np.repeat(healthy[:1], 12, axis=0)  # mode collapse: one video for every seed
    table = pd.DataFrame([_figures(videos, captions, extractor)
                          for videos in (healthy, frozen, constant)],
                         index=["healthy", "frozen", "constant"])
    alarms = collapse_alarms(table, teacher, ALARM)
    assert alarms["healthy"] == ""
    assert "motion speed 0 <" in alarms["frozen"]
    assert "diversity across seeds 0 <" in alarms["constant"]
    assert "motion speed" not in alarms["constant"]


def test_a_class_given_up_or_a_missing_figure_raises_it_and_an_old_table_is_named():
    teacher = pd.Series({"speed_px": 1.0, "diversity_ratio": 1.0, "worst_class_accuracy": 0.4})
    table = pd.DataFrame({"speed_px": [1.0, 1.0], "diversity_ratio": [1.0, float("nan")],
                          "worst_class_accuracy": [0.1, 0.4]})
    alarms = collapse_alarms(table, teacher, ALARM)
    assert alarms.iloc[0] == "worst-class accuracy 0.1 < 0.5 x the teacher's 0.4"
    assert alarms.iloc[1].startswith("diversity across seeds nan")
    with pytest.raises(ValueError, match=r"reads \['speed_px'\]"):
        collapse_alarms(table.drop(columns="speed_px"), teacher, ALARM)


def _checkpoints(alarms: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"system": [f"apt_{s:05d}_1step" for s in (50, 100, 150)],
                         "prompt_set": "val", "checkpoint_step": [50, 100, 150],
                         "fd_efflite0": [900.0, 800.0, 700.0],
                         "conditional_accuracy": [0.8, 0.8, 0.8], "collapse_alarm": alarms})


def test_selection_never_serves_a_collapsed_checkpoint():
    record = select_checkpoint(_checkpoints(["", "", "motion speed 0 < 0.5 x ..."]), 0.8, 0.9)
    assert record["checkpoint_step"] == 100  # 150 has the lowest FD but collapsed
    assert "collapsed, never considered: updates [150]" in record["reason"]
    assert [row["collapse_alarm"] for row in record["candidates"]][2].startswith("motion")
    assert not record["collapsed"] and record["qualified"]
    # Every one alarmed: the rule runs over all of them, and the record says so.
    every = select_checkpoint(_checkpoints(["a", "b", "c"]), 0.8, 0.9)
    assert every["collapsed"] and not every["qualified"] and every["checkpoint_step"] == 150
    assert every["reason"].startswith("every checkpoint raised the collapse alarm (update 50: a")
