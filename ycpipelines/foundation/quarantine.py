"""Quarantine (问题数据隔离): rows that failed, kept with rule, reason and provenance.

Collect (unreadable lines) and govern (rule violations) write the same columns, so a
bureau's feedback can be drawn from one place.
"""

from ycpipelines.foundation.lake import sql_literal

PROVENANCE = ["_bureau", "_day", "_source", "_run_id", "_loaded_at", "_line", "_row_hash"]


def quarantine_select(stage: str, run_id: str) -> str:
    """Quarantine columns from a relation with `_rule`, `_reason`, `_record` and provenance."""
    return (
        f"SELECT {sql_literal(stage)} AS _stage, _rule, _reason, _record, _bureau, _day, _source, "
        f"{sql_literal(run_id)} AS _run_id, _loaded_at, _line, _row_hash"
    )
