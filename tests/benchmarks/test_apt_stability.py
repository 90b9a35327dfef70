"""benchmarks/apt_stability.py's verdict: a figure that falls off after its best is named."""

import importlib.util
import sys
from pathlib import Path

import pandas as pd

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # as when run as a script: it imports posttrain_seeds
PATH = BENCHMARKS / "apt_stability.py"
spec = importlib.util.spec_from_file_location("apt_stability", PATH)
apt_stability = importlib.util.module_from_spec(spec)
spec.loader.exec_module(apt_stability)


def checkpoints(accuracy: list[float], fd: list[float]) -> pd.DataFrame:
    steps = [100 * (i + 1) for i in range(len(fd))]
    return pd.DataFrame({"checkpoint_step": steps, "fd_efflite0": fd,
                         "fd_efflite0_spread": [10.0] * len(fd),
                         "conditional_accuracy": accuracy, "motion_axis_accuracy": [0.9] * len(fd),
                         "worst_class_accuracy": [0.5] * len(fd), "speed_ratio": [0.9] * len(fd),
                         "diversity_ratio": [1.0] * len(fd)})


def test_a_steady_run_holds():
    rows = apt_stability.verdict(checkpoints([0.80, 0.81, 0.80], [990.0, 960.0, 955.0]), 160)
    assert not any(r["falls_off"] for r in rows.values())
    assert rows["fd_efflite0"]["best_update"] == 300


def test_accuracy_and_fd_that_fall_after_their_best_are_named():
    rows = apt_stability.verdict(checkpoints([0.80, 0.85, 0.60], [990.0, 900.0, 960.0]), 160)
    assert rows["conditional_accuracy"]["falls_off"]
    assert rows["conditional_accuracy"]["best_update"] == 200
    assert rows["fd_efflite0"]["falls_off"]  # 60 over its best, noise 10
    assert not rows["motion_axis_accuracy"]["falls_off"]
