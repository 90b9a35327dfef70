"""Bad configuration fails before the first node, naming the key or the dataset: Kedro's own
parameter validation against `seaweed_apt.config`, and our preflight hook for inputs."""

from __future__ import annotations

import pytest
from kedro.validation.exceptions import ParameterValidationError

from pipelines.preflight import PreflightError
from tests.conftest import run_kedro


def _refused(data_root, pipeline: str, **params) -> str:
    with pytest.raises((PreflightError, ParameterValidationError)) as caught:
        run_kedro(data_root, [pipeline], **params)
    return str(caught.value)


def test_unknown_preset_and_negative_lr_are_named_before_training(curated_root):
    runs = curated_root / "06_models" / "runs"
    before = sorted(runs.iterdir()) if runs.exists() else []
    message = _refused(curated_root, "pretrain", **{"pretrain.model.preset": "huge",
                                                    "pretrain.lr": -0.1})
    assert "Parameter 'pretrain'" in message
    assert "model.preset\n  Value error, unknown preset 'huge': choose one of" in message
    assert "lr\n  Input should be greater than 0" in message
    assert (sorted(runs.iterdir()) if runs.exists() else []) == before  # no run was started


def test_a_typo_in_a_nested_group_is_named(curated_root):
    message = _refused(curated_root, "posttrain", **{"posttrain.apt.g_lrr": 1e-5})
    assert "'posttrain.apt'" in message and "g_lrr\n  Extra inputs are not permitted" in message


def test_a_missing_input_path_is_named_with_its_path(tmp_path):
    message = _refused(tmp_path / "empty", "pretrain")
    assert "dataset curated_clips: " in message and "03_primary/clip_manifest.parquet" in message
    message = _refused(tmp_path / "empty", "data_curation")
    assert "dataset raw_videos: " in message and "01_raw" in message


def test_a_curated_root_is_ready_for_pretrain_and_posttrain_before_any_run_folder(tmp_path,
                                                                                  curated_root):
    """Run folders (`must_exist: false`) are created on load, not asked for."""
    import shutil

    from kedro.framework.session import KedroSession

    from pipelines.pipeline_registry import register_pipelines
    from pipelines.preflight import input_problems
    from tests.conftest import PROJECT_ROOT

    root = tmp_path / "data"
    for folder in ("03_primary", "04_feature"):
        shutil.copytree(curated_root / folder, root / folder)
    with KedroSession.create(project_path=PROJECT_ROOT, env="test",
                             runtime_params={"data_root": str(root)}) as session:
        catalog = session.load_context().catalog
        assert input_problems(register_pipelines()["pretrain"], catalog) == []
        missing = input_problems(register_pipelines()["posttrain"], catalog)
    assert not (root / "06_models" / "runs").exists()
    assert sorted(line.split(":")[0] for line in missing) == [
        "dataset teacher_model"]


def test_a_stride_of_zero_for_one_source_set_is_named_before_curation(raw_root):
    """`--params curation.stride_frames_by_source.real_clips=0` used to pass validation and fail
    inside the second node without naming the key (issue case 15)."""
    data_root = raw_root
    message = _refused(data_root, "data_curation",
                       **{"curation.stride_frames_by_source.real_clips": 0})
    assert "Parameter 'curation'" in message
    assert "stride_frames_by_source.real_clips\n  Input should be greater than or equal to 1" \
        in message
    assert not (data_root / "02_intermediate").exists()  # no node ran
