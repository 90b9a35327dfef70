"""Train several teacher recipes side by side, then score them together (made for a lent GPU,
where one small run leaves the device mostly idle; it runs on the CPU too).

    python benchmarks/teacher_sweep.py SWEEP.json --out DIR [--parallel 8] [--train-limit-s 330]
        [--samples 160] [--cfg 3 5]

SWEEP.json is a list of trials, each {"name", "data" (a data folder with 03_primary,
04_feature and 06_models/evaluator), "steps", "params" (over conf/base's `pretrain`, as
`pretrain_trial.py --params`), "overrides" (the model preset's fields)}. Each trial runs
`benchmarks/pretrain_trial.py` in its own process (at most `--parallel` at once, logs in
DIR/<name>.log, checkpoints in DIR/<name>/step-NNNNN); a trial still running after
`--train-limit-s` is stopped and scored at its latest checkpoint (the table says which step).
Then every data folder's trials are scored by `teacher_quality.py` (FD-EffLite0 and the frozen
evaluator's conditional accuracy on the test captions) and `caption_reliance.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def latest_checkpoint(folder: Path) -> Path | None:
    steps = sorted(folder.glob("step-*"))
    return steps[-1] if steps else None


def train_all(trials: list[dict], out: Path, parallel: int, limit_s: float, save_every: int
              ) -> dict[str, float]:
    """Runs every trial, `parallel` at a time; returns each trial's wall seconds."""
    pending, running, seconds = list(trials), {}, {}
    began = time.monotonic()
    while pending or running:
        while pending and len(running) < parallel:
            trial = pending.pop(0)
            command = [sys.executable, str(HERE / "pretrain_trial.py"), str(out / trial["name"]),
                       "--steps", str(trial["steps"]), "--save-every", str(save_every),
                       "--data", trial["data"], "--params", json.dumps(trial.get("params", {})),
                       "--overrides", json.dumps(trial.get("overrides", {}))]
            log = open(out / f"{trial['name']}.log", "w")
            running[trial["name"]] = (subprocess.Popen(command, stdout=log,
                                                       stderr=subprocess.STDOUT), time.monotonic())
        time.sleep(2)
        for name, (process, start) in list(running.items()):
            if process.poll() is not None or time.monotonic() - began > limit_s:
                if process.poll() is None:
                    process.kill()
                    print(f"{name}: stopped at the {limit_s:.0f} s limit", flush=True)
                process.wait()
                seconds[name] = time.monotonic() - start
                print(f"{name}: done in {seconds[name]:.0f} s, exit {process.returncode}",
                      flush=True)
                del running[name]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep")
    parser.add_argument("--out", required=True)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--train-limit-s", type=float, default=float("inf"))
    parser.add_argument("--save-every", type=int, default=800)
    parser.add_argument("--samples", type=int, default=160)
    parser.add_argument("--cfg", nargs="+", default=["5"])
    args = parser.parse_args()
    trials = json.loads(Path(args.sweep).read_text())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seconds = train_all(trials, out, args.parallel, args.train_limit_s, args.save_every)
    by_data: dict[str, list[str]] = {}
    for trial in trials:
        checkpoint = latest_checkpoint(out / trial["name"])
        tail = (out / f"{trial['name']}.log").read_text().splitlines()[-3:]
        print(f"{trial['name']}: {seconds[trial['name']]:.0f} s, scored at {checkpoint}\n  "
              + "\n  ".join(tail), flush=True)
        if checkpoint is not None:
            by_data.setdefault(trial["data"], []).append(str(checkpoint))
    scorers = []
    for data, models in by_data.items():
        scorers.append(subprocess.Popen(
            [sys.executable, str(HERE / "teacher_quality.py"), *models, "--data", data,
             "--samples", str(args.samples), "--cfg", *args.cfg, "--confusion"],
            stdout=open(out / f"quality-{Path(data).name}.txt", "w"), stderr=subprocess.STDOUT))
        scorers.append(subprocess.Popen(
            [sys.executable, str(HERE / "caption_reliance.py"), *models, "--data", data],
            stdout=open(out / f"reliance-{Path(data).name}.txt", "w"),
            stderr=subprocess.STDOUT))
    for scorer in scorers:
        scorer.wait()
    for report in sorted(out.glob("quality-*.txt")) + sorted(out.glob("reliance-*.txt")):
        print(f"== {report.name}\n{report.read_text()}", flush=True)
    os.sync()


if __name__ == "__main__":
    main()
