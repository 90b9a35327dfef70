"""evaluation under conf/test, after posttrain: every system measured, a checkpoint selected by
the rule, the report rendered."""

import json

import pandas as pd
import pytest

from seaweed_apt.config.evaluation import EvaluationConfig
from tests.helpers import base_config, curated_clips

pytestmark = pytest.mark.timeout(600)


def test_evaluation_selects_on_validation_and_reports_test_once(evaluated_root):
    root = evaluated_root
    out = root / "08_reporting" / "evaluation"
    steps = sorted({int(p.name.removeprefix("step-"))
                    for p in (root / "06_models" / "apt").iterdir()})

    validation = pd.read_csv(out / "validation_systems.csv")
    assert set(validation["prompt_set"]) == {"val"}
    assert set(validation["system"]) == {"real_val", "teacher_2step", "distilled_1step"} | {
        f"apt_{s:05d}_1step" for s in steps}
    selection = json.loads((out / "selection.json").read_text())
    assert selection["split"] == "val"
    one_step = validation[validation["family"] == "apt"]
    teacher = validation.set_index("system").loc["teacher_2step", "conditional_accuracy"]
    ratio = base_config(EvaluationConfig, "evaluation").selection_min_accuracy_ratio
    qualifying = one_step[one_step["conditional_accuracy"] >= ratio * teacher]
    assert selection["qualified"] == (not qualifying.empty)
    pool = qualifying if selection["qualified"] else one_step
    assert selection["fd_efflite0"] == pytest.approx(pool["fd_efflite0"].min())

    table = pd.read_csv(out / "systems.csv")
    chosen = selection["system"]  # the test pass measures the selected checkpoint only
    expected = {"real_test", "real_unseen", "real_train", "real_first_frame_repeated",
                "real_blurred", "trivial_uniform_noise", "trivial_mean_frame",
                "teacher_2step", "distilled_1step", chosen}
    again = {"teacher_2step", "distilled_1step", chosen}
    expected |= {f"{name}_{prompt_set}" for name in again for prompt_set in ("unseen",
                                                                            "paraphrase")}
    assert set(table["system"]) == expected
    assert set(table["prompt_set"]) == {"test", "unseen", "paraphrase"}
    generated = table[~table["family"].isin(["ceiling"])]
    assert generated["fd_efflite0"].notna().all()
    ceiling = table.set_index("system").loc["real_test"]
    assert ceiling["motion_axis_accuracy"] == 1.0 and ceiling["family"] == "ceiling"
    clips = pd.read_parquet(out / "clips.parquet")
    assert set(clips["system"]) == set(table["system"])
    assert {"label", "predicted", "axis", "axis_read", "speed_px", "jump"} <= set(clips)
    best = root / "06_models" / "apt_best"
    assert {p.name for p in best.iterdir()} == {"model.safetensors", "config.json",
                                                "selection.json"}

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["selected_apt_system"] == chosen and metrics["selection_split"] == "val"
    assert {"gap_closure", "speedup", "goal_gap_closure_met", "evaluator_test_accuracy",
            "motion_axis_accuracy_apt1", "motion_axis_accuracy_real", "speed_ratio_apt1",
            "jump_ratio_teacher", "worst_class_accuracy_apt1", "worst_class_apt1",
            "conditional_accuracy_apt1_unseen", "motion_axis_accuracy_apt1_unseen",
            "conditional_accuracy_apt1_paraphrase", "goal_teacher_accuracy_met",
            "goal_paraphrase_drop_apt1_met"} <= set(metrics)
    report = out / "report"
    html = (report / "report.html").read_text()
    assert html.index("Headline (test prompts)") < html.index("Class by motion") < html.index(
        "Every system and set")
    assert "FD-EffLite0" in html and "data:image/gif;base64" in html and "teacher_2step" in html
    assert "cannot see motion" in html
    assert {"quality_vs_speed.png", "stage_curves.png", "report.md"} <= {
        p.name for p in report.iterdir()}
    assert (report / "samples" / f"{chosen}.gif").exists()
    assert (report / "samples" / "side_by_side.mp4").exists()
    assert (report / "samples" / "class_by_motion.mp4").exists()
    assert "class_by_motion (rows: " in html


def _small_test_pass(root):
    """A small test pass over the evaluated root: (systems, model files, reference clips, prompt
    sets, floor clips, evaluator files, config, geometry, the APT step)."""
    from seaweed_apt.apt.kept import kept_checkpoint_files, kept_checkpoint_steps
    from seaweed_apt.evaluation.data import load_split_clips
    from seaweed_apt.evaluation.run import PromptSet, caption_text, prompt_seeds
    from seaweed_apt.evaluation.systems import reported_systems
    from seaweed_apt.text.caption_table import load_caption_table

    def files(folder):
        return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
                if p.is_file()}

    config = base_config(EvaluationConfig, "evaluation", num_samples=8, reference_clips=16,
                         generation_batch_size=8, feature_image_size=32)
    clips = curated_clips(root)
    reference = load_split_clips(clips, "test", limit=16, seed=0)
    prompts = load_split_clips(clips, "test", limit=8, seed=1)
    floors = load_split_clips(clips, "train", limit=8, seed=2)
    apt = files(root / "06_models" / "apt")
    step = kept_checkpoint_steps(apt)[0]
    systems = reported_systems([1], 5.0, step, [1], 1, ())
    model_files = {"teacher": files(root / "06_models" / "teacher"),
                   "distilled": files(root / "06_models" / "distilled"),
                   f"apt/{step}": kept_checkpoint_files(apt, step)}
    captions = load_caption_table(clips.caption_table_uri)
    sets = {"test": PromptSet(prompts, caption_text(captions, prompts.caption_row),
                              prompt_seeds(0, "test", len(prompts)))}
    return (systems, model_files, reference, sets, floors, files(root / "06_models" / "evaluator"),
            config, clips.clip_shape, step)


