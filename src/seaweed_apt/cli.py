"""`seaweed-apt`: what is not a pipeline run (fetching the embedded data now; more later)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from seaweed_apt.config import FetchConfig

logger = logging.getLogger("seaweed_apt")


def load_parameters(conf_dir: Path, env: str, group_file: str, key: str) -> dict:
    """One parameter group from conf/base, with conf/<env> merged over it field by field,
    as Kedro's soft merge does."""
    from omegaconf import OmegaConf

    merged = OmegaConf.create({})
    for folder in ("base", env):
        path = conf_dir / folder / group_file
        if path.exists():
            merged = OmegaConf.merge(merged, OmegaConf.load(path))
    if key not in merged:
        raise KeyError(f"no '{key}' group in {conf_dir}/base/{group_file}")
    return OmegaConf.to_container(merged[key], resolve=True)


def fetch_data(args: argparse.Namespace) -> int:
    from seaweed_apt.data.curation import worker_count
    from seaweed_apt.data.moving_fashion import compose_moving_fashion
    from seaweed_apt.data.real_clips import fetch_real_clips

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seaweed-apt", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch-data", help="fill data/01_raw with the embedded videos")
    fetch.add_argument("--out", default="data/01_raw", help="raw data folder")
    fetch.add_argument("--conf-dir", default="conf", help="the project's conf folder")
    fetch.add_argument("--env", default="local", help="conf env merged over conf/base")
    fetch.set_defaults(handler=fetch_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, KeyError, FileNotFoundError, RuntimeError) as error:
        logger.error("%s", error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
