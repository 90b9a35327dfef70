"""evaluation under conf/test, after posttrain: every system measured, a checkpoint selected by
the rule, the report rendered."""

import json

import pandas as pd
import pytest

pytestmark = pytest.mark.timeout(600)


def test_evaluation_measures_every_system_selects_and_reports(evaluated_root):
    pretrained_root = evaluated_root
    out = pretrained_root / "08_reporting" / "evaluation"
    table = pd.read_csv(out / "systems.csv")
    steps = sorted({int(p.name.removeprefix("step-"))
                    for p in (pretrained_root / "06_models" / "apt").iterdir()})
    expected = {"real_train", "real_first_frame_repeated", "real_blurred",
                "trivial_uniform_noise", "trivial_mean_frame", "teacher_1step",
                "teacher_2step", "distilled_1step"}
    expected |= {f"apt_{s:05d}_{n}step" for s in steps for n in (1, 2)}
    assert set(table["system"]) == expected
    assert table["fd_efflite0"].notna().all()

    selection = json.loads((out / "selection.json").read_text())
    apt_one_step = table[(table["family"] == "apt") & (table["steps"] == 1)]
    assert selection["fd_efflite0"] == pytest.approx(apt_one_step["fd_efflite0"].min())
    best = pretrained_root / "06_models" / "apt_best"
    assert {p.name for p in best.iterdir()} == {"model.safetensors", "config.json",
                                                "selection.json"}

    metrics = json.loads((out / "metrics.json").read_text())
    assert {"gap_closure", "speedup", "goal_gap_closure_met", "evaluator_test_accuracy"} <= set(
        metrics)
    assert metrics["selected_apt_system"] == selection["system"]
    report = out / "report"
    html = (report / "report.html").read_text()
    assert "FD-EffLite0" in html and "data:image/gif;base64" in html and "teacher_2step" in html
    assert {"quality_vs_speed.png", "stage_curves.png", "report.md"} <= {
        p.name for p in report.iterdir()}
    assert (report / "samples" / f"{selection['system']}.gif").exists()
    assert (report / "samples" / "side_by_side.mp4").exists()
