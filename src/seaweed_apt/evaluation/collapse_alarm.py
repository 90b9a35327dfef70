"""The collapse alarm of a checkpoint: adversarial distillation's failure is a generator that
stops moving (motion collapse, AAD-1), gives every seed one video (mode collapse) or gives up a
class (docs/method.md §3), while FD may still fall. A checkpoint whose motion speed, diversity or
worst-class accuracy falls under a share of the reference teacher's, on the same validation
prompts, raises the alarm, and selection never serves it."""

from __future__ import annotations

import pandas as pd

from seaweed_apt.config.evaluation import CollapseAlarmConfig

# (column of the validation table, what it measures, the config field of its share)
WATCHED = (("speed_px", "motion speed", "min_speed_ratio"),
           ("diversity_ratio", "diversity across seeds", "min_diversity_ratio"),
           ("worst_class_accuracy", "worst-class accuracy", "min_worst_class_ratio"))


def collapse_alarms(table: pd.DataFrame, teacher: pd.Series,
                    config: CollapseAlarmConfig) -> pd.Series:
    """Per row of `table` (one system each, measured on the prompts `teacher`'s row was), the
    alarm in words, '' when none: each watched figure under its share of the teacher's, e.g.
    "motion speed 0.05 px/frame < 0.5 x the teacher's 1.13". A missing (NaN) figure raises it.

    Raises:
        ValueError: `table` or `teacher` lacks a watched column.
    """
    missing = [column for column, _, _ in WATCHED
               if column not in table.columns or column not in teacher.index]
    if missing:
        raise ValueError(f"the collapse alarm reads {missing}, which the table or the teacher's "
                         "row lacks (an evaluation older than the alarm?)")

    def alarm(row: pd.Series) -> str:
        reasons = []
        for column, name, field in WATCHED:
            share = getattr(config, field)
            bound = share * float(teacher[column])
            value = float(row[column])
            if not value >= bound:  # NaN included
                reasons.append(f"{name} {value:.3g} < {share} x the teacher's "
                               f"{float(teacher[column]):.3g}")
        return "; ".join(reasons)

    return pd.Series([alarm(row) for _, row in table.iterrows()], index=table.index, dtype=str)
