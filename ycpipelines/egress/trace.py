"""溯源 Leak tracing: which delivery a leaked copy came from.

Every delivery re-keys its pseudonym columns for its recipient, so the pseudonyms in a copy
match exactly one consumer's deliveries. A sample of rows in any order, or a subset of columns
that keeps one pseudonym column, is enough.
"""

from dataclasses import dataclass
from pathlib import Path

from ycpipelines.catalog import Catalog
from ycpipelines.foundation.lake import duck, quoted
from ycpipelines.products.build import pseudonym_columns
from ycpipelines.registry import Registry
from ycpipelines.registry.models import Delivery

MATCHED = 0.9  # share of a copy's pseudonyms that must come from one delivery


@dataclass(frozen=True)
class Match:
    delivery: Delivery
    column: str
    share: float  # of the copy's distinct pseudonyms found in the delivery


def relation(path: Path) -> str:
    if path.suffix == ".parquet":
        return f"read_parquet('{path}')"
    return f"read_csv('{path}', header = true, all_varchar = true)"


def trace(path: Path, catalog: Catalog, registry: Registry) -> list[Match]:
    """Deliveries whose pseudonyms the copy carries, best first."""
    matches = []
    with duck() as con:
        copied = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation(path)}").fetchall()}
        for delivery in registry.deliveries():
            delivered = Path(delivery.path)
            if not delivered.exists():
                continue
            product = next(p for p in catalog.products if p.scenario == delivery.scenario)
            for column in sorted(copied & set(pseudonym_columns(catalog, product))):
                c = quoted(column)
                share = con.execute(
                    f"""
                    WITH copy AS (SELECT DISTINCT CAST({c} AS VARCHAR) AS v
                                  FROM {relation(path)} WHERE {c} IS NOT NULL)
                    SELECT coalesce(avg(CASE WHEN v IN (
                        SELECT CAST({c} AS VARCHAR) FROM {relation(delivered)}) THEN 1 ELSE 0 END),
                        0)
                    FROM copy
                    """
                ).fetchone()[0]
                matches.append(Match(delivery, column, float(share)))
    return sorted(
        (m for m in matches if m.share >= MATCHED), key=lambda m: (-m.share, -m.delivery.id)
    )
