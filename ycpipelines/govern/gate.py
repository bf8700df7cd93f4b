"""Quality gates (质量门禁): Great Expectations suites from `expectations/`, run per partition.

Suites are GE's own JSON, one per governed dataset. They are read when definitions load and
validated through GE's pandas datasource (GE's SQL datasource on DuckDB loses its results).
Failing values are never reported, only counts, so gate output cannot leak the PII it is about.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ycpipelines.catalog import CatalogError
from ycpipelines.catalog.load import PROJECT_ROOT


def expectations_dir() -> Path:
    return Path(os.environ.get("YC_EXPECTATIONS", PROJECT_ROOT / "expectations"))


def load_suite(dataset: str) -> dict:
    """The suite of a dataset as GE JSON; a missing or malformed file fails loading, named."""
    path = expectations_dir() / f"{dataset}.json"
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise CatalogError(f"expectation suite for {dataset!r}: {path}: {error}") from error
    for n, expectation in enumerate(suite.get("expectations", [])):
        if not isinstance(expectation, dict) or "type" not in expectation:
            raise CatalogError(f"{path}: expectation #{n} has no 'type'")
    if not suite.get("expectations"):
        raise CatalogError(f"{path}: the suite has no expectations")
    return suite


@dataclass(frozen=True)
class GateResult:
    """Outcome of one suite on one partition."""

    success: bool
    evaluated: int
    failed: list[str]
    details: list[dict]


def validate(frame: pd.DataFrame, suite: dict) -> GateResult:
    """Run the suite on a partition's rows with an ephemeral GE context."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.core import ExpectationSuite
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("lake")
        .add_dataframe_asset("partition")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    result = batch.validate(ExpectationSuite(**suite))
    details = []
    for r in result.results:
        config = r.expectation_config
        label = f"{config.type}({config.kwargs.get('column', '')})"
        details.append(
            {
                "expectation": label,
                "success": bool(r.success),
                "unexpected_count": r.result.get("unexpected_count"),
                "unexpected_percent": r.result.get("unexpected_percent"),
                "error": (r.exception_info or {}).get("exception_message"),
            }
        )
    return GateResult(
        success=bool(result.success),
        evaluated=len(details),
        failed=[d["expectation"] for d in details if not d["success"]],
        details=details,
    )
