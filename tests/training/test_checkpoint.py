import json

import pytest
import torch

from seaweed_apt.models.dit import VideoDiT, build_config
from seaweed_apt.text.batch import TextBatch
from seaweed_apt.training.checkpoint import (
    CheckpointError,
    export_model_files,
    load_model,
    load_model_from_files,
    restore_training,
    write_checkpoint,
)
from seaweed_apt.training.ema import EMA
from tests.helpers import tiny_model


def _inputs():
    g = torch.Generator().manual_seed(0)
    return (torch.randn(2, 3, 4, 32, 32, generator=g), torch.rand(2, generator=g),
            TextBatch(torch.randn(2, 24, 384, generator=g), torch.ones(2, 24, dtype=torch.bool),
                      torch.randn(2, 384, generator=g)))


def _trained_model():
    return tiny_model(std=0.05)


def test_round_trip_gives_identical_outputs(tmp_path):
    model = _trained_model()
    ema = EMA(model, 0.9, warmup=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(*_inputs()).pow(2).mean().backward()
    optimizer.step()
    config = {"model": model.config.as_dict(), "stage": "test"}
    folder = write_checkpoint(tmp_path / "ckpt", {"model": model, "ema": ema.model},
                              {"optimizer": optimizer}, {"step": 1, "history": []}, config)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left over

    rebuilt = load_model(folder, use_ema=False)
    with torch.no_grad():
        assert torch.equal(rebuilt(*_inputs()), model.eval()(*_inputs()))
        from_files = load_model_from_files(export_model_files(folder, use_ema=True))
        assert torch.equal(from_files(*_inputs()), ema.model(*_inputs()))

    fresh = VideoDiT(build_config("tiny"))
    fresh_optimizer = torch.optim.AdamW(fresh.parameters(), lr=1e-3)
    state = restore_training(folder, {"model": fresh}, {"optimizer": fresh_optimizer})
    assert state["step"] == 1
    restored, original = fresh_optimizer.state_dict()["state"], optimizer.state_dict()["state"]
    assert len(restored) == len(original) > 0
    key = next(iter(original))
    assert torch.equal(restored[key]["exp_avg"], original[key]["exp_avg"])
    exported = json.loads(export_model_files(folder)["config.json"])
    assert len(exported["weights_sha256"]) == 64 and exported["weights_are_ema"]


def test_truncated_or_mismatched_checkpoint_is_refused(tmp_path):
    model = _trained_model()
    folder = write_checkpoint(tmp_path / "ckpt", {"model": model}, {}, {"step": 0},
                              {"model": model.config.as_dict()})
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_model(folder)
    other = write_checkpoint(tmp_path / "other", {"model": model}, {}, {"step": 0},
                             {"model": build_config("tiny", {"depth": 3}).as_dict()})
    with pytest.raises(CheckpointError, match="do not match"):
        load_model(other)
    with pytest.raises(CheckpointError, match="config.json"):
        load_model(tmp_path)


_KILLED_WRITER = """
import sys, time, torch
import seaweed_apt.training.checkpoint as checkpoint
from seaweed_apt.models.dit import VideoDiT, build_config

real_save = checkpoint.save_file
def save_then_stall(tensors, path):
    real_save(tensors, path)
    print("one file written", flush=True)
    time.sleep(120)  # killed here, in the middle of the checkpoint
checkpoint.save_file = save_then_stall
model = VideoDiT(build_config("tiny"))
checkpoint.write_checkpoint(sys.argv[1], {"model": model, "ema": model}, {}, {"step": 2},
                            {"model": model.config.as_dict()})
"""


def test_a_writer_killed_mid_write_leaves_the_previous_checkpoint_loadable(tmp_path):
    import signal
    import subprocess
    import sys

    model = _trained_model()
    folder = write_checkpoint(tmp_path / "ckpt", {"model": model}, {}, {"step": 1},
                              {"model": model.config.as_dict()})
    writer = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(folder)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "one file written"
        writer.send_signal(signal.SIGKILL)
    finally:
        writer.wait(timeout=60)
    assert writer.returncode == -signal.SIGKILL
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".ckpt.")]
    assert len(leftovers) == 1  # the half-written staging folder, under a name no loader reads
    assert json.loads((folder / "trainer_state.json").read_text())["step"] == 1
    loaded = load_model(folder)
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    write_checkpoint(folder, {"model": model}, {}, {"step": 3}, {"model": model.config.as_dict()})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # the next write tidies up
    assert json.loads((folder / "trainer_state.json").read_text())["step"] == 3


