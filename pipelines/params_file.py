"""`python -m pipelines.params_file [params.yaml]`: the parameters a `kedro run` here would use,
written to the one params file every DVC stage tracks.

Kedro merges conf/base with the run's environment (`KEDRO_ENV`, else conf/local) by its own
config loader; DVC reads plain YAML files. Tracking conf/base directly made `dvc.lock` record
base values for a run with `KEDRO_ENV=gpu` or conf/local overrides. This command, the first
stage of dvc.yaml (`always_changed`), resolves them as Kedro does, so each stage reruns when a
value it takes changes in any environment, and dvc.lock records the values that ran."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

HEADER = ("# Written by `python -m pipelines.params_file` (dvc.yaml stage resolve_params): the\n"
          "# parameters Kedro resolves for this environment. Do not edit: edit conf/.\n")


def resolved_parameters(project: Path, env: str | None = None) -> dict:
    """Kedro's parameters for `env` (None: `KEDRO_ENV`, else Kedro's default run env)."""
    from kedro.framework.project import settings
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project)
    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=str(project / settings.CONF_SOURCE),
        env=env or os.environ.get("KEDRO_ENV"), **settings.CONFIG_LOADER_ARGS)
    return loader["parameters"]


def write_params_file(out: Path, params: dict) -> bool:
    """Write `params` as YAML when they differ from the file's; True when written (an
    unchanged file keeps its bytes, so DVC sees nothing new)."""
    text = HEADER + yaml.safe_dump(params, sort_keys=True, allow_unicode=True)
    if out.exists() and out.read_text() == text:
        return False
    out.write_text(text)
    return True


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "params.yaml")
    changed = write_params_file(out, resolved_parameters(Path.cwd()))
    env = os.environ.get("KEDRO_ENV") or "base + local"
    print(f"{out}: the parameters of env {env} ({'updated' if changed else 'unchanged'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
