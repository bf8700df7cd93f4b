"""The registry calls one partition's run makes (collect, govern, one-source) cost the same
whatever history the registry holds: each finds its partition's rows through an index (revision
0012), never by reading every audit entry, ticket or conflict of the dataset or bureau.

The cost is counted, not timed: SQLite's virtual-machine steps for the run's statements."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event

from ycpipelines.foundation.feedback import Finding
from ycpipelines.registry import Registry

DATASET, BUREAU = "outpatient_visits", "health"
RULE = "not_null(patient_id)"


def day(n: int) -> str:
    return f"2025-{1 + n // 28:02d}-{1 + n % 28:02d}"


def run_partition(store: Registry, n: int, *, rows: int = 100, problems: bool = True) -> dict:
    """The registry calls of one partition's ingest and one-source check, in their order."""
    where = {"dataset": DATASET, "bureau": BUREAU, "day": day(n)}
    found = {RULE: Finding("必填字段为空", 2, [f"v{n}-1", f"v{n}-2"])} if problems else {}
    store.source_columns(DATASET, BUREAU)
    store.watermark(DATASET, BUREAU, day(n))
    high = store.committed_high(**where)
    store.commit_collection(
        **where,
        run_id=f"run-{n}",
        columns={"visit_id": "string"},
        watermark=("updated_at", "2025-06-01T00:00:00"),
        counts={"read": rows, "collected": rows, "quarantined": 0, "rows": rows},
    )
    tickets = {}
    for stage in ("collect", "govern", "one_source"):
        run = {"run_id": f"run-{n}", "stage": stage}
        tickets[stage] = store.sync_tickets(**where, **run, found=found, clean=True)
    accepted = store.shrink_accepted(**where)
    conflict = {"element": "person.name", "authority": "residents", "row_key": "v*"}
    store.replace_conflicts(
        **where, run_id=f"run-{n}", found=[{**conflict, "found": "*", "expected": "*"}]
    )
    return {"high": high, "tickets": tickets, "accepted": accepted}


@contextmanager
def vm_steps(store: Registry) -> Iterator[list[int]]:
    """SQLite virtual-machine steps of every statement the registry runs within."""
    steps, active = [0], [True]

    def tick() -> int:
        steps[0] += active[0]
        return 0

    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        conn.connection.driver_connection.set_progress_handler(tick, 1)

    event.listen(store.engine, "before_cursor_execute", before)
    try:
        yield steps
    finally:
        active[0] = False
        event.remove(store.engine, "before_cursor_execute", before)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Registry]:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    Registry.upgrade(url)
    registry = Registry(url)
    yield registry
    registry.engine.dispose()


def test_one_partitions_registry_calls_do_not_grow_with_history(store: Registry) -> None:
    for n in range(10):
        run_partition(store, n)
    with vm_steps(store) as small:
        first = run_partition(store, 10)
    for n in range(11, 120):
        run_partition(store, n)
    with vm_steps(store) as large:
        later = run_partition(store, 120)

    assert first == later, "the same answers"
    assert first["high"] is None and first["accepted"] is None
    assert first["tickets"]["govern"] == {"opened": 1, "updated": 0, "closed": 0}
    assert large[0] <= 1.2 * small[0] + 200, (small[0], large[0])


def test_the_lookups_answer_for_their_partition_only(store: Registry) -> None:
    for n in range(5):
        run_partition(store, n, rows=100 + n)
    again = run_partition(store, 3, rows=100, problems=False)  # a clean re-delivery of day 3
    assert again["high"] == 103
    assert again["tickets"]["govern"] == {"opened": 0, "updated": 0, "closed": 1}
    open_days = {t.day for t in store.tickets(status="open", dataset=DATASET)}
    assert open_days == {day(n) for n in (0, 1, 2, 4)}
    assert sorted(c.day for c in store.conflicts(DATASET)) == [day(n) for n in range(5)]
