"""The row-count collapse gate's baseline, the bureau's latest committed std partition before the
day, is found without listing the dataset's other bureaus and days: the work of one partition's
run does not grow with the history committed."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ycpipelines.foundation.keys import Layer
from ycpipelines.foundation.lake import LOOKBACK_DAYS, Lake, Partition
from ycpipelines.govern.gate import previous_rows

DATASET = "outpatient_visits"
BUREAU = "health"
START = date(2025, 1, 1)
OTHERS = [f"bureau{n}" for n in range(4)]  # 4 bureaus × 60 days of history
OTHER_DAYS = 60


def day(n: int) -> str:
    return str(START + timedelta(n))


def commit(lake: Lake, bureau: str, n: int, rows: int, layer: Layer = Layer.STD) -> None:
    path = lake.file(layer, DATASET, Partition(bureau, day(n)))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"x": list(range(rows))}), str(path))


@contextmanager
def listed() -> Iterator[list[int]]:
    """How many directory entries the filesystem listed within (os.listdir and os.scandir)."""
    count = [0]
    listdir, scandir = os.listdir, os.scandir

    def counted_listdir(path: object = ".") -> list[str]:
        names = listdir(path)  # type: ignore[arg-type]
        count[0] += len(names)
        return names

    def counted_scandir(path: object = ".") -> list[os.DirEntry]:
        with scandir(path) as found:  # type: ignore[arg-type]
            entries = list(found)
        count[0] += len(entries)
        return _Entries(entries)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "listdir", counted_listdir)
        patch.setattr(os, "scandir", counted_scandir)
        yield count


class _Entries(list):
    """A listed folder's entries, usable like `os.scandir`'s iterator (also as a context)."""

    def __enter__(self) -> "_Entries":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    """240 committed partitions of other bureaus; the bureau's own on days 3 (4 rows), 10, 20, 21
    and 50 (as many rows as the day's number), a leftover folder without its file on day 19."""
    lake = Lake(tmp_path / "lake")
    for bureau in OTHERS:
        for n in range(OTHER_DAYS):
            commit(lake, bureau, n, 1)
    for n in (3, 10, 20, 21, 50):
        commit(lake, BUREAU, n, n + 1 if n < 10 else n)
    lake.file(Layer.STD, DATASET, Partition(BUREAU, day(19))).parent.mkdir(parents=True)
    return lake


def brute_force(lake: Lake, n: int) -> int | None:
    """The baseline as defined: the latest of every committed partition of the bureau before."""
    earlier = [
        p
        for p in lake.committed(Layer.STD, DATASET)
        if p.parent.parent.name == f"bureau={BUREAU}" and p.parent.name[5:] < day(n)
    ]
    latest = max(earlier, key=lambda p: p.parent.name, default=None)
    return pq.ParquetFile(str(latest)).metadata.num_rows if latest else None


def test_the_baseline_is_the_latest_earlier_partition_of_the_bureau(lake: Lake) -> None:
    expected = {0: None, 3: None, 4: 4, 10: 4, 11: 10, 19: 10, 20: 10, 22: 21, 40: 21, 60: 50}
    for n, rows in expected.items():
        assert (
            previous_rows(lake, DATASET, Partition(BUREAU, day(n))) == rows == brute_force(lake, n)
        ), f"day {n}"
    assert previous_rows(lake, DATASET, Partition("nobody", day(30))) is None


def test_finding_it_lists_the_bureaus_days_only(lake: Lake) -> None:
    with listed() as count:
        assert previous_rows(lake, DATASET, Partition(BUREAU, day(22))) == 21
    assert count[0] == 0, "the previous day is probed, nothing listed"

    gap = 40  # day 21 is more than LOOKBACK_DAYS before: the bureau's days are listed
    assert gap - 21 > LOOKBACK_DAYS
    with listed() as count:
        assert previous_rows(lake, DATASET, Partition(BUREAU, day(gap))) == 21
    assert count[0] <= 6, "the bureau's 6 day folders, not the 240 other partitions"

    with listed() as count:
        assert brute_force(lake, gap) == 21
    assert count[0] > 4 * OTHER_DAYS, "listing the dataset visits every partition"


def test_any_committed_stops_at_the_first_partition(lake: Lake, tmp_path: Path) -> None:
    with listed() as count:
        assert lake.any_committed(Layer.STD, DATASET)
    assert count[0] <= len(OTHERS) + 1 + OTHER_DAYS + 1, "one bureau's days, not all"
    assert not lake.any_committed(Layer.STD, "other_dataset")
    assert not lake.any_committed(Layer.SAFE, DATASET)

    empty = Lake(tmp_path / "empty")
    empty.file(Layer.STD, DATASET, Partition(BUREAU, day(1))).parent.mkdir(parents=True)
    assert not empty.any_committed(Layer.STD, DATASET), "a folder without its file is nothing"
    assert not empty.any_committed(Layer.RAW, DATASET)
    commit(empty, BUREAU, 2, 3, Layer.RAW)
    assert empty.any_committed(Layer.RAW, DATASET)
    assert empty.committed(Layer.RAW, DATASET)
