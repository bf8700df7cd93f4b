"""脱敏 benchmark: keyed pseudonyms (HMAC-SHA256) of resident IDs over a Parquet column.

ycpipelines computes HMAC in DuckDB SQL; the peer is Python's `hmac` row by row over the same
column, measured in the same run; both must produce identical pseudonyms.
Usage: python bench/pseudonymize.py [ROWS]
"""

import sys
import tempfile
from pathlib import Path

from common import measure, report

KEY = "bench-key"


def ids(path: Path, rows: int) -> None:
    import duckdb

    duckdb.connect().execute(
        f"COPY (SELECT lpad(CAST(640100000000000000 + i * 7919 AS VARCHAR), 18, '0') AS id "
        f"FROM range({rows}) t(i)) TO '{path}' (FORMAT parquet)"
    )


def duckdb_hmac(source: Path, target: Path) -> int:
    from ycpipelines.deid.pseudonym import install_pseudonym
    from ycpipelines.foundation.lake import copy_to_parquet, duck

    with duck() as con:
        install_pseudonym(con, KEY)
        return copy_to_parquet(
            con, f"SELECT yc_pseudonym(id) AS pid FROM read_parquet('{source}')", target
        )


def python_hmac(source: Path, target: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ycpipelines.deid.pseudonym import pseudonym

    column = pq.read_table(source).column("id").to_pylist()
    pq.write_table(pa.table({"pid": [pseudonym(KEY, v) for v in column]}), target)
    return len(column)


def main(rows: int) -> None:
    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "ids.parquet"
        ids(source, rows)
        ours = measure(duckdb_hmac, source, Path(tmp) / "ours.parquet")
        peer = measure(python_hmac, source, Path(tmp) / "peer.parquet")
        differ = (
            duckdb.connect()
            .execute(
                f"SELECT count(*) FROM (SELECT pid FROM read_parquet('{tmp}/ours.parquet') "
                f"EXCEPT ALL SELECT pid FROM read_parquet('{tmp}/peer.parquet'))"
            )
            .fetchone()[0]
        )
    same = differ == 0 and ours["rows"] == peer["rows"]
    assert same, "DuckDB and Python pseudonyms differ"
    report("pseudonymize", ours, peer, "python hmac per row")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000)
