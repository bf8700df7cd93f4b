"""Data standards (一标准) as DuckDB SQL: how each element is normalized and what is valid.

A field names its standard in the catalog; the govern stage writes the normalized value and
routes a row whose non-empty value fails `valid` to quarantine.
"""

from dataclasses import dataclass

import duckdb

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


@dataclass(frozen=True)
class Standard:
    """A named standard: normalize `{raw}` to a typed value; `valid` tests the value `{v}`."""

    name: str
    label: str
    sql_type: str
    normalize: str
    valid: str | None = None

    def normalized(self, raw: str) -> str:
        return f"CAST(({self.normalize.format(raw=raw)}) AS {self.sql_type})"

    def is_valid(self, value: str) -> str | None:
        return self.valid.format(v=value) if self.valid else None


STANDARDS = {
    s.name: s
    for s in [
        Standard("text", "文本: trimmed, empty is missing", "VARCHAR", "nullif(trim({raw}), '')"),
        Standard(
            "person_name",
            "姓名: no spaces; Han characters and the middle dot, or Latin letters",
            "VARCHAR",
            r"nullif(regexp_replace(trim({raw}), '\s+', '', 'g'), '')",
            r"regexp_full_match({v}, '[\p{{Han}}·]{{2,20}}|[A-Za-z][A-Za-z .\-]{{1,40}}')",
        ),
        Standard(
            "resident_id",
            "公民身份号码 GB 11643: 18 characters upper-case, legacy 15-digit converted",
            "VARCHAR",
            "yc_resident_id({raw})",
            "yc_resident_id_valid({v})",
        ),
        Standard(
            "phone",
            "电话号码: mobile as 11 digits, landline as area code-number",
            "VARCHAR",
            "yc_phone({raw})",
            r"regexp_full_match({v}, '1[3-9]\d{{9}}|0\d{{2,3}}-\d{{7,8}}')",
        ),
        Standard(
            "gender",
            "性别 GB/T 2261.1: 0 未知, 1 男, 2 女, 9 未说明",
            "VARCHAR",
            "CASE WHEN trim({raw}) IN ('男', '男性', 'M', 'm', '1') THEN '1' "
            "WHEN trim({raw}) IN ('女', '女性', 'F', 'f', '2') THEN '2' "
            "WHEN trim({raw}) IN ('未知', '0') THEN '0' "
            "WHEN trim({raw}) IN ('未说明', '9') THEN '9' ELSE nullif(trim({raw}), '') END",
            "{v} IN ('0', '1', '2', '9')",
        ),
        Standard(
            "date",
            "日期 ISO-8601",
            "DATE",
            "try_strptime(trim({raw}), ['%Y-%m-%d', '%Y/%m/%d', '%Y%m%d', '%Y年%m月%d日', "
            "'%Y-%m-%d %H:%M:%S'])",
            "{v} IS NOT NULL",
        ),
        Standard(
            "datetime",
            "时间 ISO-8601, Asia/Shanghai local time",
            "TIMESTAMP",
            "try_strptime(trim({raw}), ['%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S', "
            "'%Y/%m/%d %H:%M:%S', '%Y%m%d%H%M%S', '%Y-%m-%d %H:%M:%S.%f'])",
            "{v} IS NOT NULL",
        ),
        Standard(
            "money",
            "金额(元), two decimals, not negative",
            "DECIMAL(14, 2)",
            "TRY_CAST(replace(trim({raw}), ',', '') AS DECIMAL(14, 2))",
            "{v} >= 0",
        ),
        Standard(
            "icd10",
            "ICD-10 诊断编码",
            "VARCHAR",
            "nullif(upper(trim({raw})), '')",
            r"regexp_full_match({v}, '[A-Z]\d{{2}}(\.\d{{1,4}})?')",
        ),
        Standard(
            "uscc",
            "统一社会信用代码 GB 32100",
            "VARCHAR",
            "nullif(yc_compact({raw}), '')",
            "yc_uscc_valid({v})",
        ),
    ]
}
