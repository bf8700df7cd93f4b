"""Write one collected partition: rows with provenance (溯源) to raw/, bad lines to quarantine/."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from ycpipelines.collect.readers import Reading
from ycpipelines.govern.quarantine import quarantine_select
from ycpipelines.lake import copy_to_parquet, sql_literal

BAD_LINES = pa.schema([("line", pa.int64()), ("text", pa.string()), ("reason", pa.string())])


@dataclass(frozen=True)
class Collected:
    """Counts of one partition; read = collected + quarantined."""

    read: int
    collected: int
    quarantined: int
    bytes: int
    watermark: tuple[str | None, str | None]


def write_partition(
    con: duckdb.DuckDBPyConnection,
    batches: Iterator[pa.RecordBatch],
    reading: Reading,
    *,
    raw_path: Path,
    quarantine_path: Path,
    bureau: str,
    source: str,
    run_id: str,
    watermark_column: str | None,
) -> Collected:
    """Stream batches into raw/ with provenance columns; memory stays bounded by one batch."""
    loaded_at = sql_literal(datetime.now(UTC).isoformat())
    content = "to_json({" + ", ".join(f"'{c}': \"{c}\"" for c in reading.columns) + "})"
    provenance = (
        f"{sql_literal(bureau)} AS _bureau, {sql_literal(source)} AS _source, "
        f"{sql_literal(run_id)} AS _run_id, CAST({loaded_at} AS TIMESTAMPTZ) AS _loaded_at"
    )
    con.register("incoming", pa.RecordBatchReader.from_batches(reading.schema, batches))
    collected = copy_to_parquet(
        con,
        f"SELECT * EXCLUDE (_line), {provenance}, _line, sha256({content}) AS _row_hash "
        "FROM incoming",
        raw_path,
    )
    con.unregister("incoming")
    con.register("bad", pa.Table.from_pylist(reading.bad_lines, schema=BAD_LINES))
    quarantined = copy_to_parquet(
        con,
        quarantine_select("collect", run_id)
        + f" FROM (SELECT 'malformed_line' AS _rule, reason AS _reason, "
        f"to_json({{'text': text}}) AS _record, {provenance}, line AS _line, "
        "sha256(coalesce(text, '')) AS _row_hash FROM bad)",
        quarantine_path,
    )
    con.unregister("bad")
    watermark: tuple[str | None, str | None] = (None, None)
    if watermark_column:
        low, high = con.execute(
            f'SELECT min("{watermark_column}"), max("{watermark_column}") '
            f"FROM read_parquet('{raw_path}')"
        ).fetchone()
        watermark = (low, high)
    return Collected(
        read=collected + quarantined,
        collected=collected,
        quarantined=quarantined,
        bytes=raw_path.stat().st_size,
        watermark=watermark,
    )
