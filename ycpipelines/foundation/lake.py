"""Where data lives: the Parquet lake by layer/dataset/partition, and DuckDB connections over it.

The lake root is a local folder or an S3-compatible location (`s3://bucket/prefix`, with the
standard `AWS_*` environment: endpoint, keys, region). Both are addressed as `UPath`s; DuckDB
reads and writes object storage through the same fsspec filesystem (no DuckDB extension).
"""

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
from fsspec import AbstractFileSystem
from upath import UPath

from ycpipelines.foundation.keys import Layer
from ycpipelines.foundation.settings import Settings

TIMEZONE = "Asia/Shanghai"  # partition days and local times are the pilot's
LAYERS = (Layer.RAW, Layer.STD, Layer.QUARANTINE, Layer.SAFE, Layer.PRODUCT)  # in the lake

LOOKBACK_DAYS = 7  # days before a partition probed one by one before its bureau's days are listed
# Object-storage filesystems of the lakes opened in this process, by protocol; `prepare()` gives
# them to every DuckDB connection, so SQL reads and writes `s3://…` paths like local ones.
_REMOTE: dict[str, AbstractFileSystem] = {}


@dataclass(frozen=True)
class Partition:
    """A bureau × day partition (归集批次)."""

    bureau: str
    date: str  # ISO day, e.g. 2025-06-01

    @property
    def path(self) -> str:
        return f"bureau={self.bureau}/date={self.date}"


def folders(parent: UPath, prefix: str) -> list[UPath]:
    """The entries of `parent` whose names start with `prefix` (the lake's folders), by name:
    one listing of one level; none when `parent` does not exist."""
    try:
        found = [p for p in parent.iterdir() if p.name.startswith(prefix)]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(found, key=lambda p: p.name)


def lake_path(location: str | Path) -> UPath:
    """A place in the lake: a local path, or object storage such as `s3://ycp-lake/prod`.
    Listings of object storage are never cached: other processes commit partitions all the time."""
    if isinstance(location, Path) or "://" not in location:
        return UPath(location).absolute()
    root = UPath(location, use_listings_cache=False)
    _REMOTE[root.protocol] = root.fs
    return root


@dataclass(frozen=True)
class Lake:
    """Parquet files under one root; one file per layer, dataset and partition."""

    root: UPath  # given as a path or URL, kept as `lake_path(root)`

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", lake_path(self.root))

    def file(self, layer: Layer, dataset: str, partition: Partition, name: str = "data") -> UPath:
        """A partition's file; the raw layer keeps each bureau's deliveries apart."""
        if layer not in LAYERS:
            raise ValueError(f"unknown lake layer {layer!r}")
        folder = self.root / layer / partition.bureau if layer == Layer.RAW else self.root / layer
        return folder / dataset / partition.path / f"{name}.parquet"

    def glob(self, layer: Layer, dataset: str) -> str:
        """All committed partition files of a dataset (the raw layer is per bureau)."""
        base = self.root / layer / ("*" if layer == Layer.RAW else "") / dataset
        return str(base / "bureau=*" / "date=*" / "data.parquet")

    def committed(self, layer: Layer, dataset: str) -> list[UPath]:
        """Every committed partition file of a dataset (a listing of all of them: not for a
        step run per partition)."""
        pattern = ("*/" if layer == Layer.RAW else "") + f"{dataset}/bureau=*/date=*/data.parquet"
        return sorted((self.root / layer).glob(pattern), key=str)

    def any_committed(self, layer: Layer, dataset: str) -> bool:
        """Whether a dataset has a committed partition: folders are listed one level at a time
        and the walk stops at the first partition file found."""
        tops = [self.root / layer / dataset]
        if layer == Layer.RAW:
            tops = [b / dataset for b in folders(self.root / layer, "")]
        return any(
            (day / "data.parquet").exists()
            for top in tops
            for bureau in folders(top, "bureau=")
            for day in folders(bureau, "date=")
        )

    def latest_before(self, layer: Layer, dataset: str, partition: Partition) -> UPath | None:
        """The bureau's latest committed partition file before `partition`'s day: the days just
        before it are probed first, then the bureau's own days are listed (never the whole
        dataset's, whose listing grows with every bureau and day)."""
        bureau, day = partition.bureau, date.fromisoformat(partition.date)
        for back in range(1, LOOKBACK_DAYS + 1):
            probe = self.file(layer, dataset, Partition(bureau, str(day - timedelta(back))))
            if probe.exists():
                return probe
        days = folders(self.file(layer, dataset, partition).parent.parent, "date=")
        for earlier in reversed([d.name.removeprefix("date=") for d in days]):
            found = self.file(layer, dataset, Partition(bureau, earlier))
            if earlier < partition.date and found.exists():
                return found
        return None

    def product_file(self, scenario: str) -> UPath:
        return self.root / "product" / scenario / "data.parquet"

    def master_file(self, name: str) -> UPath:
        """An unpartitioned master table of the std layer (主数据), e.g. the person master."""
        return self.root / "std" / name / "data.parquet"

    @contextmanager
    def staging(self, run_id: str) -> Iterator["Staging"]:
        """Files written aside during a step; on error none of them is left behind."""
        stage = Staging(self, run_id)
        try:
            yield stage
        finally:
            stage.discard()


