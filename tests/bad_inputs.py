"""Bad file deliveries of the enterprises dataset, and how to run and inspect its ingest job."""

import csv
import hashlib
import io
import random
import uuid
from pathlib import Path

import dagster as dg

from ycpipelines.demo.run import QUIET
from ycpipelines.foundation.partitions import partition_key

BUREAU = "market_regulation"
DATASET = "enterprises"
OP = f"raw__{BUREAU}__{DATASET}"
JOB = f"ingest_{DATASET}"
ACCEPT_SHRINK = {"ops": {OP: {"config": {"accept_shrink": True}}}}
BIG = 10 * 1024 * 1024  # bytes of the 10 MB line and cell
IDENTIFYING = ["uscc", "name", "legal_rep", "legal_rep_id", "phone"]


def delivery(home: Path, day: str) -> Path:
    return home / "sources" / "inbox" / BUREAU / f"{DATASET}_{day.replace('-', '')}.csv"


def lines(good: bytes) -> list[bytes]:
    return good.rstrip(b"\r\n").split(b"\r\n") if b"\r\n" in good else good.splitlines()


def bad_inputs(good: bytes) -> dict[str, bytes]:
    """Whole-file attacks on a good GBK delivery; none may replace its committed partition."""
    head, *rows = lines(good)
    return {
        "headerless": b"\n".join(rows) + b"\n",
        "header_only": head + b"\n",
        "utf16": good.decode("gbk").encode("utf-16"),
        "random_bytes": random.Random(9).randbytes(200 * 1024),
        "ten_mb_line": b"x" * BIG + b"\n" + good,
    }


def with_cell(row: bytes, column: int, value: str) -> bytes:
    """A GBK CSV row with one cell replaced."""
    cells = next(csv.reader([row.decode("gbk")]))
    cells[column] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue().encode("gbk")


def row_attacks(good: bytes) -> bytes:
    """Attacks inside rows of a good delivery, on lines 3-5: a 10 MB line, a row with a 10 MB
    company name, a row with a 50,000-character address (under the line limit, over the
    field's); each is set aside, the other rows load."""
    head, first, second, third, *rest = lines(good)
    return (
        b"\n".join(
            [
                head,
                first,
                b"z" * BIG,
                with_cell(second, 1, "y" * BIG),
                with_cell(third, 4, "地" * 50_000),
                *rest,
            ]
        )
        + b"\n"
    )


def identifiers(good: bytes) -> set[str]:
    """Every USCC, company name, legal representative's name and ID, and phone delivered."""
    rows = csv.DictReader(io.StringIO(good.decode("gbk")))
    return {row[c] for row in rows for c in IDENTIFYING if row.get(c)}


def ingest(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    day: str,
    config: dict | None = None,
    operator: str | None = None,
) -> dg.ExecuteInProcessResult:
    """The dataset's ingest job (collect → govern → de-identify, with checks) on one day,
    launched by `operator` when given (an operator account whose launch the registry records)."""
    from ycpipelines.registry import Registry

    from helpers import accounts

    run_id = str(uuid.uuid4())
    if operator:
        registry = Registry()
        accounts(registry, {operator: ["operator"]})
        registry.record_launch(operator, run_id, JOB)
    return defs.resolve_job_def(JOB).execute_in_process(
        partition_key=partition_key(BUREAU, day),
        instance=instance,
        run_config=QUIET | (config or {}),
        run_id=run_id,
        tags={"ycp/launched_by": operator} if operator else None,
        raise_on_error=False,
    )


def committed(home: Path, day: str) -> dict[str, str]:
    """SHA-256 of each layer's committed partition file of the day (raw, std, safe)."""
    lake = home / "lake"
    where = f"bureau={BUREAU}/date={day}/data.parquet"
    files = {
        "raw": lake / "raw" / BUREAU / DATASET / where,
        "std": lake / "std" / DATASET / where,
        "safe": lake / "safe" / DATASET / where,
    }
    return {
        layer: hashlib.sha256(p.read_bytes()).hexdigest()
        for layer, p in files.items()
        if p.exists()
    }
