"""Where a training step's time goes: `torch.profiler` over a pretraining step, a distillation
step and an APT update of the default recipe, and an evaluation batch, on one finished run's data;
achieved FLOP/s against the same machine's measured matmul peak, in the same run.

    python benchmarks/profile_steps.py --data data [--threads 2] [--steps 6] [--env base]
        [--out benchmarks/results/profile_steps.json]

Each phase is built as the stage builds it (its config from conf/, the run's clip shards,
caption embeddings, teacher, distilled student and teacher pairs), in one process without Ray
(`LocalWorker`), at `--threads` torch threads: what one Ray Train worker of the CPU default does
with its share of the batch is 1 worker x 2 threads here (docs/benchmarks.md compares the two).
Two warm-up steps, then `--steps` profiled ones. Operators are grouped into families by name
(`FAMILIES`); a family's share is its self CPU time over the steps' wall time, and what no aten
operator accounts for (Python, the autograd engine, the loop) is printed as the rest.

FLOP/s: the FLOPs of one step as run, counted as the training loop counts them
(`training.mfu.counted_flops`: matrix products, attention and convolutions, forward and
backward, the FLOPs MFU counts, as PaLM's appendix B defines it); achieved FLOP/s = that over the
median step time. Peak: `training.mfu.measured_matmul_flops` in fp32 (and bf16) on the same
threads, measured here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from data_root import curated_clips
from torch.profiler import ProfilerActivity, profile

from seaweed_apt.apt.apt_phase import APTInputs, build_apt_phase
from seaweed_apt.apt.distill_phase import DistillInputs, build_distill_phase
from seaweed_apt.config.loading import load_parameters
from seaweed_apt.config.posttrain import APTConfig, DistillConfig
from seaweed_apt.config.pretrain import PretrainConfig
from seaweed_apt.pretrain.pretrain_phase import build_pretrain_phase
from seaweed_apt.training.data import load_worker_clips
from seaweed_apt.training.loop import LoopConfig, LoopSchedule
from seaweed_apt.training.mfu import counted_flops, measured_matmul_flops
from seaweed_apt.training.worker import LocalWorker, step_seed

WARMUP = 2

# Operator families by the aten name's words, first match wins (self time is counted once).
FAMILIES = (
    ("matmul", ("mm", "addmm", "bmm", "baddbmm", "matmul", "linear")),
    ("attention", ("scaled_dot_product", "_flash_attention", "_efficient_attention",
                   "softmax")),
    ("convolution", ("conv", "convolution")),
    ("normalisation", ("layer_norm", "group_norm", "native_layer_norm", "rms_norm",
                       "native_group_norm", "norm")),
    ("optimiser and EMA", ("_foreach", "adam", "rmsprop", "lerp", "addcdiv", "addcmul", "sqrt")),
    ("copies and layout", ("copy_", "clone", "contiguous", "cat", "permute", "transpose",
                           "reshape", "view", "index", "split", "unfold", "pad", "pad3d",
                           "replication", "stack",
                           "to", "_to_copy", "expand", "repeat", "empty", "zeros", "fill_")),
    ("elementwise", ("add", "mul", "sub", "div", "gelu", "silu", "sigmoid", "tanh", "exp",
                     "neg", "pow", "rsqrt", "mean", "sum", "where", "clamp", "abs", "threshold",
                     "randn", "rand", "normal", "uniform", "bernoulli", "sign", "max", "min")),
)


def family(name: str) -> str:
    """The family of an aten operator: a key of several words matches inside the name
    (`_scaled_dot_product_flash_attention_for_cpu`), a one-word key a whole word of it."""
    op = name.removeprefix("aten::").lower()
    words = op.replace("_backward", "").strip("_").split("_")
    for label, keys in FAMILIES:
        if any(key in op if "_" in key.strip("_") else key in words or op.startswith(key)
               for key in keys):
            return label
    return "other"


def loop_config(data: Path, env: str, stage: str, threads: int) -> tuple[LoopConfig, dict]:
    """The loop config `run_stage` gives the phase `stage`, on `data`'s outputs (the teacher,
    the distilled generator and the teacher pairs where the phase reads them)."""
    models = data / "06_models"
    pairs = str(data / "05_model_input/teacher_pairs.safetensors")
    if stage == "pretrain":
        config = load_parameters("conf", env, "parameters_pretrain.yml", "pretrain")
        inputs = PretrainConfig.model_validate(config)
    elif stage == "distill":
        config = load_parameters("conf", env, "parameters_posttrain.yml", "posttrain.distill")
        distill = DistillConfig.model_validate(config)
        inputs = DistillInputs(distill, str(models / "teacher"), teacher_pairs_uri=(
            pairs if distill.objective == "regression" else None))
    else:
        config = load_parameters("conf", env, "parameters_posttrain.yml", "posttrain.apt")
        apt = APTConfig.model_validate(config)
        inputs = APTInputs(apt, str(models / "teacher"), str(models / "distilled"),
                           pairs if apt.regression_weight > 0 else None)
    return LoopConfig(inputs, curated_clips(data), threads_per_worker=threads), config


def profile_phase(builder, loop: LoopConfig, worker: LocalWorker, steps: int) -> dict:
    """Median step seconds, FLOPs per step, and self CPU seconds per operator family."""
    phase = builder(loop, worker)
    networks = {name: worker.prepare(network) for name, network in phase.networks.items()}
    clips = load_worker_clips(loop.clips, 0, 1)
    schedule: LoopSchedule = phase.schedule

    def step(index: int) -> float:
        rng = torch.Generator().manual_seed(step_seed(schedule.seed, 0, index))
        start = time.perf_counter()
        phase.train_step(networks, clips, rng, index)
        phase.ema.update(networks["model"], index)
        return time.perf_counter() - start

    # Step 0 may run one-off work (APT's discriminator warm-up): start past it.
    first = 1
    for index in range(first, first + WARMUP):
        step(index)
    flops = counted_flops(partial(step, first + WARMUP))[1]
    times = []
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for index in range(first + WARMUP + 1, first + WARMUP + 1 + steps):
            times.append(step(index))
    return {"step_s": statistics.median(times), "flops_per_step": flops,
            **family_shares(prof, sum(times), steps)}


def profile_evaluation_batch(data: Path, env: str, steps: int) -> dict:
    """One `generation_batch_size` batch of the reference teacher (its steps with CFG): the
    evaluation's costliest system. Seconds per batch, FLOPs, and the families."""
    from seaweed_apt.diffusion.sampling import generate_videos
    from seaweed_apt.evaluation.run import caption_text
    from seaweed_apt.text.caption_table import load_caption_table
    from seaweed_apt.training.checkpoint import load_model

    evaluation = load_parameters("conf", env, "parameters_evaluation.yml", "evaluation")
    sampling = load_parameters("conf", env, "parameters_pretrain.yml", "sampling")
    manifest = pd.read_parquet(data / "03_primary/clip_manifest.parquet")
    frames, height, width = (int(manifest.iloc[0][key])
                             for key in ("num_frames", "height", "width"))
    model = load_model(data / "06_models/teacher").eval()
    table = load_caption_table(data / "04_feature/caption_embeddings.safetensors")
    batch = evaluation["generation_batch_size"]
    text = caption_text(table, np.arange(batch) % table.tokens.shape[0])

    def one_batch() -> float:
        start = time.perf_counter()
        with torch.no_grad():
            generate_videos(model, text, list(range(batch)), evaluation["reference_teacher_steps"],
                            sampling["cfg_scale"], frames, height, width,
                            shift=sampling["shift"], batch_size=batch)
        return time.perf_counter() - start

    one_batch()
    flops = counted_flops(one_batch)[1]
    times = []
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            times.append(one_batch())
    return {"step_s": statistics.median(times), "flops_per_step": flops,
            **family_shares(prof, sum(times), steps)}


