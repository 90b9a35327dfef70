"""The local defaults every Kedro run applies keep a laptop offline without blocking a cluster
node's own S3 credentials (its EC2 instance role)."""

from pipelines.hooks import apply_local_defaults


def test_local_defaults_keep_telemetry_off_and_leave_instance_roles_reachable(monkeypatch):
    for key in ("AWS_EC2_METADATA_DISABLED", "KEDRO_DISABLE_TELEMETRY", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(key, raising=False)
    apply_local_defaults()
    import os

    assert os.environ["KEDRO_DISABLE_TELEMETRY"] == "1" and os.environ["HF_HUB_OFFLINE"] == "1"
    assert "AWS_EC2_METADATA_DISABLED" not in os.environ
