"""Live metrics of a training run through DVCLive, DVC's own tracker: each logging window of rank 0
is one step of `<folder>/metrics.json` and `<folder>/plots/metrics/<name>.tsv` (with a timestamp
column), written as it happens, so `dvc plots show`, `dvc metrics show` and `dvc exp show` read
a stage while it trains, not only when it ends (dvc.yaml declares both as the stage's metrics and
plots). A folder at a storage URI (s3://) is written locally and its files copied there after
every step."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from seaweed_apt import storage

# Keys of a window that are not figures of the run.
_NOT_FIGURES = {"step", "rank"}


class LiveMetrics:
    """One run's DVCLive folder. `resumed_at`: the step the run resumed from (0 for a fresh
    run, whose folder is cleared); rows logged after that step by an attempt that did not
    reach a checkpoint are dropped, so each step is in the plots once."""

    def __init__(self, uri: str, resumed_at: int = 0) -> None:
        from dvclive import Live

        self.uri = uri
        self.local = Path(tempfile.mkdtemp(prefix="dvclive-")) if storage.is_remote(uri) \
            else Path(uri)
        if resumed_at and storage.is_remote(uri):
            for relative, remote in storage.list_files(uri).items():
                (self.local / relative).parent.mkdir(parents=True, exist_ok=True)
                (self.local / relative).write_bytes(storage.read_bytes(remote))
        if resumed_at:
            _drop_rows_after(self.local, resumed_at)
        # No dvc.yaml of its own and no experiment commit: the pipeline's dvc.yaml declares the
        # files, and `dvc exp run` / `dvc repro` record them.
        self.live = Live(str(self.local), resume=resumed_at > 0, save_dvc_exp=False,
                         dvcyaml=None)

    def log(self, window: dict) -> None:
        """Every finite number of a logging window (losses, accuracies, lr, throughput), at the
        window's `step`."""
        self.live.step = int(window["step"])
        for key, value in window.items():
            if key in _NOT_FIGURES or isinstance(value, bool) or \
                    not isinstance(value, int | float) or not math.isfinite(value):
                continue
            self.live.log_metric(key, float(value), timestamp=True)
        self.live.next_step()
        self._copy_out()

    def close(self) -> None:
        self.live.end()
        self._copy_out()

    def _copy_out(self) -> None:
        if not storage.is_remote(self.uri):
            return
        for path in self.local.rglob("*"):
            if path.is_file():
                storage.write_bytes(storage.join(self.uri, *path.relative_to(self.local).parts),
                                    path.read_bytes())


def _drop_rows_after(folder: Path, step: int) -> None:
    """Keep only the rows of every `.tsv` under `folder` up to `step`."""
    for table in folder.glob("plots/metrics/**/*.tsv"):
        header, *rows = table.read_text().splitlines()
        column = header.split("\t").index("step")
        kept = [row for row in rows if int(row.split("\t")[column]) <= step]
        table.write_text("\n".join([header, *kept]) + "\n")
