"""`python -m pipelines` runs the project like `kedro run`."""

from kedro.framework.cli.utils import find_run_command
from kedro.framework.project import configure_project


def main(*args, **kwargs):
    configure_project("pipelines")
    run = find_run_command("pipelines")
    return run(*args, **kwargs)


if __name__ == "__main__":
    main()
