"""Usable but invisible: DP aggregate queries released after review, and PSI for underwriting,
with the attacks each must withstand. The registry is on the real PostgreSQL. Each test that
spends privacy budget (隐私预算) has its own consumer and grant, made once for the module."""

import json
import math
import os
import random
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.people import resident_id
from ycpipelines.demo.run import QUIET, launch, review_tick
from ycpipelines.egress.review import LAUNCHED_BY
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.lake import Lake, duck
from ycpipelines.registry import Registry
from ycpipelines.sandbox.psi import Channel, PlatformSide, PsiRefused, ask, connected, serve
from ycpipelines.sandbox.query import QuerySpec, release, true_cells

from helpers import accounts, ingest_demo_days, upgraded, ycp

TODAY = pilot_today()
INSURER, REVIEWER = "insurer_a", "王审核"
# One sandbox consumer per test that submits, with its grant's budget ε.
RELEASED, SMALL_CELLS, REFUSED, BUDGET = "pharma_a", "pharma_b", "pharma_c", "pharma_d"
BUDGETS = {RELEASED: 10.0, SMALL_CELLS: 2.0, REFUSED: 2.0, BUDGET: 2.0}
FALSE_FAILURE = 1e-6  # per bound below: the chance a correct release fails it
BY_COUNTY = {
    "dataset": "outpatient_visits",
    "dimensions": ["county", "gender"],
    "measures": [{"kind": "count"}, {"kind": "mean", "column": "fee", "lower": 0, "upper": 2000}],
    "epsilon": 0.5,
}


@pytest.fixture(scope="module")
def world(yc_home: Path, sources: dict, instance: dg.DagsterInstance, databases) -> Iterator[dict]:
    os.environ["YC_REGISTRY_URL"] = upgraded(databases("postgresql"))
    catalog = load_catalog()
    defs = build_definitions(catalog)
    ingest_demo_days(sources)
    later = str(TODAY + timedelta(days=30))
    accounts(Registry(), {REVIEWER: ["reviewer"]})
    ycp(
        "auth",
        "grant",
        "--consumer",
        INSURER,
        "--scenario",
        "underwriting_features",
        "--from",
        str(TODAY),
        "--to",
        later,
        "--plan",
        "预案-核保",
    )
    for consumer, budget in BUDGETS.items():
        ycp(
            "auth",
            "grant",
            "--consumer",
            consumer,
            "--scenario",
            "safe/outpatient_visits",
            "--from",
            str(TODAY),
            "--to",
            later,
            "--plan",
            "预案-沙箱",
            "--epsilon",
            str(budget),
        )
    assert (
        defs.resolve_job_def("build_products")
        .execute_in_process(instance=instance, run_config=QUIET, tags={LAUNCHED_BY: "赵运营"})
        .success
    )
    review_tick(defs, instance)
    registry = Registry()
    [request] = registry.requests(status="pending")
    registry.decide(request.id, approve=True, reviewer=REVIEWER, comment="同意")
    for run in review_tick(defs, instance):
        assert launch(defs, instance, run).success
    yield {"registry": registry, "lake": Lake(yc_home / "lake"), "catalog": catalog}
    del os.environ["YC_REGISTRY_URL"]


def submit(spec: dict, tmp_path: Path, consumer: str, ok: bool = True) -> str:
    path = tmp_path / f"spec-{random.random()}.json"
    path.write_text(json.dumps(spec))
    return ycp("sandbox", "submit", str(path), "--consumer", consumer, ok=ok)


def laplace_sum_bound(cells: int, p: float) -> float:
    """x with P(|L₁| + … + |L_k| > x·scale) = p for k i.i.d. Laplace draws: the sum of k
    exponentials is Gamma(k, 1), whose tail is e^-x · Σ_{i<k} x^i / i! (bisection on x)."""

    def tail(x: float) -> float:
        return math.exp(-x) * sum(x**i / math.factorial(i) for i in range(cells))

    low, high = 0.0, cells + 100.0
    while high - low > 1e-6:
        low, high = (
            (low, (low + high) / 2) if tail((low + high) / 2) < p else ((low + high) / 2, high)
        )
    return high


