import importlib
import pkgutil

import pytest
import yaml
from pydantic import BaseModel, ValidationError

import seaweed_apt.config
from seaweed_apt.config.base import StrictConfig
from seaweed_apt.config.curation import CurationConfig, QualityGateConfig, SplitConfig
from seaweed_apt.config.deployment import DeploymentConfig
from seaweed_apt.config.evaluation import EvaluationConfig
from seaweed_apt.config.fetch import FetchConfig
from seaweed_apt.config.loading import load_parameters
from seaweed_apt.config.posttrain import APTConfig, DistillConfig
from seaweed_apt.config.pretrain import PretrainConfig
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.config.sampling import SamplingConfig
from seaweed_apt.config.text import TextEncoderConfig
from tests.conftest import PROJECT_ROOT
from tests.helpers import base_config

CONF = PROJECT_ROOT / "conf"
# Every parameter group: (model, file under conf/<env>, key; dotted for a nested group).
GROUPS = [
    (FetchConfig, "parameters_data_curation.yml", "fetch"),
    (CurationConfig, "parameters_data_curation.yml", "curation"),
    (SplitConfig, "parameters_data_curation.yml", "split"),
    (TextEncoderConfig, "parameters_data_curation.yml", "text_encoder"),
    (QualityGateConfig, "parameters_data_curation.yml", "quality_gate"),
    (RayConfig, "parameters.yml", "ray"),
    (PretrainConfig, "parameters_pretrain.yml", "pretrain"),
    (SamplingConfig, "parameters_pretrain.yml", "sampling"),
    (DistillConfig, "parameters_posttrain.yml", "posttrain.distill"),
    (APTConfig, "parameters_posttrain.yml", "posttrain.apt"),
    (EvaluationConfig, "parameters_evaluation.yml", "evaluation"),
    (DeploymentConfig, "parameters_deployment.yml", "deployment"),
]


def test_unknown_key_is_named():
    with pytest.raises(ValidationError, match="clip_frame\n  Extra inputs are not permitted"):
        base_config(CurationConfig, "curation", clip_frame=16)


def test_out_of_range_values_are_refused_with_the_field():
    with pytest.raises(ValidationError, match="fps"):
        base_config(CurationConfig, "curation", fps=0)
    with pytest.raises(ValidationError, match="val_fraction"):
        base_config(SplitConfig, "split", val_fraction=0.6, test_fraction=0.5)


def _every_config_model() -> set[type[StrictConfig]]:
    """Every parameter model of `seaweed_apt.config`, nested ones included; a base that only
    shares fields (`LoopConfig`) is read through its subclasses, which inherit its fields."""
    for info in pkgutil.iter_modules(seaweed_apt.config.__path__):
        importlib.import_module(f"seaweed_apt.config.{info.name}")
    models, frontier = set(), list(StrictConfig.__subclasses__())
    while frontier:
        model = frontier.pop()
        frontier += model.__subclasses__()
        if not model.__subclasses__():
            models.add(model)
    return models


# Numeric fields that need no bound of their own, and why.
UNBOUNDED = {
    "TimestepConfig.mean": "the logit-normal's location: any real number",
    "ModelSpec.overrides": "checked as a whole by DiTConfig's own bounds (ModelSpec._buildable)",
}


def _unbounded_numbers(annotation, metadata) -> bool:
    """True when `annotation` is or holds an int or float that no Ge/Gt/Le/Lt bounds."""
    import typing

    from annotated_types import Ge, Gt, Le, Lt

    bounded = any(isinstance(item, Ge | Gt | Le | Lt) for item in metadata)
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        extra = [m for item in extra for m in getattr(item, "metadata", [item])]
        return _unbounded_numbers(inner, [*metadata, *extra])
    if annotation in (int, float):
        return not bounded
    return any(_unbounded_numbers(arg, []) for arg in typing.get_args(annotation)
               if arg is not bool)


