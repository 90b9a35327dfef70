import pytest
from pydantic import ValidationError

from seaweed_apt.config import CurationConfig, FetchConfig, SplitConfig


def test_unknown_key_is_named():
    with pytest.raises(ValidationError, match="clip_frame"):
        CurationConfig.model_validate({"clip_frame": 16})


def test_out_of_range_values_are_refused_with_the_field():
    with pytest.raises(ValidationError, match="fps"):
        CurationConfig(fps=0)
    with pytest.raises(ValidationError, match="val_fraction"):
        SplitConfig(val_fraction=0.6, test_fraction=0.5)


def test_base_parameters_parse(tmp_path):
    from seaweed_apt.cli import load_parameters
    from tests.conftest import PROJECT_ROOT

    raw = load_parameters(PROJECT_ROOT / "conf", "test", "parameters_data_curation.yml", "fetch")
    config = FetchConfig.model_validate(raw)
    assert config.moving_fashion.train_videos == 12  # conf/test over conf/base, field by field
    assert config.moving_fashion.fps == 8


@pytest.mark.parametrize("env", ["test", "gpu"])
def test_every_training_group_of_an_env_parses(env):
    """A typo in an env's YAML fails here, not hours into a run on the machine it was meant for."""
    from seaweed_apt.cli import load_parameters
    from seaweed_apt.config import APTConfig, DistillConfig, PretrainConfig, RayConfig
    from tests.conftest import PROJECT_ROOT

    conf = PROJECT_ROOT / "conf"
    PretrainConfig.model_validate(load_parameters(conf, env, "parameters_pretrain.yml",
                                                  "pretrain"))
    RayConfig.model_validate(load_parameters(conf, env, "parameters.yml", "ray"))
    posttrain = load_parameters(conf, env, "parameters_posttrain.yml", "posttrain")
    DistillConfig.model_validate(posttrain["distill"])
    APTConfig.model_validate(posttrain["apt"])
