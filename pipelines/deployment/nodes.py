"""deployment nodes: register the selected generator, gate it, write the Serve config, deploy and
smoke-test the endpoint."""

from __future__ import annotations

import logging
from pathlib import Path

from seaweed_apt.config.deployment import DeploymentConfig
from seaweed_apt.registry.gate import decide, gate_and_promote
from seaweed_apt.registry.lineage import (
    dvc_data_version,
    dvc_experiment_name,
    git_commit,
    params_hash,
)
from seaweed_apt.registry.registry import open_registry
from seaweed_apt.training.checkpoint import generation_of_files

logger = logging.getLogger(__name__)

# Parameters that say where things run or live, not what the model is: left out of its params hash.
WHERE_NOT_WHAT = ("data_root", "project_root", "deployment", "ray")


def _dry_run_experiment(config: DeploymentConfig) -> str | None:
    """The DVC experiment this run is, when it must leave the registry and endpoint alone."""
    name = dvc_experiment_name()
    return name if name and not config.serve_experiments else None


def register_candidate(apt_best_model: dict[str, bytes], evaluation_metrics: dict,
                       dvc_lock: dict | None, parameters: dict,
                       deployment: DeploymentConfig) -> dict:
    """The selected APT checkpoint as a registry version with its metrics, lineage and
    generation settings (its files' generation block), or, in a DVC experiment unless
    `serve_experiments`, not registered (version None).

    Returns:
        the candidate's record (version, sha256 of each file, lineage).
    """
    lineage = {"data": dvc_data_version(dvc_lock), "code": git_commit(Path.cwd()),
               "params_hash": params_hash(parameters, ignore=WHERE_NOT_WHAT),
               "selected_system": evaluation_metrics.get("selected_apt_system")}
    generation = generation_of_files(apt_best_model).model_dump()
    experiment = _dry_run_experiment(deployment)
    if experiment:
        logger.info("DVC experiment %s: the candidate is not registered "
                    "(deployment.serve_experiments: false)", experiment)
        return {"version": None, "experiment": experiment, "metrics": evaluation_metrics,
                "lineage": lineage, "generation": generation}
    files = {name: apt_best_model[name] for name in ("model.safetensors", "config.json")}
    version = open_registry(deployment.registry).register(files, evaluation_metrics, lineage,
                                                          generation)
    return {"version": version.version, **version.manifest}


def gate_candidate(candidate: dict, deployment: DeploymentConfig) -> dict:
    """Promote the candidate only if the gate passes; a refusal leaves production untouched.
    A DVC experiment's candidate (not registered) is only judged: `dry_run`, nothing promoted.

    Returns:
        the decision: promoted or not, every check with its value and bound, the reason.
    """
    registry = open_registry(deployment.registry)
    if candidate["version"] is None:  # a DVC experiment: what the gate would decide, no more
        production = registry.production()
        decision = decide(f"experiment {candidate['experiment']}", candidate["metrics"],
                          production, registry.get(production).metrics if production else None,
                          deployment.gate)
        return decision.as_dict() | {"production_after": production, "dry_run": True}
    decision = gate_and_promote(registry, candidate["version"], deployment.gate)
    return decision.as_dict() | {"production_after": registry.production(), "dry_run": False}


def write_serve_config(gate_decision: dict, deployment: DeploymentConfig) -> dict:
    """The Serve config (`serve run` / `serve deploy`) for the production version, or, with
    nothing in production and `preview_when_no_production`, for the refused candidate marked
    'preview' in every response.

    Returns:
        the config as a dict (written as YAML); no application when there is nothing to serve.
    """
    from seaweed_apt.serving.app import AppArgs, build_serve_config

    if gate_decision["dry_run"]:
        return {"applications": []}  # a DVC experiment serves nothing
    version, status, note = gate_decision["production_after"], "production", ""
    if version is None and deployment.preview_when_no_production:
        version, status = gate_decision["candidate"], "preview"
        note = f"not promoted: the promotion gate {gate_decision['reason']}"
    if version is None:
        return {"applications": []}
    return build_serve_config(AppArgs(registry_uri=deployment.registry.uri,
                                      endpoint_url=deployment.registry.endpoint_url,
                                      registry_max_attempts=deployment.registry.max_attempts,
                                      version=version, status=status, status_note=note,
                                      serve=deployment.serve))


def deploy_endpoint(serve_config: dict, deployment: DeploymentConfig
                    ) -> tuple[dict, dict[str, bytes]]:
    """Deploy (or update in place) the app of `serve_config`, then one request through HTTP.

    Returns:
        the deployment record (url, version, smoke-test latency) and the smoke-test video.
    """
    import os

    from seaweed_apt.serving.app import AppArgs
    from seaweed_apt.serving.deploy import deploy_app, smoke_test

    experiment = _dry_run_experiment(deployment)
    if experiment or not deployment.deploy or not serve_config["applications"]:
        why = (f"DVC experiment {experiment}: the endpoint is left as it is "
               "(deployment.serve_experiments: false)" if experiment
               else "deploy: false" if not deployment.deploy else "nothing is in production")
        return {"deployed": False, "reason": why}, {}
    args = AppArgs.model_validate(serve_config["applications"][0]["args"])
    if args.status != "production":
        logger.warning("serving %s as a PREVIEW (%s); production is empty", args.version,
                       args.status_note)
    url = deploy_app(args, deployment.ray_address, deployment.dashboard)
    result, video = smoke_test(url, deployment.smoke_prompt, deployment.smoke_seed,
                               os.environ.get(deployment.serve.api_key_env))
    record = {"deployed": True, "url": url, "model_version": result.model_version,
              "model_status": args.status, "status_note": args.status_note,
              "smoke_latency_s": result.latency_s, "smoke_bytes": result.bytes,
              "smoke_seed": result.seed, "curl": curl_line(url, deployment.smoke_prompt)}
    return record, {"smoke.mp4": video}


def curl_line(url: str, prompt: str) -> str:
    return (f"curl -s -X POST {url}/generate -H 'content-type: application/json' "
            f"-d '{{\"prompt\": \"{prompt}\", \"seed\": 7}}' -o video.mp4 -D -")