def test_an_aggregate_is_released_only_after_review_with_noise_and_no_small_cells(
    world: dict, tmp_path: Path, yc_home: Path
) -> None:
    spec = BY_COUNTY | {"epsilon": 8.0}
    out = submit(spec, tmp_path, RELEASED)
    query_id = int(out.split()[1].rstrip(":"))
    request_id = int(out.split("approval request ")[1].rstrip(")\n"))
    status = json.loads(ycp("sandbox", "status", str(query_id), "--json"))
    assert status["review"] == "pending" and status["query"] == query_id
    assert "not approved" in ycp(
        "sandbox", "result", str(query_id), "--consumer", RELEASED, ok=False
    )
    ycp("egress", "approve", str(request_id), "--comment", "聚合结果", as_user=REVIEWER)
    shown = ycp("sandbox", "result", str(query_id), "--consumer", RELEASED)
    rows = [json.loads(line) for line in shown.splitlines()[1:]]
    assert rows and all(r["count"] >= 10 and 0 <= r["mean_fee"] <= 2000 for r in rows)
    scale = world["registry"].request(request_id).evidence["noise_scales"]["count"]
    assert scale == 20 / (8.0 / 2)  # 20 rows per person at most, ε split between count and sum
    errors = [r["count"] - n for r, n in zip(rows, bounded_counts(world, spec, rows), strict=True)]
    # A released count is round(max(n + L, 10)) for the bounded count n ≥ 10 and Laplace noise L
    # of that scale (OpenDP draws it from the system's CSPRNG: no seed), so |error| ≤ |L| + 0.5.
    # P(max |L_i| > c·scale) ≤ k·e^-c = FALSE_FAILURE for c = ln(k / FALSE_FAILURE); the sum of
    # the |L_i| is Gamma(k, scale): both bounds fail a correct release with probability ≤ 1e-6.
    k = len(rows)
    assert max(map(abs, errors)) <= math.log(k / FALSE_FAILURE) * scale + 0.5, errors
    assert sum(map(abs, errors)) <= laplace_sum_bound(k, FALSE_FAILURE) * scale + k / 2, errors
    folder = yc_home / "zone" / RELEASED / "sandbox" / f"query-{query_id}"
    assert (folder / "manifest.json").exists()


def bounded_counts(world: dict, spec: dict, rows: list[dict]) -> list[int]:
    """The true count of each released cell, each person's rows bounded as the release bounds
    them; never above the unbounded count, and never below the minimum group."""
    cells = true_cells(world["lake"], QuerySpec.model_validate(spec)).to_pylist()
    bounded = {(c["county"], c["gender"]): c["n"] for c in cells}
    safe = world["lake"].glob("safe", "outpatient_visits")
    with duck() as con:
        query = f"SELECT county, gender, count(*) FROM '{safe}' GROUP BY ALL"
        unbounded = {(c, g): n for c, g, n in con.execute(query).fetchall()}
    keys = [(r["county"], r["gender"]) for r in rows]
    assert all(10 <= bounded[key] <= unbounded[key] for key in keys)
    return [bounded[key] for key in keys]


def test_small_cells_are_withheld(world: dict, tmp_path: Path) -> None:
    fine = BY_COUNTY | {"dimensions": ["hospital", "department", "icd10_code"], "epsilon": 0.2}
    out = submit(fine, tmp_path, SMALL_CELLS)
    request_id = int(out.split("approval request ")[1].rstrip(")\n"))
    evidence = world["registry"].request(request_id).evidence
    assert evidence["suppressed_cells"] > 0 and evidence["released_cells"] > 0
    path = world["registry"].request(request_id).product_path
    safe = world["lake"].glob("safe", "outpatient_visits")
    with duck() as con:
        smallest = con.execute(
            f"SELECT min(n) FROM '{path}' JOIN (SELECT hospital, department, icd10_code, "
            f"count(*) AS n FROM '{safe}' GROUP BY ALL) USING (hospital, department, icd10_code)"
        ).fetchone()[0]
    assert smallest >= 10, "every released cell holds at least the minimum group"


