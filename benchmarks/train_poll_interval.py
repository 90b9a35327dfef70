"""What Ray Train's poll interval costs a short run: the same run (2 workers x 1 CPU, a loop that
reports `--checkpoints` checkpoints back to back and returns, as the test stages do) launched
with Ray's default interval (2 s) and with the configured `ray.worker_poll_interval_s`, in
interleaved rounds. Each poll takes one report, so the last reports and the run's end wait one
interval each.

    python benchmarks/train_poll_interval.py [--rounds 3] [--checkpoints 2]

Ray's own start-up (once, before the rounds) is left out.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def report_checkpoints(config: dict) -> None:
    """A training loop with nothing to train: `config["checkpoints"]` checkpoints from rank 0."""
    import ray.train

    rank0 = ray.train.get_context().get_world_rank() == 0
    for step in range(1, config["checkpoints"] + 1):
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "trainer_state.json").write_text(f'{{"step": {step}}}')
            checkpoint = ray.train.Checkpoint.from_directory(folder)
            ray.train.report({"step": step}, checkpoint=checkpoint if rank0 else None)


def launch(storage_path: str, name: str, interval_s: float, checkpoints: int) -> float:
    """Seconds for one `fit()` of `report_checkpoints` under the poll interval `interval_s`."""
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from seaweed_apt.training.launch import environment

    start = time.perf_counter()
    with environment(RAY_TRAIN_HEALTH_CHECK_INTERVAL_S=str(interval_s)):
        TorchTrainer(report_checkpoints, train_loop_config={"checkpoints": checkpoints},
                     scaling_config=ScalingConfig(num_workers=2, resources_per_worker={"CPU": 1}),
                     run_config=RunConfig(storage_path=storage_path, name=name)).fit()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--checkpoints", type=int, default=2)
    args = parser.parse_args()
    from seaweed_apt.config.loading import load_config
    from seaweed_apt.config.ray import RayConfig
    from seaweed_apt.ray_runtime import ensure_ray

    conf = Path(__file__).resolve().parents[1] / "conf"
    ray_config = load_config(RayConfig, conf, "base", "parameters.yml", "ray")
    ensure_ray(ray_config)  # as the stages do
    intervals = {"ray default": 2.0, "configured": ray_config.worker_poll_interval_s}
    seconds: dict[str, list[float]] = {label: [] for label in intervals}
    with tempfile.TemporaryDirectory() as storage_path:
        for round_ in range(args.rounds):
            for label, interval in intervals.items():
                seconds[label].append(launch(storage_path, f"run{round_}-{interval}", interval,
                                             args.checkpoints))
            print(f"round {round_}: " + ", ".join(
                f"{label} ({intervals[label]} s) {seconds[label][-1]:.1f} s"
                for label in intervals), flush=True)
    means = {label: sum(values) / len(values) for label, values in seconds.items()}
    print("mean: " + ", ".join(f"{label} {mean:.1f} s" for label, mean in means.items())
          + f"; saved {means['ray default'] - means['configured']:.1f} s per launch")


if __name__ == "__main__":
    main()
