"""一数一源: shared elements that disagree with their one authoritative source.

Each partition's values are standardized the way the govern stage would, then compared with
the newest standardized value of the authoritative dataset for the same person. What disagrees
goes to the registry's conflicts table, masked, for the govern stage and bureau feedback.
"""

import duckdb
from upath import UPath

from ycpipelines.catalog import Catalog, Dataset, SourceField
from ycpipelines.govern.masking import mask
from ycpipelines.govern.standards import install_macros
from ycpipelines.lake import Lake, quoted

EXAMPLES = 3


def normalized(catalog: Catalog, field: SourceField) -> str:
    return catalog.standard(field).normalized(quoted(field.name))


def find_conflicts(
    con: duckdb.DuckDBPyConnection, catalog: Catalog, dataset: Dataset, raw: UPath, lake: Lake
) -> tuple[dict[str, int], list[dict]]:
    """Count of disagreeing rows per element, and every disagreement as a masked record."""
    install_macros(con)
    counts: dict[str, int] = {}
    found: list[dict] = []
    for ref in dataset.elements:
        if ref.authoritative:
            continue
        authority, truth = catalog.authority(ref.element)
        if not lake.committed("std", authority.id):
            continue  # the authoritative source has not been governed yet
        files = lake.glob("std", authority.id)
        field, key = dataset.field(ref.field), dataset.field(ref.key)
        pk = ", ".join(f'"{k}"' for k in dataset.primary_key)
        rows = con.execute(
            f"""
            WITH mine AS (
                SELECT {normalized(catalog, key)} AS k, {normalized(catalog, field)} AS v,
                       concat_ws('|', {pk}) AS row_key
                FROM read_parquet('{raw}')
            ),
            truth AS (
                SELECT "{truth.key}" AS k, CAST("{truth.field}" AS VARCHAR) AS v
                FROM read_parquet('{files}')
                QUALIFY row_number() OVER (
                    PARTITION BY "{truth.key}" ORDER BY _day DESC, _loaded_at DESC) = 1
            )
            SELECT mine.row_key, CAST(mine.v AS VARCHAR), truth.v FROM mine JOIN truth USING (k)
            WHERE mine.v IS NOT NULL AND CAST(mine.v AS VARCHAR) IS DISTINCT FROM truth.v
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
