"""Quality against speed over step counts: the teacher at 1, 4, 8 and 25 guided steps and the
served APT checkpoint at one and zero-shot two steps, on the evaluation's test prompts and seeds.

    python benchmarks/steps_curve.py [--data data] [--teacher-steps 1 4 8 25] [--apt-steps 1 2]

No goal, selection or gate reads these rows, so the evaluation stage no longer measures them
(issue 37: the stage measures what its figures need); this script does, from a finished run's
DATA (teacher, distilled student, `apt_best`, evaluator, curated clips), with the stage's code,
Ray actors and evaluation cache (`07_model_output/evaluation_cache`: the rows the stage measured,
the reference teacher's among them, come back from it). Prints one row per system and writes
`DATA/08_reporting/evaluation/steps_curve.csv`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from data_root import curated_clips

from seaweed_apt.config.evaluation import EvaluationConfig
from seaweed_apt.config.loading import load_config
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.config.sampling import SamplingConfig
from seaweed_apt.config.text import TextEncoderConfig
from seaweed_apt.evaluation.on_ray import evaluate_systems_on_ray
from seaweed_apt.evaluation.prompts import reported_prompts
from seaweed_apt.evaluation.systems import reported_systems
from seaweed_apt.result_cache import ResultCache
from seaweed_apt.text.encoder import embed_prompts
from seaweed_apt.training.checkpoint import load_model_from_files


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--teacher-steps", type=int, nargs="+", default=[1, 4, 8, 25])
    parser.add_argument("--apt-steps", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--env", default="local", help="Kedro environment of conf/ to read")
    args = parser.parse_args()

    def config(model, group: str, key: str):
        return load_config(model, "conf", args.env, f"parameters{group}.yml", key)

    evaluation = config(EvaluationConfig, "_evaluation", "evaluation")
    sampling = config(SamplingConfig, "_pretrain", "sampling")
    text_encoder = config(TextEncoderConfig, "_data_curation", "text_encoder")
    ray = config(RayConfig, "", "ray")
    data = args.data
    clips = curated_clips(data)
    reference, prompt_sets, _ = reported_prompts(
        clips, evaluation, lambda prompts: embed_prompts(prompts, text_encoder))
    selection = json.loads((data / "08_reporting/evaluation/selection.json").read_text())
    step = int(selection["checkpoint_step"])
    systems = reported_systems(args.teacher_steps, sampling.cfg_scale, step, args.apt_steps,
                               evaluation.reference_teacher_steps, ())
    teacher = _files(data / "06_models/teacher")
    model_files = {"teacher": teacher, "distilled": _files(data / "06_models/distilled"),
                   f"apt/{step}": _files(data / "06_models/apt_best")}
    table, _ = evaluate_systems_on_ray(
        systems, model_files, reference, {"test": prompt_sets["test"]}, None,
        _files(data / "06_models/evaluator"), evaluation, clips.clip_shape,
        sampling.shift,
        load_model_from_files(teacher).patch[0], ray,
        ResultCache(data / "07_model_output/evaluation_cache"))
    shown = table[table["family"] != "ceiling"][
        ["system", "steps", "network_evaluations", "seconds_per_video", "fd_efflite0",
         "conditional_accuracy", "motion_axis_accuracy", "speed_ratio", "boundary_jump_ratio"]]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    out = data / "08_reporting/evaluation/steps_curve.csv"
    shown.to_csv(out, index=False)
    print(f"written: {out}")


if __name__ == "__main__":
    main()