def test_ray_actors_measure_as_one_process_and_a_rerun_measures_only_what_changed(
        evaluated_root, tmp_path, caplog):
    """The same prompts and seeds through `evaluate_systems_on_ray` (two actors, one thread
    each) and `evaluate_systems` (this process; the real test set and the APT system): the same
    rows and figures. Then the evaluation cache: the same inputs again come back whole and
    equal, with no set measured; another model for one system, and another set's entry cut
    short, measure those two sets alone, the cut one said in the log. (One test: each pass on
    Ray costs actors and model loads.)"""
    from seaweed_apt.config.ray import RayConfig
    from seaweed_apt.evaluation.on_ray import evaluate_systems_on_ray
    from seaweed_apt.evaluation.run import evaluate_systems
    from seaweed_apt.result_cache import ResultCache
    from seaweed_apt.training.checkpoint import load_model_from_files

    (systems, model_files, reference, sets, floors, evaluator, config, geometry,
     step) = _small_test_pass(evaluated_root)
    ray_config = base_config(RayConfig, "ray", num_workers=2)

    def evaluate(model_files, cache):
        return evaluate_systems_on_ray(systems, model_files, reference, sets, floors, evaluator,
                                       config, geometry, 1.0, 4, ray_config, cache)

    units = 1 + 5 + len(systems)  # real_test; three floors, two trivial baselines; systems
    first = ResultCache(tmp_path / "cache")
    table, clips = evaluate(model_files, first)
    assert (first.hits, first.misses) == (0, units)
    # This process measures a real set and a generated one (the two kinds of unit) of the same
    # inputs; the other units go through the same code on the actors.
    apt_system = [system for system in systems if system.family == "apt"]
    here, here_clips = evaluate_systems(
        apt_system, lambda key: load_model_from_files(model_files[key]), reference, sets, None,
        evaluator, config, geometry, 1.0, 4)
    assert list(here["system"]) == ["real_test", apt_system[0].name]
    figures = ["fd_efflite0", "fd_efflite0_clip", "conditional_accuracy", "diversity_ratio",
               "motion_ratio", "class_consistency", "motion_axis_accuracy", "speed_ratio",
               "jump_ratio"]
    on_ray = table.set_index("system").loc[list(here["system"])].reset_index()
    pd.testing.assert_frame_equal(on_ray[figures], here[figures], rtol=1e-4)
    ray_clips = clips[clips["system"].isin(here["system"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(ray_clips, here_clips, rtol=1e-4)
    with pytest.raises(ValueError, match="no model files"):
        evaluate({"teacher": model_files["teacher"]}, None)
    first_rows = sorted((tmp_path / "cache" / "rows").glob("*.parquet"))
    again = ResultCache(tmp_path / "cache")
    table_again, clips_again = evaluate(model_files, again)
    assert (again.hits, again.misses) == (units, 0)
    pd.testing.assert_frame_equal(table_again, table)
    pd.testing.assert_frame_equal(clips_again, clips)

    # Another model for one system, and another system's row cut short (as a kill mid-write
    # leaves it): those two sets alone are measured again, the cut one said in the log. (One
    # pass for both: each pass that measures starts the actors and loads the models.)
    other = dict(model_files, distilled=model_files[f"apt/{step}"])
    def system_of(path):  # file names are keys: a row's own file names its system
        return json.loads(path.with_suffix(".json").read_text())["system"]

    cut = next(path for path in first_rows if system_of(path) != "distilled_1step")
    cut_system = system_of(cut)
    cut.write_bytes(cut.read_bytes()[:100])
    changed = ResultCache(tmp_path / "cache")
    with caplog.at_level("WARNING"):
        table_other, _ = evaluate(other, changed)
    assert (changed.hits, changed.misses) == (units - 2, 2)
    assert "unreadable" in caplog.text and cut.name.removesuffix(".parquet") in caplog.text
    distilled = table_other.set_index("system").loc["distilled_1step"]
    assert distilled["fd_efflite0"] == pytest.approx(
        table.set_index("system").loc[f"apt_{step:05d}_1step", "fd_efflite0"], rel=1e-4)
    kept = table_other["system"] != "distilled_1step"
    pd.testing.assert_frame_equal(
        table_other[kept].drop(columns="seconds_per_video").reset_index(drop=True),
        table[table["system"] != "distilled_1step"].drop(columns="seconds_per_video")
        .reset_index(drop=True))
    assert cut_system in set(table_other["system"])
