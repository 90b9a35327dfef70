"""`seaweed-apt`: what is not a pipeline run: fetch the embedded data, look into and roll back the
model registry, bring the endpoint up, retrain on a schedule."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from seaweed_apt.config.loading import load_parameters

if TYPE_CHECKING:
    from seaweed_apt.config.deployment import DeploymentConfig

logger = logging.getLogger("seaweed_apt")


def fetch_data(args: argparse.Namespace) -> int:
    from seaweed_apt.config.fetch import FetchConfig
    from seaweed_apt.data.curation import worker_count
    from seaweed_apt.data.moving_fashion import compose_moving_fashion
    from seaweed_apt.data.real_clips import fetch_real_clips
    from seaweed_apt.lifetime import die_with, dvc_runner

    runner = dvc_runner()  # under `dvc repro` (the fetch_raw stage): die with that dvc
    if runner:
        die_with(runner)
    raw = load_parameters(Path(args.conf_dir), args.env, "parameters_data_curation.yml", "fetch")
    config = FetchConfig.model_validate(raw)
    out = Path(args.out)
    videos = compose_moving_fashion(out / "moving_fashion", config.moving_fashion,
                                    worker_count(config.num_workers))
    clips = 0
    if config.real_clips.enabled:
        clips = fetch_real_clips(out / "real_clips", config.real_clips.cache_dir)
    logger.info("fetch-data: %d moving-fashion videos and %d real clips under %s",
                videos, clips, out)
    return 0


def deployment_config(args: argparse.Namespace) -> DeploymentConfig:
    from seaweed_apt.config.deployment import DeploymentConfig

    raw = load_parameters(Path(args.conf_dir), args.env, "parameters_deployment.yml",
                          "deployment")
    config = DeploymentConfig.model_validate(raw)
    if args.registry:
        registry = config.registry.model_copy(update={"uri": args.registry})
        config = config.model_copy(update={"registry": registry})
    return config


def open_registry(config: DeploymentConfig):
    from seaweed_apt.registry.registry import open_registry as open_model_registry

    return open_model_registry(config.registry)


def show_versions(args: argparse.Namespace) -> int:
    """Every version, one line each, oldest first; a missing or null figure reads "n/a"; a
    version with objects but no manifest (being registered, or its registration stopped) reads
    "incomplete". A manifest that cannot be read, or a production pointer that cannot be
    resolved (then nothing can be served or gated against it), is named with why on stderr,
    the others are still listed, and the exit status is 1."""
    from seaweed_apt.registry.registry import UnresolvedProduction, metric_text
    from seaweed_apt.registry.stores import RegistryError

    registry = open_registry(deployment_config(args))
    errors = []
    try:
        production = registry.production()
    except UnresolvedProduction as error:
        production, errors = error.version, [str(error)]
    except RegistryError as error:
        production, errors = None, [str(error)]
    complete, incomplete = registry.versions(), registry.incomplete()
    for version in sorted({*complete, *incomplete}, key=lambda name: int(name[1:])):
        mark = " (production)" if version == production else ""
        if version in incomplete:
            print(f"{version}{mark}  incomplete: no manifest (still being registered, or its "
                  "registration stopped)", flush=True)
            continue
        try:
            metrics = registry.get(version).metrics
        except RegistryError as error:
            errors.append(str(error))
            print(f"{version}{mark}  unreadable", flush=True)
            continue
        print(f"{version}{mark}  "
              f"FD-EffLite0 {metric_text(metrics.get('fd_efflite0_apt1'), '.1f')}  "
              f"conditional accuracy "
              f"{metric_text(metrics.get('conditional_accuracy_apt1'), '.3f')}")
    if production is not None and production not in {*complete, *incomplete}:
        print(f"{production!s} (production)  missing: no object of it in the registry")
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


def show_lineage(args: argparse.Namespace) -> int:
    import json

    registry = open_registry(deployment_config(args))
    name = args.version or registry.production()
    if name is None:
        raise RuntimeError(f"nothing is in production in {registry!r}; name a version "
                           f"({', '.join(registry.versions()) or 'none registered'})")
    version = registry.get(name)
    print(json.dumps({"version": version.version, "created_at": version.manifest["created_at"],
                      "files_sha256": version.manifest["files"], "lineage": version.lineage,
                      "metrics": version.metrics}, indent=2))
    return 0


def serve_production(config: DeploymentConfig, version: str | None) -> str:
    from seaweed_apt.serving.app import AppArgs
    from seaweed_apt.serving.deploy import deploy_app

    app = AppArgs(registry_uri=config.registry.uri, endpoint_url=config.registry.endpoint_url,
                  registry_max_attempts=config.registry.max_attempts, version=version,
                  serve=config.serve)
    return deploy_app(app, config.ray_address, config.dashboard)


def rollback(args: argparse.Namespace) -> int:
    config = deployment_config(args)
    pointer = open_registry(config).rollback()
    logger.info("production is now %s (%s)", pointer["version"], pointer["reason"])
    if args.deploy:
        url = serve_production(config, pointer["version"])
        logger.info("endpoint %s now serves %s", url, pointer["version"])
    return 0


def serve_up(args: argparse.Namespace) -> int:
    """Deploy what the deployment stage decided (its serve config), e.g. after a reboot."""
    import yaml

    from seaweed_apt.serving.app import AppArgs
    from seaweed_apt.serving.deploy import deploy_app

    path = Path(args.serve_config)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run `dvc repro` (or kedro run "
                                "--pipelines deployment) first")
    applications = yaml.safe_load(path.read_text())["applications"]
    if not applications:
        raise RuntimeError(f"{path} has no application: nothing was promoted and preview is off")
    app_args = applications[0]["args"]
    if args.registry:  # the same version, from another copy of the registry
        app_args = {**app_args, "registry_uri": args.registry}
    app = AppArgs.model_validate(app_args)
    config = deployment_config(args)
    url = deploy_app(app, config.ray_address, config.dashboard)
    print(f"endpoint {url} serves {app.version} ({app.status}) from {app.registry_uri}; "
          f"{key_requirement(url, app.serve.api_key_env)}")
    return 0


def key_requirement(url: str, key_env: str) -> str:
    """Whether the running replicas ask for an API key, as their /healthz says: they read
    `key_env` where they started (a Ray head started before it was exported never sees it)."""
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as answer:
            required = json.loads(answer.read()).get("api_key_required")
    except (OSError, ValueError) as error:
        return f"GET /healthz did not answer ({error})"
    if required:
        return f"POST /generate requires the key in ${key_env}"
    return (f"POST /generate requires no key (${key_env} was unset where Ray started its "
            "replicas: `seaweed-apt stop`, export it, serve again)")


def generate(args: argparse.Namespace) -> int:
    """A client of the endpoint: one prompt -> one video file."""
    import os

    from seaweed_apt.serving.deploy import post_generate

    config = deployment_config(args)
    url = args.url or f"http://{config.serve.host}:{config.serve.port}"
    body = {"prompt": args.prompt, "format": Path(args.out).suffix.lstrip(".") or "mp4"}
    if args.seed is not None:
        body["seed"] = args.seed
    if args.display_size is not None:
        body["display_size"] = args.display_size
    key = os.environ.get(config.serve.api_key_env)
    status, headers, content = post_generate(url, body, headers={"authorization": f"Bearer {key}"}
                                             if key else None)
    if status != 200:
        raise RuntimeError(f"POST {url}/generate returned {status}: {content[:300]!r}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_bytes(content)
    headers = {k.lower(): v for k, v in headers.items()}
    print(f"{args.out}: {len(content)} bytes from {headers.get('x-model-version')} "
          f"({headers.get('x-model-status')}), seed {headers.get('x-seed')}")
    return 0


def stop(args: argparse.Namespace) -> int:
    """Stop the local endpoint head (the one `deploy_endpoint` starts), leaving every other Ray
    on the machine running."""
    from seaweed_apt.serving.deploy import LOCAL_HEAD_PORT, stop_local_head

    port = args.port or LOCAL_HEAD_PORT
    stopped = stop_local_head(port)
    print(f"stopped the Ray head on port {port} ({stopped} processes)" if stopped
          else f"no Ray head runs on port {port}")
    return 0


def retrain(args: argparse.Namespace) -> int:
    from seaweed_apt.retrain import RetrainBusy, parse_interval, retrain_every, retrain_once

    if args.every:
        retrain_every(args.project_dir, parse_interval(args.every), dvc=args.dvc)
        return 0
    try:
        print(retrain_once(args.project_dir, dvc=args.dvc))
    except RetrainBusy as busy:
        logger.warning("%s", busy)
        return 3
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seaweed-apt", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch-data", help="fill data/01_raw with the embedded videos")
    fetch.add_argument("--out", default="data/01_raw", help="raw data folder")
    fetch.add_argument("--conf-dir", default="conf", help="the project's conf folder")
    fetch.add_argument("--env", default=os.environ.get("KEDRO_ENV", "local"),
                       help="conf env merged over conf/base (default: KEDRO_ENV, as kedro run)")
    fetch.set_defaults(handler=fetch_data)

    def registry_command(name: str, help_text: str, handler) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--registry", help="registry URI (default: conf deployment.registry)")
        command.add_argument("--conf-dir", default="conf", help="the project's conf folder")
        command.add_argument("--env", default=os.environ.get("KEDRO_ENV", "local"),
                             help="conf env merged over conf/base (default: KEDRO_ENV)")
        command.set_defaults(handler=handler)
        return command

    registry_command("versions", "list the registered generator versions", show_versions)
    lineage = registry_command("lineage", "data hash, git commit, params hash and metrics of "
                               "a version", show_lineage)
    lineage.add_argument("version", nargs="?", help="v0001, ... (default: production)")
    back = registry_command("rollback", "point production back at the previous version and "
                            "redeploy it", rollback)
    back.add_argument("--no-deploy", dest="deploy", action="store_false",
                      help="only move the pointer")
    up = registry_command("serve", "bring the endpoint up as the deployment stage left it",
                          serve_up)
    up.add_argument("--serve-config", default="data/08_reporting/deployment/serve_config.yaml")
    client = registry_command("generate", "ask the running endpoint for a video", generate)
    client.add_argument("prompt")
    client.add_argument("--out", default="video.mp4", help=".mp4, .gif or .npy")
    client.add_argument("--seed", type=int)
    client.add_argument("--display-size", type=int,
                        help="mp4/gif height in px (default: deployment.serve.display_size)")
    client.add_argument("--url", help="default: conf deployment.serve host and port")
    halt = commands.add_parser("stop", help="stop the local endpoint head (127.0.0.1:6390) and "
                               "no other Ray (`ray stop` ends them all)")
    halt.add_argument("--port", type=int, help="the head's GCS port (default 6390, the "
                      "endpoint's; any other port stops whichever Ray head listens there)")
    halt.set_defaults(handler=stop)
    again = commands.add_parser("retrain", help="dvc repro what changed in the raw data, gate, "
                                "redeploy; a no-op when nothing changed")
    again.add_argument("--every", help="repeat at this interval (24h, 30m, ...) until stopped")
    again.add_argument("--project-dir", default=".", help="the DVC project")
    again.add_argument("--dvc", help="the dvc command to run (default: the one beside this "
                       "Python, else the first on PATH)")
    again.set_defaults(handler=retrain)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from seaweed_apt.registry.stores import RegistryError

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, KeyError, FileNotFoundError, RuntimeError, RegistryError) as error:
        logger.error("%s", error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