def test_pseudonyms_and_ungranted_columns_are_refused_and_audited(
    world: dict, tmp_path: Path
) -> None:
    def refusals() -> int:
        return sum(e.action == "sandbox.refused" for e in world["registry"].audit_log())

    before = refusals()
    by_person = BY_COUNTY | {"dimensions": ["person_pid"]}
    assert "pseudonym columns ['person_pid']" in submit(by_person, tmp_path, REFUSED, ok=False)
    dropped = BY_COUNTY | {"dimensions": ["patient_name"]}
    assert "not in safe/outpatient_visits" in submit(dropped, tmp_path, REFUSED, ok=False)
    assert refusals() - before == 2


def test_each_person_counts_at_most_the_bound(tmp_path: Path) -> None:
    """One person with 50 visits among ten with one each: the cell counts 20 of the 50, the same
    20 every time, their fees clamped to the measure's range."""
    folder = tmp_path / "lake" / "safe" / "outpatient_visits" / "bureau=health" / "date=all"
    folder.mkdir(parents=True)
    with duck() as con:
        con.execute(
            f"""COPY (SELECT 'frequent' AS person_pid, '兴庆区' AS county, 1990 + i AS fee, i
                      FROM range(50) t(i)
                      UNION ALL
                      SELECT 'p' || i, '兴庆区', 100, i FROM range(10) t(i))
                TO '{folder / "data.parquet"}' (FORMAT parquet)"""
        )
    spec = QuerySpec.model_validate(
        {
            "dataset": "outpatient_visits",
            "dimensions": ["county"],
            "measures": [{"kind": "sum", "column": "fee", "lower": 0, "upper": 2000}],
            "epsilon": 1,
        }
    )
    lake = Lake(tmp_path / "lake")
    [first], [again] = (true_cells(lake, spec).to_pylist() for _ in range(2))
    assert first == again
    assert (first["county"], first["n"]) == ("兴庆区", 30)
    lowest = sum(range(1990, 2001)) + 9 * 2000  # the 20 cheapest of 1990…2039, clamped at 2000
    assert 10 * 100 + lowest <= first["sum_fee"] <= 10 * 100 + 20 * 2000


def test_a_differencing_attack_learns_nothing_about_the_person(world: dict, tmp_path: Path) -> None:
    """Two datasets that differ by one person's visits: the released counts differ by noise."""
    lake = world["lake"]
    safe = lake.glob("safe", "outpatient_visits")
    without = Lake(tmp_path / "lake")
    folder = tmp_path / "lake" / "safe" / "outpatient_visits" / "bureau=health" / "date=all"
    folder.mkdir(parents=True)
    with duck() as con:
        person, county, visits = con.execute(
            f"SELECT person_pid, any_value(county), count(*) FROM '{safe}' GROUP BY 1 "
            "ORDER BY 3 DESC, 1 LIMIT 1"
        ).fetchone()
        con.execute(
            f"COPY (SELECT * FROM '{safe}' WHERE person_pid <> '{person}') "
            f"TO '{folder / 'data.parquet'}' (FORMAT parquet)"
        )
    spec = QuerySpec.model_validate(
        BY_COUNTY | {"dimensions": ["county"], "measures": [{"kind": "count"}]}
    )

    def released(source: Lake) -> list[int]:
        counts = []
        for _ in range(60):
            rows = release(source, spec).table.to_pylist()
            counts += [r["count"] for r in rows if r["county"] == county]
        return counts

    with_person, without_person = released(lake), released(without)
    spread = (
        sum((c - sum(with_person) / len(with_person)) ** 2 for c in with_person) / len(with_person)
    ) ** 0.5
    # ε = 0.5 per query: the noise is several times the most active person's whole contribution,
    # and the two worlds' releases interleave.
    assert spread > 3 * visits
    assert min(with_person) < max(without_person) and min(without_person) < max(with_person)


def test_the_budget_runs_out_and_the_refusal_is_audited(world: dict, tmp_path: Path) -> None:
    registry = world["registry"]
    [grant] = registry.authorizations(consumer=BUDGET)
    for epsilon in (0.5, 0.2):  # what earlier queries spent, whether reviewed or not
        submit(BY_COUNTY | {"epsilon": epsilon}, tmp_path, BUDGET)
    left = grant.epsilon - registry.spent(grant.id)
    assert left == pytest.approx(2.0 - 0.5 - 0.2)
    submit(BY_COUNTY | {"epsilon": round(left - 0.3, 6)}, tmp_path, BUDGET)
    refused = submit(BY_COUNTY | {"epsilon": 0.5}, tmp_path, BUDGET, ok=False)
    assert "privacy budget exhausted" in refused
    assert registry.spent(grant.id) == pytest.approx(1.7)
    assert registry.audit_log()[-1].action == "sandbox.refused"


