from dataclasses import replace

from seaweed_apt.config import PretrainConfig
from seaweed_apt.models import dit
from seaweed_apt.training.launch import run_name
from seaweed_apt.training.pretrain import run_identity


def _name(**fields) -> str:
    return run_name("pretrain", run_identity(PretrainConfig.model_validate(fields)))


def test_a_preset_redefined_in_code_is_a_new_run(monkeypatch):
    before = _name(model={"preset": "tiny"})
    monkeypatch.setitem(dit.PRESETS, "tiny", replace(dit.PRESETS["tiny"], prediction="x0"))
    assert _name(model={"preset": "tiny"}) != before


def test_more_steps_continue_a_constant_lr_run_but_not_a_decaying_one():
    assert _name(steps=10, lr_schedule="constant") == _name(steps=20, lr_schedule="constant")
    assert _name(steps=10, lr_schedule="cosine") != _name(steps=20, lr_schedule="cosine")
    assert _name(steps=10, fail_once_at_step=3) == _name(steps=10, fail_once_at_step=5)
