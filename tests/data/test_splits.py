import pandas as pd

from seaweed_apt.config.curation import SplitConfig
from seaweed_apt.data.splits import assign_splits
from tests.helpers import base_config


def _clips(sources: dict[str, str], windows: int = 3) -> pd.DataFrame:
    rows = [{"source_set": "s", "source_file": f, "split_hint": hint, "start_frame": w}
            for f, hint in sources.items() for w in range(windows)]
    return pd.DataFrame(rows)


def test_no_source_is_in_two_splits_and_hints_hold():
    sources = {f"train{i}": "train" for i in range(40)}
    sources |= {f"test{i}": "test" for i in range(10)}
    sources |= {f"free{i}": "" for i in range(20)}
    out = assign_splits(_clips(sources), base_config(SplitConfig, "split", val_fraction=0.1,
                                                              test_fraction=0.2))
    per_source = out.groupby("source_file")["split"].nunique()
    assert (per_source == 1).all()
    split_of = out.groupby("source_file")["split"].first()
    assert all(split_of[f"test{i}"] == "test" for i in range(10))
    assert {split_of[f"train{i}"] for i in range(40)} == {"train", "val"}
    assert set(split_of[[f"free{i}" for i in range(20)]]) == {"train", "val", "test"}


def test_split_is_deterministic_and_seeded():
    clips = _clips({f"f{i}": "" for i in range(30)})
    a = assign_splits(clips, base_config(SplitConfig, "split", seed=0))["split"]
    assert a.equals(assign_splits(clips, base_config(SplitConfig, "split", seed=0))["split"])
    assert not a.equals(assign_splits(clips, base_config(SplitConfig, "split", seed=1))["split"])


def test_few_sources_still_get_a_test_split():
    out = assign_splits(_clips({f"f{i}": "" for i in range(7)}), base_config(SplitConfig, "split"))
    assert set(out["split"]) == {"train", "val", "test"}
