"""规模 benchmark: the pilot's volume through Dagster itself, the way operators run it.

For each size (a baseline first, then N), on its own data and instance, deleted afterwards:
- generate N outpatient visits, one settlement each and a tenth as many residents inside a fresh
  PostgreSQL database (bench/scale_sources.py: `INSERT … SELECT … FROM generate_series`),
  spread over the days from 2025-01-01: bureau × day partitions as the pilot's year would have;
- start the code server and daemon of `ycp serve` (ycpipelines/ops/serve.py) on a fresh
  PostgreSQL instance (QueuedRunCoordinator: two runs at a time on two cores) with the registry
  in PostgreSQL, submit one backfill per bureau (health, population, medical_insurance) for all
  the days, collect → govern → de-identify, and wait for every run, emptying each source slice
  once its days are collected (the sources and the lake would not both fit the disk at 100 M);
- read the figures back from the instance: per stage the rows in, rows/s (rows ÷ summed step
  seconds, STEP_START → STEP_SUCCESS: one worker's throughput), CPU seconds and peak RSS (each
  step's `ycp/cpu_seconds` since it started and `ycp/peak_rss_mib`, its run's process's peak so
  far: a run's steps share that process), Parquet bytes per row of raw/, std/ and safe/; the
  peak RSS of any served process and the CPU time of them all (bench/scale_processes.py), the
  backfills' wall time, the runs' mean time outside their steps and in the queue, and the
  time a run slot stood idle per run (what Dagster itself costs per run).
One JSON line: N's figures, the baseline's beside them (`…_baseline`) and per stage
`<stage>_linearity` = rows/s at N ÷ rows/s at the baseline. Progress on stderr.
Then, on stderr, the sizing table for Kubernetes those costs give (bench/scale_sizing.py).
Usage: python bench/scale.py [--rows N] [--baseline M] [--days D] | [--sizing-from LINE.json]
(defaults: a smoke run; the pilot's figures are --rows 10000000 / 100000000 --days 365)
"""

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import yaml
from scale_processes import Sampler
from scale_sizing import sizing_table
from scale_sources import FIRST_DAY, Release, generate
from sqlalchemy import create_engine, text

from ycpipelines.catalog import load_catalog
from ycpipelines.collect.backfill import (
    BACKFILL_TAG,
    Committed,
    add_backfill,
    backfill_state,
)
from ycpipelines.foundation.ranges import RANGE_DAYS
from ycpipelines.ops.serve import (
    INSTANCE,
    Services,
    code_server,
    daemon,
    free_port,
    prepare_instance,
)

SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432"
PREFIX = "ycp_scale_"
BUREAUS = {"health": "HEALTH", "population": "POPULATION", "medical_insurance": "MEDICAL_INSURANCE"}
STAGES = {"raw": "collect", "std": "govern", "safe": "deid"}
MAX_RUNS = 2  # runs at a time: two cores


def say(message: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextmanager
def databases(count: int) -> Iterator[list[str]]:
    """`count` fresh databases on the server, dropped WITH (FORCE) on leaving."""
    names = [f"{PREFIX}{uuid.uuid4().hex[:10]}" for _ in range(count)]
    admin = create_engine(SERVER + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f"CREATE DATABASE {name}"))
        say(f"databases {', '.join(names)}")
        yield [f"{SERVER}/{name}" for name in names]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@contextmanager
