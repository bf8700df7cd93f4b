"""Operating for real (运维): the code server, webserver and daemon of `ycp serve` on the
machine's PostgreSQL, driven from the outside as their users would — a bureau operator's
backfill over the GraphQL API (surviving a killed daemon), the asset graph in headless
Chromium, and a failed run reaching the operators' webhook and the registry."""

import json
import os
import signal
import sqlite3
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import ClassVar

import dagster as dg
import pytest
from click.testing import CliRunner
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)
from playwright.sync_api import Locator, Page, sync_playwright
from sqlalchemy import make_url

from ycpipelines.catalog import load_catalog
from ycpipelines.cli import main
from ycpipelines.demo.sources import write_sources
from ycpipelines.foundation.lake import duck
from ycpipelines.foundation.partitions import days_between, partition_key
from ycpipelines.ops.serve import Services, daemon, free_port, graphql, serve
from ycpipelines.registry import Registry

from helpers import ADMIN, accounts, materializations, server_database, upgraded

BUREAU, DATASET, SCENARIO = "health", "outpatient_visits", "disease_stats"
FIRST, LAST = date(2025, 6, 24), date(2025, 6, 30)
STAGES = ("raw", "std", "safe", "product", "published")
WAIT_SECONDS = 900
ARTIFACTS = Path(__file__).parents[1] / "artifacts"


class Webhook(BaseHTTPRequestHandler):
    """The operators' alert endpoint: keeps every JSON body posted to it."""

    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Webhook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def wait_for(what: str, done: object, services: Services) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not done():  # type: ignore[operator]
        for name, process in services.processes.items():
            log = (services.logs / f"{name}.log").read_text(errors="replace")[-3000:]
            assert process.poll() is None, f"{name} exited:\n{log}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(2)


def try_launch(services: Services, job: str, assets: list[list[str]] | None = None) -> dict:
    selector = {
        "repositoryLocationName": "ycpipelines",
        "repositoryName": "__repository__",
        "jobName": job,
    }
    if assets:
        selector["assetSelection"] = [{"path": a} for a in assets]
    return graphql(
        services.url,
        """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
             __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
           } }""",
        p={"selector": selector},  # a run executes its steps in its own process
    )["launchRun"]


def launch_run(services: Services, job: str, assets: list[list[str]] | None = None) -> str:
    data = try_launch(services, job, assets)
    assert data["__typename"] == "LaunchRunSuccess", data
    return data["run"]["runId"]


def run_status(services: Services, run_id: str) -> str:
    query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
    return graphql(services.url, query, id=run_id)["runOrError"]["status"]


@pytest.fixture(scope="module")
def served(yc_home: Path) -> Iterator[Services]:
    """Demo sources of one bureau for a week, an authorization for the product, a webhook,
    and `ycp serve` on two fresh PostgreSQL databases (instance and registry)."""
    write_sources(700, seed=5, out=yc_home / "sources", days=7, end=LAST)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with server_database("postgresql") as instance_db, server_database("postgresql") as reg_db:
        url = make_url(instance_db)
        os.environ.update(
            {
                "DAGSTER_PG_HOST": url.host or "",
                "DAGSTER_PG_PORT": str(url.port),
                "DAGSTER_PG_USER": url.username or "",
                "DAGSTER_PG_PASSWORD": "",
                "DAGSTER_PG_DB": url.database or "",
                "YC_REGISTRY_URL": reg_db,
                "YC_ALERT_WEBHOOK": f"http://127.0.0.1:{server.server_port}/alerts",
            }
        )
        product = next(p for p in load_catalog().products if p.scenario == SCENARIO)
        registry = Registry(upgraded(reg_db))
        accounts(registry, {})
        registry.grant(
            consumer=product.consumer,
            scenario=SCENARIO,
            fields=[f.name for f in product.fields],
            valid_from=date(2025, 1, 1),
            valid_to=date(2099, 12, 31),
            plan="预案: stop deliveries, notify the consumer",
            actor=ADMIN,
        )
        registry.engine.dispose()
        with serve(yc_home / "logs", port=free_port(), console_port=free_port()) as services:
            os.environ["DAGSTER_HOME"] = services.env["DAGSTER_HOME"]
            yield services
        server.shutdown()


@pytest.fixture(scope="module")
def pg_instance(served: Services) -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.get() as instance:
        yield instance


