"""The collect stage's checks (归集校验): the day was delivered (缺报) and its counts add up."""

import dagster as dg

from ycpipelines.collect.records import Written
from ycpipelines.foundation.metadata import RECONCILED, reconciliation
from ycpipelines.foundation.partitions import partition_check

MISSING_DELIVERY = "missing_delivery"


def check_specs(key: dg.AssetKey, partitions: dg.PartitionsDefinition) -> list[dg.AssetCheckSpec]:
    """The blocking checks of a `raw/` asset, kept per partition."""
    return [
        partition_check(
            MISSING_DELIVERY,
            key,
            partitions,
            "缺报: the day's partition has rows (none is a missing delivery)",
        ),
        partition_check(
            RECONCILED,
            key,
            partitions,
            "rows read = rows collected + rows quarantined, before the partition is committed",
        ),
    ]


def reconciled(written: Written) -> dg.AssetCheckResult:
    """Rows read = rows collected + rows quarantined (对账), judged before the commit."""
    return reconciliation(
        written.read, {"collected": written.collected, "quarantined": written.quarantined}
    )


def delivered(written: Written) -> dg.AssetCheckResult:
    """The partition holds rows after this run; none is a missing delivery."""
    return dg.AssetCheckResult(
        check_name=MISSING_DELIVERY,
        passed=written.rows > 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"rows": written.rows, "read": written.read},
    )
