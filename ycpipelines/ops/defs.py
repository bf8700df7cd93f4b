"""The operations Definitions: the run-failure alert and platform notice sensors."""

import dagster as dg

from ycpipelines.ops.alerts import run_failure_alerts
from ycpipelines.ops.notifications import platform_notices


def ops_defs() -> dg.Definitions:
    return dg.Definitions(sensors=[run_failure_alerts, platform_notices])
