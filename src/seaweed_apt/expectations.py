"""Great Expectations suites, one per dataset name, and the gate that enforces them.

Row-level failures become quarantine rows; the run stops when more than the configured fraction of
rows fail, or when a table-level expectation fails. GX is imported lazily (2 s).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from seaweed_apt.config.curation import CurationConfig, QualityGateConfig

logger = logging.getLogger(__name__)

ROW_KEY = "gate_row"  # a column the gate adds so failing rows are found even when ids repeat
SPLIT_VALUES = ["train", "val", "test"]


class QualityGateError(Exception):
    """The manifest failed the gate; `report` names every failed expectation."""

    def __init__(self, message: str, report: dict) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class GateResult:
    passed: pd.DataFrame  # the rows that met every row-level expectation (without ROW_KEY)
    failed: pd.DataFrame  # rows that did not, with a `reason` column naming the expectations
    report: dict  # expectation -> {"success", "unexpected_count", "examples"}
    data_docs: dict[str, bytes] = field(default_factory=dict)  # relative path -> file bytes


def clip_manifest_expectations(curation: CurationConfig, gate: QualityGateConfig) -> list:
    import great_expectations as gx

    expect = gx.expectations
    return [
        expect.ExpectTableRowCountToBeBetween(min_value=gate.min_clips),
        expect.ExpectColumnValuesToBeUnique(column="clip_id"),
        expect.ExpectColumnValuesToNotBeNull(column="caption"),
        expect.ExpectColumnValueLengthsToBeBetween(column="caption", min_value=1),
        expect.ExpectColumnValuesToBeInSet(column="fps", value_set=[float(curation.fps)]),
        expect.ExpectColumnValuesToBeInSet(column="num_frames", value_set=[curation.clip_frames]),
        expect.ExpectColumnValuesToBeInSet(column="width", value_set=[curation.width]),
        expect.ExpectColumnValuesToBeInSet(column="height", value_set=[curation.height]),
        expect.ExpectColumnValuesToBeBetween(column="motion", min_value=curation.min_motion,
                                             max_value=gate.max_motion),
        expect.ExpectColumnValuesToBeInSet(column="split", value_set=SPLIT_VALUES),
        expect.ExpectColumnValuesToBeOfType(column="caption_row", type_="int64"),
        expect.ExpectColumnValuesToBeBetween(column="caption_row", min_value=0),
        expect.ExpectColumnValueLengthsToEqual(column="source_sha256", value=64),
    ]


SUITES = {"clip_manifest": clip_manifest_expectations}


def _row_count_hint(observed) -> str:
    if observed == 0:  # lowering min_clips cannot help: it is at least 1
        return (" (no clip at all: every file was rejected; the quarantine table, "
                "02_intermediate/quarantine.parquet under data_root, gives each file's reason)")
    return " (quality_gate.min_clips: lower it for a small folder of your own)"


# What to do when a table-level expectation fails, from what it observed: the parameter behind
# its bound, or where the reason is.
TABLE_HINTS = {"expect_table_row_count_to_be_between": _row_count_hint}


def _plain(value):
    """A GX value as JSON-safe builtins (the report is a JSON file)."""
    import json

    return json.loads(json.dumps(value, default=str))


def run_quality_gate(manifest: pd.DataFrame, dataset: str, curation: CurationConfig,
                     gate: QualityGateConfig) -> GateResult:
    """Validate `manifest` against the suite of `dataset`; build Data Docs; decide pass or stop."""
    frame = manifest.reset_index(drop=True).assign(**{ROW_KEY: lambda f: range(len(f))})
    outcome, docs = _validate(frame, dataset, curation, gate)
    report, reasons, table_failures = _read_results(outcome)
    failed_mask = frame[ROW_KEY].isin(reasons)
    failed = frame[failed_mask].assign(
        reason=lambda f: f[ROW_KEY].map(lambda r: "gx:" + ";".join(reasons[r]))
    ).drop(columns=ROW_KEY)
    passed = frame[~failed_mask].drop(columns=ROW_KEY)
    fraction = len(failed) / max(len(frame), 1)
    summary = {"rows": len(frame), "failed_rows": len(failed), "failed_fraction": fraction,
               "expectations": report}
    summary["passed"] = not table_failures and fraction <= gate.max_failed_fraction
    summary["message"] = (
        f"quality gate '{dataset}': {len(failed)}/{len(frame)} rows failed "
        f"({fraction:.1%}, max_failed_fraction {gate.max_failed_fraction:.1%}); "
        f"table-level failures: {table_failures or 'none'}; failing expectations: "
        f"{[name for name, item in report.items() if not item['success']] or 'none'}"
    )
    if len(failed) and summary["passed"]:
        logger.warning("%s: those rows go to quarantine", summary["message"])
    return GateResult(passed=passed, failed=failed, report=summary, data_docs=docs)


def _validate(frame: pd.DataFrame, dataset: str, curation: CurationConfig,
              gate: QualityGateConfig) -> tuple[object, dict[str, bytes]]:
    """The suite of `dataset` run on `frame` by a Great Expectations checkpoint in an ephemeral
    context: its result, and the Data Docs it built (relative path -> bytes)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    with tempfile.TemporaryDirectory() as docs_dir:
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        context.add_data_docs_site(site_name="local", site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": docs_dir},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        })
        batch = (context.data_sources.add_pandas(dataset).add_dataframe_asset(dataset)
                 .add_batch_definition_whole_dataframe("all"))
        suite = context.suites.add(
            gx.ExpectationSuite(name=dataset, expectations=SUITES[dataset](curation, gate)))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{dataset}_gate", data=batch, suite=suite))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=f"{dataset}_checkpoint", validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW_KEY]},
        ))
        outcome = checkpoint.run(batch_parameters={"dataframe": frame})
        docs = {p.relative_to(docs_dir).as_posix(): p.read_bytes()
                for p in Path(docs_dir).rglob("*") if p.is_file()}
    return outcome, docs


def _read_results(outcome) -> tuple[dict, dict[int, list[str]], list[str]]:
    """Per expectation its report entry; per failing row the expectations it failed; and the
    table-level failures in words (nothing to quarantine: the table itself is wrong)."""
    report, reasons, table_failures = {}, {}, []
    for validation in outcome.run_results.values():
        for result in validation.results:
            config = result.expectation_config
            name = f"{config.type}({config.kwargs.get('column', 'table')})"
            unexpected = result.result.get("unexpected_index_list") or []
            rows = sorted({int(item[ROW_KEY]) for item in unexpected})
            bounds = {key: value for key, value in config.kwargs.items()
                      if key in ("min_value", "max_value", "value", "value_set")}
            report[name] = {"success": bool(result.success), "unexpected_count": len(rows),
                            "examples": [str(v) for v in
                                         (result.result.get("partial_unexpected_list") or [])[:5]],
                            "observed_value": _plain(result.result.get("observed_value")),
                            "bounds": _plain(bounds)}
            if result.success:
                continue
            if not rows:
                observed = _plain(result.result.get("observed_value"))
                hint = TABLE_HINTS.get(config.type, lambda _: "")(observed)
                table_failures.append(
                    f"{name}: observed {observed}, expected {_plain(bounds)}{hint}")
            for row in rows:
                reasons.setdefault(row, []).append(name)
    return report, reasons, table_failures


def raise_if_gate_failed(report: dict) -> None:
    """Stop the run when the gate failed. Kept apart from `run_quality_gate` so that the report
    and Data Docs are written before the run stops."""
    if not report.get("passed", False):
        raise QualityGateError(report.get("message", "quality gate failed"), report)
    logger.info(report["message"])
