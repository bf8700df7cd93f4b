"""The bureaus' desk rules in the registry (数源部门): a ticket's thread (ack, dispute with a
reason, the governance team's answer; never the bureau closing or answering its own ticket),
and backfills (补采) of a bureau's own partitions only, submitted by the collect stage's sensor
to a real Dagster instance with their progress recorded."""

import itertools
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from ycpipelines.catalog import Catalog, load_catalog
from ycpipelines.collect.backfill import REQUEST_TAG, request_backfill, serve_requests
from ycpipelines.foundation.feedback import Finding
from ycpipelines.foundation.settings import Settings
from ycpipelines.registry import NotFound, Registry, RegistryError
from ycpipelines.registry.bureau_models import BackfillRequest
from ycpipelines.registry.models import Ticket

from helpers import accounts

HEALTH, POLICE, OPERATOR = "卫健委乙", "公安乙", "运维乙"
BOTH = "卫健委运维"  # an operator who also acts for the health bureau
DAYS = itertools.count(1)


@pytest.fixture(scope="module")
def registry(yc_home: Path) -> Registry:
    store = Registry(settings=Settings())
    accounts(
        store,
        {
            HEALTH: ["bureau:health"],
            POLICE: ["bureau:population"],
            OPERATOR: ["operator"],
            BOTH: ["operator", "bureau:health"],
        },
    )
    return store


def ticket_of(registry: Registry, bureau: str = "health") -> Ticket:
    """A fresh ticket on a day of its own."""
    day = f"2025-03-{next(DAYS):02d}"
    registry.sync_tickets(
        dataset="outpatient_visits", bureau=bureau, day=day, stage="govern", run_id="run-1",
        found={"rule": Finding("reason", 2, ["k***1 @ visits.csv:3"])}, clean=False,
    )  # fmt: skip
    return next(t for t in registry.tickets(bureau=bureau) if t.day == day)


def kinds(registry: Registry, ticket: Ticket) -> list[tuple[str, str, str]]:
    return [(m.kind, m.actor, m.text) for m in registry.ticket_thread(ticket.id)]


def test_ack_then_dispute_with_a_reason_then_the_answer_make_one_thread(
    registry: Registry,
) -> None:
    ticket = ticket_of(registry)
    registry.act_on_ticket(ticket.id, "ack", actor=HEALTH, note="")
    with pytest.raises(RegistryError, match="dispute needs a reason"):
        registry.act_on_ticket(ticket.id, "dispute", actor=HEALTH, note="   ")
    registry.act_on_ticket(ticket.id, "dispute", actor=HEALTH, note="源系统数据无误")
    with pytest.raises(RegistryError, match="needs text"):
        registry.reply_ticket(ticket.id, actor=OPERATOR, text=" ")
    registry.reply_ticket(ticket.id, actor=OPERATOR, text="已复核，规则将调整")
    assert kinds(registry, ticket) == [
        ("ack", HEALTH, ""),
        ("dispute", HEALTH, "源系统数据无误"),
        ("reply", OPERATOR, "已复核，规则将调整"),
    ]
    history = [(e.action, e.actor) for e in registry.history(f"ticket/{ticket.id}")]
    assert history[1:] == [
        ("ticket.acknowledged", HEALTH),
        ("ticket.disputed", HEALTH),
        ("ticket.answered", OPERATOR),
    ]
    assert registry.ticket(ticket.id).status == "disputed"


def test_a_bureau_neither_closes_nor_answers_its_own_ticket(registry: Registry) -> None:
    ticket = ticket_of(registry)
    for actor in (HEALTH, BOTH):
        with pytest.raises(RegistryError, match=r"may not|does not close"):
            registry.act_on_ticket(ticket.id, "close", actor=actor, note="自行关闭")
        with pytest.raises(RegistryError, match=r"may not|does not answer"):
            registry.reply_ticket(ticket.id, actor=actor, text="自问自答")
    with pytest.raises(RegistryError, match="may not"):
        registry.act_on_ticket(ticket.id, "ack", actor=POLICE, note="")  # not its bureau
    assert kinds(registry, ticket) == [] and registry.ticket(ticket.id).status == "open"
    registry.act_on_ticket(ticket.id, "close", actor=OPERATOR, note="已在源系统更正")
    assert kinds(registry, ticket) == [("close", OPERATOR, "已在源系统更正")]


def test_a_bureau_sees_only_its_own_tickets(registry: Registry) -> None:
    mine, theirs = ticket_of(registry), ticket_of(registry, "population")
    seen = {t.id for t in registry.visible_tickets(HEALTH)}
    assert mine.id in seen and theirs.id not in seen
    assert {mine.id, theirs.id} <= {t.id for t in registry.visible_tickets(OPERATOR)}


