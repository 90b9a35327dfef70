"""The result cache: keys that change with any input, entries written whole, a torn entry read as
absent (logged), never as a result."""

import numpy as np
import pandas as pd
import torch

from seaweed_apt.result_cache import ResultCache, result_key


def test_a_key_changes_with_any_input_and_only_then():
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "t": torch.ones(3)}
    key = result_key("x", inputs=arrays, name="n", files={"m": b"\x00\x01"})
    assert key == result_key("x", inputs={"t": torch.ones(3), "a": np.arange(6, dtype=np.float32)
                                          .reshape(2, 3)}, name="n", files={"m": b"\x00\x01"})
    changed = [result_key("y", inputs=arrays, name="n", files={"m": b"\x00\x01"}),
               result_key("x", inputs=arrays | {"t": torch.ones(3) * 2}, name="n",
                          files={"m": b"\x00\x01"}),
               result_key("x", inputs=arrays | {"a": arrays["a"].reshape(3, 2)}, name="n",
                          files={"m": b"\x00\x01"}),
               result_key("x", inputs=arrays | {"a": arrays["a"].astype(np.float64)}, name="n",
                          files={"m": b"\x00\x01"}),
               result_key("x", inputs=arrays, name="n", files={"m": b"\x00\x02"}),
               result_key("x", inputs=arrays, name=1, files={"m": b"\x00\x01"})]
    assert len({key, *changed}) == 1 + len(changed)


def test_rows_and_arrays_come_back_equal_and_a_torn_entry_is_measured_again(tmp_path, caplog):
    cache = ResultCache(tmp_path)
    row = {"system": "s", "steps": np.int64(2), "fd": float("nan"), "x": 0.1 + 0.2}
    clips = pd.DataFrame({"clip": [0, 1], "axis": ["horizontal", ""], "speed": [1.5, np.nan]})
    cache.put_row("k", row, clips)
    got_row, got_clips = cache.get_row("k")
    assert got_row["x"] == row["x"] and got_row["steps"] == 2 and np.isnan(got_row["fd"])
    pd.testing.assert_frame_equal(got_clips, clips)
    arrays = {"sample": np.arange(24, dtype=np.uint8).reshape(2, 3, 4)}
    cache.put_arrays("a", arrays)
    np.testing.assert_array_equal(cache.get_arrays("a")["sample"], arrays["sample"])
    cache.put_files("f", {"model.safetensors": b"weights", "config.json": b"{}"})
    assert cache.get_files("f") == {"model.safetensors": b"weights", "config.json": b"{}"}
    assert (cache.hits, cache.misses) == (3, 0)

    stored = tmp_path / "arrays" / "a.npz"
    stored.write_bytes(stored.read_bytes()[:40])
    with caplog.at_level("WARNING"):
        assert cache.get_arrays("a") is None
    assert "unreadable" in caplog.text and str(stored) in caplog.text
    assert cache.get_row("absent") is None and ResultCache(None).get_arrays("a") is None
    assert not list(tmp_path.rglob(".*"))  # no temporary file left behind


def test_the_arrays_kept_are_the_most_recently_used(tmp_path):
    import os

    cache = ResultCache(tmp_path, keep_arrays=2)
    for i, key in enumerate("abc"):
        cache.put_arrays(key, {"x": np.full(3, i)})
        os.utime(tmp_path / "arrays" / f"{key}.npz", (i, i))  # a, b, c written in that order
        if key == "b":
            assert cache.get_arrays("a") is not None  # a used after b was written
            os.utime(tmp_path / "arrays" / "a.npz", (1.5, 1.5))
    assert sorted(p.stem for p in (tmp_path / "arrays").glob("*.npz")) == ["a", "c"]
