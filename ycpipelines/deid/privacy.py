"""Privacy checks (隐私检查): no direct identifier may survive in safe/ or product/ data.

Each identifier is tested the way its standard validates it, so counters, amounts and dates
that merely look alike do not block: resident IDs by GB 11643 checksum and birth date (legacy
15-digit ones by birth date), bank cards by Luhn and card prefix, unified social credit codes
by GB 32100 checksum; mobiles, e-mail addresses and passport numbers by their shape.
"""

import dagster as dg
import duckdb
from upath import UPath

from ycpipelines.foundation.lake import quoted
from ycpipelines.govern.standards import install_macros

RESIDUAL_IDENTIFIERS = "no_residual_identifiers"
# Mobiles, also written with spaces or dashes (138 1234 5678, +86-138-1234-5678).
MOBILE = r"(^|[^\d])(\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}([^\d]|$)"
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# Ordinary passports: E + 8 digits, E + letter + 7 digits (from 2012), G + 8 digits (older).
PASSPORT = r"(^|[^A-Za-z0-9])(E[0-9A-HJ-NP-Z]\d{7}|G\d{8})([^A-Za-z0-9]|$)"
# Card numbers are also written in groups: 6222 0212 3456 7890 123.
GROUPED_DIGITS = r"(\d)[\s-](\d)"
CARD_PREFIX = r"^(62|60|4|5|3)"

MACROS = [
    # Luhn (ISO/IEC 7812) over a string of digits, counting from the right.
    """CREATE OR REPLACE TEMP MACRO yc_luhn_valid(x) AS list_sum(list_transform(
        range(length(x)), lambda i: CASE WHEN i % 2 = 0
            THEN CAST(substr(x, length(x) - i, 1) AS INTEGER)
            ELSE CAST(substr('0246813579', CAST(substr(x, length(x) - i, 1) AS INTEGER) + 1, 1)
                      AS INTEGER) END)) % 10 = 0""",
    f"""CREATE OR REPLACE TEMP MACRO yc_bank_cards(runs) AS len(list_filter(runs,
        lambda x: length(x) BETWEEN 16 AND 19 AND regexp_matches(x, '{CARD_PREFIX}')
        AND yc_luhn_valid(x)))""",
]


def _has_identifier(column: str) -> str:
    c = f"CAST({quoted(column)} AS VARCHAR)"
    resident_id = (
        f"(regexp_matches({c}, '\\d{{15}}') AND ("
        f"len(list_filter(regexp_extract_all({c}, '\\d{{17}}[\\dXx]'), "
        "lambda x: yc_resident_id_valid(upper(x)))) > 0 OR "
        f"len(list_filter(regexp_extract_all({c}, '(^|\\D)(\\d{{15}})(\\D|$)', 2), "
        "lambda x: try_strptime('19' || substr(x, 7, 6), '%Y%m%d') IS NOT NULL)) > 0))"
    )
    bank_card = (
        f"(regexp_matches({c}, '\\d{{4}}') AND (yc_bank_cards(regexp_extract_all({c}, '\\d+')) > 0"
        f" OR yc_bank_cards(regexp_extract_all(regexp_replace({c}, '{GROUPED_DIGITS}', "
        "'\\1\\2', 'g'), '\\d+')) > 0))"
    )
    uscc = (
        f"len(list_filter(regexp_extract_all(upper({c}), '[0-9A-Z]{{18,}}'), "
        "lambda x: length(x) = 18 AND yc_uscc_valid(x))) > 0"
    )
    shapes = " OR ".join(f"regexp_matches({c}, '{p}')" for p in (MOBILE, EMAIL, PASSPORT))
    return f"({resident_id} OR {bank_card} OR {uscc} OR {shapes})"


def residual_identifiers(
    con: duckdb.DuckDBPyConnection, path: UPath, columns: list[str]
) -> dict[str, int]:
    """Rows per column still holding a direct identifier of any kind above."""
    if not columns:
        return {}
    install_macros(con)
    for macro in MACROS:
        con.execute(macro)
    counts = ", ".join(f"count(*) FILTER ({_has_identifier(c)})" for c in columns)
    found = con.execute(f"SELECT {counts} FROM read_parquet('{path}')").fetchone()
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
