"""Committed partitions are not wiped unseen (防误覆盖): a re-delivery that would shrink a
partition to a fraction of its committed rows needs an operator's audited decision, and a day
with no rows is a missing delivery (缺报), not a perfect one."""

import pyarrow.parquet as pq
from upath import UPath

from ycpipelines.registry.store import Finding

# A new version keeping fewer than this share of the committed rows is a shrink.
SHRINK_FLOOR = 0.5
MISSING_DELIVERY = "missing_delivery"
LAUNCHED_BY = "ycp/launched_by"  # the run tag the console and `ycp` set to the operator


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


def missing_delivery(rows: int, where: str) -> dict[str, Finding]:
    """A ticket's finding for a partition without rows, to the bureau that owes them."""
    if rows:
        return {}
    return {MISSING_DELIVERY: Finding(f"缺报 no rows delivered for the day ({where})", 0, [])}
