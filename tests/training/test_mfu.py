"""MFU: FLOPs per step (counted, or from the model config), the device's peak, and the loop's
windows and the stage record that report them."""

import json
from functools import partial

import torch

from seaweed_apt.pretrain.pretrain_phase import build_pretrain_phase
from seaweed_apt.training.loop import training_loop
from seaweed_apt.training.mfu import counted_flops, device_peak_flops
from seaweed_apt.training.stage import StageOutcome
from seaweed_apt.training.worker import LocalWorker, step_seed
from tests.training.test_loop import _loop_config


def test_pretraining_flops_from_the_config_match_the_counted_flops_of_its_steps(curated_root,
                                                                               tmp_path):
    worker = LocalWorker.start(tmp_path, 1)
    loop_config = _loop_config(curated_root, image_fraction=0.5)
    phase = build_pretrain_phase(loop_config, worker)
    from seaweed_apt.training.data import load_worker_clips

    clips = load_worker_clips(loop_config.clips, 0, 1)
    kinds = set()
    for step in range(6):  # image and video steps both
        rng = torch.Generator().manual_seed(step_seed(0, 0, step))
        result, counted = counted_flops(
            partial(phase.train_step, phase.networks, clips, rng, step))
        kinds.add(result.flops)
        # Forward + backward = 3 forwards per clip, less the input gradient of the first
        # layer, which nothing needs: within 10% of the count of what ran.
        assert 0.9 * counted <= result.flops <= 1.1 * counted, (step, result.flops, counted)
    assert len(kinds) == 2  # an image step's FLOPs are not a video step's


def test_the_cpu_peak_is_measured_on_the_workers_threads():
    peak, source = device_peak_flops(torch.device("cpu"))
    assert 1e8 < peak < 1e14 and f"{torch.get_num_threads()} CPU thread" in source


def test_windows_after_the_first_report_mfu_and_the_record_its_mean(curated_root, tmp_path):
    training_loop(build_pretrain_phase, _loop_config(curated_root, steps=4),
                  LocalWorker.start(tmp_path, 1))
    history = json.loads((tmp_path / "step-00004" / "trainer_state.json").read_text())["history"]
    with_mfu = [window for window in history if "mfu" in window]
    assert len(with_mfu) >= 3 and all(0 < w["mfu"] < 2 and w["flop_per_s"] > 0
                                      for w in with_mfu)
    record = StageOutcome({}, history, "run", 1.0, 1.0, [], [], []).record()
    assert record["mfu"] == sum(w["mfu"] for w in with_mfu) / len(with_mfu)


def test_counting_the_flops_leaves_the_run_as_it_is_without_the_count(curated_root, tmp_path,
                                                                      monkeypatch):
    from safetensors.torch import load_file

    from seaweed_apt.training import loop

    training_loop(build_pretrain_phase, _loop_config(curated_root, steps=3),
                  LocalWorker.start(tmp_path / "counted", 1))
    monkeypatch.setattr(loop, "count_step_flops", lambda *args: None)
    training_loop(build_pretrain_phase, _loop_config(curated_root, steps=3),
                  LocalWorker.start(tmp_path / "plain", 1))
    for name in ("model", "ema"):
        counted = load_file(str(tmp_path / "counted" / "step-00003" / f"{name}.safetensors"))
        plain = load_file(str(tmp_path / "plain" / "step-00003" / f"{name}.safetensors"))
        assert all(torch.equal(counted[key], plain[key]) for key in plain), name