def test_every_numeric_field_of_every_group_has_its_bound():
    """A value no code can use (a stride of 0, a negative seed, a head at depth 0) is refused
    where the parameters are read, naming the key, not inside a node (issue case 15)."""
    missing = sorted(f"{model.__name__}.{name}" for model in _every_config_model()
                     for name, field in model.model_fields.items()
                     if _unbounded_numbers(field.annotation, field.metadata)
                     and f"{model.__name__}.{name}" not in UNBOUNDED)
    assert not missing, f"numeric fields without a bound: {missing}"


@pytest.mark.parametrize(("model", "group", "override", "named"), [
    (CurationConfig, "curation", {"stride_frames_by_source": {"real_clips": 0}},
     "stride_frames_by_source.real_clips"),
    (PretrainConfig, "pretrain", {"seed": -1}, "seed"),
    (PretrainConfig, "pretrain", {"model": {"preset": "cpu-small", "overrides": {"heads": 0}}},
     "heads must be a positive integer"),
    (PretrainConfig, "pretrain", {"model": {"preset": "cpu-small", "overrides": {"heads": 3}}},
     "not divisible by heads 3"),
    (APTConfig, "posttrain.apt", {"head_depth_fractions": [0.5, 0.0]}, "head_depth_fractions.1"),
    (EvaluationConfig, "evaluation", {"apt_steps": [1, 0]}, "apt_steps.1"),
    (EvaluationConfig, "evaluation", {"apt_steps": [1, 2, 2]}, "repeats a step count"),
    (SamplingConfig, "sampling", {"seeds": [0, -3]}, "seeds.1"),
])
def test_a_value_out_of_its_bound_is_refused_naming_it(model, group, override, named):
    file = next(file for m, file, key in GROUPS if key == group)
    with pytest.raises(ValidationError, match=named.replace(".", r"\.")):
        base_config(model, group, file, **override)


def test_base_parameters_parse():
    raw = load_parameters(CONF, "test", "parameters_data_curation.yml", "fetch")
    config = FetchConfig.model_validate(raw)
    assert config.moving_fashion.train_videos == 12  # conf/test over conf/base, field by field
    assert config.moving_fashion.fps == 8


@pytest.mark.parametrize("env", ["test", "gpu", "paper"])
def test_every_training_group_of_an_env_parses(env):
    """A typo in an env's YAML fails here, not hours into a run on the machine it was meant for."""
    for model, file, key in GROUPS:
        model.model_validate(load_parameters(CONF, env, file, key))


def _nested_model(field) -> type[BaseModel] | None:
    kind = field.annotation
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def _divergences(model: type[BaseModel], raw: dict, where: str, seen: set) -> list[str]:
    """Fields of `model` (and of its nested models) whose code default contradicts conf/base:
    a default for a field that the YAML sets, or none for a field that it leaves out."""
    seen.add(model)
    problems = []
    for name, field in model.model_fields.items():
        if name not in raw:
            if field.is_required():
                problems.append(f"{where}.{name}: not in conf/base, so it needs a default")
            continue
        if not field.is_required():
            problems.append(f"{where}.{name}: conf/base sets it, so the code must not "
                            f"(default {field.get_default(call_default_factory=True)!r})")
        nested = _nested_model(field)
        if nested is not None:
            problems += _divergences(nested, raw[name], f"{where}.{name}", seen)
    return problems


def test_the_yaml_is_the_one_source_of_every_value():
    """A field set in conf/base has no default in code, and a field it leaves out has one, in
    every group and every nested model, and every parameter group of conf/base has a model."""
    seen: set[type[BaseModel]] = set()
    problems = []
    for model, file, key in GROUPS:
        problems += _divergences(model, load_parameters(CONF, "base", file, key), key, seen)
    assert not problems, "code defaults contradict conf/base:\n  " + "\n  ".join(problems)

    unseen = _every_config_model() - seen
    names = sorted(model.__name__ for model in unseen)
    assert not unseen, f"models that no conf/base group reaches: {names}"

    keys = {key for _, _, key in GROUPS}
    for path in sorted((CONF / "base").glob("parameters*.yml")):
        for top, value in (yaml.safe_load(path.read_text()) or {}).items():
            groups = [top] if top in keys else [f"{top}.{sub}" for sub in value]
            assert set(groups) <= keys, f"{path.name}: {top} has no model in GROUPS"

