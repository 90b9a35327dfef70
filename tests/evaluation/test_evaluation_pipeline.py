"""evaluation under conf/test, after posttrain: every system measured, a checkpoint selected by
the rule, the report rendered."""

import json

import pandas as pd
import pytest

from seaweed_apt.config.evaluation import EvaluationConfig
from tests.helpers import base_config

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
    paraphrased = {"teacher_2step", "distilled_1step"} | {f"apt_{s:05d}_1step" for s in steps}
    expected |= {f"{name}_paraphrase" for name in paraphrased}
    assert set(table["system"]) == expected
    assert set(table[table["prompt_set"] == "paraphrase"]["system"]) == {
        f"{name}_paraphrase" for name in paraphrased}
    assert table["fd_efflite0"].notna().all()

    selection = json.loads((out / "selection.json").read_text())
    on_test = table[table["prompt_set"] == "test"]
    apt_one_step = on_test[(on_test["family"] == "apt") & (on_test["steps"] == 1)]
    teacher = on_test.set_index("system").loc["teacher_2step", "conditional_accuracy"]
    ratio = base_config(EvaluationConfig, "evaluation").selection_min_accuracy_ratio
    qualifying = apt_one_step[apt_one_step["conditional_accuracy"] >= ratio * teacher]
    assert selection["qualified"] == (not qualifying.empty)
    pool = qualifying if selection["qualified"] else apt_one_step
    assert selection["fd_efflite0"] == pytest.approx(pool["fd_efflite0"].min())
    best = pretrained_root / "06_models" / "apt_best"
    assert {p.name for p in best.iterdir()} == {"model.safetensors", "config.json",
                                                "selection.json"}

    metrics = json.loads((out / "metrics.json").read_text())
    assert {"gap_closure", "speedup", "goal_gap_closure_met", "evaluator_test_accuracy"} <= set(
        metrics)
    assert metrics["selected_apt_system"] == selection["system"]
    assert {"conditional_accuracy_apt1_paraphrase", "goal_teacher_accuracy_met",
            "goal_paraphrase_drop_apt1_met"} <= set(metrics)
    report = out / "report"
    html = (report / "report.html").read_text()
    assert "FD-EffLite0" in html and "data:image/gif;base64" in html and "teacher_2step" in html
    assert {"quality_vs_speed.png", "stage_curves.png", "report.md"} <= {
        p.name for p in report.iterdir()}
    assert (report / "samples" / f"{selection['system']}.gif").exists()
    assert (report / "samples" / "side_by_side.mp4").exists()
