import pandas as pd
import pytest

from seaweed_apt.config.curation import CurationConfig, QualityGateConfig
from seaweed_apt.expectations import QualityGateError, raise_if_gate_failed, run_quality_gate
from tests.helpers import base_config

CURATION = base_config(CurationConfig, "curation")
GATE = base_config(QualityGateConfig, "quality_gate", min_clips=1)


def _manifest(rows: int = 200) -> pd.DataFrame:
    return pd.DataFrame({
        "clip_id": [f"s/f{i}/00000" for i in range(rows)],
        "caption": ["a bag bouncing up and down"] * rows,
        "fps": [float(CURATION.fps)] * rows, "num_frames": [CURATION.clip_frames] * rows,
        "width": [CURATION.width] * rows, "height": [CURATION.height] * rows,
        "motion": [0.05] * rows, "split": ["train"] * rows,
        "caption_row": pd.Series([0] * rows, dtype="int64"),
        "source_sha256": ["a" * 64] * rows,
    })


def test_a_clean_manifest_passes_with_data_docs():
    result = run_quality_gate(_manifest(), "clip_manifest", CURATION, GATE)
    assert result.report["passed"] and len(result.failed) == 0 and len(result.passed) == 200
    assert "index.html" in result.data_docs
    raise_if_gate_failed(result.report)


@pytest.mark.parametrize("column,value,expectation", [
    ("fps", 25.0, "expect_column_values_to_be_in_set(fps)"),
    ("caption", None, "expect_column_values_to_not_be_null(caption)"),
    ("caption", "", "expect_column_value_lengths_to_be_between(caption)"),
])
def test_gate_fails_on_wrong_fps_or_missing_caption(column, value, expectation):
    bad = _manifest(20)
    bad.loc[:4, column] = value  # 25% of rows: far over the 1% allowance
    result = run_quality_gate(bad, "clip_manifest", CURATION, GATE)
    assert not result.report["passed"]
    assert result.report["expectations"][expectation]["unexpected_count"] == 5
    with pytest.raises(QualityGateError, match=expectation.replace("(", r"\(").replace(")", r"\)")):
        raise_if_gate_failed(result.report)


def test_a_few_bad_rows_are_quarantined_and_the_rest_pass():
    manifest = _manifest(200)
    manifest.loc[7, "fps"] = 30.0
    result = run_quality_gate(manifest, "clip_manifest", CURATION, GATE)
    assert result.report["passed"]
    assert list(result.failed["clip_id"]) == ["s/f7/00000"]
    assert result.failed["reason"].iloc[0].startswith("gx:expect_column_values_to_be_in_set(fps)")
    assert len(result.passed) == 199


def test_duplicate_ids_and_too_few_rows_fail_the_table():
    manifest = _manifest(3)
    manifest.loc[1, "clip_id"] = manifest.loc[0, "clip_id"]
    result = run_quality_gate(manifest, "clip_manifest", CURATION,
                              GATE.model_copy(update={"min_clips": 10}))
    failing = {k for k, v in result.report["expectations"].items() if not v["success"]}
    assert failing == {"expect_table_row_count_to_be_between(table)",
                       "expect_column_values_to_be_unique(clip_id)"}
    assert not result.report["passed"]
    message = result.report["message"]
    assert "expect_table_row_count_to_be_between(table): observed 3, expected " \
           "{'min_value': 10}" in message
    assert "quality_gate.min_clips" in message  # the parameter behind the bound


def test_an_empty_manifest_points_at_the_quarantine_not_at_min_clips():
    """Every file rejected: lowering min_clips (at least 1) cannot help (helper-13's run)."""
    result = run_quality_gate(_manifest(0), "clip_manifest", CURATION, GATE)
    message = result.report["message"]
    assert not result.report["passed"]
    assert "observed 0" in message and "quarantine.parquet" in message
    assert "lower it" not in message


def test_a_gate_stop_still_writes_the_quarantine(tmp_path, raw_root):
    """A run the gate stops (too few clips) leaves quarantine.parquet saying what was rejected."""
    from tests.conftest import run_kedro

    (raw_root / "01_raw" / "real_clips" / "broken.mp4").write_text("not a video")
    (raw_root / "01_raw" / "real_clips" / "broken.txt").write_text("a broken file")
    with pytest.raises(QualityGateError, match="quality_gate.min_clips"):
        run_kedro(raw_root, ["data_curation"], **{"quality_gate.min_clips": 100000})
    quarantine = pd.read_parquet(raw_root / "02_intermediate" / "quarantine.parquet")
    assert "broken.mp4" in set(quarantine["file"])
