"""规模测算: `bench/scale.py`'s measured costs turned into a sizing table for Kubernetes.

Arithmetic, not a cluster measurement. Inputs, each from the scale run's JSON line or from the
shipped files:
- CPU per source row: the three stages' CPU seconds at N over N's source rows;
- CPU per run outside its steps: the served processes' CPU not spent in steps, per run;
- a run's wall time as a line through the two measured sizes (mean run seconds against rows per
  run: baseline and N), plus the run slot's idle time per run (queue, daemon ticks, launch);
  measured with two runs sharing two cores, so a pod of `cpu` cores is credited nothing extra;
- partitions: the catalog's datasets × 365 days; a full re-collection is a backfill, so
  `RANGE_DAYS` of them per run (ycpipelines/foundation/ranges.py), one day's increment is one
  run per dataset;
- pods at once: the Helm queue (`maxConcurrentRuns`, the per-bureau limit × bureaus);
- lake: the whole lake's bytes per source row (raw/ + std/ + safe/ + quarantine).
"""

import math
from pathlib import Path

import yaml

from ycpipelines.catalog import load_catalog
from ycpipelines.foundation.ranges import RANGE_DAYS

HELM = Path(__file__).resolve().parent.parent / "deploy" / "helm" / "values.yaml"
DAYS = 365
STAGES = ("collect", "govern", "deid")


def queue_limits() -> tuple[int, int, str]:
    """(runs at once, runs at once per bureau, a run pod's CPU request) from the Helm values."""
    values = yaml.safe_load(HELM.read_text())
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    per_bureau = queue["tagConcurrencyLimits"][0]["limit"]
    cpu = values["runLauncher"]["config"]["k8sRunLauncher"]["resources"]["requests"]["cpu"]
    return queue["maxConcurrentRuns"], per_bureau, str(cpu)


def run_seconds(line: dict, rows: float) -> float:
    """A run's wall seconds for `rows` source rows: the line through baseline and N, plus idle."""
    points = [
        (line[f"source_rows{s}"] / line[f"runs{s}"], line[f"run_s_mean{s}"])
        for s in ("_baseline", "")
    ]
    (r0, t0), (r1, t1) = points
    slope = (t1 - t0) / (r1 - r0) if r1 != r0 else t1 / r1
    return max(t0 + slope * (rows - r0), 0.0) + line["idle_slot_s_per_run"]


def sizing_row(line: dict, records: int, datasets: int, pods: int) -> str:
    cpu_row = sum(line[f"{s}_cpu_s"] for s in STAGES) / line["source_rows"]
    cpu_run = (line["cpu_s"] - sum(line[f"{s}_cpu_s"] for s in STAGES)) / line["runs"]
    partitions = datasets * DAYS
    per_partition = records / partitions
    runs = datasets * math.ceil(DAYS / RANGE_DAYS)
    full_cpu_h = (records * cpu_row + runs * cpu_run) / 3600
    full_wall_h = math.ceil(runs / pods) * run_seconds(line, records / runs) / 3600
    day_cpu_h = datasets * (per_partition * cpu_row + cpu_run) / 3600
    day_wall_s = run_seconds(line, per_partition)
    lake_gb = records * line["lake_bytes_per_row"] / 1e9
    return (
        f"| {records / 1e6:,.0f} M | {partitions:,} × {per_partition:,.0f} rows in {runs} runs "
        f"| {pods} | "
        f"{full_cpu_h:,.1f} | {full_wall_h:,.1f} h | {datasets} runs, {day_cpu_h:,.2f} CPU h, "
        f"{day_wall_s:,.0f} s | {lake_gb:,.0f} GB |"
    )


def sizing_table(line: dict, scales: tuple[int, ...] = (600_000_000, 6_000_000_000)) -> str:
    """The table for `deploy/README.md`, from one `bench/scale.py` JSON line."""
    catalog = load_catalog()
    at_once, per_bureau, cpu = queue_limits()
    pods = min(at_once, per_bureau * len({d.bureau for d in catalog.datasets}))
    header = (
        f"| records | partitions (datasets × {DAYS} days) | run pods at once ({cpu} CPU each) "
        "| CPU hours, full re-collection | wall, full re-collection | one day's increment "
        "| lake |\n|---|---|---|---|---|---|---|"
    )
    rows = [sizing_row(line, n, len(catalog.datasets), pods) for n in scales]
    return "\n".join([header, *rows])
