"""params.yaml, the file every DVC stage tracks, holds the parameters Kedro resolves for the
environment that runs (conf/base, then KEDRO_ENV's folder), not conf/base's: a run with
`KEDRO_ENV=gpu` is recorded in dvc.lock with the values it used."""

import yaml

from pipelines.params_file import resolved_parameters, write_params_file
from tests.conftest import PROJECT_ROOT


def test_the_params_file_holds_the_values_of_the_environment_that_runs(tmp_path, monkeypatch):
    base = yaml.safe_load((PROJECT_ROOT / "conf" / "base" / "parameters_pretrain.yml").read_text())
    monkeypatch.setenv("KEDRO_ENV", "test")
    out = tmp_path / "params.yaml"
    assert write_params_file(out, resolved_parameters(PROJECT_ROOT))
    written = yaml.safe_load(out.read_text())
    assert written["pretrain"]["steps"] == 6 != base["pretrain"]["steps"]  # conf/test's
    assert written["pretrain"]["lr"] == base["pretrain"]["lr"]  # not overridden: base's
    assert written["deployment"]["registry"]["uri"] == "data/09_registry"  # runtime default
    # The same values again: the file is left as it is (DVC sees no change).
    before = out.stat().st_mtime_ns
    assert not write_params_file(out, resolved_parameters(PROJECT_ROOT))
    assert out.stat().st_mtime_ns == before
    gpu = resolved_parameters(PROJECT_ROOT, "gpu")
    assert gpu["curation"]["width"] == 64 and gpu["ray"]["use_gpu"] is True
