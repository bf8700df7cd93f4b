"""Where data lives: the Parquet lake by layer/dataset/partition, and DuckDB connections over it."""

import glob
import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

TIMEZONE = "Asia/Shanghai"  # partition days and local times are the pilot's
LAYERS = ("raw", "std", "quarantine", "safe", "product")


def home() -> Path:
    """Root of the embedded defaults (`YC_HOME`, default `./.yc`)."""
    return Path(os.environ.get("YC_HOME", ".yc")).absolute()


def default_lake_root() -> str:
    return os.environ.get("YC_LAKE", str(home() / "lake"))


@dataclass(frozen=True)
class Partition:
    """A bureau × day partition (归集批次)."""

    bureau: str
    date: str  # ISO day, e.g. 2025-06-01

    @property
    def path(self) -> str:
        return f"bureau={self.bureau}/date={self.date}"


@dataclass(frozen=True)
class Lake:
    """Parquet files under one root; one file per layer, dataset and partition."""

    root: Path

    def file(self, layer: str, dataset: str, partition: Partition, name: str = "data") -> Path:
        """A partition's file; the raw layer keeps each bureau's deliveries apart."""
        if layer not in LAYERS:
            raise ValueError(f"unknown lake layer {layer!r}")
        folder = self.root / layer / partition.bureau if layer == "raw" else self.root / layer
        return folder / dataset / partition.path / f"{name}.parquet"

    def glob(self, layer: str, dataset: str) -> str:
        """All committed partition files of a dataset (the raw layer is per bureau)."""
        base = self.root / layer / ("*" if layer == "raw" else "") / dataset
        return str(base / "bureau=*" / "date=*" / "data.parquet")

    def committed(self, layer: str, dataset: str) -> list[Path]:
        """The committed partition files of a dataset, for steps that need to know any exist."""
        return sorted(Path(p) for p in glob.glob(self.glob(layer, dataset)))

    def product_file(self, scenario: str) -> Path:
        return self.root / "product" / scenario / "data.parquet"

    def master_file(self, name: str) -> Path:
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
    pending: list[tuple[Path, Path]] = field(default_factory=list)

    def path(self, target: Path) -> Path:
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
            os.replace(staged, target)
        self.pending.clear()

    def reject(self) -> list[Path]:
        """Keep what failed for inspection under `rejected/`, inside the domain."""
        kept = []
        for staged, target in self.pending:
            place = self.lake.root / "rejected" / target.relative_to(self.lake.root)
            place = place.with_name(f"{target.stem}.{self.run_id}.parquet")
            place.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, place)
            kept.append(place)
        self.pending.clear()
        return kept

    def discard(self) -> None:
        for staged, _ in self.pending:
            staged.unlink(missing_ok=True)
        self.pending.clear()


def commit_or_reject(stage: Staging, passed: bool) -> dict[str, object]:
    """Commit a step's staged files when its blocking checks passed, else keep them aside;
    returns the metadata saying which."""
    if passed:
        stage.commit()
        return {"committed": True}
    kept = stage.reject()
    return {"committed": False, "rejected_to": ", ".join(str(p) for p in kept)}


def copy_to_parquet(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> int:
    """Write a query's result to `target` atomically (write aside, then rename); return rows."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name.lstrip('.')}.{uuid.uuid4().hex}.tmp")
    try:
        rows = con.execute(
            f"COPY ({query}) TO '{tmp}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)"
        ).fetchone()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return int(rows[0]) if rows else 0


@contextmanager
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    """A private in-memory DuckDB connection for one step; never shared across processes."""
    con = duckdb.connect(
        config={
            "threads": os.cpu_count() or 1,
            "preserve_insertion_order": False,
        }
    )
    con.execute("SET enable_progress_bar = false")
    try:
        yield con
    finally:
        con.close()


def quoted(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def file_digest(path: Path) -> str:
    """`sha256:<hex>` of a file's exact bytes: what a review approves and publish re-checks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"
