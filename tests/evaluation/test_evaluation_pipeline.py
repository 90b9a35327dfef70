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


def test_systems_measured_on_ray_actors_match_one_process(evaluated_root):
    """The same systems, prompts and seeds through `evaluate_systems` (this process) and
    `evaluate_systems_on_ray` (two actors, one thread each): the same rows and figures."""
    from seaweed_apt.apt.kept import kept_checkpoint_files, kept_checkpoint_steps
    from seaweed_apt.config.ray import RayConfig
    from seaweed_apt.evaluation.data import load_split_clips
    from seaweed_apt.evaluation.on_ray import evaluate_systems_on_ray
    from seaweed_apt.evaluation.run import evaluate_systems
    from seaweed_apt.evaluation.systems import standard_systems
    from seaweed_apt.training.checkpoint import load_model_from_files
    from seaweed_apt.training.data import load_caption_table
    from seaweed_apt.training.stage import clip_geometry

    def files(folder):
        return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
                if p.is_file()}

    root = evaluated_root
    config = base_config(EvaluationConfig, "evaluation", num_samples=8, reference_clips=16,
                         generation_batch_size=8, feature_image_size=32)
    manifest = pd.read_parquet(root / "03_primary" / "clip_manifest.parquet")
    shards = root / "03_primary" / "clip_shards"
    reference = load_split_clips(manifest, shards, "test", limit=16, seed=0)
    prompts = load_split_clips(manifest, shards, "test", limit=8, seed=1)
    floors = load_split_clips(manifest, shards, "train", limit=8, seed=2)
    apt = files(root / "06_models" / "apt")
    step = kept_checkpoint_steps(apt)[0]
    systems = standard_systems([1], 5.0, [step], [1])

    model_files = {"teacher": files(root / "06_models" / "teacher"),
                   "distilled": files(root / "06_models" / "distilled"),
                   f"apt/{step}": kept_checkpoint_files(apt, step)}
    captions = load_caption_table(root / "04_feature" / "caption_embeddings.safetensors")
    evaluator = files(root / "06_models" / "evaluator")
    geometry = clip_geometry(manifest)
    here = evaluate_systems(systems, lambda key: load_model_from_files(model_files[key]),
                            reference, prompts, floors, captions, evaluator, config, geometry,
                            1.0)
    ray_config = base_config(RayConfig, "ray", num_workers=2)
    on_ray = evaluate_systems_on_ray(systems, model_files, reference, prompts, floors, captions,
                                     evaluator, config, geometry, 1.0, ray_config)
    assert list(on_ray["system"]) == list(here["system"])
    figures = ["fd_efflite0", "fd_efflite0_clip", "conditional_accuracy", "diversity_ratio",
               "motion_ratio", "class_consistency"]
    pd.testing.assert_frame_equal(on_ray[figures], here[figures], rtol=1e-4)
    with pytest.raises(ValueError, match="no model files"):
        evaluate_systems_on_ray(systems, {"teacher": model_files["teacher"]}, reference,
                                prompts, floors, captions, evaluator, config, geometry, 1.0,
                                ray_config)
