"""Row-level rules across fields (跨字段规则); a row that breaks one is quarantined."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RowRule:
    """`violated` receives the standardized column names and the partition day (ISO)."""

    name: str
    reason: str
    violated: Callable[[list[str], str], str]


ROW_RULES = {
    r.name: r
    for r in [
        RowRule(
            "gender_matches_id",
            "性别与身份证号第17位不一致 gender disagrees with the resident ID",
            lambda c, _: (
                f"({c[0]} IN ('1', '2') AND yc_resident_id_valid({c[1]}) AND "
                f"(TRY_CAST(substr({c[1]}, 17, 1) AS INTEGER) % 2 = 1) <> ({c[0]} = '1'))"
            ),
        ),
        RowRule(
            "not_in_future",
            "日期晚于数据日期 date lies after the partition day",
            lambda c, day: f"(CAST({c[0]} AS DATE) > DATE '{day}')",
        ),
    ]
}