@pytest.fixture(scope="module")
def backfilled(served: Services, pg_instance: dg.DagsterInstance) -> dict:
    """A week of one bureau backfilled over the API, the daemon killed mid-way and restarted:
    done once for the module, as every later stage reads what it committed."""
    partitions = [partition_key(BUREAU, day) for day in days_between(FIRST, LAST)]
    launched = graphql(
        served.url,
        """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
             __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
           } }""",
        p={
            "partitionNames": partitions,
            "assetSelection": [
                {"path": ["raw", BUREAU, DATASET]},
                {"path": ["std", DATASET]},
                {"path": ["safe", DATASET]},
            ],
            "title": f"补采 {BUREAU} {FIRST}..{LAST}",
            "tags": [{"key": "ycp/bureau", "value": BUREAU}],
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    def runs() -> list[dg.DagsterRun]:
        return pg_instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))

    # The daemon dies (SIGKILL, no clean-up) once the backfill is under way, and comes back.
    wait_for("the first backfill run", lambda: runs(), served)
    served.stop("daemon", signal.SIGKILL)
    died_mid_way = any(not r.is_finished for r in runs())  # one run does the week's days
    time.sleep(5)
    served.start("daemon", daemon())

    def finished() -> bool:
        query = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
                     ... on PartitionBackfill { status } } }"""
        status = graphql(served.url, query, id=backfill_id)["partitionBackfillOrError"]["status"]
        return status not in ("REQUESTED", "CANCELING")

    wait_for("the backfill", finished, served)
    return {"id": backfill_id, "partitions": partitions, "runs": runs(), "mid_way": died_mid_way}


@pytest.fixture(scope="module")
def product_built(served: Services, backfilled: dict) -> str:
    """The product built from the backfilled week over the API, once; its run's status."""
    run_id = launch_run(served, "__ASSET_JOB", [["product", SCENARIO]])
    wait_for(
        "the product build", lambda: run_status(served, run_id) in ("SUCCESS", "FAILURE"), served
    )
    return run_status(served, run_id)


def done_by(run: dg.DagsterRun, partitions: list[str]) -> list[str]:
    """The partitions a run did: its one partition, or its range of days (a backfill's run
    takes up to a month of them)."""
    if PARTITION_NAME_TAG in run.tags:
        return [run.tags[PARTITION_NAME_TAG]]
    first, last = (
        partitions.index(run.tags[tag])
        for tag in (ASSET_PARTITION_RANGE_START_TAG, ASSET_PARTITION_RANGE_END_TAG)
    )
    return partitions[first : last + 1]


