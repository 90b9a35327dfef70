"""APT held for many updates: does any validation figure fall off after its best?

    python benchmarks/apt_stability.py --data data --work /tmp/apt-stability \
        [--updates 1000] [--every 100] [--params KEY=VALUE,...]
        [--out benchmarks/results/apt_stability.json]

Copies a finished run's data (never written) to WORK/data and runs `kedro run --pipelines
posttrain,evaluation` there with posttrain.apt.generator_updates=UPDATES,
checkpoint_every=EVERY and keep_checkpoints=UPDATES/EVERY (and PARAMS, a switch under trial such
as posttrain.apt.lr_schedule=cosine), so every checkpoint is kept and
measured on the validation prompts (a fresh APT run: the three values are in its identity;
the teacher pairs, the distilled student and the evaluation cache are read back). Then, per
figure of `validation_systems.csv`, the best checkpoint and the last; a figure *falls off*
when the last checkpoint is worse than the best by more than the figure's noise:

- FD-EffLite0: the mean half-split spread (`fd_efflite0_spread`) over all checkpoints (one
  checkpoint's spread is one draw of it, 2 to 65 in the recorded run);
- accuracies (item, motion axis, worst class): two standard errors of a difference of two
  proportions over the validation prompts (`evaluation.num_samples`);
- speed and diversity (ratios to real clips'): 10% of the best (the issue's 0.9x bar).

Writes the table and the verdict to OUT and a plot of each figure against the update beside it
(`<out stem>.png`). Costs the APT updates (~3.5 s each on 2 AVX2 cores) and the validation of
each checkpoint (~1 min each).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path

import matplotlib
import pandas as pd
from posttrain_seeds import run_posttrain_evaluation

from seaweed_apt.config.evaluation import EvaluationConfig
from seaweed_apt.config.loading import load_config

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# (column, higher is better, kind of noise)
FIGURES = (("fd_efflite0", False, "fd"), ("conditional_accuracy", True, "proportion"),
           ("motion_axis_accuracy", True, "proportion"),
           ("worst_class_accuracy", True, "proportion"), ("speed_ratio", True, "ratio"),
           ("diversity_ratio", True, "ratio"))
# Not read by posttrain or evaluation: raw and decoded videos, the registry.
SKIPPED = ("01_raw", "02_intermediate", "09_registry")


def copy_run(data: Path, root: Path) -> None:
    """Copy DATA's stage outputs to ROOT, without what posttrain and evaluation never read."""
    if root.exists():
        raise SystemExit(f"{root} exists: give --work a new folder (outputs are never overwritten)")
    shutil.copytree(data, root, ignore=lambda folder, names: [
        n for n in names if Path(folder) == data and n in SKIPPED])


def tolerance(kind: str, checkpoints: pd.DataFrame, best: pd.Series, column: str,
              n: int) -> float:
    if kind == "fd":
        return float(checkpoints["fd_efflite0_spread"].mean())
    if kind == "proportion":
        p = float(best[column])
        return 2 * math.sqrt(max(2 * p * (1 - p) / n, 1.0 / n**2))
    return 0.1 * abs(float(best[column]))


def verdict(checkpoints: pd.DataFrame, n: int) -> dict:
    """Per figure: best and last checkpoint, their values, the noise and whether it fell off."""
    rows = {}
    last = checkpoints.iloc[-1]
    for column, higher, kind in FIGURES:
        values = checkpoints[column].astype(float)
        best = checkpoints.loc[values.idxmax() if higher else values.idxmin()]
        tol = tolerance(kind, checkpoints, best, column, n)
        loss = (best[column] - last[column]) if higher else (last[column] - best[column])
        rows[column] = {"best_update": int(best["checkpoint_step"]), "best": float(best[column]),
                        "last_update": int(last["checkpoint_step"]), "last": float(last[column]),
                        "noise": float(tol), "falls_off": bool(loss > tol)}
    return rows


def plot(checkpoints: pd.DataFrame, teacher: pd.Series, path: Path) -> None:
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for ax, (column, _, _) in zip(axes.flat, FIGURES, strict=True):
        ax.plot(checkpoints["checkpoint_step"], checkpoints[column], "o-", label="APT-1 (EMA)")
        ax.axhline(float(teacher[column]), color="grey", ls="--", label="teacher, 25 steps")
        ax.set_title(column)
        ax.set_xlabel("generator update")
    axes.flat[0].legend()
    fig.suptitle("APT on validation prompts, every kept checkpoint")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--params", default="",
                        help="more Kedro --params, e.g. posttrain.apt.lr_schedule=cosine")
    parser.add_argument("--out", type=Path,
                        default=Path("benchmarks/results/apt_stability.json"))
    args = parser.parse_args()
    root = (args.work / "data").resolve()
    if not (root / "08_reporting" / "evaluation" / "validation_systems.csv").exists():
        copy_run(args.data.resolve(), root)
        params = (f"data_root={root},posttrain.apt.generator_updates={args.updates},"
                  f"posttrain.apt.checkpoint_every={args.every},"
                  f"posttrain.apt.keep_checkpoints={args.updates // args.every}"
                  + (f",{args.params}" if args.params else ""))
        run_posttrain_evaluation(params, "base", args.work / "kedro.log", "apt stability")
    table = pd.read_csv(root / "08_reporting" / "evaluation" / "validation_systems.csv")
    checkpoints = (table[table["family"] == "apt"].sort_values("checkpoint_step")
                   .reset_index(drop=True))
    teacher = table[table["family"] == "teacher"].iloc[0]
    n = load_config(EvaluationConfig, "conf", "local", "parameters_evaluation.yml",
                    "evaluation").num_samples
    figures = verdict(checkpoints, n)
    columns = ["checkpoint_step", *(c for c, _, _ in FIGURES)]
    print(checkpoints[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("teacher: " + ", ".join(f"{c} {teacher[c]:.3f}" for c, _, _ in FIGURES))
    for column, row in figures.items():
        print(f"{column:<24} best {row['best']:.3f} at {row['best_update']}, last "
              f"{row['last']:.3f} at {row['last_update']} (noise {row['noise']:.3f}): "
              + ("FALLS OFF" if row["falls_off"] else "holds"))
    selection = json.loads((root / "08_reporting" / "evaluation" / "selection.json").read_text())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot(checkpoints, teacher, args.out.with_suffix(".png"))
    args.out.write_text(json.dumps({
        "data": str(args.data.resolve()), "updates": args.updates, "every": args.every,
        "params": args.params,
        "validation_samples": n, "figures": figures,
        "checkpoints": checkpoints[columns].to_dict("records"),
        "teacher": {c: float(teacher[c]) for c, _, _ in FIGURES},
        "selected": selection.get("system"), "selection_reason": selection.get("reason"),
        "stable": not any(r["falls_off"] for r in figures.values())}, indent=2) + "\n")
    print(f"written: {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
