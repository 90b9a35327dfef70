"""Which APT checkpoint is served: the best FD-EffLite0, ties broken by conditional accuracy."""

from __future__ import annotations

import pandas as pd


def select_checkpoint(table: pd.DataFrame, fd_tie_tolerance: float = 0.0) -> dict:
    """`table` has one row per APT system at one step: `system`, `checkpoint_step`,
    `fd_efflite0`, `conditional_accuracy`. Rows within `fd_tie_tolerance` of the lowest FD tie;
    among them the highest conditional accuracy wins (then the lower FD, then the earlier step).

    Returns:
        the chosen row as a dict, plus `reason` in words and the `candidates` considered.
    """
    if table.empty:
        raise ValueError("no APT checkpoint was evaluated: nothing to select")
    best_fd = table["fd_efflite0"].min()
    tied = table[table["fd_efflite0"] <= best_fd + fd_tie_tolerance]
    chosen = tied.sort_values(["conditional_accuracy", "fd_efflite0", "checkpoint_step"],
                              ascending=[False, True, True]).iloc[0]
    reason = (f"lowest FD-EffLite0 {chosen['fd_efflite0']:.2f} at update "
              f"{int(chosen['checkpoint_step'])}")
    if len(tied) > 1:
        reason = (f"{len(tied)} checkpoints within {fd_tie_tolerance} of the lowest FD-EffLite0 "
                  f"({best_fd:.2f}); update {int(chosen['checkpoint_step'])} has the highest "
                  f"conditional accuracy ({chosen['conditional_accuracy']:.3f})")
    record = {key: (value.item() if hasattr(value, "item") else value)
              for key, value in chosen.to_dict().items()}
    return record | {"reason": reason,
                     "candidates": table[["system", "checkpoint_step", "fd_efflite0",
                                          "conditional_accuracy"]].to_dict("records")}