def test_a_checkpoint_folder_on_s3_loads_as_the_local_one(tmp_path, s3_endpoint, monkeypatch):
    """Workers on another node read weights by storage URI, not by the driver's path."""
    import boto3

    from seaweed_apt import storage

    model = _trained_model()
    folder = write_checkpoint(tmp_path / "ckpt", {"model": model}, {}, {"step": 1},
                              {"model": model.config.as_dict()})
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    boto3.client("s3").create_bucket(Bucket="checkpoints")
    for path in folder.iterdir():
        storage.write_bytes(f"s3://checkpoints/runs/teacher/{path.name}", path.read_bytes())
    remote = load_model("s3://checkpoints/runs/teacher")
    local = load_model(folder)
    with torch.no_grad():
        assert torch.equal(remote(*_inputs()), local(*_inputs()))
    with pytest.raises(CheckpointError, match="s3://checkpoints/runs/nothing has no config.json"):
        load_model("s3://checkpoints/runs/nothing")
    # The deployable files and the run's last complete step read the same from either place.
    assert export_model_files("s3://checkpoints/runs/teacher") == export_model_files(folder)


def test_the_last_recorded_step_of_a_run_on_s3_skips_half_written_checkpoints(s3_endpoint,
                                                                             monkeypatch):
    """A rerun tells what it resumed from by the run's checkpoints, wherever they are stored."""
    import boto3

    from seaweed_apt import storage
    from seaweed_apt.training.stage import last_recorded_step

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    boto3.client("s3").create_bucket(Bucket="runs")
    run = "s3://runs/prefix/pretrain-abc"
    assert last_recorded_step(run) is None
    for name, step in (("checkpoint_1", 3), ("checkpoint_2", 6)):
        storage.write_bytes(f"{run}/{name}/trainer_state.json", json.dumps({"step": step}).encode())
    storage.write_bytes(f"{run}/checkpoint_3/model.safetensors", b"half written: no state yet")
    assert last_recorded_step(run) == 6


def test_exported_files_carry_a_generation_block_and_files_without_one_name_the_fix(tmp_path):
    from seaweed_apt.config.text import TextEncoderConfig
    from seaweed_apt.diffusion.generation import GenerationConfig
    from seaweed_apt.training.checkpoint import generation_of_files, with_generation

    model = _trained_model()
    folder = write_checkpoint(tmp_path / "ckpt", {"model": model}, {}, {"step": 1},
                              {"model": model.config.as_dict()})
    files = export_model_files(folder)
    with pytest.raises(CheckpointError, match="no 'generation' block.*rerun the stage"):
        generation_of_files(files)
    teacher = GenerationConfig(num_frames=4, height=32, width=32, fps=8, prediction_type="flow",
                               num_inference_steps=25, guidance_scale=3.0, shift=6.0,
                               text_encoder=TextEncoderConfig(model="m", max_tokens=24,
                                                              batch_size=8))
    stamped = with_generation(files, teacher.as_one_step())
    assert stamped["model.safetensors"] == files["model.safetensors"]
    one_step = generation_of_files(stamped)
    assert one_step.is_one_step and one_step.clip_shape == (4, 32, 32) and one_step.shift == 6.0
    assert json.loads(stamped["config.json"])["weights_sha256"] == \
        json.loads(files["config.json"])["weights_sha256"]
