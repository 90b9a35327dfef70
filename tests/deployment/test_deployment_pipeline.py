"""The deployment pipeline under conf/test after evaluation: the selected generator registered with
its lineage, gated, served on 127.0.0.1 and smoke-tested; a rerun is idempotent; the CLI reads
and rolls back the same registry."""

from __future__ import annotations

import json
import subprocess
import urllib.request

import pytest
import yaml

from seaweed_apt.cli import main as cli
from tests.conftest import PROJECT_ROOT, run_kedro

pytestmark = pytest.mark.timeout(600)


def test_deployment_registers_gates_serves_and_smoke_tests(evaluated_root, tmp_path, capsys):
    from ray import serve

    out = evaluated_root / "08_reporting" / "deployment"
    # No dvc.lock under project_root: lineage must say the data hash is unknown, not invent one.
    run_kedro(evaluated_root, ["deployment"], project_root=str(tmp_path))
    try:
        candidate = json.loads((out / "candidate.json").read_text())
        gate = json.loads((out / "gate.json").read_text())
        record = json.loads((out / "deployment.json").read_text())
        assert candidate["version"] == "v0001"
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, text=True,
                                capture_output=True).stdout.strip()
        assert candidate["lineage"]["code"]["commit"] == commit
        assert len(candidate["lineage"]["params_hash"]) == 64
        assert candidate["lineage"]["data"]["hash"].startswith("unknown")
        assert candidate["metrics"]["selected_apt_system"].startswith("apt_")
        # Promoted: served as production. Refused (the tiny model may lose to the trivial
        # baselines): production stays empty and the candidate is served marked "preview".
        assert gate["promote"] == all(check["passed"] for check in gate["checks"])
        status = "production" if gate["promote"] else "preview"
        assert gate["production_after"] == ("v0001" if gate["promote"] else None)
        assert record["deployed"] and record["model_status"] == status
        args = yaml.safe_load((out / "serve_config.yaml").read_text())["applications"][0]["args"]
        assert (args["version"], args["status"]) == ("v0001", status)
        assert (out / "smoke" / "smoke.mp4").read_bytes()[4:8] == b"ftyp"
        with urllib.request.urlopen(f"{record['url']}/model", timeout=30) as response:
            card = json.loads(response.read())
        assert card["lineage"] == candidate["lineage"] and card["model_status"] == status

        # Unchanged weights: the same version and decision, the app updated in place.
        run_kedro(evaluated_root, ["deployment"], project_root=str(tmp_path))
        again = json.loads((out / "gate.json").read_text())
        assert again["promote"] == gate["promote"]
        if gate["promote"]:
            assert again["reason"] == "passed: already production"
        assert json.loads((out / "deployment.json").read_text())["model_version"] == "v0001"

        registry = str(evaluated_root / "09_registry")
        assert cli(["lineage", "v0001", "--registry", registry, "--env", "test"]) == 0
        assert json.loads(capsys.readouterr().out)["lineage"] == candidate["lineage"]
        # One version only: rollback has nowhere to go and says so.
        assert cli(["rollback", "--no-deploy", "--registry", registry, "--env", "test"]) == 2

        # A DVC experiment (`dvc exp run` sets DVC_EXP_NAME for every stage) is judged, never
        # served: no version registered, production and the running endpoint as they were.
        versions_before = sorted(p.name for p in (evaluated_root / "09_registry" / "versions")
                                 .iterdir())
        pointer = evaluated_root / "09_registry" / "pointers" / "production.json"
        pointer_before = pointer.read_bytes() if pointer.exists() else None
        with pytest.MonkeyPatch.context() as env:
            env.setenv("DVC_EXP_NAME", "lr-sweep-1")
            run_kedro(evaluated_root, ["deployment"], project_root=str(tmp_path))
        gate = json.loads((out / "gate.json").read_text())
        assert gate["dry_run"] and gate["candidate"] == "experiment lr-sweep-1"
        assert gate["checks"] and gate["production_after"] == (
            "v0001" if again["promote"] else None)
        experiment = json.loads((out / "deployment.json").read_text())
        assert not experiment["deployed"] and "lr-sweep-1" in experiment["reason"]
        assert sorted(p.name for p in (evaluated_root / "09_registry" / "versions")
                      .iterdir()) == versions_before
        assert (pointer.read_bytes() if pointer.exists() else None) == pointer_before
        with urllib.request.urlopen(f"{record['url']}/model", timeout=30) as response:
            assert json.loads(response.read())["model_version"] == "v0001"
    finally:
        serve.delete("seaweed-apt")
