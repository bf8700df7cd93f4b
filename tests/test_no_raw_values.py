"""No source value leaves the lake through the run record: every bad delivery is fed to the
pipeline, then the Dagster instance (event log with every error and its causes, compute logs,
run storage) and the registry (audit log, tickets, conflicts, alerts) are searched for every
identifier the sources delivered."""

from pathlib import Path

import dagster as dg
from dagster._serdes import serialize_value
from sqlalchemy import create_engine, select

from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import QUIET
from ycpipelines.foundation.partitions import partition_key
from ycpipelines.registry import default_registry_url
from ycpipelines.registry.models import Base

from bad_inputs import (
    ACCEPT_SHRINK,
    bad_inputs,
    delivery,
    identifiers,
    ingest,
    row_attacks,
)
from helpers import resident_identifiers

DAY, FRESH = "2025-06-30", "2025-06-29"


def feed_every_bad_input(home: Path, instance: dg.DagsterInstance, defs: dg.Definitions) -> None:
    """The authoritative residents first (so the one-source comparison runs), the good day,
    each bad re-delivery of it, an accepted shrink, and the row attacks on another day."""
    residents = defs.resolve_job_def("ingest_residents")
    for day in (FRESH, DAY):
        result = residents.execute_in_process(
            partition_key=partition_key("population", day),
            instance=instance,
            run_config=QUIET,
            raise_on_error=False,
        )
        assert result.success
    path = delivery(home, DAY)
    good = path.read_bytes()
    assert ingest(defs, instance, DAY).success
    for data in bad_inputs(good).values():  # how each fails is tested in test_bad_deliveries
        path.write_bytes(data)
        ingest(defs, instance, DAY)
    path.write_bytes(bad_inputs(good)["header_only"])
    ingest(defs, instance, DAY, ACCEPT_SHRINK)  # an empty day, accepted
    path.write_bytes(good)
    assert ingest(defs, instance, DAY).success
    fresh = delivery(home, FRESH)
    fresh.write_bytes(row_attacks(fresh.read_bytes()))
    ingest(defs, instance, FRESH)


def event_log(instance: dg.DagsterInstance) -> dict[str, str]:
    """Every event of every run, serialized whole (errors with their causes included)."""
    return {
        f"run {record.dagster_run.run_id} event {n}": serialize_value(event)
        for record in instance.get_run_records()
        for n, event in enumerate(instance.all_logs(record.dagster_run.run_id))
    }


def instance_files(instance: dg.DagsterInstance) -> dict[str, str]:
    """Every file under the instance's folder: run and event storage, compute logs."""
    root = Path(instance.root_directory)
    return {
        str(p): p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file()
    }


def registry_rows() -> dict[str, str]:
    """Every row of every registry table (audit log, tickets, conflicts, alerts …)."""
    engine = create_engine(default_registry_url())
    found = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for n, row in enumerate(conn.execute(select(table))):
                found[f"{table.name} {n}"] = repr(tuple(row))
    engine.dispose()
    return found


def test_no_source_value_reaches_the_run_record_or_the_registry(
    yc_home: Path, sources: dict, instance: dg.DagsterInstance
) -> None:
    defs = build_definitions()
    secrets = (
        identifiers(delivery(yc_home, DAY).read_bytes())
        | identifiers(delivery(yc_home, FRESH).read_bytes())
        | resident_identifiers(yc_home / "sources")
    )
    feed_every_bad_input(yc_home, instance, defs)
    places = {**event_log(instance), **instance_files(instance), **registry_rows()}
    assert len(places) > 100 and len(secrets) > 100
    leaks = sorted(
        f"{where}: {secret[:1]}…({len(secret)})"
        for where, text in places.items()
        for secret in secrets
        if secret in text
    )
    assert not leaks, f"{len(leaks)} source values found, e.g. {leaks[:10]}"
