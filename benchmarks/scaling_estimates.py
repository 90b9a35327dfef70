"""Memory and time on paper for every model preset, from its parameter count and FLOPs.

    python benchmarks/scaling_estimates.py [--peak-tflops 989 --mfu 0.35 --gpu-memory-gb 141]

Parameters are counted on the meta device (nothing is allocated); forward FLOPs come from
`seaweed_apt.models.dit.flops_per_sample`. The accounting (stated in docs/scaling.md):
- training state: 20 bytes per parameter for pretraining (fp32 weights, gradients, two AdamW
  moments, fp32 EMA) and 36 for APT (the generator's 20 + the discriminator's 16, no EMA of D);
- activations: 34 bytes per token per hidden unit per block in bf16 with flash attention
  (Korthikanti et al., 2022, "Reducing Activation Recomputation"), plus the cross-attention;
- time: a pretraining step costs 3 forwards per sample (forward + backward), an APT update 15
  (G step 5: G forward/backward + D forward/backward to its input; D step 10: G forward,
  D forward on real, fake and perturbed real, and their backwards), at `--mfu` of `--peak-tflops`.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import torch

from seaweed_apt.models.dit import PRESETS, DiTConfig, VideoDiT, count_parameters, flops_per_sample

PRETRAIN_STATE_BYTES, APT_STATE_BYTES = 20, 36
ACTIVATION_BYTES = 34
PRETRAIN_FORWARDS, APT_FORWARDS = 3, 15

# (label, preset, frames, height, width, config changes): what each preset is run at.
SCENARIOS = [
    ("tests (conf/test)", "tiny", 16, 32, 32, {}),
    ("CPU, smaller", "cpu-small", 8, 32, 32, {}),
    ("CPU default", "cpu", 8, 32, 32, {}),
    ("conf/gpu", "gpu-base", 16, 64, 64, {}),
    ("conf/gpu, larger", "gpu-large", 16, 64, 64, {}),
    # 720p, 49 frames (2 s at 24 fps) through a latent autoencoder with 4x8x8 compression and
    # 16 channels: a 13x90x160 latent, patches of 1x2x2 -> 46,800 tokens.
    ("720p latent", "gpu-large", 13, 90, 160,
     {"in_channels": 16, "patch_t": 1, "patch_h": 2, "patch_w": 2}),
]


def tokens(config: DiTConfig, frames: int, height: int, width: int) -> int:
    return -(-frames // config.patch_t) * (height // config.patch_h) * (width // config.patch_w)


def activation_bytes(config: DiTConfig, n_tokens: int) -> float:
    cross = 2 * n_tokens * config.text_tokens * 2  # bf16 cross-attention probabilities
    return config.depth * (ACTIVATION_BYTES * n_tokens * config.hidden + cross)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="bf16 dense (H100/H200)")
    parser.add_argument("--mfu", type=float, default=0.35)
    parser.add_argument("--gpu-memory-gb", type=float, default=141.0)
    args = parser.parse_args()
    rate = args.peak_tflops * 1e12 * args.mfu
    print(f"assumed: {args.peak_tflops:.0f} TFLOP/s bf16 peak at {args.mfu:.0%} MFU, "
          f"{args.gpu_memory_gb:.0f} GB per GPU\n")
    print("| run at | preset | params | tokens | GFLOP fwd/sample | pretrain state GB "
          "| APT state GB | activations GB/sample | max batch/GPU (pretrain, APT) "
          "| pretrain ms/sample | APT ms/sample |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label, preset, frames, height, width, changes in SCENARIOS:
        config = replace(PRESETS[preset], **changes)
        with torch.device("meta"):
            params = count_parameters(VideoDiT(config))
        n_tokens = tokens(config, frames, height, width)
        flops = flops_per_sample(config, frames, height, width)
        state_pre, state_apt = params * PRETRAIN_STATE_BYTES, params * APT_STATE_BYTES
        act = activation_bytes(config, n_tokens)
        budget = args.gpu_memory_gb * 1e9 * 0.9  # allocator and workspace headroom
        # APT holds G's and D's activations for the same batch.
        batch_pre = int(max(budget - state_pre, 0) // act)
        batch_apt = int(max(budget - state_apt, 0) // (2 * act))
        print(f"| {label} ({frames}x{height}x{width}) | {preset} | {params / 1e6:.1f}M "
              f"| {n_tokens:,} | {flops / 1e9:,.1f} | {state_pre / 1e9:.2f} "
              f"| {state_apt / 1e9:.2f} | {act / 1e9:.3f} | {batch_pre:,}, {batch_apt:,} "
              f"| {PRETRAIN_FORWARDS * flops / rate * 1e3:.3f} "
              f"| {APT_FORWARDS * flops / rate * 1e3:.3f} |")


if __name__ == "__main__":
    main()
