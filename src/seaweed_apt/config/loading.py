"""Parameter groups read outside a Kedro run (the CLI, benchmarks, tests): conf/base with
conf/<env> merged over it field by field, as Kedro's soft merge does. Inside a run, Kedro reads
the YAML and converts `params:<group>` itself."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

Config = TypeVar("Config", bound=BaseModel)


def load_parameters(conf_dir: Path | str, env: str, group_file: str, key: str) -> dict:
    """One parameter group (`key`, dotted for a nested one: "posttrain.apt") of `group_file`
    (e.g. parameters_posttrain.yml) from conf_dir/base, with conf_dir/<env> merged over it.
    `${runtime_params:name,default}` resolves to its default.

    Raises:
        KeyError: conf/base/<group_file> has no such group.
    """
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("runtime_params"):  # Kedro's; outside a run, the default
        OmegaConf.register_new_resolver("runtime_params", lambda key, default=None: default)
    merged = OmegaConf.create({})
    for folder in dict.fromkeys(("base", env)):
        path = Path(conf_dir) / folder / group_file
        if path.exists():
            merged = OmegaConf.merge(merged, OmegaConf.load(path))
    group = OmegaConf.select(merged, key)
    if group is None:
        raise KeyError(f"no '{key}' group in {conf_dir}/base/{group_file}")
    return OmegaConf.to_container(group, resolve=True)


def load_config(model: type[Config], conf_dir: Path | str, env: str, group_file: str, key: str,
                /, **overrides) -> Config:
    """`load_parameters` validated as `model`, with top-level fields replaced by `overrides`
    (e.g. `load_config(RayConfig, "conf", "base", "parameters.yml", "ray", num_workers=1)`)."""
    return model.model_validate({**load_parameters(conf_dir, env, group_file, key), **overrides})
