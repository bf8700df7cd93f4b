"""File deliveries in a bureau's inbox: CSV (UTF-8, GBK or GB18030, detected), XLSX, JSON lines.

Every unreadable line or row is set aside with its line number and reason; the rest loads. A
file that cannot be read at all (not text in a known encoding, no header) fails with a
`DeliveryError` naming the file and line, never quoting it.
"""

import csv
import io
import json
from array import array
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ycpipelines.catalog.models import FileSource
from ycpipelines.collect.reading import SHOWN_CHARS, DeliveryError, Reading

BATCH_ROWS = 50_000
SNIFF_BYTES = 1 << 20
BLOCK_BYTES = 8 << 20  # Arrow's CSV block; a line must fit in one
UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def line_limit(reading: Reading) -> int:
    """Longest line read, in bytes: every field at its `max_chars` in 4-byte characters, with
    room for columns the catalog does not list; always well inside one Arrow block."""
    return min(4 * sum(f.max_chars for f in reading.dataset.fields) + 4096, BLOCK_BYTES // 2)


def detect_encoding(path: Path) -> str:
    """UTF-8 when the head of the file decodes as UTF-8, else GB18030 (a superset of GBK)."""
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        cut = len(head) == SNIFF_BYTES and error.start >= len(head) - 3  # a character cut short
        if not cut:
            return "gb18030"
    return "utf-8-sig" if head.startswith(b"\xef\xbb\xbf") else "utf-8"


class Transcoded(io.RawIOBase):
    """The delivery re-encoded as UTF-8 line by line; lines that do not decode are set aside.

    `kept[n]` is the file line number of the n-th line passed on (both 1-based, `kept[0]` unused).
    """

    def __init__(self, path: Path, encoding: str, reading: Reading) -> None:
        self.lines = path.open("rb")
        self.encoding = encoding
        self.reading = reading
        self.limit = line_limit(reading)
        self.kept = array("L", [0])
        self.number = 0
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self.pending:
            raw = self.lines.readline(self.limit + 1)
            if not raw:
                return 0
            self.number += 1
            if len(raw) > self.limit and not raw.endswith(b"\n"):
                self.set_aside_long(raw)
                continue
            try:
                text = raw.decode(self.encoding)
            except UnicodeDecodeError as error:
                self.reading.bad_lines.append(
                    {
                        "line": self.number,
                        "text": raw.decode(self.encoding, "replace"),
                        "reason": f"undecodable bytes in {self.encoding} at byte {error.start}",
                    }
                )
                continue
            self.kept.append(self.number)
            self.pending = text.encode("utf-8")
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size

    def set_aside_long(self, head: bytes) -> None:
        """Skip the rest of a line over the limit; keep its start and its length as the reason."""
        start, size, chunk = head[:SHOWN_CHARS], len(head), head
        while not chunk.endswith(b"\n"):
            chunk = self.lines.readline(1 << 20)
            if not chunk:
                break
            size += len(chunk)
        self.reading.bad_lines.append(
            {
                "line": self.number,
                "text": start.decode(self.encoding, "replace"),
                "reason": f"line of {size} bytes, over the limit of {self.limit}",
                "rule": "line_too_long",
            }
        )

    def close(self) -> None:
        self.lines.close()
        super().close()


def header(path: Path, encoding: str, limit: int) -> list[str]:
    """The CSV header's names; a clear `DeliveryError` when line 1 is not a header."""
    with path.open("rb") as f:
        raw = f.readline(limit + 1)
    where = f"{path.name} line 1"
    if len(raw) > limit and not raw.endswith(b"\n"):
        raise DeliveryError(f"{where}: over {limit} bytes without a line break; not a CSV header")
    try:
        return next(csv.reader([raw.decode(encoding)]), [])
    except UnicodeDecodeError as error:
        hint = (
            "it starts with a UTF-16 byte-order mark; "
            if raw.startswith(UTF16_MARKS)
            else "it may not be text; "
        )
        raise DeliveryError(
            f"{where}: does not decode as {encoding} (byte {error.start}); {hint}"
            "deliver CSV in UTF-8, GBK or GB18030"
        ) from None
    except csv.Error as error:
        raise DeliveryError(f"{where}: not a CSV header ({error})") from None


def spans(batch: pa.RecordBatch) -> list[int]:
    """How many more file lines each row takes: the line breaks inside its quoted values."""
    extra = pa.array([0] * batch.num_rows, pa.int64())
    for column in batch.columns:
        extra = pc.add(extra, pc.fill_null(pc.count_substring(column, "\n"), 0))
    return extra.to_pylist()


def open_parsed(
    stream: Transcoded, names: list[str], reading: Reading, malformed: dict[int, dict]
) -> pacsv.CSVStreamingReader:
    """Arrow's streaming CSV reader over the re-encoded stream; a record with the wrong number
    of fields is set aside into `malformed` (by record number) and the reading's bad lines."""

    def set_aside(row: pacsv.InvalidRow) -> str:
        malformed[row.number] = {
            "line": None,
            "text": row.text,
            "reason": f"expected {row.expected_columns} fields, found {row.actual_columns}",
        }
        reading.bad_lines.append(malformed[row.number])
        return "skip"

    return pacsv.open_csv(
        io.BufferedReader(stream, buffer_size=1 << 20),
        read_options=pacsv.ReadOptions(use_threads=False, block_size=8 << 20),
        # A blank line is set aside too, so every row keeps its file line number.
        parse_options=pacsv.ParseOptions(invalid_row_handler=set_aside, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=True,
            include_columns=reading.columns,
        ),
    )


def numbered(
    parsed: pacsv.CSVStreamingReader,
    stream: Transcoded,
    path: Path,
    reading: Reading,
    malformed: dict[int, dict],
) -> Iterator[pa.RecordBatch]:
    """The parsed batches with each row's file line; set-aside records get theirs on the way.
    Closes the stream and sets the reading's `source_count` once read through."""
    schema = reading.text_schema()
    line, record, rows = 2, 2, 0  # stream line and record number of the first data row

    def pass_set_aside() -> None:
        nonlocal line, record
        while record in malformed:
            entry = malformed.pop(record)
            entry["line"] = stream.kept[line]
            line += 1 + entry["text"].count("\n")
            record += 1

    def near() -> int:
        return stream.kept[min(line, len(stream.kept) - 1)]

    try:
        for batch in iterate(parsed, path, near):
            numbers = []
            for extra in spans(batch):
                pass_set_aside()
                numbers.append(stream.kept[line])
                line += 1 + extra
                record += 1
            rows += batch.num_rows
            arrays = [batch.column(c) for c in reading.columns]
            yield pa.RecordBatch.from_arrays(
                [*arrays, pa.array(numbers, pa.int64())], schema=schema
            )
        pass_set_aside()
    finally:
        stream.close()
    reading.source_count = rows + len(reading.bad_lines)


def read_csv(path: Path, encoding: str, reading: Reading) -> pa.RecordBatchReader:
    """CSV re-encoded as UTF-8 and parsed by Arrow; line numbers are the file's, also after a
    quoted value that spans lines (counted in the columns read)."""
    stream = Transcoded(path, encoding, reading)
    # Records pyarrow set aside, by record number (the header is 1); their file line is filled
    # in once the records before them have been counted.
    malformed: dict[int, dict] = {}
    names = header(path, encoding, stream.limit)
    reading.check_columns(names)
    parsed = open_parsed(stream, names, reading, malformed)
    return pa.RecordBatchReader.from_batches(
        reading.text_schema(), numbered(parsed, stream, path, reading, malformed)
    )


def iterate(
    parsed: pacsv.CSVStreamingReader, path: Path, line: Callable[[], int]
) -> Iterator[pa.RecordBatch]:
    """Arrow's batches; a parse error names the file and the line near it, not the text Arrow
    quotes after its reason."""
    while True:
        try:
            batch = parsed.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as error:
            reason = str(error).split(":")[0]
            raise DeliveryError(f"{path.name} near line {line()}: {reason}") from None
        yield batch


EXCEL_ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"}
Row = tuple[int, dict[str, str | None]]


def cell_text(value: object) -> str | None:
    """A spreadsheet or JSON value as the text the raw layer keeps."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def xlsx_rows(path: Path, reading: Reading) -> Iterator[Row]:
    """The first sheet, header in row 1; a row with cells past the header or a formula error
    (#VALUE!, #N/A…) is set aside with its row number."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = list(next(rows, ()))
        while header and header[-1] is None:  # read-only sheets pad rows to the widest one
            header.pop()
        names = [cell_text(v) or "" for v in header]
        reading.check_columns(names)
        for number, values in enumerate(rows, start=2):
            if all(v is None for v in values):
                continue
            extra = [v for v in values[len(names) :] if v is not None]
            errors = [
                f"{n}={v}"
                for n, v in zip(names, values, strict=False)
                if isinstance(v, str) and v in EXCEL_ERRORS
            ]
            if extra or errors:
                reason = (
                    f"expected {len(names)} cells, found {len(names) + len(extra)}"
                    if extra
                    else f"unparseable value {', '.join(errors)}"
                )
                reading.bad_lines.append(
                    {
                        "line": number,
                        "text": json.dumps([cell_text(v) for v in values], ensure_ascii=False),
                        "reason": reason,
                    }
                )
                continue
            yield number, {n: cell_text(v) for n, v in zip(names, values, strict=False)}
    finally:
        book.close()


def jsonl_rows(path: Path, encoding: str, reading: Reading) -> Iterator[Row]:
    """One JSON object per line; a line that is not one is set aside with its number."""
    seen: set[str] = set()
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw.decode(encoding).strip())
                if not isinstance(value, dict):
                    raise ValueError(f"a JSON {type(value).__name__}, not an object")
            except (UnicodeDecodeError, ValueError) as error:
                reading.bad_lines.append(
                    {
                        "line": number,
                        "reason": str(error)[:200],
                        "text": raw.decode(encoding, "replace"),
                    }
                )
                continue
            seen |= value.keys()
            yield number, {c: cell_text(value.get(c)) for c in reading.columns}
    reading.check_columns(sorted(seen))


def row_reader(rows: Iterator[Row], reading: Reading) -> pa.RecordBatchReader:
    """Batches of text columns from numbered rows; counts what was read at the end."""
    schema = reading.text_schema()

    def batches() -> Iterator[pa.RecordBatch]:
        count, chunk = 0, []
        for row in rows:
            chunk.append(row)
            if len(chunk) == BATCH_ROWS:
                yield to_batch(chunk, schema, reading.columns)
                count, chunk = count + len(chunk), []
        if chunk:
            yield to_batch(chunk, schema, reading.columns)
        reading.source_count = count + len(chunk) + len(reading.bad_lines)

    return pa.RecordBatchReader.from_batches(schema, batches())


def to_batch(chunk: list[Row], schema: pa.Schema, columns: list[str]) -> pa.RecordBatch:
    arrays = [pa.array([values.get(c) for _, values in chunk], pa.string()) for c in columns]
    arrays.append(pa.array([number for number, _ in chunk], pa.int64()))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def read_file(path: Path, source: FileSource, reading: Reading) -> pa.RecordBatchReader:
    """A day's delivery; one that has not arrived is an error naming the file."""
    if not path.exists():
        raise FileNotFoundError(f"dataset {reading.dataset.id}: delivery {path} has not arrived")
    reading.where = path.name
    if source.format == "xlsx":
        return row_reader(xlsx_rows(path, reading), reading)
    encoding = detect_encoding(path) if source.encoding == "auto" else source.encoding
    if source.format == "jsonl":
        return row_reader(jsonl_rows(path, encoding, reading), reading)
    return read_csv(path, encoding, reading)