def test_a_bureau_backfill_over_the_api_survives_a_killed_daemon(
    backfilled: dict, pg_instance: dg.DagsterInstance, yc_home: Path
) -> None:
    partitions, runs = backfilled["partitions"], backfilled["runs"]
    assert backfilled["mid_way"], "the daemon died mid-backfill"
    assert pg_instance.get_backfill(backfilled["id"]).status.value == "COMPLETED_SUCCESS"
    succeeded = Counter(
        p for r in runs if r.status == dg.DagsterRunStatus.SUCCESS for p in done_by(r, partitions)
    )
    assert succeeded == Counter(partitions), "each partition ran to completion exactly once"
    for layer in ("raw", "std", "safe"):
        key = dg.AssetKey(["raw", BUREAU, DATASET] if layer == "raw" else [layer, DATASET])
        assert pg_instance.get_materialized_partitions(key) == set(partitions), layer

    # No duplicate rows: raw holds each delivered row once (one line number each), and safe
    # holds exactly the rows its one successful materialization per day reported.
    lake = yc_home / "lake"
    with closing(sqlite3.connect(yc_home / "sources" / f"{BUREAU}.sqlite")) as system:
        delivered = dict(
            system.execute(
                "SELECT substr(visit_time, 1, 10), count(*) FROM outpatient_visits GROUP BY 1"
            ).fetchall()
        )
    reported = {
        key.split("|")[1]: meta["dagster/row_count"]  # bureau|date
        for key, meta in materializations(pg_instance, dg.AssetKey(["safe", DATASET])).items()
    }
    with duck() as con:
        raw = con.execute(
            f"SELECT _day::VARCHAR, count(*), count(DISTINCT _line) FROM read_parquet("
            f"'{lake}/raw/{BUREAU}/{DATASET}/*/*/data.parquet', hive_partitioning = false) "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
        safe = dict(
            con.execute(
                f"SELECT date::VARCHAR, count(*) FROM read_parquet("
                f"'{lake}/safe/{DATASET}/*/*/data.parquet') GROUP BY 1"
            ).fetchall()
        )
    assert [d for d, _, _ in raw] == [str(d) for d in days_between(FIRST, LAST)]
    assert all(rows == lines == delivered[day] for day, rows, lines in raw), raw
    assert safe == {day: reported[day] for day in safe} and len(safe) == len(raw)


def test_the_product_build_files_an_approval_request_and_the_graph_has_every_stage(
    served: Services, product_built: str
) -> None:
    assert product_built == "SUCCESS"
    registry = Registry(served.env["YC_REGISTRY_URL"])
    wait_for("the egress_review sensor", lambda: registry.requests("pending"), served)
    [request] = registry.requests("pending")
    assert (request.scenario, request.consumer) == (SCENARIO, "demo_pharma")

    nodes = graphql(
        served.url,
        "{ assetNodes { assetKey { path } groupName dependencyKeys { path } } }",
    )["assetNodes"]
    upstream = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    chain = [
        f"raw/{BUREAU}/{DATASET}",
        f"std/{DATASET}",
        f"safe/{DATASET}",
        f"product/{SCENARIO}",
        f"published/{SCENARIO}",
    ]
    for before, after in pairwise(chain):
        assert before in ["/".join(d["path"]) for d in upstream[after]["dependencyKeys"]]
    assert [upstream[k]["groupName"] for k in chain] == list(STAGES)

    # Freshness, as the UI shows it: the bureau that just delivered is fresh; the bureaus that
    # never delivered are not.
    def freshness() -> dict[str, str]:
        query = "{ assetNodes { assetKey { path } freshnessStatusInfo { freshnessStatus } } }"
        return {
            "/".join(n["assetKey"]["path"]): n["freshnessStatusInfo"]["freshnessStatus"]
            for n in graphql(served.url, query)["assetNodes"]
            if n["freshnessStatusInfo"]
        }

    wait_for("the freshness daemon", lambda: freshness()[chain[0]] == "HEALTHY", served)
    late = {k: v for k, v in freshness().items() if k != chain[0]}
    assert sorted(late) == [
        "raw/market_regulation/enterprises",
        "raw/medical_insurance/settlements",
        "raw/population/residents",
    ]
    assert "HEALTHY" not in late.values()


@contextmanager
def ui_page(url: str) -> Iterator[Page]:
    """A page of the Dagster UI in Debian's headless chromium, past the first-visit dialog."""
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
        page.goto(url, wait_until="networkidle")
        skip = page.get_by_role("button", name="Skip")  # the newsletter dialog
        if skip.count():
            skip.click()
        yield page
        browser.close()


def test_the_asset_graph_shows_the_five_stages_in_chromium(served: Services) -> None:
    with ui_page(f"{served.url}/asset-groups") as page:

        def shown(stage: str) -> Locator:
            return page.get_by_text(stage, exact=True).filter(visible=True)

        # each stage once in the group list beside the graph, once as a group box in it
        shown("published").nth(1).wait_for(timeout=60_000)
        for stage in STAGES:
            assert shown(stage).count() >= 2, stage
        shot = ARTIFACTS / "asset-graph.png"
        page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000


def test_an_asset_page_draws_its_chinese_description_in_a_cjk_font(served: Services) -> None:
    """Operators read the catalog's Chinese labels in the UI: the glyphs must come from a CJK font,
    not the empty boxes of a machine without one (asked of Chromium itself, over CDP)."""
    with ui_page(f"{served.url}/assets/raw/{BUREAU}/{DATASET}") as page:
        description = page.get_by_text("归集 Collect: 门诊就诊记录").filter(visible=True).first
        description.wait_for(timeout=60_000)
        description.evaluate("e => e.setAttribute('data-probe', '')")
        cdp = page.context.new_cdp_session(page)
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "[data-probe]"})
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
        page.screenshot(path=str(ARTIFACTS / "asset-page.png"), full_page=True)
    drawn_by_cjk = sum(f["glyphCount"] for f in fonts if "CJK" in f["familyName"])
    assert drawn_by_cjk >= len("归集门诊就诊记录卫健委"), fonts


