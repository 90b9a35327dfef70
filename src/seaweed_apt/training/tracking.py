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
    """One run's DVCLive folder, rebuilt at every start from `history`: the windows the run's
    checkpoint carries (none for a fresh run). A resumed run therefore has each step in the plots
    once (rows an attempt logged after its last checkpoint are gone with it), and a run resumed at
    its last step still writes its files: DVC deletes a stage's non-persistent outputs before
    rerunning it, such a run logs no new window, and DVC fails a stage whose declared
    `plots/metrics` is missing. Replayed rows carry the time of the replay: DVCLive stamps rows
    with the current time only."""

    def __init__(self, uri: str, history: list[dict] | tuple = ()) -> None:
        from dvclive import Live

        self.uri = uri
        self.local = Path(tempfile.mkdtemp(prefix="dvclive-")) if storage.is_remote(uri) \
            else Path(uri)
        if storage.is_remote(uri):  # a fresh record, as resume=False clears a local one
            fs, path = storage.filesystem(uri)
            if fs.exists(path):
                fs.rm(path, recursive=True)
        # No dvc.yaml of its own and no experiment commit: the pipeline's dvc.yaml declares the
        # files, and `dvc exp run` / `dvc repro` record them. resume=False clears the folder.
        self.live = Live(str(self.local), resume=False, save_dvc_exp=False, dvcyaml=None)
        for window in history:
            self._log(window)
        if history:
            self._copy_out()

    def log(self, window: dict) -> None:
        """Every finite number of a logging window (losses, accuracies, lr, throughput), at the
        window's `step`."""
        self._log(window)
        self._copy_out()

    def _log(self, window: dict) -> None:
        self.live.step = int(window["step"])
        for key, value in window.items():
            if key in _NOT_FIGURES or isinstance(value, bool) or \
                    not isinstance(value, int | float) or not math.isfinite(value):
                continue
            self.live.log_metric(key, float(value), timestamp=True)
        self.live.next_step()

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

