"""A training step of the default recipe against a faster variant of it, side by side in one run:
`torch.compile` of its networks (inductor), bf16 autocast on the CPU, or the optimisers'
multi-tensor (foreach) step.

    python benchmarks/step_variants.py --data /tmp/demo35/data [--variant compile|bf16|foreach]
        [--phase pretrain|distill|apt] [--threads 2] [--steps 20] [--rounds 3] [--static]

Two copies of the phase (`--phase`), built as its stage builds it on a finished run's data in one
process without Ray: one as the stage runs it (eager, fp32), one as `--variant`. Both
run the same steps (same seeds, same batches) in interleaved rounds of `--steps` steps (the
machine's slow spells fall on both), after `--warmup` steps each (compilation happens there and
is timed on its own). Prints the median step time of each, their ratio, the compile time, and how
far the variant's losses and weights moved from the stage's: compiled kernels fuse and reorder
floating-point sums and bf16 rounds every product's inputs, so equal numerics are not expected;
the figures say by how much (a quality figure needs the seeds benchmark).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from profile_steps import loop_config  # noqa: E402

from seaweed_apt.apt.apt_phase import build_apt_phase  # noqa: E402
from seaweed_apt.apt.distill_phase import build_distill_phase  # noqa: E402
from seaweed_apt.pretrain.pretrain_phase import build_pretrain_phase  # noqa: E402
from seaweed_apt.training.data import load_worker_clips  # noqa: E402
from seaweed_apt.training.worker import LocalWorker, step_seed  # noqa: E402

BUILDERS = {"pretrain": build_pretrain_phase, "distill": build_distill_phase,
            "apt": build_apt_phase}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--env", default="base")
    parser.add_argument("--phase", choices=sorted(BUILDERS), default="pretrain")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--variant", choices=("compile", "bf16", "foreach"), default="compile")
    parser.add_argument("--mode", default="default", help="torch.compile mode")
    parser.add_argument("--static", action="store_true",
                        help="torch.compile(dynamic=False): one graph per input shape")
    args = parser.parse_args()
    worker = LocalWorker.start(Path("/tmp/compile-step-checkpoints"), args.threads)
    loop, _ = loop_config(args.data, args.env, args.phase, args.threads)
    clips = load_worker_clips(loop.clips, 0, 1)
    copies = {}
    # bf16: the pipeline's switch (`ray.cpu_bf16_autocast`), the phase's own autocast regions.
    bf16_worker = replace(worker, cpu_bf16_autocast=True)
    for name in ("eager", args.variant):
        phase = BUILDERS[args.phase](loop, bf16_worker if name == "bf16" else worker)
        networks = dict(phase.networks)
        if name == "foreach":  # the multi-tensor optimiser step (torch's foreach=True)
            for optimizer in phase.optimizers.values():
                for group in optimizer.param_groups:
                    group["foreach"] = True
        if name == "compile":
            networks = {key: torch.compile(network, mode=args.mode,
                                           dynamic=False if args.static else None)
                        for key, network in networks.items()}
        copies[name] = (phase, networks, {"step": 1, "seconds": [], "losses": []})

    def run(name: str, count: int) -> float:
        phase, networks, state = copies[name]
        start = time.perf_counter()
        for _ in range(count):
            rng = torch.Generator().manual_seed(step_seed(phase.schedule.seed, 0, state["step"]))
            result = phase.train_step(networks, clips, rng, state["step"])
            state["losses"].append(next(iter(result.terms.values())))
            state["step"] += 1
        return time.perf_counter() - start

    warmup = {name: run(name, args.warmup) for name in copies}
    print(f"warm-up ({args.warmup} steps, compilation included): "
          + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in warmup.items()))
    for _ in range(args.rounds):
        for name in copies:
            copies[name][2]["seconds"].append(run(name, args.steps) / args.steps)
    eager, variant = (statistics.median(copies[name][2]["seconds"]) for name in copies)
    print(f"{args.phase}, {args.threads} threads, {args.rounds} rounds of {args.steps} steps: "
          f"eager {eager * 1e3:.1f} ms, {args.variant} {variant * 1e3:.1f} ms per step: "
          f"{eager / variant:.2f}x")
    losses = [torch.tensor(copies[name][2]["losses"]) for name in copies]
    print(f"first logged term, largest difference over {len(losses[0])} steps: "
          f"{(losses[0] - losses[1]).abs().max():.3g} (eager's last {losses[0][-1]:.6f}, "
          f"{args.variant}'s {losses[1][-1]:.6f})")
    weights = [dict(copies[name][0].networks["model"].named_parameters()) for name in copies]
    largest = max(float((weights[0][key] - weights[1][key]).detach().abs().max())
                  for key in weights[0])
    print(f"largest weight difference after {copies['eager'][2]['step'] - 1} steps: "
          f"{largest:.3g}")


if __name__ == "__main__":
    main()
