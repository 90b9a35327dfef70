"""The report's tables from the per-clip rows: class by motion, confusion, the headline."""

import numpy as np
import pandas as pd

from seaweed_apt.evaluation.report import (
    class_motion_grid,
    class_motion_prompts,
    class_motion_video,
    confusion_matrix,
    headline_table,
)

NAMES = ["t-shirt", "", "bag"]  # "": a class the data lack


def _clips():
    rows = [("apt_1step", "test", 0, 0, "vertical", "vertical"),
            ("apt_1step", "test", 0, 2, "vertical", "horizontal"),
            ("apt_1step_unseen", "unseen", 2, 2, "diagonal", "diagonal"),
            ("teacher_25step", "test", 2, 2, "vertical", "vertical")]
    return pd.DataFrame(rows, columns=["system", "prompt_set", "label", "predicted", "axis",
                                       "axis_read"])


def test_class_by_motion_grid_counts_item_and_axis_and_marks_held_out_cells():
    grid = class_motion_grid(_clips(), "apt_1step", NAMES)
    assert list(grid.index) == ["t-shirt", "bag"]
    assert grid.loc["t-shirt", "vertical"] == "50% / 50% (2)"
    assert grid.loc["bag", "diagonal"] == "100% / 100% (1)*"  # from the unseen prompt set
    assert grid.loc["bag", "vertical"] == ""  # the teacher's clip is not APT's


def test_class_motion_prompts_take_the_real_clips_captions_class_major():
    rows = [("real_test", 0, "vertical", "a t-shirt bouncing up and down"),
            ("real_test", 0, "vertical", "a t-shirt moving up and down"),
            ("real_unseen", 2, "diagonal", "a bag bouncing diagonally"),
            ("apt_1step", 0, "horizontal", "a t-shirt bouncing left and right")]
    clips = pd.DataFrame(rows, columns=["system", "label", "axis", "caption"])
    prompts = class_motion_prompts(clips, NAMES)
    # t-shirt: horizontal, vertical, diagonal; then bag (the unnamed class has no row); a
    # generator's row is not a caption, so t-shirt moving horizontally has none
    assert prompts == [None, "a t-shirt bouncing up and down", None,
                       None, None, "a bag bouncing diagonally"]


def test_class_motion_video_puts_each_class_in_a_row_and_systems_in_blocks_of_axes():
    # System s draws class c in axis a as a frame of value 10*s + 3*c + a.
    videos = [np.stack([np.full((1, 2, 2, 3), 10 * s + 3 * c + a, np.uint8)
                        for c in range(2) for a in range(3)]) for s in range(2)]
    tiled = class_motion_video(videos, classes=2)
    step = 2 + 2  # tile plus gap
    assert tiled.shape == (1, 2 * step, 6 * step, 3)
    for c in range(2):
        for s in range(2):
            for a in range(3):
                top, left = c * step, (3 * s + a) * step
                assert tiled[0, top, left, 0] == 10 * s + 3 * c + a


def test_confusion_matrix_rows_asked_columns_read():
    matrix = confusion_matrix(_clips(), "apt_1step", NAMES)
    assert matrix.loc["t-shirt", "t-shirt"] == 1 and matrix.loc["t-shirt", "bag"] == 1
    assert matrix.to_numpy().sum() == 2


def test_headline_table_shows_spread_and_the_worst_class():
    summary = {"fd_efflite0_apt1": 1200.0, "fd_efflite0_apt1_spread": 40.0,
               "conditional_accuracy_apt1": 0.7, "conditional_accuracy_apt1_stderr": 0.036,
               "worst_class_accuracy_apt1": 0.2, "worst_class_apt1": "sneaker",
               "conditional_accuracy_apt1_unseen": 0.5}
    row = headline_table(summary).set_index("system").loc["APT, 1 step (served)"]
    assert row["FD-EffLite0 (lower better; blind to motion)"] == "1,200 ± 20"
    assert row["item accuracy"] == "0.7 ± 0.036"
    assert row["worst class accuracy"] == "0.2 (sneaker)"
    assert row["item accuracy (unseen)"] == "0.5"
