"""The registry on a local folder and on a real S3-compatible server (moto on loopback): versions,
sha256 checks at load, the production pointer, rollback, and the promotion gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from seaweed_apt.config.deployment import PromotionGateConfig
from seaweed_apt.registry.gate import decide, gate_and_promote
from seaweed_apt.registry.registry import ModelRegistry
from seaweed_apt.registry.stores import RegistryError, open_store
from tests.registry.conftest import GENERATION, generator_files, metrics

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
LINEAGE = {"data": {"hash": "abc"}, "code": {"commit": "123", "dirty": False},
           "params_hash": "def"}


def _local(tmp_path) -> ModelRegistry:
    return ModelRegistry(open_store(str(tmp_path / "registry")))


def _s3(endpoint: str, bucket: str) -> ModelRegistry:
    return ModelRegistry(open_store(f"s3://{bucket}/models/generator", endpoint))


def _exercise(registry: ModelRegistry, tamper) -> None:
    """The same life cycle on any backend."""
    first = registry.register(generator_files(0), metrics(400.0, 0.2), LINEAGE, GENERATION)
    second = registry.register(generator_files(1), metrics(380.0, 0.2), LINEAGE, GENERATION)
    assert (first.version, second.version) == ("v0001", "v0002")
    # The same weights again are the same version, not a copy.
    assert registry.register(generator_files(0), metrics(1.0, 1.0), LINEAGE,
                             GENERATION).version == "v0001"
    assert registry.load_files("v0002") == generator_files(1)
    assert registry.versions() == ["v0001", "v0002"]
    assert registry.get("v0001").lineage == LINEAGE

    assert registry.production() is None
    registry.promote("v0001", "first")
    registry.promote("v0002", "better")
    assert registry.production() == "v0002"
    assert registry.rollback()["version"] == "v0001"
    assert registry.production() == "v0001"
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback()
    with pytest.raises(RegistryError, match="no version v0009"):
        registry.promote("v0009", "missing")

    tamper("versions/v0002/model.safetensors")
    with pytest.raises(RegistryError, match="sha256 mismatch"):
        registry.load_files("v0002")
    assert registry.load_files("v0001")  # the others are untouched


def test_local_registry_versions_pointer_rollback_and_sha256(tmp_path):
    registry = _local(tmp_path)

    def truncate(key):
        path = tmp_path / "registry" / key
        path.write_bytes(path.read_bytes()[:-100])

    _exercise(registry, truncate)
    # A version whose manifest never got written (a crash mid-registration) is not a version.
    (tmp_path / "registry" / "versions" / "v0003").mkdir()
    (tmp_path / "registry" / "versions" / "v0003" / "model.safetensors").write_bytes(b"half")
    assert registry.versions() == ["v0001", "v0002"]


def test_s3_registry_on_a_real_s3_server(s3_endpoint, s3_bucket):
    import boto3

    registry = _s3(s3_endpoint, s3_bucket)
    client = boto3.client("s3", endpoint_url=s3_endpoint)

    def overwrite(key):
        client.put_object(Bucket=s3_bucket, Key=f"models/generator/{key}", Body=b"tampered")

    _exercise(registry, overwrite)
    keys = {item["Key"] for item in client.list_objects_v2(Bucket=s3_bucket)["Contents"]}
    assert "models/generator/pointers/production.json" in keys
    assert "models/generator/versions/v0001/manifest.json" in keys


def test_manifest_is_strict_json(tmp_path):
    registry = _local(tmp_path)
    version = registry.register(generator_files(0), metrics(1.0, 1.0) | {"ratio": float("nan")},
                                LINEAGE, GENERATION)
    assert version.metrics["ratio"] is None and registry.get("v0001").metrics["ratio"] is None


def test_bad_registry_uri_is_a_clear_error():
    with pytest.raises(ValueError, match="3 or more characters"):
        open_store("s3://ab/prefix")
    with pytest.raises(ValueError, match="folder path or s3://"):
        open_store("gs://bucket/prefix")


GATE = PromotionGateConfig(fd_margin_fraction=0.05, accuracy_margin=0.05, motion_axis_margin=0.05,
                           class_accuracy_ratio_min=0.5)


def test_gate_refuses_a_candidate_that_breaks_motion_or_collapses_a_class():
    config = GATE
    assert decide("v0001", metrics(400.0, 0.6), None, None, config).promote
    still = decide("v0001", metrics(400.0, 0.6, motion=0.35), None, None, config)  # chance 0.34
    assert not still.promote and "motion along the captioned axis 0.35 >= 0.39" in still.reason
    slower = decide("v0002", metrics(400.0, 0.6, motion=0.7), "v0001",
                    metrics(400.0, 0.6, motion=0.8), config)
    assert not slower.promote and "production v0001's 0.8 less 0.05" in slower.reason
    collapsed = decide("v0001", metrics(400.0, 0.6, class_ratio=0.1), None, None, config)
    assert not collapsed.promote and "(sneaker), as a share of the teacher's 0.1 >= 0.5" in \
        collapsed.reason
    unknown = decide("v0001", metrics(400.0, 0.6, class_ratio=None), None, None, config)
    assert not unknown.promote and "unknown" in unknown.reason  # the teacher drew no class
    # Prompts that nearly all name one axis: the bound is a perfect score, not above it.
    one_axis = metrics(400.0, 0.6, motion=1.0) | {"motion_axis_chance": 1.0}
    assert decide("v0001", one_axis, None, None, config).promote


def test_gate_first_model_must_beat_trivial_baselines():
    config = GATE
    assert decide("v0001", metrics(400.0, 0.2), None, None, config).promote
    worse_than_noise = decide("v0001", metrics(490.0, 0.2), None, None, config)  # 500 * 0.95
    assert not worse_than_noise.promote and "trivial" in worse_than_noise.reason
    assert not decide("v0001", metrics(400.0, 0.05), None, None, config).promote
    with pytest.raises(ValueError, match="run the evaluation stage"):
        decide("v0001", {"fd_efflite0_apt1": 1.0}, None, None, config)


def test_gate_refuses_a_worse_model_and_leaves_production_untouched(tmp_path):
    registry = _local(tmp_path)
    config = GATE
    registry.register(generator_files(0), metrics(400.0, 0.30), LINEAGE, GENERATION)
    assert gate_and_promote(registry, "v0001", config).promote
    registry.register(generator_files(1), metrics(430.0, 0.30), LINEAGE, GENERATION)  # FD +7.5%
    refused = gate_and_promote(registry, "v0002", config)
    assert not refused.promote and "FD-EffLite0" in refused.reason
    assert registry.production() == "v0001"
    assert registry.pointer()["history"] == []
    registry.register(generator_files(2), metrics(410.0, 0.27), LINEAGE, GENERATION)  # in margin
    assert gate_and_promote(registry, "v0003", config).promote
    assert registry.production() == "v0003"
    registry.register(generator_files(3), metrics(300.0, 0.20), LINEAGE, GENERATION)  # acc -0.07
    assert not gate_and_promote(registry, "v0004", config).promote
    assert registry.production() == "v0003"
    assert gate_and_promote(registry, "v0003", config).reason == "passed: already production"


def test_data_lineage_is_the_md5s_dvc_recorded_for_the_curated_data():
    from seaweed_apt.registry.lineage import dvc_data_version

    lock = {"stages": {"data_curation": {"outs": [
        {"path": "data/03_primary/clip_shards", "md5": "fa88.dir"},
        {"path": "data/03_primary/clip_manifest.parquet", "md5": "58da"}]},
        "pretrain": {"outs": [{"path": "data/06_models/teacher", "md5": "ffff.dir"}]}}}
    version = dvc_data_version(lock)
    assert version["outs"] == {"data/03_primary/clip_shards": "fa88.dir",
                               "data/03_primary/clip_manifest.parquet": "58da"}
    assert len(version["hash"]) == 64
    lock["stages"]["pretrain"]["outs"][0]["md5"] = "0000.dir"  # not the data: same hash
    assert dvc_data_version(lock)["hash"] == version["hash"]
    lock["stages"]["data_curation"]["outs"][1]["md5"] = "58db"  # other data: another hash
    assert dvc_data_version(lock)["hash"] != version["hash"]
    assert dvc_data_version(None)["hash"].startswith("unknown")


def _versions_command(registry_root, capsys) -> tuple[int, str, str]:
    from seaweed_apt.cli import main

    code = main(["versions", "--registry", str(registry_root), "--conf-dir", str(CONF_DIR)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_versions_lists_a_null_metric_as_missing(tmp_path, capsys):
    # A NaN FD is stored as null (strict JSON); listing must not stop at it.
    registry = _local(tmp_path)
    registry.register(generator_files(0), metrics(float("nan"), 0.2), LINEAGE, GENERATION)
    registry.register(generator_files(1), metrics(380.0, 0.25), LINEAGE, GENERATION)
    code, out, err = _versions_command(tmp_path / "registry", capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("v0001") and "FD-EffLite0 n/a" in lines[0]
    assert lines[1].startswith("v0002") and "FD-EffLite0 380.0" in lines[1]


def test_a_manifest_cut_in_half_is_named_and_the_others_stay_usable(tmp_path, capsys):
    registry = _local(tmp_path)
    registry.register(generator_files(0), metrics(400.0, 0.2), LINEAGE, GENERATION)
    registry.register(generator_files(1), metrics(380.0, 0.25), LINEAGE, GENERATION)
    registry.promote("v0001", "test")
    manifest = tmp_path / "registry" / "versions" / "v0001" / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:40])
    with pytest.raises(RegistryError, match=r"v0001's manifest .*manifest\.json.*not valid JSON"):
        registry.get("v0001")
    # Registering goes on, past the broken version, without reusing its number.
    third = registry.register(generator_files(2), metrics(370.0, 0.25), LINEAGE, GENERATION)
    assert third.version == "v0003"
    assert registry.load_files("v0002") == generator_files(1)
    code, out, err = _versions_command(tmp_path / "registry", capsys)
    assert code == 1
    # still marked as what production points at: the pointer is readable, the manifest is not
    assert "v0001 (production)  unreadable" in out and "v0002" in out and "v0003" in out
    assert "v0001's manifest" in err and "manifest.json" in err


def test_a_broken_production_pointer_is_named(tmp_path):
    registry = _local(tmp_path)
    registry.register(generator_files(0), metrics(400.0, 0.2), LINEAGE, GENERATION)
    registry.promote("v0001", "first")
    (tmp_path / "registry" / "pointers" / "production.json").write_text('{"version": "v00')
    with pytest.raises(RegistryError, match="production pointer .*not valid JSON"):
        registry.production()


def test_gate_reads_a_null_figure_as_unknown():
    config = GATE
    # A candidate with a null FD is refused, saying why, not raised on.
    refused = decide("v0002", metrics(None, 0.3), None, None, config)
    assert not refused.promote and "unknown" in refused.reason
    # A production model with a null FD does not block every candidate: the candidate is held
    # to the trivial baselines for that figure instead.
    decision = decide("v0002", metrics(400.0, 0.3), "v0001", metrics(None, 0.2), config)
    assert decision.promote, decision.reason
    assert "production v0001's unknown, so the best trivial baseline's 500" in decision.reason
    worse = decide("v0002", metrics(490.0, 0.3), "v0001", metrics(None, 0.2), config)
    assert not worse.promote
