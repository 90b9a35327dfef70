from dataclasses import replace

from seaweed_apt.config.loading import load_config
from seaweed_apt.config.pretrain import PretrainConfig
from seaweed_apt.models import dit
from seaweed_apt.pretrain.pretrain import run_identity
from seaweed_apt.training.launch import run_name
from tests.conftest import PROJECT_ROOT


def _name(**fields) -> str:
    config = load_config(PretrainConfig, PROJECT_ROOT / "conf", "test",
                         "parameters_pretrain.yml", "pretrain", **fields)
    return run_name("pretrain", run_identity(config))


def test_a_preset_redefined_in_code_is_a_new_run(monkeypatch):
    before = _name(model={"preset": "tiny", "overrides": {}})
    monkeypatch.setitem(dit.PRESETS, "tiny", replace(dit.PRESETS["tiny"], prediction="x0"))
    assert _name(model={"preset": "tiny", "overrides": {}}) != before


def test_more_steps_continue_a_constant_lr_run_but_not_a_decaying_one():
    assert _name(steps=10, lr_schedule="constant") == _name(steps=20, lr_schedule="constant")
    assert _name(steps=10, lr_schedule="cosine") != _name(steps=20, lr_schedule="cosine")
