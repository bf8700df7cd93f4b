"""Write one collected partition: rows with provenance (溯源) to raw/, bad lines to quarantine/.

Source values are kept as the text the source delivered; the govern stage types them.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
from upath import UPath

from ycpipelines.collect.reading import Reading, limit_fields
from ycpipelines.foundation.lake import copy_to_parquet, quoted, sql_literal
from ycpipelines.foundation.quarantine import quarantine_select

BAD_LINES = pa.schema(
    [("line", pa.int64()), ("text", pa.string()), ("reason", pa.string()), ("rule", pa.string())]
)


@dataclass(frozen=True)
class Collected:
    """Counts of one run over one partition; read = collected + quarantined."""

    read: int
    collected: int
    quarantined: int
    rows: int  # in the partition after this run (incremental runs keep unchanged rows)
    bytes: int
    watermark: tuple[str | None, str | None]


def write_partition(
    con: duckdb.DuckDBPyConnection,
    reader: pa.RecordBatchReader,
    reading: Reading,
    *,
    raw_path: UPath,
    quarantine_path: UPath,
    previous: UPath | None,
    bureau: str,
    day: str,
    source: str,
    run_id: str,
    watermark_column: str | None,
) -> Collected:
    """Stream the reader into raw/ with provenance; memory stays bounded by a few batches.

    With `previous` (an incremental run), rows read now replace the rows of the committed
    partition that have the same primary key; the others are kept with their provenance.
    """
    columns = reading.columns
    loaded_at = sql_literal(datetime.now(UTC).isoformat())
    # A fingerprint for change detection and tracing, not a security control (the audit log
    # chain is SHA-256): MD5 of the row's text joined by U+001F, NULL as U+0000.
    content = (
        "concat_ws(chr(31), " + ", ".join(f"coalesce({quoted(c)}, chr(0))" for c in columns) + ")"
    )
    provenance = (
        f"{sql_literal(bureau)} AS _bureau, CAST({sql_literal(day)} AS DATE) AS _day, "
        f"{sql_literal(source)} AS _source, {sql_literal(run_id)} AS _run_id, "
        f"CAST({loaded_at} AS TIMESTAMPTZ) AS _loaded_at"
    )
    as_text = ", ".join(f"CAST({quoted(c)} AS VARCHAR) AS {quoted(c)}" for c in columns)
    con.register("incoming", limit_fields(reader, reading))
    fresh = raw_path.with_name(raw_path.name + ".fresh") if previous else raw_path
    collected = copy_to_parquet(
        con,
        f"SELECT *, {provenance}, _line, md5({content}) AS _row_hash "
        f"FROM (SELECT {as_text}, _line FROM incoming)",
        fresh,
    )
    con.unregister("incoming")
    rows = collected
    if previous:
        try:
            key = ", ".join(quoted(k) for k in reading.dataset.primary_key)
            rows = copy_to_parquet(
                con,
                # Rows read now follow the kept ones in line order.
                f"SELECT * REPLACE (_line + (SELECT coalesce(max(_line), 0) FROM "
                f"read_parquet('{previous}')) AS _line) FROM read_parquet('{fresh}') "
                "UNION ALL BY NAME "
                f"SELECT old.* FROM read_parquet('{previous}') AS old "
                f"ANTI JOIN read_parquet('{fresh}') AS new USING ({key})",
                raw_path,
            )
        finally:
            fresh.unlink(missing_ok=True)
    con.register("bad", pa.Table.from_pylist(reading.bad_lines, schema=BAD_LINES))
    quarantined = copy_to_parquet(
        con,
        quarantine_select("collect", run_id)
        + f" FROM (SELECT coalesce(rule, 'malformed_line') AS _rule, reason AS _reason, "
        f"to_json({{'text': text}}) AS _record, {provenance}, line AS _line, "
        "md5(coalesce(text, '')) AS _row_hash FROM bad)",
        quarantine_path,
    )
    con.unregister("bad")
    watermark: tuple[str | None, str | None] = (None, None)
    if watermark_column:
        watermark = con.execute(
            f"SELECT min({quoted(watermark_column)}), max({quoted(watermark_column)}) "
            f"FROM read_parquet('{raw_path}')"
        ).fetchone()
    return Collected(
        read=collected + quarantined,
        collected=collected,
        quarantined=quarantined,
        rows=rows,
        bytes=raw_path.stat().st_size,
        watermark=watermark,
    )