def test_a_bureau_backfills_its_own_dataset_only(registry: Registry) -> None:
    catalog = load_catalog(Settings().catalog)
    first, last = date(2025, 2, 1), date(2025, 2, 3)
    found = request_backfill(registry, catalog, HEALTH, "outpatient_visits", first, last)
    assert (found.bureau, found.status, found.runs) == ("health", "requested", 3)
    [entry] = registry.history(f"backfill/{found.id}")
    assert (entry.action, entry.actor, entry.detail["dataset"]) == (
        "backfill.requested",
        HEALTH,
        "outpatient_visits",
    )
    before = len(registry.backfills_for(OPERATOR))
    for dataset in ("residents", "no_such_dataset"):  # another bureau's, and none: the same
        with pytest.raises(NotFound, match=f"^no dataset {dataset}$"):
            request_backfill(registry, catalog, HEALTH, dataset, first, last)
    for dataset in ("no_such_dataset", "residents"):  # the registry method alone, the same
        with pytest.raises(NotFound):
            registry.request_backfill(HEALTH, catalog, dataset=dataset, first=first, last=last)
    with pytest.raises(RegistryError, match="outside the partitions"):
        request_backfill(registry, catalog, HEALTH, "outpatient_visits", date(2024, 1, 1), last)
    assert len(registry.backfills_for(OPERATOR)) == before
    assert all(b.bureau == "population" for b in registry.backfills_for(POLICE))
    assert found.id in {b.id for b in registry.backfills_for(HEALTH)}
    refused = [e for e in registry.history(f"user/{HEALTH}") if e.action == "access.refused"]
    assert refused[-1].detail["reason"] == f"dataset residents is not visible to {HEALTH}"


def test_an_open_request_s_days_are_not_requested_again(registry: Registry) -> None:
    """The same days again while a request is open would be a second Dagster backfill of the
    same partitions; days that do not intersect, or another dataset's, are fine."""
    catalog = load_catalog(Settings().catalog)
    first = request_backfill(
        registry, catalog, HEALTH, "outpatient_visits", date(2025, 5, 10), date(2025, 5, 12)
    )
    for days in ((10, 12), (12, 14), (1, 10), (11, 11), (1, 31)):
        with pytest.raises(RegistryError, match=f"backfill request {first.id} .* not finished"):
            request_backfill(
                registry, catalog, BOTH, "outpatient_visits", *(date(2025, 5, d) for d in days)
            )
    later = request_backfill(
        registry, catalog, HEALTH, "outpatient_visits", date(2025, 5, 13), date(2025, 5, 13)
    )
    registry.backfill_progress(first.id, done=3, failed=0, rows=9, finished=True, ok=True)
    again = request_backfill(
        registry, catalog, HEALTH, "outpatient_visits", date(2025, 5, 10), date(2025, 5, 12)
    )
    assert len({first.id, later.id, again.id}) == 3


def requested(registry: Registry, first: date) -> tuple[Catalog, Any, BackfillRequest]:
    """The catalog, the code location's asset graph, and health's backfill request of two days
    from `first`."""
    from ycpipelines.definitions import build_definitions

    settings = Settings()
    catalog = load_catalog(settings.catalog)
    graph = build_definitions(catalog, settings).get_repository_def().asset_graph
    found = request_backfill(
        registry, catalog, HEALTH, "outpatient_visits", first, first + timedelta(days=1)
    )
    return catalog, graph, found


def test_the_sensor_submits_a_requested_backfill_and_records_its_progress(
    registry: Registry, instance: dg.DagsterInstance
) -> None:
    catalog, graph, found = requested(registry, date(2025, 4, 1))
    assert serve_requests(registry, instance, graph, catalog) >= 1
    [mine] = [b for b in registry.backfills_for(HEALTH) if b.id == found.id]
    assert mine.status == "submitted" and mine.backfill_id
    backfill = instance.get_backfill(mine.backfill_id)
    assert backfill is not None and backfill.tags[REQUEST_TAG] == str(found.id)
    assert set(backfill.asset_backfill_data.target_subset.asset_keys) >= {
        dg.AssetKey(["raw", "health", "outpatient_visits"])
    }
    serve_requests(registry, instance, graph, catalog)  # no daemon: no runs yet
    [again] = [b for b in registry.backfills_for(HEALTH) if b.id == found.id]
    assert (again.status, again.done, again.backfill_id) == ("submitted", 0, mine.backfill_id)
    actions = [e.action for e in registry.history(f"backfill/{found.id}")]
    assert actions == ["backfill.requested", "backfill.submitted"]


def test_a_tick_reads_the_logs_of_newly_finished_runs_only(
    registry: Registry, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The progress of a long backfill costs each tick its new runs, not all its runs again."""
    from ycpipelines.collect import backfill

    catalog, graph, found = requested(registry, date(2025, 3, 1))
    serve_requests(registry, instance, graph, catalog)
    [mine] = [b for b in registry.backfills_for(HEALTH) if b.id == found.id]

    days = dg.StaticPartitionsDefinition(["health|2025-03-01", "health|2025-03-02"])

    @dg.asset(key=["raw", "health", "probe"], partitions_def=days)
    def probe() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"dagster/row_count": 5, "committed": True})

    tags = {"dagster/backfill": mine.backfill_id}
    for day in days.get_partition_keys():
        assert dg.materialize([probe], instance=instance, tags=tags, partition_key=day).success
    read: list[str] = []
    counted = backfill.collected
    monkeypatch.setattr(backfill, "collected", lambda i, run: read.append(run) or counted(i, run))
    for _ in range(3):
        serve_requests(registry, instance, graph, catalog)
    [progress] = [b for b in registry.backfills_for(HEALTH) if b.id == found.id]
    assert (progress.done, progress.rows) == (2, 10)  # days collected, rows
    assert len(read) == 2, "each finished run's logs read once over three ticks"


def test_a_clean_redelivery_closes_the_ticket_in_its_thread(registry: Registry) -> None:
    ticket = ticket_of(registry)
    registry.sync_tickets(
        dataset="outpatient_visits", bureau="health", day=ticket.day, stage="govern",
        run_id="run-2", found={}, clean=True,
    )  # fmt: skip
    [(kind, actor, text)] = kinds(registry, ticket)
    assert (kind, actor) == ("close", "pipeline:govern") and "run-2" in text
    assert registry.ticket(ticket.id).status == "closed"
