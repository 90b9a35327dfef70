"""Which APT checkpoint is served: the lowest FD-EffLite0 among the checkpoints that keep the
teacher's prompt following (conditional accuracy at least a share of the teacher's) and raise no
collapse alarm (evaluation/collapse_alarm.py), all read on the validation prompts: the test
prompts, which the report and the goals read, never choose."""

from __future__ import annotations

import pandas as pd

from seaweed_apt.config.evaluation import EvaluationConfig


def select_checkpoint(table: pd.DataFrame, teacher_accuracy: float, min_accuracy_ratio: float,
                      fd_tie_tolerance: float = 0.0) -> dict:
    """`table` has one row per APT system at one step, measured on the validation prompts:
    `system`, `prompt_set` ("val"), `checkpoint_step`, `fd_efflite0`, `conditional_accuracy`;
    `teacher_accuracy` is the teacher's on the same prompts; with a `collapse_alarm` column
    (words, '' for none) an alarmed row is not chosen while an unalarmed one exists. The
    candidates are the unalarmed rows whose accuracy is at least `min_accuracy_ratio` x
    `teacher_accuracy`; when none is, every unalarmed row is, and the record says so
    (`qualified: false`). When every row raised the alarm, the same rule runs over all of them so
    that the run still ends in a report, and the record says `collapsed: true` with each alarm:
    the chosen checkpoint is a preview for the gate to refuse (its class check reads the same
    failure on the test prompts), never a silent choice. Among the candidates, rows within
    `fd_tie_tolerance` of the lowest FD tie; the highest conditional accuracy wins (then the
    lower FD, then the earlier step).

    Returns:
        the chosen row as a dict, plus `qualified`, `reason` in words and the `candidates`.

    Raises:
        ValueError: the table is empty, lacks a column, holds a row of another prompt set than
            "val", or no candidate has an FD.
    """
    _check_selection_table(table)
    alarms = table["collapse_alarm"].fillna("").astype(str) if "collapse_alarm" in table \
        else pd.Series("", index=table.index)
    collapsed = bool((alarms != "").all())
    unalarmed = table if collapsed else table[alarms == ""]
    floor = min_accuracy_ratio * teacher_accuracy
    qualifying = unalarmed[unalarmed["conditional_accuracy"] >= floor]
    pool = qualifying if not qualifying.empty else unalarmed
    if pool["fd_efflite0"].isna().all():
        raise ValueError(f"no FD-EffLite0 to choose by: every candidate's is NaN "
                         f"({', '.join(pool['system'])})")
    best_fd = pool["fd_efflite0"].min()
    tied = pool[pool["fd_efflite0"] <= best_fd + fd_tie_tolerance]
    chosen = tied.sort_values(["conditional_accuracy", "fd_efflite0", "checkpoint_step"],
                              ascending=[False, True, True]).iloc[0]
    rule = (f"conditional accuracy >= {min_accuracy_ratio} x the teacher's "
            f"{teacher_accuracy:.3f} = {floor:.3f}")
    reason = _selection_reason(table, chosen, rule, alarms, len(qualifying), len(tied),
                               fd_tie_tolerance)
    record = {key: (value.item() if hasattr(value, "item") else value)
              for key, value in chosen.to_dict().items()}
    candidates = table[["system", "checkpoint_step", "fd_efflite0", "conditional_accuracy"]]
    return record | {"split": "val", "qualified": not qualifying.empty and not collapsed,
                     "collapsed": collapsed, "reason": reason,
                     "candidates": candidates.assign(collapse_alarm=alarms).to_dict("records")}


def _check_selection_table(table: pd.DataFrame) -> None:
    if table.empty:
        raise ValueError("no APT checkpoint was evaluated: nothing to select")
    needed = {"system", "prompt_set", "checkpoint_step", "fd_efflite0", "conditional_accuracy"}
    if needed - set(table.columns):
        raise ValueError(f"the selection table lacks columns {sorted(needed - set(table.columns))}")
    other = sorted(set(table["prompt_set"]) - {"val"})
    if other:
        raise ValueError(f"selection reads validation rows only; the table holds {other} rows "
                         "(the test prompts are reported, never used to choose)")


def _selection_reason(table: pd.DataFrame, chosen: pd.Series, rule: str, alarms: pd.Series,
                      qualifying: int, tied: int, fd_tie_tolerance: float) -> str:
    """`select_checkpoint`'s choice in words: how many qualified under `rule`, the alarms, the
    tie."""
    step = int(chosen["checkpoint_step"])
    if not qualifying:
        reason = (f"no checkpoint qualifies ({rule}; the best reached "
                  f"{table['conditional_accuracy'].max():.3f}): served instead the lowest "
                  f"FD-EffLite0 of all, {chosen['fd_efflite0']:.2f} at update {step}")
    else:
        reason = (f"{qualifying} of {len(table)} checkpoints qualify ({rule}); lowest "
                  f"FD-EffLite0 among them {chosen['fd_efflite0']:.2f} at update {step}")
    if bool((alarms != "").all()):
        named = "; ".join(f"update {int(step)}: {alarm}"
                          for step, alarm in zip(table["checkpoint_step"], alarms, strict=True))
        reason = (f"every checkpoint raised the collapse alarm ({named}), so the rule ran over "
                  f"all of them: a preview, not a model to promote. {reason}")
    elif (alarms != "").any():
        steps = sorted(int(step) for step in table.loc[alarms != "", "checkpoint_step"])
        reason += f"; collapsed, never considered: updates {steps}"
    if tied > 1:
        reason += (f"; {tied} within {fd_tie_tolerance} of it, the highest conditional "
                   f"accuracy ({chosen['conditional_accuracy']:.3f}) wins")
    return reason


def reference_row(table: pd.DataFrame, config: EvaluationConfig) -> pd.Series:
    """The reference teacher's row in `table` (the selection rule's and the alarm's yardstick).

    Raises:
        ValueError: the table has no row of the reference teacher.
    """
    name = f"teacher_{config.reference_teacher_steps}step"
    rows = table[table["system"] == name]
    if rows.empty:
        raise ValueError(f"no {name} row to compare the checkpoints with (have "
                         f"{sorted(table['system'])}): evaluation.reference_teacher_steps must be "
                         "measured on the validation prompts")
    return rows.iloc[0]