@pytest.fixture(scope="module")
def psi_server(world: dict, yc_home: Path) -> Iterator[Path]:
    side = PlatformSide(
        world["catalog"], world["registry"], world["lake"], os.environ["YC_PSEUDONYM_KEY"]
    ).load()
    path = Path(f"/tmp/ycp-psi-{os.getpid()}.sock")
    thread = threading.Thread(target=serve, args=(side, path, 4), daemon=True)
    thread.start()
    while not path.exists():
        threading.Event().wait(0.05)
    yield path
    thread.join(timeout=60)
    path.unlink(missing_ok=True)


def test_an_insurer_learns_its_matched_applicants_features_and_nothing_else(
    world: dict, psi_server: Path, yc_home: Path, tmp_path: Path
) -> None:
    with duck() as con:
        known = [
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT id_number FROM '{world['lake'].glob('std', 'residents')}' "
                "ORDER BY 1 LIMIT 30"
            ).fetchall()
        ]
    rng = random.Random(5)
    strangers = [
        resident_id("640106", date(1950, 1, 1) + timedelta(days=rng.randrange(20000)), n)
        for n in range(900, 930)
    ]
    ids = tmp_path / "applicants.txt"
    ids.write_text("\n".join(rng.sample(known + strangers, 60)))
    out = tmp_path / "features.csv"
    ycp_binary = shutil.which("ycp", path=str(Path(sys.executable).parent))
    done = subprocess.run(
        [
            ycp_binary,
            "psi",
            "client",
            "--socket",
            str(psi_server),
            "--consumer",
            INSURER,
            "--ids",
            str(ids),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "30 of 60 applicants matched" in done.stdout
    with duck() as con:
        rows = con.execute(f"SELECT * FROM read_csv('{out}', all_varchar = true)").fetchall()
        columns = [c[0] for c in con.execute(f"DESCRIBE SELECT * FROM '{out}'").fetchall()]
        delivered = yc_home / "zone" / INSURER / "underwriting_features" / "v1" / "data.parquet"
        joined = con.execute(
            f"SELECT count(*) FROM '{out}' f JOIN '{delivered}' d USING (person_pid)"
        ).fetchone()[0]
    matched = {r[columns.index("id_number")] for r in rows}
    assert matched == set(known)
    assert joined == 30, "the features carry the insurer's own pseudonyms"
    audit = json.dumps([e.detail for e in world["registry"].audit_log()], ensure_ascii=False)
    assert not any(s in audit for s in strangers + known), "only counts are recorded"


def test_a_client_sending_extra_or_malformed_elements_is_refused_and_audited(
    world: dict, psi_server: Path
) -> None:
    import private_set_intersection.python as psi

    def refusals() -> int:
        return sum(e.action == "psi.refused" for e in world["registry"].audit_log())

    before = refusals()
    with connected(psi_server) as channel:
        channel.send_json({"consumer": INSURER, "applicants": 5})
        assert channel.receive_json() == {"ok": True}
        channel.receive()  # the setup
        wholesale = [f"64010619{n:010d}" for n in range(500)]
        channel.send(psi.client.CreateWithNewKey(True).CreateRequest(wholesale).SerializeToString())
        with pytest.raises(PsiRefused, match="declared 5 applicants, sent 500"):
            answer_of(channel)
    with connected(psi_server) as channel:
        channel.send_json({"consumer": INSURER, "applicants": 5})
        channel.receive_json()
        channel.receive()
        channel.send(b"\xff\x00 not a PSI request")
        with pytest.raises(PsiRefused, match="malformed"):
            answer_of(channel)
    with pytest.raises(PsiRefused, match="no active underwriting_features authorization"):
        ask(psi_server, "nobody", ["640106195001010011"])
    assert refusals() - before == 3


def answer_of(channel: Channel) -> None:
    message = channel.receive_json()
    if "error" in message:
        raise PsiRefused(message["error"])
