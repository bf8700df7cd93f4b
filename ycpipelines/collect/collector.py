"""Write one collected partition: rows with provenance (溯源) to raw/, bad lines to quarantine/.

Source values are kept as the text the source delivered; the govern stage types them.
"""

from datetime import UTC, datetime

import duckdb
import pyarrow as pa
from upath import UPath

from ycpipelines.collect.reading import Reading, limit_fields
from ycpipelines.collect.records import Written
from ycpipelines.foundation.lake import copy_to_parquet, quoted, sql_literal
from ycpipelines.foundation.quarantine import quarantine_select

BAD_LINES = pa.schema(
    [("line", pa.int64()), ("text", pa.string()), ("reason", pa.string()), ("rule", pa.string())]
)


def provenance(bureau: str, day: str, source: str, run_id: str) -> str:
    """The provenance columns (溯源) every collected and quarantined row carries."""
    loaded_at = sql_literal(datetime.now(UTC).isoformat())
    return (
        f"{sql_literal(bureau)} AS _bureau, CAST({sql_literal(day)} AS DATE) AS _day, "
        f"{sql_literal(source)} AS _source, {sql_literal(run_id)} AS _run_id, "
        f"CAST({loaded_at} AS TIMESTAMPTZ) AS _loaded_at"
    )


def write_rows(
    con: duckdb.DuckDBPyConnection,
    reader: pa.RecordBatchReader,
    reading: Reading,
    provenance: str,
    path: UPath,
) -> int:
    """Stream the reader's rows as text, with provenance and a row hash, into `path`."""
    columns = reading.columns
    # A fingerprint for change detection and tracing, not a security control (the audit log
    # chain is SHA-256): MD5 of the row's text joined by U+001F, NULL as U+0000.
    content = (
        "concat_ws(chr(31), " + ", ".join(f"coalesce({quoted(c)}, chr(0))" for c in columns) + ")"
    )
    as_text = ", ".join(f"CAST({quoted(c)} AS VARCHAR) AS {quoted(c)}" for c in columns)
    con.register("incoming", limit_fields(reader, reading))
    collected = copy_to_parquet(
        con,
        f"SELECT *, {provenance}, _line, md5({content}) AS _row_hash "
        f"FROM (SELECT {as_text}, _line FROM incoming)",
        path,
    )
    con.unregister("incoming")
    return collected


def merge_previous(
    con: duckdb.DuckDBPyConnection, reading: Reading, fresh: UPath, previous: UPath, raw: UPath
) -> int:
    """Rows read now replace the committed rows with the same primary key; the others are kept.
    Returns the rows of the merged partition; the fresh file is removed either way."""
    try:
        key = ", ".join(quoted(k) for k in reading.dataset.primary_key)
        return copy_to_parquet(
            con,
            # Rows read now follow the kept ones in line order.
            f"SELECT * REPLACE (_line + (SELECT coalesce(max(_line), 0) FROM "
            f"read_parquet('{previous}')) AS _line) FROM read_parquet('{fresh}') "
            "UNION ALL BY NAME "
            f"SELECT old.* FROM read_parquet('{previous}') AS old "
            f"ANTI JOIN read_parquet('{fresh}') AS new USING ({key})",
            raw,
        )
    finally:
        fresh.unlink(missing_ok=True)


def write_bad_lines(
    con: duckdb.DuckDBPyConnection, reading: Reading, provenance: str, run_id: str, path: UPath
) -> int:
    """The lines set aside while reading, as quarantine rows with their rule and reason."""
    con.register("bad", pa.Table.from_pylist(reading.bad_lines, schema=BAD_LINES))
    quarantined = copy_to_parquet(
        con,
        quarantine_select("collect", run_id)
        + f" FROM (SELECT coalesce(rule, 'malformed_line') AS _rule, reason AS _reason, "
        f"to_json({{'text': text}}) AS _record, {provenance}, line AS _line, "
        "md5(coalesce(text, '')) AS _row_hash FROM bad)",
        path,
    )
    con.unregister("bad")
    return quarantined


def watermark_range(
    con: duckdb.DuckDBPyConnection, path: UPath, column: str | None
) -> tuple[str | None, str | None]:
    """The lowest and highest value of the watermark column in the partition."""
    if not column:
        return (None, None)
    return con.execute(
        f"SELECT min({quoted(column)}), max({quoted(column)}) FROM read_parquet('{path}')"
    ).fetchone()


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
) -> Written:
    """Stream the reader into raw/ with provenance; memory stays bounded by a few batches.

    With `previous` (an incremental run), rows read now replace the rows of the committed
    partition that have the same primary key; the others are kept with their provenance.
    """
    origin = provenance(bureau, day, source, run_id)
    fresh = raw_path.with_name(raw_path.name + ".fresh") if previous else raw_path
    collected = write_rows(con, reader, reading, origin, fresh)
    rows = merge_previous(con, reading, fresh, previous, raw_path) if previous else collected
    quarantined = write_bad_lines(con, reading, origin, run_id, quarantine_path)
    return Written(
        read=collected + quarantined,
        collected=collected,
        quarantined=quarantined,
        rows=rows,
        bytes=raw_path.stat().st_size,
        watermark=watermark_range(con, raw_path, watermark_column),
    )
