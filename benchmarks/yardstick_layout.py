"""The evaluation's yardstick, side by side: the frozen evaluator trained and EfficientNet-Lite0
run in each memory layout (contiguous, as before; channels-last, the default since) and with each
evaluator seed asked for, on the same data and the same generated videos, in one run.

    python benchmarks/yardstick_layout.py [--data data] [--systems teacher_25step,...]
        [--arms contiguous:0,channels_last:0]   # layout:evaluator seed, one yardstick each
        [--ensemble]   # also: the arms' evaluators as one (their clip probabilities averaged)

Run in the repository root after a `make demo` (it reads `data/`, writes nothing there). The arm
with the stage's own layout and seed loads the stage's evaluator rather than training it again.
For each arm it prints the evaluator's training seconds and its accuracy on real test clips, the
seconds to measure every set, and each set's FD-EffLite0 and conditional accuracy: the floors
(real and trivial clips), the chosen systems and the paraphrase set of the teacher and the served
APT checkpoint, each system's videos generated once and measured by every arm. The layout is
switched through the constructors' defaults, which is all the pipeline sets. With `--ensemble`
it adds, per set, the accuracy of the arms' evaluators taken together (each clip's class the
argmax of the arms' averaged clip probabilities) and the arms' mean and range.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's `pipelines`

from pipelines.evaluation.nodes import train_evaluator  # noqa: E402
from seaweed_apt.config.evaluation import EvaluationConfig  # noqa: E402
from seaweed_apt.config.loading import load_config  # noqa: E402
from seaweed_apt.config.sampling import SamplingConfig  # noqa: E402
from seaweed_apt.config.text import TextEncoderConfig  # noqa: E402
from seaweed_apt.evaluation import evaluator as evaluator_module  # noqa: E402
from seaweed_apt.evaluation.data import load_split_clips  # noqa: E402
from seaweed_apt.evaluation.features import EffLite0Features  # noqa: E402
from seaweed_apt.evaluation.paraphrase import paraphrase_captions  # noqa: E402
from seaweed_apt.evaluation.quality import quality_figures  # noqa: E402
from seaweed_apt.evaluation.run import SetMeter, caption_text, floor_sets, prompt_seeds  # noqa: E402
from seaweed_apt.evaluation.systems import run_system, standard_systems  # noqa: E402
from seaweed_apt.reporting.samples import embed_prompts  # noqa: E402
from seaweed_apt.training.checkpoint import load_model  # noqa: E402
from seaweed_apt.training.data import load_caption_table  # noqa: E402
from seaweed_apt.training.stage import clip_geometry  # noqa: E402

LAYOUTS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


def use_layout(memory_format: torch.memory_format) -> None:
    """Every evaluator and feature extractor built from here on uses `memory_format`."""
    init = evaluator_module.ItemClassifier.__init__
    init.__defaults__ = (init.__defaults__[0], memory_format)
    train = evaluator_module.train_item_classifier
    train.__defaults__ = (*train.__defaults__[:-1], memory_format)
    features = EffLite0Features.__init__
    features.__defaults__ = (*features.__defaults__[:-1], memory_format)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data")
    parser.add_argument("--systems", default="")
    parser.add_argument("--arms", default="contiguous:0,channels_last:0")
    parser.add_argument("--ensemble", action="store_true")
    args = parser.parse_args()
    data = Path(args.data)
    evaluation = load_config(EvaluationConfig, "conf", "local", "parameters_evaluation.yml",
                             "evaluation")
    sampling = load_config(SamplingConfig, "conf", "local", "parameters_pretrain.yml", "sampling")
    text_encoder = load_config(TextEncoderConfig, "conf", "local",
                               "parameters_data_curation.yml", "text_encoder")
    manifest = pd.read_parquet(data / "03_primary" / "clip_manifest.parquet")
    shards = str(data / "03_primary" / "clip_shards")
    served = json.loads((data / "08_reporting" / "evaluation" / "selection.json").read_text())
    chosen = args.systems.split(",") if args.systems else [
        f"teacher_{evaluation.reference_teacher_steps}step", "distilled_1step",
        served["system"]]
    reference = load_split_clips(manifest, shards, "test", limit=evaluation.reference_clips,
                                 seed=evaluation.seed)
    prompts = load_split_clips(manifest, shards, "test", limit=evaluation.num_samples,
                               seed=evaluation.seed + 1)
    floor_clips = load_split_clips(manifest, shards, "train", limit=evaluation.num_samples,
                                   seed=evaluation.seed + 2)
    text = caption_text(load_caption_table(str(data / "04_feature" /
                                               "caption_embeddings.safetensors")),
                        prompts.caption_index)
    seeds = prompt_seeds(evaluation, len(prompts))
    systems = {s.name: s for s in standard_systems(
        evaluation.teacher_steps, sampling.cfg_scale, [int(served["checkpoint_step"])],
        evaluation.apt_steps, evaluation.reference_teacher_steps)}
    chosen += [f"teacher_{evaluation.reference_teacher_steps}step_paraphrase",
               f"{served['system']}_paraphrase"]
    texts = {"test": text, "paraphrase": embed_prompts(
        paraphrase_captions(prompts.captions, evaluation.paraphrases), text_encoder)}
    torch.set_num_threads(2)
    videos = {}
    for name in chosen:
        system = systems[name]
        model = load_model(str(data / "06_models" / (
            "apt_best" if system.family == "apt" else system.checkpoint)))
        videos[name], _ = run_system(model, system, texts[system.prompt_set], seeds,
                                     clip_geometry(manifest), sampling.shift,
                                     evaluation.generation_batch_size)
    sets = {name: (clips, floor_clips) for name, clips in floor_sets(floor_clips,
                                                                      evaluation).items()}
    sets |= {name: (clips, prompts) for name, clips in videos.items()}
    arms = [(layout, int(seed)) for layout, seed in
            (arm.split(":") for arm in args.arms.split(","))]
    rows, probabilities = {}, {}
    for layout, seed in arms:
        arm = f"{layout}:{seed}"
        use_layout(LAYOUTS[layout])
        config = evaluation.model_copy(update={
            "evaluator": evaluation.evaluator.model_copy(update={"seed": seed})})
        began = time.perf_counter()
        stage_evaluator = data / "06_models" / "evaluator"
        if (layout, seed) == ("channels_last", evaluation.evaluator.seed) \
                and stage_evaluator.is_dir():
            # The stage's own evaluator (the same config trains the same one): no retraining.
            files = {f.name: f.read_bytes() for f in stage_evaluator.iterdir()}
            record = json.loads(files[evaluator_module.EVALUATOR_CONFIG])
            how = f"loaded from {stage_evaluator}"
        else:
            files, record = train_evaluator(manifest, shards, config)
            how = f"trained in {time.perf_counter() - began:.1f} s"
        print(f"{arm}: evaluator {how}, accuracy on real test clips "
              f"{record['test_clip_accuracy']:.4f}", flush=True)
        began = time.perf_counter()
        meter = SetMeter(files, config)
        meter.compare_to(meter.features(reference.frames), reference.captions)
        for name, (clips, asked) in sets.items():
            features = meter.features(clips)
            figures = quality_figures(features, asked.captions, asked.labels, meter.reference,
                                      meter.reference_captions)
            rows[(name, arm)] = (figures["fd_efflite0"], figures["conditional_accuracy"])
            probabilities[(name, arm)] = features.probabilities
        print(f"{arm}: {len(sets)} sets and the reference measured in "
              f"{time.perf_counter() - began:.1f} s", flush=True)
    names = [f"{layout}:{seed}" for layout, seed in arms]
    print(f"\n{'set':<36}" + "".join(f" {'FD ' + n:>18}" for n in names)
          + "".join(f" {'acc ' + n:>18}" for n in names))
    for name in sets:
        print(f"{name:<36}" + "".join(f" {rows[(name, n)][0]:>18.2f}" for n in names)
              + "".join(f" {rows[(name, n)][1]:>18.4f}" for n in names))
    if args.ensemble:
        print(f"\n{'set':<36} {'ensemble':>10} {'mean':>10} {'min':>10} {'max':>10}")
        for name, (_, asked) in sets.items():
            labelled = asked.labels >= 0
            together = torch.stack([probabilities[(name, n)] for n in names]).mean(dim=0)
            hits = together.argmax(dim=1).numpy()[labelled] == asked.labels[labelled]
            each = [rows[(name, n)][1] for n in names]
            print(f"{name:<36} {hits.mean():>10.4f} {np.mean(each):>10.4f} {min(each):>10.4f} "
                  f"{max(each):>10.4f}")


if __name__ == "__main__":
    main()
