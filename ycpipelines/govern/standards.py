"""The SQL building blocks of data standards (一标准): DuckDB macros the YAML standards call.

Standards themselves are declared in `assets/standards/` (see `catalog.standards`); a field names
its standard in the catalog, and the govern stage writes the normalized value and routes a row
whose non-empty value fails the standard to quarantine.
"""

import duckdb

from ycpipelines.catalog import Catalog, CatalogError

ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def _weighted(value: str, weights: list[int], digit: str) -> str:
    return " + ".join(
        digit.format(f"substr({value}, {i + 1}, 1)") + f" * {w}" for i, w in enumerate(weights)
    )


# Macros every govern connection defines; the standards below call them.
MACROS = [
    # GB 11643 check character of the first 17 digits.
    "CREATE OR REPLACE MACRO yc_id_check(b) AS substr('10X98765432', (("
    + _weighted("b", ID_WEIGHTS, "TRY_CAST({} AS INTEGER)")
    + ") % 11) + 1, 1)",
    r"CREATE OR REPLACE MACRO yc_compact(raw) AS upper(regexp_replace(raw, '\s', '', 'g'))",
    # 15-digit IDs issued before 1999 become 18 digits: century 19 inserted, check recomputed.
    r"""CREATE OR REPLACE MACRO yc_resident_id(raw) AS CASE
        WHEN regexp_full_match(yc_compact(raw), '\d{15}') THEN
            substr(yc_compact(raw), 1, 6) || '19' || substr(yc_compact(raw), 7, 9)
            || yc_id_check(substr(yc_compact(raw), 1, 6) || '19' || substr(yc_compact(raw), 7, 9))
        ELSE nullif(yc_compact(raw), '') END""",
    r"""CREATE OR REPLACE MACRO yc_resident_id_valid(id) AS regexp_full_match(id, '\d{17}[\dX]')
        AND yc_id_check(substr(id, 1, 17)) = substr(id, 18, 1)
        AND try_strptime(substr(id, 7, 8), '%Y%m%d') IS NOT NULL""",
    r"CREATE OR REPLACE MACRO yc_digits(raw) AS regexp_replace(raw, '[\s\-()（）]', '', 'g')",
    r"""CREATE OR REPLACE MACRO yc_phone(raw) AS CASE
        WHEN regexp_full_match(yc_digits(raw), '(\+?86|0086)?1[3-9]\d{9}')
            THEN right(yc_digits(raw), 11)
        WHEN regexp_full_match(yc_digits(raw), '(010|02\d)\d{8}')
            THEN substr(yc_digits(raw), 1, 3) || '-' || substr(yc_digits(raw), 4)
        WHEN regexp_full_match(yc_digits(raw), '0[3-9]\d{2}\d{7,8}')
            THEN substr(yc_digits(raw), 1, 4) || '-' || substr(yc_digits(raw), 5)
        ELSE nullif(trim(raw), '') END""",
    # Date and time in Asia/Shanghai local time; a value carrying an offset (or Z) is converted.
    r"""CREATE OR REPLACE MACRO yc_local_time(raw) AS CASE
        WHEN regexp_matches(trim(raw), '(Z|[+-]\d{2}:?\d{2})$')
            THEN timezone('Asia/Shanghai', TRY_CAST(trim(raw) AS TIMESTAMPTZ))
        ELSE try_strptime(trim(raw), ['%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S',
            '%Y/%m/%d %H:%M:%S', '%Y%m%d%H%M%S', '%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%dT%H:%M:%S.%f'])
        END""",
    # GB 32100 check character of a unified social credit code.
    f"""CREATE OR REPLACE MACRO yc_uscc_valid(c) AS
        regexp_full_match(c, '[0-9A-HJ-NPQRTUWXY]{{2}}[0-9]{{6}}[0-9A-HJ-NPQRTUWXY]{{10}}')
        AND substr('{USCC_ALPHABET}', ((31 - ((
        {_weighted("c", USCC_WEIGHTS, f"(strpos('{USCC_ALPHABET}', {{}}) - 1)")}
        ) % 31)) % 31) + 1, 1) = substr(c, 18, 1)""",
]


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define the standards' macros on a connection."""
    for macro in MACROS:
        con.execute(macro)


def check_standards(catalog: Catalog) -> None:
    """Compile every standard's SQL once, so a broken one fails loading, named."""
    with duckdb.connect() as con:
        install_macros(con)
        for standard in catalog.standards.values():
            value = standard.normalized("CAST(NULL AS VARCHAR)")
            valid = standard.is_valid(value) or "true"
            try:
                con.execute(f"SELECT {value}, {valid}").fetchall()
            except duckdb.Error as error:
                raise CatalogError(
                    f"assets/standards/{standard.name}.yaml: its SQL does not run: {error}"
                ) from error
