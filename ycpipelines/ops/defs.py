"""The operations Definitions: the run-failure alert sensor."""

import dagster as dg

from ycpipelines.ops.alerts import run_failure_alerts


def ops_defs() -> dg.Definitions:
    return dg.Definitions(sensors=[run_failure_alerts])