def test_a_failed_run_reaches_the_webhook_and_the_registry(served: Services) -> None:
    run_id = launch_run(served, f"publish_{SCENARIO}")  # no approved request: refused
    wait_for("the refused run", lambda: run_status(served, run_id) == "FAILURE", served)
    wait_for("the alert", lambda: any(a["run_id"] == run_id for a in Webhook.received), served)
    [posted] = [a for a in Webhook.received if a["run_id"] == run_id]
    assert posted["kind"] == "run_failure"
    assert posted["detail"]["job"] == f"publish_{SCENARIO}"
    registry = Registry(served.env["YC_REGISTRY_URL"])
    [recorded] = [a for a in registry.alerts() if a.run_id == run_id]
    assert recorded.id == posted["alert"]
    assert recorded.notified == "HTTP 200"
    assert any(e.action == "alert.run_failure" for e in registry.audit_log())
    listed = CliRunner().invoke(main, ["alerts", "--json"])
    assert {
        "kind": "run_failure",
        "subject": f"job/publish_{SCENARIO}",
        "run_id": run_id,
        "notified": "HTTP 200",
    }.items() <= next(a for a in json.loads(listed.stdout) if a["run_id"] == run_id).items()


def test_an_auditor_browses_read_only_and_exports_lineage_and_the_resource_map(
    served: Services, product_built: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(tmp_path / "logs", port=free_port(), read_only=True) as auditor:
        assert "daemon" not in auditor.processes, "one daemon per instance"
        graph = graphql(auditor.url, "{ assetNodes { assetKey { path } } }")["assetNodes"]
        assert {"path": ["published", SCENARIO]} in [n["assetKey"] for n in graph]
        refused = try_launch(auditor, "__ASSET_JOB", [["product", SCENARIO]])
        assert refused["__typename"] == "UnauthorizedError", refused

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    files = {"json": "lineage.json", "openlineage": "lineage.jsonl", "html": "lineage.html"}
    for fmt, name in files.items():
        exported = runner.invoke(main, ["lineage", "export", "--format", fmt, "--out", name])
        assert exported.exit_code == 0, exported.output
    by_asset = {a["asset"]: a for a in json.loads(Path(files["json"]).read_text())}
    safe_column = {"asset": f"safe/{DATASET}", "column": "visit_time"}
    assert by_asset[f"product/{SCENARIO}"]["sources"]["month"] == [safe_column]
    assert by_asset[f"safe/{DATASET}"]["sources"]["visit_pid"] == [
        {"asset": f"std/{DATASET}", "column": "visit_id"}
    ]
    events = [json.loads(line) for line in Path(files["openlineage"]).read_text().splitlines()]
    [product] = [e for e in events if e["job"]["name"] == f"product/{SCENARIO}"]
    assert product["eventType"] == "COMPLETE"
    assert product["outputs"][0]["facets"]["columnLineage"]["fields"]["month"] == {
        "inputFields": [
            {"namespace": "ycpipelines", "name": f"safe/{DATASET}", "field": "visit_time"}
        ]
    }
    page = Path(files["html"]).read_text()
    assert f"<a href='#safe/{DATASET}.visit_time'>safe/{DATASET}.visit_time</a>" in page

    drawn = runner.invoke(main, ["map", "--out", "map.html"])
    assert drawn.exit_code == 0, drawn.output
    svg = Path("map.html").read_text()
    for node in (
        f"bureau-{BUREAU}",
        f"dataset-{DATASET}",
        f"field-{DATASET}.visit_time",
        f"product-{SCENARIO}",
        "consumer-demo_pharma",
    ):
        assert f"id='{node}'" in svg, node
    assert f"data-from='{DATASET}.visit_time' data-to='{SCENARIO}'" in svg
    assert f"data-from='{SCENARIO}' data-to='demo_pharma'" in svg


def test_serve_starts_the_console_on_loopback_over_the_served_registry(served: Services) -> None:
    """`make serve` starts the console (运营平台控制台) beside the Dagster services, on loopback
    over the served PostgreSQL registry; its sign-in page answers and its log holds no error."""
    assert served.console_url and served.console_url.startswith("http://127.0.0.1:")
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{served.console_url}/login", timeout=5) as page:
                assert page.status == 200 and "登录" in page.read().decode()
                break
        except OSError:
            assert time.monotonic() < deadline, (served.logs / "console.log").read_text()[-2000:]
            time.sleep(1)
    log = (served.logs / "console.log").read_text()
    assert "Traceback" not in log
