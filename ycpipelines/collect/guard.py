"""Committed partitions are not wiped unseen (防误覆盖): a re-delivery that would shrink a
partition to a fraction of its committed rows needs an operator's audited decision, and a day
with no rows is a missing delivery (缺报), not a perfect one."""

from collections.abc import Callable

import dagster as dg
import pyarrow.parquet as pq
from upath import UPath

from ycpipelines.collect.checks import MISSING_DELIVERY
from ycpipelines.foundation.feedback import Finding
from ycpipelines.foundation.keys import Layer
from ycpipelines.foundation.lake import Partition
from ycpipelines.registry.store import Registry

# A new version keeping fewer than this share of the committed rows is a shrink.
SHRINK_FLOOR = 0.5


def committed_rows(path: UPath) -> int | None:
    """Rows of a committed partition file; None when none is committed."""
    if not path.exists():
        return None
    with path.open("rb") as f:
        return pq.ParquetFile(f).metadata.num_rows


def shrinks(before: int | None, after: int) -> bool:
    """Whether `after` rows replacing `before` committed ones is a shrink."""
    return bool(before) and after < SHRINK_FLOOR * before


def refusal(layer: str, before: int, after: int) -> str:
    """Why a shrunk version was not committed, in counts."""
    return (
        f"{layer}: the new version has {after} rows against {before} committed "
        f"(below {SHRINK_FLOOR:.0%}); the committed partition was kept. After checking the "
        "delivery, an operator may accept it with the run option accept_shrink (audited)."
    )


def guard_raw(
    store: Registry,
    *,
    dataset: str,
    partition: Partition,
    committed: UPath,
    rows: int,
    accept: bool,
    run_id: str,
    launcher: Callable[[], str],
) -> None:
    """Before a raw/ commit: fail on a shrink, or record the operator's acceptance of it. The
    baseline is the most rows committed since the last accepted shrink, so deliveries that each
    keep just over half cannot wear a partition down without a decision."""
    high = store.committed_high(dataset=dataset, bureau=partition.bureau, day=partition.date)
    before = max(committed_rows(committed) or 0, high or 0) or None
    if not shrinks(before, rows):
        return
    assert before is not None
    if not accept:
        raise dg.Failure(refusal(f"raw/{partition.bureau}/{dataset}", before, rows))
    store.accept_shrink(
        layer=Layer.RAW,
        dataset=dataset,
        bureau=partition.bureau,
        day=partition.date,
        run_id=run_id,
        actor=launcher(),
        before=before,
        after=rows,
    )


def missing_delivery(rows: int, where: str) -> dict[str, Finding]:
    """A ticket's finding for a partition without rows, to the bureau that owes them."""
    if rows:
        return {}
    return {MISSING_DELIVERY: Finding(f"缺报 no rows delivered for the day ({where})", 0, [])}
