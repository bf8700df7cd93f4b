"""Privacy checks (隐私检查): no direct identifier may survive in safe/ or product/ data."""

from pathlib import Path

import dagster as dg
import duckdb

from ycpipelines.govern.standards import install_macros

RESIDUAL_IDENTIFIERS = "no_residual_identifiers"
# Mobiles, also written with spaces or dashes (138 1234 5678, +86-138-1234-5678).
MOBILE = r"(^|[^\d])(\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}([^\d]|$)"


def residual_identifiers(
    con: duckdb.DuckDBPyConnection, path: Path, columns: list[str]
) -> dict[str, int]:
    """Rows per column still holding a checksum-valid resident ID or a mobile number."""
    if not columns:
        return {}
    install_macros(con)
    counts = []
    for column in columns:
        c = f'CAST("{column}" AS VARCHAR)'
        has_id = (
            f"(regexp_matches({c}, '\\d{{15}}') AND ("
            f"len(list_filter(regexp_extract_all({c}, '\\d{{17}}[\\dXx]'), "
            "lambda x: yc_resident_id_valid(upper(x)))) > 0 OR "
            f"len(list_filter(regexp_extract_all({c}, '(^|\\D)(\\d{{15}})(\\D|$)', 2), "
            "lambda x: try_strptime('19' || substr(x, 7, 6), '%Y%m%d') IS NOT NULL)) > 0))"
        )
        counts.append(f"count(*) FILTER ({has_id} OR regexp_matches({c}, '{MOBILE}'))")
    found = con.execute(f"SELECT {', '.join(counts)} FROM read_parquet('{path}')").fetchone()
    return dict(zip(columns, found, strict=True))


def residual_check(columns: list[str], leaks: dict[str, int]) -> dg.AssetCheckResult:
    """The blocking check result of a residual-identifier scan."""
    return dg.AssetCheckResult(
        check_name=RESIDUAL_IDENTIFIERS,
        passed=not leaks,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "columns_scanned": len(columns),
            "rows_with_identifiers": dg.MetadataValue.json(leaks),
        },
    )
