"""The headline figures as a distribution: post-training (teacher pairs, distillation, APT) and
evaluation again under other seeds, from one finished run's curated data and teacher.

    python benchmarks/posttrain_seeds.py --data data --seeds 0 1 2 [--env base] [--reuse 0]
        [--out benchmarks/results/posttrain_seeds.json]

For every seed S, a copy of DATA's curated clips, caption embeddings and pretrained teacher (never
written) gets `kedro run --pipelines posttrain,evaluation` with posttrain.distill.seed=S and
posttrain.apt.seed=S: other teacher-pair noise and caption draws, other distillation and APT
batches and noise. The evaluation's own prompts and seeds stay (the yardstick is fixed), so the
spread is the recipe's. `--reuse S` takes seed S's figures from DATA's own evaluation instead of
running it again (DATA's run used seed S). Prints, per headline figure of metrics.json, every
seed's value, the mean and the range, and writes them to `--out`; the goals are judged on the
mean. Each seed costs the posttrain and evaluation stages' minutes (about 25 on 2 cores); a
finished seed's figures are kept in OUT's folder (`<out stem>_runs/seed-S.json`), so a stopped run
resumes at the next seed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from seaweed_apt import storage

# What the stage reads of a finished run: curated clips, caption embeddings, the teacher and its
# history (the report draws its curves).
INPUTS = ("03_primary", "04_feature", "06_models/teacher", "08_reporting/pretrain")
# Copied where the run has it: results keyed by the hash of their inputs, so a seed reads back
# only what no seed changes (the evaluator, the teacher's and the real clips' rows) and measures
# its own student and APT afresh.
CACHES = ("07_model_output/evaluation_cache",)
FIGURES = ("conditional_accuracy_teacher", "conditional_accuracy_apt1",
           "accuracy_ratio_apt1_over_teacher", "fd_efflite0_teacher", "fd_efflite0_apt1",
           "fd_ratio_apt1_over_teacher", "gap_closure", "motion_axis_accuracy_teacher",
           "motion_axis_accuracy_distilled1", "motion_axis_accuracy_apt1",
           "speed_ratio_teacher", "speed_ratio_apt1", "jump_ratio_teacher", "jump_ratio_apt1",
           "boundary_jump_ratio_teacher", "boundary_jump_ratio_apt1",
           "diversity_ratio_teacher", "diversity_ratio_apt1",
           "worst_class_accuracy_teacher", "worst_class_accuracy_apt1",
           "class_accuracy_ratio_min_apt1",
           "conditional_accuracy_apt1_unseen", "motion_axis_accuracy_apt1_unseen",
           "conditional_accuracy_apt1_paraphrase", "speedup")


def run_posttrain_evaluation(params: str, env: str, log: Path, name: str) -> None:
    """`kedro run --pipelines posttrain,evaluation --params PARAMS [--env ENV]`, its output in
    LOG; prints its seconds under NAME. Raises SystemExit naming LOG when kedro fails."""
    command = [str(Path(sys.executable).parent / "kedro"), "run", "--pipelines",
               "posttrain,evaluation", "--params", params]
    if env != "base":
        command += ["--env", env]
    began = time.perf_counter()
    with log.open("w") as out:
        code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT,
                              env=dict(os.environ, KEDRO_DISABLE_TELEMETRY="1")).returncode
    if code != 0:
        raise SystemExit(f"{name}: kedro exited {code}; see {log}")
    print(f"{name}: posttrain + evaluation in {time.perf_counter() - began:.0f} s", flush=True)


def run_seed(data: Path, seed: int, env: str, work: Path) -> dict:
    """posttrain + evaluation on a copy of `data`'s inputs under `seed`; returns metrics.json."""
    root = work / f"seed-{seed}" / "data"
    for part in INPUTS:
        shutil.copytree(data / part, root / part)
    for part in CACHES:
        if (data / part).is_dir():
            shutil.copytree(data / part, root / part)
    run_posttrain_evaluation(
        f"data_root={root},posttrain.distill.seed={seed},posttrain.apt.seed={seed}", env,
        work / f"seed-{seed}.log", f"seed {seed}")
    return json.loads((root / "08_reporting" / "evaluation" / "metrics.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--env", default="base", help="Kedro environment (base: conf/base)")
    parser.add_argument("--reuse", type=int, default=None,
                        help="take this seed's figures from DATA's own evaluation")
    parser.add_argument("--out", type=Path,
                        default=Path("benchmarks/results/posttrain_seeds.json"))
    args = parser.parse_args()
    runs: dict[int, dict] = {}
    # Each finished seed's metrics are kept beside --out, so a stopped benchmark resumes where it
    # stopped (a seed costs ~25-35 min); kept only for the same DATA, teacher and environment.
    finished = args.out.parent / f"{args.out.stem}_runs"
    finished.mkdir(parents=True, exist_ok=True)
    # The teacher's weights name the run: another run written to the same folder (a new fresh
    # clone at the same path) must not reuse this one's seeds.
    teacher = storage.sha256(args.data / "06_models" / "teacher" / "model.safetensors")
    source = {"data": str(args.data.resolve()), "env": args.env, "teacher": teacher,
              "cpu": os.environ.get("ATEN_CPU_CAPABILITY", "default")}
    # Kept when a seed fails, so its log can be read; removed once every seed has run.
    work = Path(tempfile.mkdtemp(prefix="posttrain-seeds-"))
    for seed in args.seeds:
        record = finished / f"seed-{seed}.json"
        kept = json.loads(record.read_text()) if record.exists() else {}
        if seed == args.reuse:
            path = args.data / "08_reporting" / "evaluation" / "metrics.json"
            runs[seed] = json.loads(path.read_text())
            print(f"seed {seed}: figures of {path}", flush=True)
        elif kept.get("source") == source:
            runs[seed] = kept["metrics"]
            print(f"seed {seed}: figures kept from an earlier run of this benchmark ({record})",
                  flush=True)
        else:
            runs[seed] = run_seed(args.data, seed, args.env, work)
            record.write_text(json.dumps({"source": source, "metrics": runs[seed]}) + "\n")
    shutil.rmtree(work)
    table = {}
    print(f"\n{'figure':<42}" + "".join(f"{'seed ' + str(s):>10}" for s in args.seeds)
          + f"{'mean':>10}{'min':>10}{'max':>10}")
    for figure in FIGURES:
        values = [runs[s].get(figure) for s in args.seeds]
        known = [float(v) for v in values if v is not None]
        if not known:
            continue
        stats = {"mean": float(np.mean(known)), "min": min(known), "max": max(known)}
        table[figure] = {"seeds": dict(zip(map(str, args.seeds), values, strict=True)), **stats}
        print(f"{figure:<42}" + "".join(f"{v:>10.4g}" if v is not None else f"{'-':>10}"
                                        for v in values)
              + f"{stats['mean']:>10.4g}{stats['min']:>10.4g}{stats['max']:>10.4g}")
    selected = {str(s): runs[s].get("selected_apt_system") for s in args.seeds}
    print("\nselected on validation:", selected)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"seeds": args.seeds, "env": args.env, "figures": table,
                                    "selected": selected}, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
