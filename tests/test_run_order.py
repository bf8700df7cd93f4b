"""No hidden reads: every read of another dataset is a declared dependency, and ingesting the
demo partitions in reverse order (the authority last) gives the same conflicts, tickets and
safe/ outputs as the forward order."""

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ycpipelines.catalog import Catalog, Dataset, load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import QUIET, ingest, partition_tags
from ycpipelines.foundation.keys import raw_key, safe_key, std_key
from ycpipelines.foundation.lake import Lake
from ycpipelines.foundation.partitions import partition_key
from ycpipelines.foundation.settings import Settings
from ycpipelines.jobs import check_job_name, cross_checks
from ycpipelines.registry import Registry

from helpers import materializations, sensor_tick, upgraded

STD, SAFE = "std", "safe"
VARYING = ("_run_id", "_loaded_at")  # provenance of the run, not of the data


def test_reads_of_other_datasets_are_edges_of_the_asset_graph() -> None:
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    edges = {
        key.to_user_string(): sorted(p.to_user_string() for p in graph.get(key).parent_entity_keys)
        for key in graph.asset_check_keys
        if key.name in ("one_source", "journalist_risk")
    }
    assert edges == {
        "raw/health/outpatient_visits:one_source": [
            "raw/health/outpatient_visits",
            "std/residents",
        ],
        "raw/medical_insurance/settlements:one_source": [
            "raw/medical_insurance/settlements",
            "std/residents",
        ],
        "raw/market_regulation/enterprises:one_source": [
            "raw/market_regulation/enterprises",
            "std/residents",
        ],
        "safe/outpatient_visits:journalist_risk": ["safe/outpatient_visits", "safe/residents"],
    }
    # Cross-dataset checks run after both datasets, not inside the ingest run of either.
    ingest_checks = {
        k.name
        for d in ("outpatient_visits", "settlements", "enterprises", "residents")
        for k in defs.resolve_job_def(f"ingest_{d}").asset_layer.asset_graph.asset_check_keys
    }
    assert "one_source" not in ingest_checks and "journalist_risk" not in ingest_checks


def safe_rows(path: Path) -> list[tuple]:
    con = duckdb.connect()
    columns = [c for c, *_ in con.execute(f"DESCRIBE SELECT * FROM '{path}'").fetchall()]
    kept = ", ".join(f'"{c}"' for c in columns if c not in VARYING)
    return con.execute(f"SELECT {kept} FROM '{path}' ORDER BY ALL").fetchall()


def journalist_figures(instance: dg.DagsterInstance) -> dict[str, dict]:
    """The latest journalist-risk figures per safe/outpatient_visits partition."""
    key = dg.AssetCheckKey(dg.AssetKey([SAFE, "outpatient_visits"]), "journalist_risk")
    latest: dict[str, dict] = {}
    for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=1000):
        event = record.event.dagster_event if record.event else None
        if event is not None and record.partition not in latest:
            evaluation = event.event_specific_data
            latest[record.partition] = {k: v.value for k, v in evaluation.metadata.items()}
    return latest


def outcome(catalog: Catalog, instance: dg.DagsterInstance) -> dict[str, object]:
    """What the runs left: conflicts, tickets, safe/ rows and risk figures, run ids aside."""
    lake, registry = Lake(Settings().lake_root), Registry()
    conflicts = sorted(
        (c.dataset, c.bureau, c.day, c.element, c.authority, c.row_key, c.found, c.expected)
        for d in catalog.datasets
        for c in registry.conflicts(d.id)
    )
    tickets = sorted(
        (t.dataset, t.bureau, t.day, t.stage, t.rule, t.count, tuple(t.row_keys), t.status)
        for t in registry.tickets()
    )
    safe = {
        str(p.relative_to(lake.root)): safe_rows(p)
        for d in catalog.datasets
        for p in lake.committed(SAFE, d.id)
    }
    risk = {
        d.id: {
            partition: meta["reidentification"]
            for partition, meta in materializations(instance, dg.AssetKey([SAFE, d.id])).items()
        }
        for d in catalog.datasets
    }
    return {
        "conflicts": conflicts,
        "tickets": tickets,
        "safe": safe,
        "risk": risk,
        "journalist": journalist_figures(instance),
    }


def authority_first(catalog: Catalog) -> list[Dataset]:
    return sorted(catalog.datasets, key=lambda d: not any(e.authoritative for e in d.elements))


def test_reverse_ingest_order_gives_the_same_results(
    yc_home: Path, sources: dict, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = load_catalog()
    first, last = (date.fromisoformat(sources[k]) for k in ("first", "end"))
    forward_order = authority_first(catalog)
    _, failed = ingest(catalog, first, last, 1, datasets=forward_order)
    assert failed == []
    forward = outcome(catalog, instance)
    assert forward["conflicts"] and forward["journalist"], "the demo has conflicts to compare"

    # A fresh lake and registry; the same sources, the authority ingested last.
    monkeypatch.setenv("YC_LAKE", str(yc_home / "reverse" / "lake"))
    (yc_home / "reverse").mkdir()
    reverse_registry = upgraded(f"sqlite:///{yc_home / 'reverse' / 'registry.db'}")
    monkeypatch.setenv("YC_REGISTRY_URL", reverse_registry)
    _, failed = ingest(catalog, first, last, 1, datasets=forward_order[::-1])
    assert failed == []
    reverse = outcome(catalog, instance)
    for part in forward:
        assert reverse[part] == forward[part], part


def test_a_run_that_materializes_the_asset_leaves_cross_dataset_checks_to_their_job(
    yc_home: Path, sources: dict, instance: dg.DagsterInstance
) -> None:
    """A backfill's run gets every check of the assets it materializes; the ones reading another
    dataset are evaluated only by their check job, which the dataset's sensor requests for the
    partition the run committed."""
    catalog = load_catalog()
    defs = build_definitions(catalog)
    day = date.fromisoformat(sources["first"])
    visits = catalog.dataset("outpatient_visits")
    assert ingest(catalog, day, day, 1, datasets=[catalog.dataset("residents")])[1] == []
    keys = [raw_key(visits), std_key(visits), safe_key(visits)]
    crossing = {(k.asset_key, k.name) for k in cross_checks(catalog, visits)}
    partition = partition_key(visits.bureau, str(day))
    sensor = f"cross_checks_{visits.id}"
    _, cursor = sensor_tick(defs, instance, sensor)
    backfill_like = defs.resolve_implicit_job_def_def_for_assets(keys).execute_in_process(
        asset_selection=keys, partition_key=partition, instance=instance, run_config=QUIET
    )
    assert backfill_like.success
    steps = {e.step_key for e in backfill_like.all_events if e.is_step_success}
    assert all(any(name in str(s) for s in steps) for _, name in crossing), (
        "the run was given the cross-dataset checks, as a backfill's is"
    )
    evaluated = {(e.asset_key, e.check_name) for e in backfill_like.get_asset_check_evaluations()}
    assert evaluated and not evaluated & crossing
    # The check job's run is the one the sensor requests for the partition the run committed.
    (request,), _ = sensor_tick(defs, instance, sensor, cursor)
    assert partition_tags(visits.bureau, str(day)).items() <= request.tags.items()
    checked = defs.resolve_job_def(check_job_name(visits)).execute_in_process(
        tags=request.tags, instance=instance, run_config=QUIET
    )
    assert checked.success
    found = {(e.asset_key, e.check_name) for e in checked.get_asset_check_evaluations()}
    assert found == crossing
    assert {e.partition for e in checked.get_asset_check_evaluations()} == {str(partition)}
