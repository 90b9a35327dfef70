import numpy as np
import pandas as pd
import pytest
import torch

from seaweed_apt.evaluation.paraphrase import paraphrase_captions
from seaweed_apt.evaluation.quality import diversity
from seaweed_apt.evaluation.run import (
    blurred,
    mean_frame_repeated,
    uniform_noise,
)
from seaweed_apt.evaluation.selection import select_checkpoint
from seaweed_apt.evaluation.systems import reported_systems, selection_systems


def _table(rows, prompt_set="val"):
    return pd.DataFrame(rows, columns=["system", "checkpoint_step", "fd_efflite0",
                                       "conditional_accuracy"]).assign(prompt_set=prompt_set)


def test_selection_never_reads_a_test_row():
    table = _table([("apt_00100_1step", 100, 50.0, 0.5), ("apt_00200_1step", 200, 40.0, 0.4)])
    assert select_checkpoint(table, 0.5, 0.9)["split"] == "val"
    for prompt_set in ("test", "unseen", "paraphrase"):
        mixed = pd.concat([table, _table([("apt_00300_1step", 300, 1.0, 0.9)], prompt_set)])
        with pytest.raises(ValueError, match="validation rows only"):
            select_checkpoint(mixed, 0.5, 0.9)


def test_selection_names_what_it_lacks():
    table = _table([("apt_00100_1step", 100, float("nan"), 0.5)])
    with pytest.raises(ValueError, match="every candidate's is NaN"):
        select_checkpoint(table, 0.5, 0.9)
    with pytest.raises(ValueError, match=r"lacks columns \['prompt_set'\]"):
        select_checkpoint(table.drop(columns="prompt_set"), 0.5, 0.9)
    from seaweed_apt.config.evaluation import EvaluationConfig
    from seaweed_apt.evaluation.selection import reference_row
    from tests.helpers import base_config

    with pytest.raises(ValueError, match="no teacher_25step row"):
        reference_row(table, base_config(EvaluationConfig, "evaluation"))


def test_the_selection_node_reads_the_validation_pass_only():
    """In the pipeline, selection takes the validation table; the test pass comes after it,
    measuring only the checkpoint selection chose."""
    from pipelines.evaluation.pipeline import create_pipeline

    nodes = {node.name: node for node in create_pipeline().nodes}
    assert "evaluation_systems" not in nodes["select_apt_checkpoint"].inputs
    assert "validation_systems" in nodes["select_apt_checkpoint"].inputs
    assert {"apt_best_model", "apt_selection"} <= set(nodes["measure_systems"].inputs)
    assert "apt_checkpoints" not in nodes["measure_systems"].inputs


def test_selection_picks_the_lowest_fd_among_checkpoints_that_keep_the_teachers_accuracy():
    table = _table([("apt_00100_1step", 100, 50.0, 0.5), ("apt_00200_1step", 200, 40.0, 0.4),
                    ("apt_00300_1step", 300, 41.0, 0.9)])
    # Teacher at 0.5: 0.9 x 0.5 = 0.45 leaves updates 100 and 300; 300 has the lower FD.
    chosen = select_checkpoint(table, teacher_accuracy=0.5, min_accuracy_ratio=0.9)
    assert chosen["checkpoint_step"] == 300 and chosen["qualified"]
    assert "2 of 3 checkpoints qualify" in chosen["reason"]
    # A floor of 0: every checkpoint qualifies, the lowest FD wins, ties go to accuracy.
    assert select_checkpoint(table, 0.5, 0.0)["checkpoint_step"] == 200
    tied = select_checkpoint(table, 0.5, 0.0, fd_tie_tolerance=2.0)
    assert tied["checkpoint_step"] == 300 and "conditional accuracy" in tied["reason"]
    assert len(tied["candidates"]) == 3
    with pytest.raises(ValueError, match="no APT checkpoint"):
        select_checkpoint(table.iloc[:0], 0.5, 0.9)


def test_selection_says_when_no_checkpoint_keeps_the_teachers_accuracy():
    table = _table([("apt_00100_1step", 100, 50.0, 0.5), ("apt_00200_1step", 200, 40.0, 0.4)])
    chosen = select_checkpoint(table, teacher_accuracy=0.9, min_accuracy_ratio=0.9)
    assert not chosen["qualified"] and chosen["checkpoint_step"] == 200
    assert "no checkpoint qualifies" in chosen["reason"] and "0.810" in chosen["reason"]


