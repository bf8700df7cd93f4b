"""Data standards (数据标准, 一标准) declared in `assets/standards/`, one YAML file each.

A standard says how a delivered value is normalized (DuckDB SQL over `{raw}`) and when the
normalized value is valid (SQL over `{v}`); code tables (代码表) and code ranges such as ICD-10
chapters are declared as data and turned into SQL here. Data engineers change a standard by
editing its YAML; the govern stage applies it.
"""

from pydantic import BaseModel, ConfigDict, Field

from ycpipelines.foundation.lake import sql_literal


class Code(BaseModel):
    """One entry of a code table, with the spellings bureaus deliver for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    label: str
    aliases: list[str] = []


class CodeRange(BaseModel):
    """A group of codes by prefix range, e.g. ICD-10 chapter II is C00–D48."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    first: str
    last: str
    label: str


class Standard(BaseModel):
    """One data standard; `normalized` and `is_valid` give its SQL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    reference: str | None = None  # the national standard it follows, e.g. GB/T 2261.1-2003
    type: str = "VARCHAR"
    normalize: str | None = None
    valid: str | None = None
    codes: list[Code] = []
    ranges: list[CodeRange] = []

    def normalized(self, raw: str) -> str:
        """SQL of the normalized value of the expression `raw`."""
        if self.normalize:
            expression = self.normalize.replace("{raw}", raw)
        elif self.codes:
            spellings = {c.code: c.code for c in self.codes}
            for c in self.codes:
                spellings |= {s: c.code for s in [c.label, *c.aliases]}
            lookup = ", ".join(f"{sql_literal(s)}: {sql_literal(c)}" for s, c in spellings.items())
            expression = f"coalesce(MAP {{{lookup}}}[trim({raw})], nullif(trim({raw}), ''))"
        else:
            expression = f"nullif(trim({raw}), '')"
        return f"CAST(({expression}) AS {self.type})"

    def is_valid(self, value: str) -> str | None:
        """SQL that is true when the normalized `value` meets the standard; None: anything goes."""
        tests = [self.valid.replace("{v}", value)] if self.valid else []
        if self.codes:
            tests.append(f"{value} IN ({', '.join(sql_literal(c.code) for c in self.codes)})")
        if self.ranges:
            tests.append(f"{self.group(value)} IS NOT NULL")
        return " AND ".join(f"({t})" for t in tests) or None

    def group(self, value: str) -> str:
        """SQL of the range a code falls in (an ICD-10 code's chapter), NULL outside all."""
        width = len(self.ranges[0].first)
        prefix = f"substr({value}, 1, {width})"
        cases = " ".join(
            f"WHEN {prefix} BETWEEN {sql_literal(r.first)} AND {sql_literal(r.last)} "
            f"THEN {sql_literal(r.code)}"
            for r in self.ranges
        )
        return f"(CASE {cases} END)"
