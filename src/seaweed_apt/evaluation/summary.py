"""The headline figures of one evaluation (DVC metrics), each goal in words, met or not, and the
one table a person reads first. Every figure here is a test-split figure: selection read only the
validation prompts (`selection.json` names its split)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seaweed_apt.config.evaluation import EvaluationConfig, EvaluationGoals

# Rows of the headline table (system-role key -> how the report names it) and its figures.
HEADLINE_FIGURES = (
    ("fd_efflite0", "FD-EffLite0 (lower better; blind to motion)"),
    ("conditional_accuracy", "item accuracy"),
    ("worst_class_accuracy", "worst class accuracy"),
    ("motion_axis_accuracy", "motion along the captioned axis"),
    ("speed_ratio", "item speed / real"),
    ("jump_ratio", "largest frame change / others"),
    ("boundary_jump_ratio", "change at patch boundary / within"),
    ("diversity_ratio", "diversity / real"),
)
SET_FIGURES = (("unseen", ("conditional_accuracy", "motion_axis_accuracy")),
               ("paraphrase", ("conditional_accuracy", "motion_axis_accuracy")))


def _motion_axis_chance(clips: pd.DataFrame) -> float:
    """The share of the most frequent captioned axis among the test prompts: what always reading
    one axis scores."""
    asked = clips[(clips["system"] == "real_test") & (clips["axis"].fillna("") != "")]["axis"]
    return float(asked.value_counts(normalize=True).max()) if len(asked) else float("nan")


def class_accuracy_figures(teacher: pd.Series, apt: pd.Series) -> dict:
    """Per class, the teacher's and APT-1's accuracy (`accuracy_class_<name>_<role>`), and the
    class where APT-1 keeps the smallest share of its teacher's accuracy
    (`class_accuracy_ratio_min_apt1`, `..._class`; nan where the teacher draws no class): a
    class drawn as another, which an average hides."""
    figures: dict = {}
    ratios = {}
    for column in (c for c in teacher.index if c.startswith("accuracy_class_")):
        ours, theirs = float(apt.get(column, float("nan"))), float(teacher[column])
        figures[f"{column}_teacher"], figures[f"{column}_apt1"] = theirs, ours
        if theirs > 0 and not np.isnan(ours):
            ratios[column.removeprefix("accuracy_class_")] = ours / theirs
    worst = min(ratios, key=ratios.get) if ratios else ""
    return figures | {"class_accuracy_ratio_min_apt1": ratios.get(worst, float("nan")),
                      "class_accuracy_ratio_min_class": worst}


def headline_rows(table: pd.DataFrame, selected_system: str, reference_teacher: str
                  ) -> dict[str, pd.Series]:
    """role -> the test row: teacher, distilled1, apt1 and real (the ceiling)."""
    by_name = table.set_index("system")
    return {"teacher": by_name.loc[reference_teacher],
            "distilled1": by_name.loc["distilled_1step"],
            "apt1": by_name.loc[selected_system],
            "real": by_name.loc["real_test"]}


def summarize_evaluation(table: pd.DataFrame, clips: pd.DataFrame, selection: dict,
                         config: EvaluationConfig, evaluator_record: dict, speed: dict
                         ) -> tuple[dict, list[str]]:
    """The headline figures (DVC metrics) and each goal in words, met or not.

    `table` is the test pass (`evaluate_systems`); `selection` the validation pass's choice. The
    speed-up is `speed`'s (`time_one_step_against_teacher`: interleaved rounds, the median ratio,
    with its range); the table's one-pass ratio stays beside it as `speedup_one_pass`.

    A goal only counts as met where the figures can carry it: gap closure needs a distilled-to-
    teacher FD gap larger than the FD noise (the half-set spread), and an accuracy ratio needs a
    teacher whose conditional accuracy is above the evaluator's chance level.

    Raises:
        ValueError: `table` holds a validation row (selection's figures are not reported).
    """
    if (table["prompt_set"] == "val").any():
        raise ValueError("the summary reports the test pass only; the table holds validation "
                         "rows")
    rows = headline_rows(table, selection["system"],
                         f"teacher_{config.reference_teacher_steps}step")
    summary = headline_figures(table, rows, selection, clips, evaluator_record, speed)
    summary |= class_accuracy_figures(rows["teacher"], rows["apt1"])
    checks = goal_checks(summary, rows, selection["system"], config.goals, speed)
    return summary, judge_goals(summary, checks) + noise_notes(summary, rows, config.num_samples)


def headline_figures(table: pd.DataFrame, rows: dict[str, pd.Series], selection: dict,
                     clips: pd.DataFrame, evaluator_record: dict, speed: dict) -> dict:
    """The figures of the headline systems (`headline_rows`), the gap closure (the share of the
    distilled-to-teacher FD gap APT closes), the speed-up and the baselines, by metric name."""
    by_name = table.set_index("system")
    teacher, distilled, apt = rows["teacher"], rows["distilled1"], rows["apt1"]
    real_floor = float(by_name.loc["real_train", "fd_efflite0"])
    trivial = table[table["family"] == "trivial"]
    gap = distilled["fd_efflite0"] - teacher["fd_efflite0"]
    gap_noise = max(teacher["fd_efflite0_spread"], distilled["fd_efflite0_spread"])
    gap_closure = (distilled["fd_efflite0"] - apt["fd_efflite0"]) / gap if gap != 0 \
        else float("nan")
    summary = {
        "selected_apt_system": selection["system"],
        "selection_split": selection.get("split", ""),
        "gap_closure": float(gap_closure),
        "gap_fd_distilled_minus_teacher": float(gap),
        "gap_is_above_noise": bool(gap > gap_noise),
        "speedup": float(speed["speedup"]),
        "speedup_min": float(speed["speedup_min"]),
        "speedup_max": float(speed["speedup_max"]),
        "speedup_one_pass": float(teacher["seconds_per_video"] / apt["seconds_per_video"]),
        "seconds_per_video_teacher": float(speed["teacher_seconds_per_video"]),
        "seconds_per_video_apt1": float(speed["one_step_seconds_per_video"]),
        "fd_efflite0_apt1_spread": float(apt["fd_efflite0_spread"]),
        "fd_efflite0_teacher_spread": float(teacher["fd_efflite0_spread"]),
        "fd_efflite0_real_floor": real_floor,
        "fd_efflite0_blurred_real": float(by_name.loc["real_blurred", "fd_efflite0"]),
        "fd_efflite0_frozen_real": float(by_name.loc["real_first_frame_repeated",
                                                     "fd_efflite0"]),
        "fd_efflite0_trivial_best": float(trivial["fd_efflite0"].min()),
        "conditional_accuracy_trivial_best": float(trivial["conditional_accuracy"].max()),
        "motion_axis_accuracy_trivial_best": float(trivial["motion_axis_accuracy"].max()),
        "fd_ratio_apt1_over_teacher": float(apt["fd_efflite0"] / teacher["fd_efflite0"]),
        "fd_ratio_teacher_over_real_floor": float(teacher["fd_efflite0"] / real_floor),
        "accuracy_ratio_apt1_over_teacher": float(apt["conditional_accuracy"]
                                                  / teacher["conditional_accuracy"])
        if teacher["conditional_accuracy"] > 0 else float("nan"),
        "motion_axis_chance": _motion_axis_chance(clips),
        "evaluator_test_accuracy": float(evaluator_record["test_clip_accuracy"]),
        "evaluator_chance_accuracy": float(evaluator_record.get("chance_accuracy", 0.0)),
    }
    for role, row in rows.items():
        for figure, _ in HEADLINE_FIGURES:
            if not (role == "real" and figure.startswith("fd_")):
                summary[f"{figure}_{role}"] = float(row[figure])
        summary[f"worst_class_{role}"] = str(row["worst_class"])
        for prompt_set, figures in SET_FIGURES:
            name = f"real_{prompt_set}" if role == "real" else f"{row.name}_{prompt_set}"
            if name in by_name.index:
                for figure in figures:
                    summary[f"{figure}_{role}_{prompt_set}"] = float(by_name.loc[name, figure])
    summary["fd_efflite0_distilled1"] = float(distilled["fd_efflite0"])
    return summary


def goal_checks(summary: dict, rows: dict[str, pd.Series], selected_system: str,
                goals: EvaluationGoals, speed: dict) -> list[tuple]:
    """Each goal of `goals` as (key, label, value, sense, target, measurable, why not
    measurable). Adds each paraphrase accuracy drop to `summary`."""
    teacher, distilled, apt = rows["teacher"], rows["distilled1"], rows["apt1"]
    chance = summary["evaluator_chance_accuracy"]
    gap = summary["gap_fd_distilled_minus_teacher"]
    gap_noise = max(teacher["fd_efflite0_spread"], distilled["fd_efflite0_spread"])
    paraphrase_checks = []
    for label, row, key in ((teacher.name, teacher, "teacher"), (selected_system, apt, "apt1")):
        reworded = f"conditional_accuracy_{key}_paraphrase"
        if reworded not in summary:
            continue
        drop = float(row["conditional_accuracy"] - summary[reworded])
        summary[f"paraphrase_accuracy_drop_{key}"] = drop
        paraphrase_checks.append(
            (f"paraphrase_drop_{key}", f"{label}: accuracy on the test wording minus reworded",
             drop, "<=", goals.paraphrase_accuracy_drop_max, True, ""))
    return [
        ("teacher_accuracy", "teacher conditional accuracy",
         float(teacher["conditional_accuracy"]), ">=", goals.teacher_accuracy_min, True, ""),
        ("gap_closure", "gap closure", summary["gap_closure"], ">=", goals.gap_closure,
         summary["gap_is_above_noise"],
         f"the distilled-to-teacher FD gap ({gap:.1f}) is inside the FD noise ({gap_noise:.1f})"),
        ("fd_ratio", "APT-1 FD over teacher's", summary["fd_ratio_apt1_over_teacher"], "<=",
         goals.fd_ratio_max, True, ""),
        ("accuracy_ratio", "APT-1 conditional accuracy over teacher's",
         summary["accuracy_ratio_apt1_over_teacher"], ">=", goals.accuracy_ratio_min,
         bool(teacher["conditional_accuracy"] > chance),
         f"the teacher's conditional accuracy ({teacher['conditional_accuracy']:.3f}) is not "
         f"above chance ({chance:.3f})"),
        ("speedup", f"speed-up of APT-1 over the teacher (median of {speed['rounds']} "
         f"interleaved rounds, range {speed['speedup_min']:.1f}-{speed['speedup_max']:.1f})",
         summary["speedup"], ">=", goals.speedup_min, True, ""),
        *paraphrase_checks,
    ]


def judge_goals(summary: dict, checks: list[tuple]) -> list[str]:
    """Each check in words, met, NOT met or NOT measurable; `goal_<key>_met` into `summary`
    (True only when measurable and met)."""
    words = []
    for key, label, value, sense, target, measurable, why_not in checks:
        met = bool(value >= target if sense == ">=" else value <= target)
        summary[f"goal_{key}_met"] = bool(met and measurable)
        verdict = ("met" if met else "NOT met") if measurable else f"NOT measurable: {why_not}"
        words.append(f"{label}: {value:.3f} (goal {sense} {target}): {verdict}")
    return words


def noise_notes(summary: dict, rows: dict[str, pd.Series], num_samples: int) -> list[str]:
    """How far the figures can be read: the accuracy's standard errors (added to `summary`), the
    FD half-set spread, what FD cannot see, and motion against its ceiling and chance."""
    teacher, apt = rows["teacher"], rows["apt1"]
    # Accuracy is a share of num_samples captions: its binomial standard error sqrt(p(1-p)/n).
    for key, row in (("teacher", teacher), ("apt1", apt)):
        p = float(row["conditional_accuracy"])
        summary[f"conditional_accuracy_{key}_stderr"] = float(np.sqrt(p * (1 - p) / num_samples))
    return [
        f"Accuracy noise: a share of {num_samples} captions, standard error "
        f"{summary['conditional_accuracy_teacher_stderr']:.3f} for the teacher and "
        f"{summary['conditional_accuracy_apt1_stderr']:.3f} for APT-1; a ratio within "
        "about two of them of its goal is not settled",
        f"FD noise: the two half-sets of the selected APT system and the teacher differ "
        f"by up to {max(apt['fd_efflite0_spread'], teacher['fd_efflite0_spread']):.1f}; "
        "a smaller FD difference between systems is not a result",
        f"FD cannot see motion: real first frames held still score "
        f"{summary['fd_efflite0_frozen_real']:.1f} against the teacher's "
        f"{float(teacher['fd_efflite0']):.1f}; read it beside the motion figures",
        f"Motion along the captioned axis: teacher "
        f"{summary['motion_axis_accuracy_teacher']:.3f}, APT-1 "
        f"{summary['motion_axis_accuracy_apt1']:.3f}, real clips "
        f"{summary['motion_axis_accuracy_real']:.3f} (ceiling), always one axis "
        f"{summary['motion_axis_chance']:.3f}",
    ]