def family_shares(prof, wall: float, steps: int) -> dict:
    """Self CPU time per operator family over `wall`, and the 12 costliest operators."""
    families: dict[str, float] = defaultdict(float)
    events = [e for e in prof.key_averages() if e.key.startswith("aten::")]
    for event in events:
        families[family(event.key)] += event.self_cpu_time_total / 1e6
    top = sorted(((e.self_cpu_time_total / 1e6, e.key) for e in events), reverse=True)[:12]
    return {"family_share": {k: v / wall for k, v in sorted(families.items(),
                                                             key=lambda kv: -kv[1])},
            "top_operators_s_per_step": {key: seconds / steps for seconds, key in top}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--env", default="base")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/profile_steps.json"))
    args = parser.parse_args()
    worker = LocalWorker.start(Path("/tmp/profile-steps-checkpoints"), args.threads)
    cpu = torch.device("cpu")
    peaks = {"fp32": measured_matmul_flops(cpu, torch.float32),
             "bf16": measured_matmul_flops(cpu, torch.bfloat16)}
    results = {"threads": args.threads, "peak_flops": peaks, "phases": {}}
    for stage, builder in (("pretrain", build_pretrain_phase), ("distill", build_distill_phase),
                           ("apt", build_apt_phase), ("evaluation batch", None)):
        torch.manual_seed(0)
        if builder is None:
            result = profile_evaluation_batch(args.data, args.env, max(1, args.steps // 3))
        else:
            loop, _ = loop_config(args.data, args.env, stage, args.threads)
            result = profile_phase(builder, loop, worker, args.steps)
        result["achieved_flops_per_s"] = result["flops_per_step"] / result["step_s"]
        result["fraction_of_fp32_peak"] = result["achieved_flops_per_s"] / peaks["fp32"]
        results["phases"][stage] = result
        print(f"\n{stage}: {result['step_s'] * 1e3:.0f} ms per step, "
              f"{result['flops_per_step'] / 1e9:.1f} GFLOP, "
              f"{result['achieved_flops_per_s'] / 1e9:.1f} GFLOP/s = "
              f"{result['fraction_of_fp32_peak']:.0%} of the fp32 matmul peak "
              f"({peaks['fp32'] / 1e9:.0f} GFLOP/s; bf16 {peaks['bf16'] / 1e9:.0f})")
        result["outside_aten_share"] = 1 - sum(result["family_share"].values())
        for name, share in result["family_share"].items():
            print(f"  {name:<20} {share:6.1%}")
        print(f"  {'outside aten ops':<20} {result['outside_aten_share']:6.1%}  (Python, "
              "autograd engine, the loop)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
