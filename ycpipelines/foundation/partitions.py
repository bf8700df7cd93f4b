"""Bureau × day partitions (归集批次), shared by a dataset's raw, std and safe assets."""

import warnings
from datetime import date, timedelta
from typing import Protocol

import dagster as dg
from dagster._core.storage.tags import MULTIDIMENSIONAL_PARTITION_PREFIX, PARTITION_NAME_TAG

from ycpipelines.foundation.keys import DatasetLike
from ycpipelines.foundation.lake import TIMEZONE

# A bureau × day run not ended after 6 hours is failed by run monitoring: a run whose process
# went down with its code server (a machine restart) would otherwise stay STARTED for ever.
PARTITION_RUN_TAGS = {"dagster/max_runtime": str(6 * 3600)}
# The bureau of a backfill's runs: a run over a range of days carries no partition tags, so the
# queue's per-bureau limit (deploy/dagster.yaml) also keys on this one.
BUREAU_TAG = "ycp/bureau"


class Calendar(Protocol):
    """What partitions need of the catalog: the pilot's first day."""

    @property
    def start_date(self) -> date: ...


def bureau_partitions(catalog: Calendar, bureau: str) -> dg.MultiPartitionsDefinition:
    """A bureau's days from the catalog's start: every dataset it delivers has these."""
    return dg.MultiPartitionsDefinition(
        {
            "bureau": dg.StaticPartitionsDefinition([bureau]),
            "date": dg.DailyPartitionsDefinition(
                start_date=catalog.start_date.isoformat(), timezone=TIMEZONE
            ),
        }
    )


def dataset_partitions(catalog: Calendar, dataset: DatasetLike) -> dg.MultiPartitionsDefinition:
    return bureau_partitions(catalog, dataset.bureau)


def partition_key(bureau: str, day: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"bureau": bureau, "date": day})


def partition_tags(bureau: str, day: str) -> dict[str, str]:
    """Run tags naming a partition, for a job of checks only: Dagster infers no partitions
    definition for a job that materializes no asset, so it takes no `partition_key`."""
    key = partition_key(bureau, day)
    return {
        PARTITION_NAME_TAG: str(key),
        **{f"{MULTIDIMENSIONAL_PARTITION_PREFIX}{d}": k for d, k in key.keys_by_dimension.items()},
    }


def days_between(first: date, last: date) -> list[str]:
    """Every ISO day from first to last, both included."""
    return [(first + timedelta(n)).isoformat() for n in range((last - first).days + 1)]


def partition_check(
    name: str,
    key: dg.AssetKey,
    partitions: dg.PartitionsDefinition,
    description: str,
    blocking: bool = True,
) -> dg.AssetCheckSpec:
    """A check whose results are kept per partition (a preview feature, used knowingly)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(
            name, asset=key, blocking=blocking, partitions_def=partitions, description=description
        )
