"""Feedback to bureaus: tickets from quarantine, their lifecycle and the quality report."""

import re
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import create_engine, text

from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import QUIET
from ycpipelines.foundation.partitions import partition_key
from ycpipelines.registry import Registry

from helpers import accounts, materializations, ycp

DAY = "2025-06-30"
PARTITION = partition_key("health", DAY)
FULL_REFRESH = {"ops": {"raw__health__outpatient_visits": {"config": {"full_refresh": True}}}}


def ingest(instance: dg.DagsterInstance, run_config: dict | None = None) -> None:
    job = build_definitions(load_catalog()).resolve_job_def("ingest_outpatient_visits")
    result = job.execute_in_process(
        partition_key=PARTITION, instance=instance, run_config=QUIET | (run_config or {})
    )
    assert result.success


def partition_tickets() -> list:
    return Registry().tickets(dataset="outpatient_visits", bureau="health")


@pytest.fixture(scope="module")
def first_run(sources: dict, instance: dg.DagsterInstance) -> dict:
    """The first ingest's std/ metadata, and the tickets as it left them (later tests act on
    them)."""
    ingest(instance)
    meta = materializations(instance, dg.AssetKey(["std", "outpatient_visits"]))[PARTITION]
    return meta | {"tickets": partition_tickets()}


def test_each_rule_that_quarantined_rows_opens_one_ticket_naming_rows_not_values(
    first_run: dict, sources: dict
) -> None:
    by_rule = first_run["quarantined_by_rule"]
    assert by_rule, "the demo day has defects"
    govern = {t.rule: t for t in first_run["tickets"] if t.stage == "govern"}
    assert {rule: t.count for rule, t in govern.items()} == by_rule
    assert all(t.status == "open" and t.day == DAY for t in govern.values())
    ids = {r["id_number"] for r in rows_of(sources, DAY)} - {None}
    for t in govern.values():
        assert len(t.row_keys) == t.count
        for key in t.row_keys:
            assert re.fullmatch(r"MZ\w+ @ health/区域全民健康信息平台/outpatient_visits:\d+", key)
        assert not any(i in " ".join(t.row_keys) for i in ids)


def test_bureaus_acknowledge_or_dispute_and_a_clean_redelivery_closes_tickets(
    first_run: dict, sources: dict, instance: dg.DagsterInstance
) -> None:
    tickets = [t for t in partition_tickets() if t.stage == "govern"]
    assert len(tickets) >= 2
    acked, disputed = tickets[0], tickets[1]
    accounts(Registry(), {"health:wang": ["bureau:health"], "health:li": ["bureau:health"]})
    assert "acknowledged" in ycp("tickets", "ack", str(acked.id), as_user="health:wang")
    ycp("tickets", "dispute", str(disputed.id), "--reason", "已核实无误", as_user="health:li")
    refused = ycp("tickets", "ack", str(disputed.id), as_user="health:li", ok=False)
    assert "disputed" in refused
    listing = ycp("tickets", "list", "--bureau", "health", "--status", "disputed")
    assert listing.startswith(f"{disputed.id}\tdisputed\thealth\toutpatient_visits\t{DAY}")

    # The bureau corrects its system: the broken rows are gone, the day is delivered again.
    broken = sources["datasets"]["outpatient_visits"]["quarantined_keys"]
    location = sources["datasets"]["outpatient_visits"]["location"]
    engine = create_engine(f"sqlite:///{location}")
    with engine.begin() as conn:
        for key in broken:
            conn.execute(text("DELETE FROM outpatient_visits WHERE visit_id = :k"), {"k": key})
    ingest(instance, FULL_REFRESH)

    after = materializations(instance, dg.AssetKey(["std", "outpatient_visits"]))[PARTITION]
    assert after["quarantined"] == 0
    closed = {t.id: t for t in partition_tickets() if t.stage == "govern"}
    assert {t.status for t in closed.values()} == {"closed"}
    assert all(t.note and t.note.startswith("fixed") for t in closed.values())
    registry = Registry()
    for t in tickets:
        actions = [e.action for e in registry.history(f"ticket/{t.id}")]
        assert actions[0] == "ticket.opened" and actions[-2:] == ["ticket.fixed", "ticket.closed"]
    assert "ticket.disputed" in [e.action for e in registry.history(f"ticket/{disputed.id}")]
    shown = ycp("tickets", "show", str(disputed.id))
    assert f"ticket {disputed.id} [closed]" in shown and "ticket.disputed" in shown
    assert registry.verify_audit().ok


def test_the_quality_report_links_tickets_and_shows_no_values(
    first_run: dict, sources: dict, yc_home: Path
) -> None:
    out = yc_home / "report"
    ycp("quality", "report", "--out", str(out))
    page = (out / "outpatient_visits.html").read_text(encoding="utf-8")
    assert PARTITION in page and "tickets.html#ticket-" in page
    tickets = (out / "tickets.html").read_text(encoding="utf-8")
    everything = page + tickets + (out / "index.html").read_text(encoding="utf-8")
    for row in rows_of(sources, DAY):
        for column in ("id_number", "phone", "patient_name"):
            value = str(row[column] or "")
            if len(value) >= 3:
                assert value not in everything, column


def rows_of(sources: dict, day: str) -> list[dict]:
    location = sources["datasets"]["outpatient_visits"]["location"]
    with create_engine(f"sqlite:///{location}").connect() as conn:
        result = conn.execute(
            text("SELECT * FROM outpatient_visits WHERE visit_time LIKE :d"), {"d": f"{day}%"}
        )
        return [dict(r._mapping) for r in result]