def test_paraphrases_reword_every_test_caption_and_name_the_one_they_cannot():
    templates = {"bouncing up and down": "rising and falling, one {item}",
                 "bouncing left and right": "sliding from side to side, one {item}"}
    assert paraphrase_captions(["a bag bouncing up and down",
                                "a ankle boot bouncing left and right"], templates) == [
        "rising and falling, one bag", "sliding from side to side, one ankle boot"]
    for caption in ("a bag bouncing diagonally", "a cockatoo coming close",
                    "a bag bouncing up and down and a coat bouncing up and down"):
        with pytest.raises(ValueError, match="no paraphrase"):
            paraphrase_captions([caption], templates)


def test_validation_and_test_passes_have_their_rows():
    validation = selection_systems(25, 5.0, [100, 200])
    assert [(s.name, s.prompt_set) for s in validation] == [
        ("teacher_25step", "val"), ("distilled_1step", "val"), ("apt_00100_1step", "val"),
        ("apt_00200_1step", "val")]
    systems = reported_systems([1, 4, 8, 25], 5.0, 200, [1, 2], 25)
    assert [s.name for s in systems if s.prompt_set == "test"] == [
        "teacher_1step", "teacher_4step", "teacher_8step", "teacher_25step",
        "distilled_1step", "apt_00200_1step", "apt_00200_2step"]
    assert [(s.name, s.prompt_set) for s in systems if s.prompt_set != "test"] == [
        ("teacher_25step_unseen", "unseen"), ("distilled_1step_unseen", "unseen"),
        ("apt_00200_1step_unseen", "unseen"),
        ("teacher_25step_paraphrase", "paraphrase"), ("distilled_1step_paraphrase", "paraphrase"),
        ("apt_00200_1step_paraphrase", "paraphrase")]
    evaluations = {s.name: s.network_evaluations for s in systems}
    assert evaluations["teacher_25step"] == 50 and evaluations["apt_00200_1step"] == 1
    assert evaluations["apt_00200_2step"] == 2 and evaluations["distilled_1step"] == 1


def test_diversity_is_zero_for_identical_seeds_and_blur_softens_frames():
    same = torch.ones(4, 6)
    assert diversity(same, ["a", "a", "b", "b"]) == 0
    assert diversity(torch.randn(4, 6), ["a", "a", "b", "b"]) > 0
    with pytest.raises(ValueError, match="two or more"):
        diversity(torch.randn(2, 6), ["a", "b"])
    sharp = np.zeros((1, 2, 16, 16, 3), np.uint8)
    sharp[:, :, :, 8:] = 255
    soft = blurred(sharp, 5)
    assert soft.shape == sharp.shape and 0 < soft[0, 0, 0, 7, 0] < 255
    still = mean_frame_repeated(np.stack([sharp[0], 255 - sharp[0]]))
    assert (still == 128).all()  # the mean of a frame and its negative, everywhere
    noise = uniform_noise(sharp, seed=0)
    assert noise.shape == sharp.shape and noise.std() > 60