def environment(home: Path, source: str, instance: str, registry: str) -> Iterator[None]:
    """This process's environment (read by the settings, the instance and the services)
    pointed at the size's databases and home; restored on leaving."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("YC_", "DAGSTER_")):
            del os.environ[name]
    os.environ.update(
        {
            "YC_HOME": str(home),
            "YC_PSEUDONYM_KEY": secrets.token_hex(32),
            "YC_REGISTRY_URL": registry,
            **{f"YC_SOURCE_{env}": source for env in BUREAUS.values()},
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": "5432",
            "DAGSTER_PG_USER": "postgres",
            "DAGSTER_PG_PASSWORD": "",
            "DAGSTER_PG_DB": instance.rsplit("/", 1)[1],
        }
    )
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def instance_config(home: Path) -> Path:
    """deploy/dagster.yaml where `ycp serve` looks for it in development, at MAX_RUNS runs."""
    config = yaml.safe_load(INSTANCE.read_text())
    config["run_coordinator"]["config"]["max_concurrent_runs"] = MAX_RUNS
    dagster_home = home / "serve" / "dagster"
    dagster_home.mkdir(parents=True)
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return dagster_home


def wait_for_code_server(services: Services, port: int, seconds: int = 600) -> None:
    from dagster._grpc.client import DagsterGrpcClient

    client = DagsterGrpcClient(port=port, host="127.0.0.1")
    deadline = time.monotonic() + seconds
    while True:
        alive(services)
        try:
            client.ping("scale")
            return
        except Exception:  # not up yet
            if time.monotonic() > deadline:
                raise RuntimeError("the code server did not come up") from None
            time.sleep(1)


def alive(services: Services) -> None:
    """Raise with its log's tail if a served process has exited."""
    for name, process in services.processes.items():
        if process.poll() is not None:
            tail = (services.logs / f"{name}.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")


@contextmanager
def served(home: Path) -> Iterator[Services]:
    """The code server and the daemon as `ycp serve` starts them (no webserver, no console)."""
    instance_config(home)
    env = prepare_instance()
    port = free_port()
    env.update({"YC_CODE_SERVER_HOST": "127.0.0.1", "YC_CODE_SERVER_PORT": str(port)})
    (home / "logs").mkdir()
    services = Services(url="", logs=home / "logs", env=env)
    try:
        services.start("code-server", code_server(port))
        wait_for_code_server(services, port)
        services.start("daemon", daemon())
        yield services
    finally:
        for name in list(services.processes):
            services.stop(name)


def failure_of(instance: dg.DagsterInstance, run_id: str) -> str:
    """The failure messages a run recorded (the pipeline's own: no source values)."""
    found = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event and event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            found.append(f"{event.step_key}: {error.to_string() if error else entry.message}")
        elif event and event.event_type == dg.DagsterEventType.RUN_FAILURE:
            found.append(entry.message)
    return "\n".join(found)[-4000:]


