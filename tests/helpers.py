"""Test-only builders shared across the suite: random captions, tiny networks, conf/base configs."""

from __future__ import annotations

import socket

import torch

from seaweed_apt.models.dit import VideoDiT, build_config
from seaweed_apt.text.batch import TextBatch


def random_text(batch: int, length: int = 24, dim: int = 384, seed: int = 1) -> TextBatch:
    """Caption conditioning of random tokens (batch, length, dim), all kept, and a random pooled
    vector (batch, dim); the same seed gives the same captions."""
    rng = torch.Generator().manual_seed(seed)
    return TextBatch(torch.randn(batch, length, dim, generator=rng),
                     torch.ones(batch, length, dtype=torch.bool),
                     torch.randn(batch, dim, generator=rng))


def tiny_model(seed: int | None = 0, std: float | None = None, **overrides) -> VideoDiT:
    """The `tiny` preset with `overrides` (e.g. depth=3), built after `torch.manual_seed(seed)`
    (None: from the global generator as it stands). With `std`, every parameter is redrawn from
    N(0, std^2), which leaves adaLN-zero's identity start so that the conditioning matters."""
    if seed is not None:
        torch.manual_seed(seed)
    model = VideoDiT(build_config("tiny", overrides))
    if std is not None:
        for p in model.parameters():
            torch.nn.init.normal_(p, std=std)
    return model


def base_config(model_cls, group: str, file: str | None = None, **overrides):
    """`model_cls` validated from conf/base's `group` (dotted for a nested one: "posttrain.apt"),
    with top-level fields replaced by `overrides`: a test states only the values it relies on and
    runs with what a pipeline run would use for the rest. `file`: the parameters file that holds
    the group (found in conf/base when omitted)."""
    import yaml

    from seaweed_apt.config.loading import load_config
    from tests.conftest import PROJECT_ROOT

    conf = PROJECT_ROOT / "conf"
    if file is None:
        top = group.split(".")[0]
        file = next(path.name for path in sorted((conf / "base").glob("parameters*.yml"))
                    if top in (yaml.safe_load(path.read_text()) or {}))
    return load_config(model_cls, conf, "base", file, group, **overrides)


def free_port() -> int:
    """A port nothing listens on at 127.0.0.1 now (the OS's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def curated_clips(root):
    """The curated clips of a data root that has been through data_curation (`data/`), as the
    `curated_clips` dataset loads them."""
    import pandas as pd

    from seaweed_apt.data.curated import CuratedClips

    return CuratedClips(pd.read_parquet(root / "03_primary" / "clip_manifest.parquet"),
                        str(root / "03_primary" / "clip_shards"),
                        str(root / "04_feature" / "caption_embeddings.safetensors"))


def apt_loop_config(root, apt, teacher_pairs: str | None = None):
    """The loop config of an APT run on a pretrained data root's clips, with its teacher as
    both the teacher and the distilled generator (a test needs no distillation first)."""
    from seaweed_apt.apt.apt_phase import APTInputs
    from seaweed_apt.training.loop import LoopConfig

    teacher = str(root / "06_models" / "teacher")
    return LoopConfig(APTInputs(apt, teacher, teacher, teacher_pairs), curated_clips(root))
