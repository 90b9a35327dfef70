"""What rerunning a finished training run costs: launching it again on Ray Train (a controller
and 2 workers, each importing torch and Ray Train, for a loop that reports one checkpoint and
returns) against reading Ray Train's record of it back (`Result.from_path`, what
`training.stage.finished_run` does), in interleaved rounds of one run.

    python benchmarks/train_launch.py [--rounds 3]

Ray's own start-up (once, before the rounds) is left out of both.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def report_one_checkpoint(config: dict) -> None:
    """A training loop with nothing to train: one checkpoint at the last step, from rank 0."""
    import ray.train

    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "trainer_state.json").write_text('{"step": 1}')
        checkpoint = ray.train.Checkpoint.from_directory(folder)
        rank0 = ray.train.get_context().get_world_rank() == 0
        ray.train.report({"step": 1}, checkpoint=checkpoint if rank0 else None)


def launch(storage_path: str, name: str) -> float:
    """Seconds for one `fit()` of `report_one_checkpoint` on 2 workers x 1 CPU."""
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    start = time.perf_counter()
    TorchTrainer(report_one_checkpoint,
                 scaling_config=ScalingConfig(num_workers=2, resources_per_worker={"CPU": 1}),
                 run_config=RunConfig(storage_path=storage_path, name=name)).fit()
    return time.perf_counter() - start


def read_back(run_path: str) -> float:
    """Seconds to restore the finished run's record and open its checkpoint."""
    from ray.train import Result

    start = time.perf_counter()
    result = Result.from_path(run_path)
    with result.checkpoint.as_directory() as folder:
        Path(folder, "trainer_state.json").read_text()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from seaweed_apt.config.loading import load_config
    from seaweed_apt.config.ray import RayConfig
    from seaweed_apt.ray_runtime import ensure_ray

    conf = Path(__file__).resolve().parents[1] / "conf"
    ensure_ray(load_config(RayConfig, conf, "base", "parameters.yml", "ray"))  # as the stages do
    with tempfile.TemporaryDirectory() as storage_path:
        launches, reads = [], []
        for round_ in range(args.rounds):
            name = f"run{round_}"
            launches.append(launch(storage_path, name))
            reads.append(read_back(str(Path(storage_path) / name)))
            print(f"round {round_}: launch {launches[-1]:.1f} s, read back {reads[-1]:.3f} s",
                  flush=True)
    mean_launch, mean_read = sum(launches) / len(launches), sum(reads) / len(reads)
    print(f"mean: launch {mean_launch:.1f} s, read back {mean_read:.3f} s "
          f"({mean_launch / mean_read:.0f}x)")


if __name__ == "__main__":
    main()
