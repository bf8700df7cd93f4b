"""一数一源: shared elements that disagree with their one authoritative source.

A partition's values as collected (`raw/<bureau>/<dataset>`, standardized the way the govern
stage would, so rows it later quarantines are compared too) are compared with the newest
standardized value of the authoritative dataset (every committed `std/<authority>` partition)
for the same person. What disagrees goes to the registry's conflicts table, masked, for bureau
feedback. The comparison reads both datasets, so it is a check that runs after both
(`govern/one_source.py`), never a side read inside another step.
"""

import duckdb
from upath import UPath

from ycpipelines.catalog import Catalog, Dataset, SourceField
from ycpipelines.foundation.keys import Layer
from ycpipelines.foundation.lake import Lake, quoted
from ycpipelines.foundation.masking import mask
from ycpipelines.govern.standards import install_macros

EXAMPLES = 3


def normalized(catalog: Catalog, field: SourceField) -> str:
    return f"CAST({catalog.standard(field).normalized(quoted(field.name))} AS VARCHAR)"


def authorities(catalog: Catalog, dataset: Dataset) -> list[Dataset]:
    """The datasets holding the authoritative source of an element `dataset` shares, once each."""
    found = [catalog.authority(ref.element)[0] for ref in dataset.elements if not ref.authoritative]
    return list({d.id: d for d in found}.values())


def find_conflicts(
    con: duckdb.DuckDBPyConnection, catalog: Catalog, dataset: Dataset, raw: UPath, lake: Lake
) -> tuple[dict[str, int], list[dict]] | None:
    """Count of disagreeing rows per element, and every disagreement as a masked record;
    None while an authority has no committed partition (nothing can be compared)."""
    if not all(lake.any_committed(Layer.STD, a.id) for a in authorities(catalog, dataset)):
        return None
    install_macros(con)
    counts: dict[str, int] = {}
    found: list[dict] = []
    pk = ", ".join(quoted(k) for k in dataset.primary_key)
    for ref in dataset.elements:
        if ref.authoritative:
            continue
        authority, truth = catalog.authority(ref.element)
        field, key = dataset.field(ref.field), dataset.field(ref.key)
        rows = con.execute(
            f"""
            WITH mine AS (
                SELECT {normalized(catalog, key)} AS k, {normalized(catalog, field)} AS v,
                       concat_ws('|', {pk}) AS row_key
                FROM read_parquet('{raw}')
            ),
            truth AS (
                SELECT {quoted(truth.key)} AS k, CAST({quoted(truth.field)} AS VARCHAR) AS v
                FROM read_parquet('{lake.glob(Layer.STD, authority.id)}')
                WHERE {quoted(truth.key)} IN (SELECT k FROM mine)
                QUALIFY row_number() OVER (
                    PARTITION BY {quoted(truth.key)} ORDER BY _day DESC, _loaded_at DESC) = 1
            )
            SELECT mine.row_key, mine.v, truth.v FROM mine JOIN truth USING (k)
            WHERE mine.v IS NOT NULL AND mine.v IS DISTINCT FROM truth.v
            ORDER BY mine.row_key
            """
        ).fetchall()
        counts[ref.element] = len(rows)
        key_field = dataset.field(dataset.primary_key[0])
        authority_field = authority.field(truth.field)
        found += [
            {
                "element": ref.element,
                "authority": authority.id,
                "row_key": mask(row_key, key_field),
                "found": mask(mine, field),
                "expected": mask(theirs, authority_field),
            }
            for row_key, mine, theirs in rows
        ]
    return counts, found
