"""医药 Disease statistics: visits and patients by month, county and ICD-10 chapter.

Counts under the manifest's `suppress_below` are released empty (小数抑制), never as numbers.
"""

from collections.abc import Mapping
from functools import cache

from ycpipelines.catalog import Product, Standard, load_catalog


@cache
def icd10() -> Standard:
    return load_catalog().standards["icd10"]


def build(inputs: Mapping[str, str], product: Product) -> str:
    """SQL of the product over the safe/ relations in `inputs`."""
    visits = inputs["safe/outpatient_visits"]
    least = product.suppress_below
    return f"""
    WITH cells AS (
        SELECT strftime(visit_time, '%Y-%m') AS month, county,
               {icd10().group("icd10_code")} AS icd10_chapter,
               count(DISTINCT visit_pid) AS visits, count(DISTINCT person_pid) AS patients
        FROM {visits} GROUP BY ALL
    )
    SELECT month, county, icd10_chapter,
           CASE WHEN visits >= {least} THEN visits END AS visits,
           CASE WHEN patients >= {least} THEN patients END AS patients
    FROM cells ORDER BY ALL
    """