@dataclass
class Staging:
    """Write aside, check, then commit (swap into place) or reject; readers never see a
    partition that failed its blocking checks, and the previous version stays in place."""

    lake: Lake
    run_id: str
    pending: list[tuple[UPath, UPath]] = field(default_factory=list)

    def path(self, target: UPath) -> UPath:
        """Where to write `target` aside; leftovers of runs killed before they could clean up
        (readers never saw them) are removed first."""
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob(f".{target.stem}.*"):
            stale.unlink(missing_ok=True)
        staged = target.with_name(f".{target.stem}.{self.run_id}.staged.parquet")
        self.pending.append((staged, target))
        return staged

    def commit(self) -> None:
        for staged, target in self.pending:
            swap(staged, target)
        self.pending.clear()

    def reject(self) -> list[UPath]:
        """Keep what failed for inspection under `rejected/`, inside the domain."""
        kept = []
        for staged, target in self.pending:
            place = self.lake.root / "rejected" / target.relative_to(self.lake.root)
            place = place.with_name(f"{target.stem}.{self.run_id}.parquet")
            place.parent.mkdir(parents=True, exist_ok=True)
            swap(staged, place)
            kept.append(place)
        self.pending.clear()
        return kept

    def discard(self) -> None:
        for staged, _ in self.pending:
            staged.unlink(missing_ok=True)
        self.pending.clear()


def swap(aside: UPath, target: UPath) -> None:
    """Move a file written aside into place: a rename on disk; on object storage a copy to the
    final key (one whole-object put: readers see the old object or the new) and a delete."""
    if isinstance(aside, Path):
        os.replace(aside, target)
    else:
        aside.fs.mv(aside.path, target.path)


def commit_or_reject(stage: Staging, passed: bool) -> dict[str, object]:
    """Commit a step's staged files when its blocking checks passed, else keep them aside;
    returns the metadata saying which."""
    if passed:
        stage.commit()
        return {"committed": True}
    kept = stage.reject()
    return {"committed": False, "rejected_to": ", ".join(str(p) for p in kept)}


def copy_to_parquet(con: duckdb.DuckDBPyConnection, query: str, target: UPath) -> int:
    """Write a query's result to `target`, a staged path (`Staging.path`: no reader sees it
    before it is committed, and a failed step's partial file is discarded); return rows."""
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = con.execute(
        f"COPY ({query}) TO '{target}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)"
    ).fetchone()
    return int(rows[0]) if rows else 0


@contextmanager
def duck(settings: Settings | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A private in-memory DuckDB connection for one step; never shared across processes.
    Its memory is capped (`YC_DUCKDB_MEMORY_LIMIT`): sorts, joins, aggregates and windows of a
    large partition spill to a private folder under YC_HOME instead of growing the process."""
    settings = settings or Settings()
    settings.duckdb_spill.mkdir(mode=0o700, parents=True, exist_ok=True)
    spill = tempfile.mkdtemp(dir=settings.duckdb_spill)  # 0700; this connection's own
    con = duckdb.connect(
        config={
            "threads": os.cpu_count() or 1,
            "preserve_insertion_order": False,
            "memory_limit": settings.duckdb_memory_limit,
            "temp_directory": spill,
        }
    )
    try:
        prepare(con)
        yield con
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """What every DuckDB connection of the pipeline gets: no progress bar on the console, and
    the object-storage filesystems of the lakes this process opened."""
    con.execute("SET enable_progress_bar = false")
    for filesystem in _REMOTE.values():
        con.register_filesystem(filesystem)


def remote_filesystems() -> tuple[tuple[str, AbstractFileSystem], ...]:
    """The object-storage filesystems `prepare()` now gives a connection, by protocol."""
    return tuple(sorted(_REMOTE.items(), key=lambda item: item[0]))


def quoted(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def file_digest(path: UPath) -> str:
    """`sha256:<hex>` of a file's exact bytes: what a review approves and publish re-checks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"