def test_summary_computes_gap_closure_and_speedup_and_says_which_goals_are_met():
    from seaweed_apt.config.evaluation import EvaluationConfig
    from seaweed_apt.evaluation.summary import summarize_evaluation
    from tests.helpers import base_config

    config = base_config(EvaluationConfig, "evaluation")

    def row(system, family, fd, accuracy, seconds, motion=0.7, prompt_set="test"):
        return {"system": system, "family": family, "prompt_set": prompt_set, "fd_efflite0": fd,
                "fd_efflite0_spread": 1.0, "conditional_accuracy": accuracy,
                "seconds_per_video": seconds, "diversity_ratio": 1.0, "worst_class": "bag",
                "worst_class_accuracy": accuracy / 2, "motion_axis_accuracy": motion,
                "speed_ratio": 0.8, "jump_ratio": 1.4, "boundary_jump_ratio": 1.2}

    table = pd.DataFrame([row("real_test", "ceiling", float("nan"), 0.88, float("nan"), 1.0),
                          row("real_train", "floor", 5.0, 0.9, float("nan")),
                          row("real_blurred", "floor", 30.0, 0.5, float("nan")),
                          row("real_first_frame_repeated", "floor", 15.0, 0.9, float("nan"), 0.0),
                          row("trivial_uniform_noise", "trivial", 400.0, 0.1, float("nan")),
                          row("trivial_mean_frame", "trivial", 300.0, 0.2, float("nan")),
                          row("teacher_25step", "teacher", 20.0, 0.8, 1.0),
                          row("distilled_1step", "distilled", 60.0, 0.5, 0.02),
                          row("apt_00300_1step", "apt", 24.0, 0.78, 0.02)])
    record = {"test_clip_accuracy": 0.9, "chance_accuracy": 0.1}
    speed = {"speedup": 47.0, "speedup_min": 44.0, "speedup_max": 52.0, "rounds": 5,
             "teacher_seconds_per_video": 0.94, "one_step_seconds_per_video": 0.02}
    clips = pd.DataFrame({"system": "real_test", "axis": ["vertical"] * 3 + ["diagonal"]})
    selection = {"system": "apt_00300_1step", "split": "val"}
    summary, words = summarize_evaluation(table, clips, selection, config, record, speed)
    assert summary["selection_split"] == "val"
    assert summary["motion_axis_accuracy_apt1"] == 0.7 and summary["motion_axis_accuracy_real"] == 1
    assert summary["motion_axis_chance"] == 0.75  # always "vertical"
    assert summary["worst_class_accuracy_apt1"] == 0.39 and summary["worst_class_apt1"] == "bag"
    assert summary["conditional_accuracy_real"] == 0.88  # held-out clips, not the train floor
    assert any("FD cannot see motion" in w and "15.0" in w for w in words)
    with pytest.raises(ValueError, match="validation rows"):
        summarize_evaluation(pd.concat([table, pd.DataFrame([row("apt_00300_1step", "apt", 1.0,
                                                                 0.9, 0.1, prompt_set="val")])]),
                             clips, selection, config, record, speed)
    assert summary["gap_closure"] == pytest.approx((60 - 24) / (60 - 20))  # 0.9
    assert summary["speedup"] == pytest.approx(47.0)  # the interleaved rounds' median counts
    assert summary["speedup_one_pass"] == pytest.approx(50.0)  # the table's, kept beside it
    assert any("median of 5 interleaved rounds, range 44.0-52.0" in w for w in words)
    n = config.num_samples  # accuracy's binomial standard error over the captions
    assert summary["conditional_accuracy_apt1_stderr"] == pytest.approx((0.78 * 0.22 / n) ** 0.5)
    assert summary["conditional_accuracy_teacher_stderr"] == pytest.approx((0.8 * 0.2 / n) ** 0.5)
    assert summary["goal_gap_closure_met"] and summary["goal_speedup_met"]
    assert not summary["goal_fd_ratio_met"]  # 24 / 20 = 1.2 > 1.05
    assert summary["goal_accuracy_ratio_met"]  # 0.78 / 0.8 = 0.975
    assert any("NOT met" in w for w in words)
    assert summary["fd_efflite0_trivial_best"] == 300.0
    assert summary["conditional_accuracy_trivial_best"] == 0.2

    # A gap inside the FD noise, or a teacher at chance, cannot carry those goals.
    noisy = table.assign(fd_efflite0_spread=50.0)
    summary, words = summarize_evaluation(noisy, clips, selection, config, record, speed)
    assert not summary["gap_is_above_noise"] and not summary["goal_gap_closure_met"]
    assert any("NOT measurable" in w and "gap" in w for w in words)
    at_chance = table.assign(conditional_accuracy=0.05)
    summary, _ = summarize_evaluation(at_chance, clips, selection, config, record, speed)
    assert not summary["goal_accuracy_ratio_met"]
    assert not summary["goal_teacher_accuracy_met"]  # 0.05 < 0.6

    # The paraphrase rows: each system's accuracy drop from the test wording, against 0.1.
    reworded = pd.concat([table, pd.DataFrame([
        row("teacher_25step_paraphrase", "teacher", 21.0, 0.75, 1.0, prompt_set="paraphrase"),
        row("apt_00300_1step_paraphrase", "apt", 25.0, 0.5, 0.02, prompt_set="paraphrase")])])
    summary, words = summarize_evaluation(reworded, clips, selection, config, record, speed)
    assert summary["goal_teacher_accuracy_met"]  # 0.8 >= 0.6
    assert summary["paraphrase_accuracy_drop_teacher"] == pytest.approx(0.05)
    assert summary["goal_paraphrase_drop_teacher_met"]
    assert summary["paraphrase_accuracy_drop_apt1"] == pytest.approx(0.28)
    assert not summary["goal_paraphrase_drop_apt1_met"]
    assert summary["conditional_accuracy_apt1_paraphrase"] == 0.5
