"""bench/scale.py at a smoke size: generated sources through collect → govern → de-identify by
the real daemon, the figures in one JSON line, and nothing it made left behind."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from ycpipelines.catalog import load_catalog
from ycpipelines.foundation.settings import PROJECT_ROOT

from helpers import server_database

sys.path.insert(0, str(PROJECT_ROOT / "bench"))
from scale_sources import Release, generate

STAGES = ("collect", "govern", "deid")


def existing(names: set[str]) -> set[str]:
    """Which of these databases the server has."""
    engine = create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT datname FROM pg_database WHERE datname = ANY(:names)"),
            {"names": sorted(names)},
        )
        there = {row[0] for row in found}
    engine.dispose()
    return there


def check_stages(line: dict, suffix: str) -> None:
    """Rows add up from stage to stage: read = collected + quarantined, and so on."""
    figure = {k.removesuffix(suffix): v for k, v in line.items() if k.endswith(suffix)}
    assert figure["collect_rows"] == figure["source_rows"] > 0
    assert figure["collect_out"] + figure["collect_quarantined"] == figure["collect_rows"]
    assert figure["govern_rows"] == figure["collect_out"]
    assert figure["govern_out"] + figure["govern_quarantined"] == figure["govern_rows"]
    assert figure["govern_quarantined"] > 0  # the seeded defects reached the quarantine
    assert figure["deid_rows"] == figure["deid_out"] == figure["govern_out"]
    for stage in STAGES:
        assert figure[f"{stage}_rows_per_s"] > 0
        assert figure[f"{stage}_cpu_s"] > 0
        assert 0 < figure[f"{stage}_peak_rss_mib"] <= figure["peak_rss_mib"]
    for layer in ("raw", "std", "safe", "lake"):
        assert figure[f"{layer}_bytes_per_row"] > 0
    assert figure["runs"] == 3 * line["days"]  # one per bureau and day
    assert figure["run_s_mean"] > 0 and figure["wall_s"] > 0 and "idle_slot_s_per_run" in figure


def test_the_scale_bench_measures_the_stages_and_deletes_what_it_made(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YC_", "DAGSTER_"))}
    done = subprocess.run(
        [sys.executable, "bench/scale.py", "--rows", "600", "--baseline", "300", "--days", "1"],
        cwd=PROJECT_ROOT,
        env={**env, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert (line["bench"], line["rows"], line["baseline"]) == ("scale", 600, 300)
    check_stages(line, "_baseline")
    check_stages({k: v for k, v in line.items() if not k.endswith("_baseline")}, "")
    for stage in STAGES:
        assert line[f"{stage}_linearity"] > 0
    assert line["generate_rows_per_s"] > 0
    made = set(re.findall(r"ycp_scale_[0-9a-f]{10}", done.stderr))
    assert len(made) == 6 and not existing(made)  # each size's three databases dropped
    assert not list(tmp_path.glob("ycp-scale-*"))  # its home, lake and logs removed


def test_generated_days_sit_together_in_the_source_table() -> None:
    """Rows fill the days in order, as a source system's table fills: a day's visits occupy a
    few heap pages, not a slice of every page (each day's read would then cost the table)."""
    with server_database("postgresql") as url:
        made = generate(url, load_catalog(), 36_500, 365)
        engine = create_engine(url)
        with engine.connect() as conn:
            per_day = conn.execute(
                text(
                    "SELECT visit_time::date AS day, count(*) AS n, "
                    "count(DISTINCT (ctid::text::point)[0]) AS pages "
                    "FROM outpatient_visits GROUP BY 1"
                )
            ).all()
            pages = conn.execute(
                text(
                    "SELECT sum(pg_relation_size(relid)) / 8192 "
                    "FROM pg_partition_tree('outpatient_visits')"
                )
            ).scalar_one()
        engine.dispose()
    assert made["rows"]["outpatient_visits"] == 36_500 + 365  # the 1 % duplicates on top
    assert len(per_day) == 365 and all(95 <= n <= 110 for _, n, _ in per_day)
    assert pages > 1_000 and max(p for *_, p in per_day) <= 12, "a day is a few pages"


def counts(url: str, tables: list[str]) -> list[int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables]
    engine.dispose()
    return found


def test_a_source_slice_is_emptied_once_every_day_of_it_is_collected() -> None:
    """The sources shrink as the lake grows: a 31-day slice goes once all its days are
    committed for its dataset, and no earlier; other slices and datasets stay."""
    with server_database("postgresql") as url:
        generate(url, load_catalog(), 6_200, 62)
        release = Release(url, load_catalog(), 62)
        tables = ["outpatient_visits_s00", "outpatient_visits_s01", "settlements_s00"]
        before = counts(url, tables)
        key = "raw/health/outpatient_visits"
        days = [f"health|2025-01-{d:02d}" for d in range(1, 32)]
        assert release({(key, day) for day in days[:-1]}) == []  # one day still to collect
        assert release({("raw/medical_insurance/settlements", day) for day in days[:-1]}) == []
        assert counts(url, tables) == before and min(before) > 3_000
        assert release({(key, day) for day in days}) == ["outpatient_visits_s00"]
        assert counts(url, tables) == [0, *before[1:]]
        assert release({(key, day) for day in days}) == []  # once