def wait_for_backfills(
    services: Services, instance: dg.DagsterInstance, ids: list[str], release: Release
) -> None:
    """Until every backfill has finished; a failed run fails the bench with its messages. The
    source slices whose days are all collected are emptied meanwhile."""
    rows: dict[str, int] = {}
    partitions: dict[str, Committed] = {}
    shown = (-1, 0.0)
    while True:
        alive(services)
        states = [backfill_state(instance, i, rows, partitions) for i in ids]
        if any(s.failed or s.failed_backfill for s in states):
            failed = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
            detail = failure_of(instance, failed[0].run_id) if failed else "no run failed"
            tail = (services.logs / "daemon.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"a backfill failed:\n{detail}\n--- daemon log ---\n{tail}")
        if emptied := release(frozenset().union(*partitions.values())):
            say(f"collected, so emptied: {', '.join(emptied)}")
        if all(s.finished for s in states):
            return
        done = sum(s.done for s in states)
        if done != shown[0] or time.monotonic() - shown[1] > 120:
            shown = (done, time.monotonic())
            days = sum(s.partitions for s in states)
            say(f"{done} runs done, {days} days × datasets, {sum(rows.values()):,} rows collected")
        time.sleep(2)


def run_backfills(home: Path, days: int, source: str) -> dict:
    """Serve, submit a backfill per bureau for the days, wait; the instance's figures."""
    from ycpipelines.definitions import build_definitions

    catalog = load_catalog()
    graph = build_definitions(catalog).resolve_asset_graph()
    last = FIRST_DAY + timedelta(days=days - 1)
    with served(home) as services, Sampler([p.pid for p in services.processes.values()]) as ps:
        instance = dg.DagsterInstance.from_config(str(home / "serve" / "dagster"))
        try:
            started = time.monotonic()
            ids = [
                add_backfill(instance, graph, catalog, bureau, (FIRST_DAY, last), [], {})
                for bureau in BUREAUS
            ]
            say(f"{len(ids)} backfills submitted for {days} days")
            wait_for_backfills(services, instance, ids, Release(source, catalog, days))
            wall = time.monotonic() - started
            figures = read_figures(instance, ids)
        finally:
            instance.dispose()
    busy = figures["runs"] * figures["run_s_mean"]
    return {
        **figures,
        # a run slot's time outside any run, per run: queueing, the daemon's ticks, launching
        "idle_slot_s_per_run": round((wall * MAX_RUNS - busy) / figures["runs"], 1),
        "wall_s": round(wall, 1),
        "cpu_s": round(ps.cpu_seconds, 1),
        "peak_rss_mib": round(ps.peak_mib),
        "peak_rss_process": ps.peak_role,
    }


def step_events(instance: dg.DagsterInstance, run_id: str) -> tuple[dict, dict]:
    """Per step of a run: (seconds from start to success, its materializations: one per day
    of the run's range)."""
    kinds = {
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.ASSET_MATERIALIZATION,
    }
    starts, seconds, materialized = {}, {}, {}
    for entry in instance.all_logs(run_id, of_type=kinds):
        event = entry.dagster_event
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = entry.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            seconds[event.step_key] = entry.timestamp - starts[event.step_key]
        else:
            materialized.setdefault(event.step_key, []).append(entry.asset_materialization)
    return seconds, materialized


def stage_totals() -> dict[str, dict[str, float]]:
    keys = ("rows", "out", "quarantined", "seconds", "cpu_s", "peak_rss_mib")
    return {stage: dict.fromkeys(keys, 0.0) for stage in STAGES.values()}


def add_step(totals: dict, seconds: float, materializations: list) -> None:
    """One step's figures into its stage's totals (rows in: read / collected / de-identified),
    each day of its range counted."""
    layer = materializations[0].asset_key.path[0]
    stage = totals[STAGES[layer]]
    rows_in = {"raw": "read", "std": "collected", "safe": "dagster/row_count"}[layer]
    stage["seconds"] += seconds
    for materialization in materializations:
        meta = {k: v.value for k, v in materialization.metadata.items()}
        stage["rows"] += int(meta[rows_in])
        stage["out"] += int(meta["collected"] if layer == "raw" else meta["dagster/row_count"])
        stage["quarantined"] += int(meta.get("quarantined", 0))
        stage["cpu_s"] += float(meta["ycp/cpu_seconds"])
        stage["peak_rss_mib"] = max(stage["peak_rss_mib"], float(meta["ycp/peak_rss_mib"]))


def read_figures(instance: dg.DagsterInstance, ids: list[str]) -> dict:
    """The stages' figures and the runs' overhead, from the instance's event log."""
    totals, run_seconds, outside, queued = stage_totals(), [], [], []
    for backfill_id in ids:
        records = instance.get_run_records(filters=dg.RunsFilter(tags={BACKFILL_TAG: backfill_id}))
        for record in records:
            seconds, materialized = step_events(instance, record.dagster_run.run_id)
            for step, materializations in materialized.items():
                add_step(totals, seconds[step], materializations)
            run_seconds.append(record.end_time - record.start_time)
            queued.append(record.start_time - record.create_timestamp.timestamp())
            outside.append(run_seconds[-1] - sum(seconds.values()))
    figures: dict[str, object] = {
        "runs": len(run_seconds),
        "run_s_mean": round(sum(run_seconds) / len(run_seconds), 2),
        "run_overhead_s_mean": round(sum(outside) / len(outside), 2),
        "run_queue_s_mean": round(sum(queued) / len(queued), 2),
    }
    for stage, t in totals.items():
        figures |= {
            f"{stage}_rows": int(t["rows"]),
            f"{stage}_out": int(t["out"]),
            f"{stage}_quarantined": int(t["quarantined"]),
            f"{stage}_step_s": round(t["seconds"], 1),
            f"{stage}_rows_per_s": round(t["rows"] / t["seconds"]) if t["seconds"] else 0,
            f"{stage}_cpu_s": round(t["cpu_s"], 1),
            f"{stage}_peak_rss_mib": round(t["peak_rss_mib"]),
        }
    return figures


def lake_figures(lake: Path, figures: dict) -> dict:
    """Parquet bytes per row of each layer and of the whole lake (per source row)."""
    sizes = {
        layer: sum(f.stat().st_size for f in (lake / layer).rglob("*.parquet")) for layer in STAGES
    }
    whole = sum(f.stat().st_size for f in lake.rglob("*") if f.is_file())
    out = {
        f"{layer}_bytes_per_row": round(size / max(figures[f"{stage}_out"], 1), 1)
        for (layer, size), stage in zip(sizes.items(), STAGES.values(), strict=True)
    }
    return out | {
        "lake_bytes": whole,
        "lake_bytes_per_row": round(whole / max(figures["collect_rows"], 1), 1),
    }


def one_size(rows: int, days: int) -> dict:
    """Generate, run, measure and delete one size."""
    with (
        databases(3) as (source, instance, registry),
        tempfile.TemporaryDirectory(prefix="ycp-scale-") as tmp,
    ):
        home = Path(tmp)
        say(f"generating {rows:,} visits over {days} days")
        made = generate(source, load_catalog(), rows, days)
        generated = sum(made["rows"].values())
        say(f"generated {generated:,} rows in {made['seconds']:.1f} s; running the backfills")
        with environment(home, source, instance, registry):
            figures = run_backfills(home, days, source)
        figures |= lake_figures(home / "lake", figures)
    if figures["collect_rows"] != generated:
        raise RuntimeError(f"collected {figures['collect_rows']} of {generated} generated rows")
    return {
        "source_rows": generated,
        "generate_rows_per_s": round(generated / made["seconds"]),
        **figures,
    }


def main(rows: int, baseline: int, days: int) -> None:
    started = time.monotonic()
    base = one_size(baseline, days)
    say(f"baseline {baseline:,}: {json.dumps(base)}")  # kept should N not finish
    at_n = one_size(rows, days)
    line: dict[str, object] = {
        "bench": "scale",
        "rows": rows,
        "baseline": baseline,
        "days": days,
        "days_per_run": RANGE_DAYS,
    }
    line |= at_n
    line |= {f"{k}_baseline": v for k, v in base.items()}
    for stage in STAGES.values():
        before = base[f"{stage}_rows_per_s"]
        line[f"{stage}_linearity"] = round(at_n[f"{stage}_rows_per_s"] / before, 2) if before else 0
    line["bench_wall_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(line))
    say("sizing on Kubernetes (bench/scale_sizing.py):\n" + sizing_table(line))


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=20_000, help="outpatient visits (N)")
    parser.add_argument("--baseline", type=int, help="the baseline size (10 M, or N/10 to 10 M)")
    parser.add_argument("--days", type=int, default=2, help="days from 2025-01-01 (a year: 365)")
    parser.add_argument("--sizing-from", type=Path, help="print the sizing table of a saved line")
    args = parser.parse_args(argv)
    if args.baseline is None:
        args.baseline = 10_000_000 if args.rows > 10_000_000 else max(args.rows // 10, 100)
    if not 1 <= args.days <= (date(2025, 12, 31) - FIRST_DAY).days + 1:
        parser.error("--days must be 1..365 (the days of 2025)")
    return args


if __name__ == "__main__":
    parsed = arguments()
    if parsed.sizing_from:
        print(sizing_table(json.loads(parsed.sizing_from.read_text())))
    else:
        main(parsed.rows, parsed.baseline, parsed.days)
