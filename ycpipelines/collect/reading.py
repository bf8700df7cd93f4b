"""What a source reader reports besides its rows: counts, set-aside lines, columns and types."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from ycpipelines.catalog import Dataset
from ycpipelines.foundation.masking import mask
from ycpipelines.foundation.ranges import ReportedError

COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

SHOWN_CHARS = 100  # of each value of a row set aside for its length


class SchemaDriftError(RuntimeError, ReportedError):
    """The source no longer matches what the catalog and the last committed load expect."""


class DeliveryError(ValueError, ReportedError):
    """A delivery that cannot be read at all; the message names the file and line, never a
    value of it."""


@dataclass
class Reading:
    """Filled in by a reader while it streams one partition."""

    dataset: Dataset
    where: str  # table, query or file, for messages
    source_count: int | None = None
    bad_lines: list[dict] = field(default_factory=list)
    new_columns: list[str] = field(default_factory=list)
    families: dict[str, str] = field(default_factory=dict)  # source type family per column

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.dataset.fields]

    def text_schema(self) -> pa.Schema:
        return pa.schema([(c, pa.string()) for c in self.columns] + [("_line", pa.int64())])

    def check_columns(self, found: list[str]) -> None:
        """Fail on a catalog column the source lacks; note columns the catalog does not list."""
        missing = [c for c in self.columns if c not in found]
        if missing:
            # What stands where the header should be may be a data row: names the catalog
            # does not know are shown masked.
            shown = [c if c in self.columns else mask(c, None) for c in found]
            raise SchemaDriftError(
                f"dataset {self.dataset.id}: column(s) {missing} expected by the catalog are "
                f"missing from {self.where} (found {len(found)} columns: {shown})"
            )
        self.new_columns = [shown_name(c) for c in found if c not in self.columns]

    def check_families(self, baseline: dict[str, str]) -> None:
        """Fail on a column whose type family changed since the last committed load."""
        for column in self.columns:
            before, now = baseline.get(column), self.families.get(column)
            if before and now and before != now:
                raise SchemaDriftError(
                    f"dataset {self.dataset.id}: column {column} changed type in {self.where}: "
                    f"expected {before}, found {now}"
                )


def limit_fields(reader: pa.RecordBatchReader, reading: Reading) -> pa.RecordBatchReader:
    """Rows whose text values stay within each field's `max_chars`; a longer row is set aside
    with its line and reason (counted once the source is read, so `source_count` holds)."""
    limits = {f.name: f.max_chars for f in reading.dataset.fields}
    set_aside: list[dict] = []

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            over = pa.array([False] * batch.num_rows)
            for name in batch.schema.names:
                column = batch.column(name)
                if name in limits and pa.types.is_string(column.type):
                    if (pc.max(pc.binary_length(column)).as_py() or 0) <= limits[name]:
                        continue  # no value has more bytes, so none has more characters
                    long = pc.greater(pc.utf8_length(column), limits[name])
                    over = pc.or_(over, pc.fill_null(long, False))
            if pc.any(over).as_py():
                set_aside.extend(over_long(batch.filter(over), limits))
                batch = batch.filter(pc.invert(over))
            yield batch
        reading.bad_lines.extend(set_aside)

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def over_long(rows: pa.RecordBatch, limits: dict[str, int]) -> list[dict]:
    """A set-aside entry per row: its line, the fields over their limit, its values cut short."""
    found = []
    for row in rows.to_pylist():
        too_long = [
            f"{name} has {len(value)} characters, over its limit of {limits[name]}"
            for name, value in row.items()
            if name in limits and isinstance(value, str) and len(value) > limits[name]
        ]
        cut = {
            k: v[:SHOWN_CHARS] if isinstance(v, str) else v for k, v in row.items() if k != "_line"
        }
        found.append(
            {
                "line": row.get("_line"),
                "text": json.dumps(cut, ensure_ascii=False, default=str),
                "reason": "; ".join(too_long),
                "rule": "field_too_long",
            }
        )
    return found


def shown_name(column: str) -> str:
    """A column name as logs may show it: a schema name as it is, anything else (a header cell
    that carries data, e.g. 联系人 and a phone number) masked."""
    return column if COLUMN_NAME.fullmatch(column) else mask(column, None)
