"""Reading what runs recorded: materialization metadata, check results, failure messages;
opening the static pages for auditors in Chromium."""

import json
import os
import shutil
import subprocess
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from sqlalchemy import create_engine, text

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from ycpipelines.registry import Registry
    from ycpipelines.registry.models import ApprovalRequest, Delivery


def materializations(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, dict]:
    """Latest metadata per partition (or '' for an unpartitioned asset)."""
    latest: dict[str, dict] = {}
    records = instance.fetch_materializations(key, limit=10_000).records
    for record in sorted(records, key=lambda r: r.storage_id):
        materialization = record.asset_materialization
        assert materialization is not None
        latest[materialization.partition or ""] = {
            k: v.value for k, v in materialization.metadata.items()
        }
    return latest


def totals(by_partition: dict[str, dict], field: str) -> int:
    return sum(int(m[field]) for m in by_partition.values())


def failures(result: dg.ExecuteInProcessResult) -> str:
    """Every step failure's message in one string."""
    messages = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            messages.append(error.to_string() if error else "")
    return "\n".join(messages)


def checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    found: dict[str, bool] = defaultdict(bool)
    for evaluation in result.get_asset_check_evaluations():
        found[evaluation.check_name] = evaluation.passed
    return dict(found)


@contextmanager
def edited_suite(
    catalog_copy: Path, dataset: str, edit: Callable[[dict], object]
) -> Iterator[Path]:
    """Within, definitions load the copy's suites, the dataset's JSON changed by `edit`."""
    path = catalog_copy / "expectations" / f"{dataset}.json"
    suite = json.loads(path.read_text())
    edit(suite)
    path.write_text(json.dumps(suite))
    os.environ["YC_EXPECTATIONS"] = str(path.parent)
    try:
        yield path
    finally:
        del os.environ["YC_EXPECTATIONS"]


def upgraded(url: str) -> str:
    """`url`, its registry schema migrated to the code's revision (as `ycp registry upgrade`
    leaves it): a `Registry` refuses a database that is not."""
    from ycpipelines.registry import Registry

    Registry.upgrade(url)
    return url


ADMIN = "数据局"  # the tests' admin (数据主管部门); each account acts as a login of its own name


def accounts(registry: "Registry", roles: dict[str, list[str]]) -> None:
    """Accounts for a test, granted by the admin (bootstrapped once); each maps the login of its
    own name, so `ycp(..., as_user=name)` acts as it."""
    if registry.user(ADMIN) is None:
        registry.bootstrap_admin(ADMIN, ADMIN)
    for name, granted in roles.items():
        registry.add_user(name, granted, ADMIN, os_account=name)


def ycp(*args: str, ok: bool = True, as_user: str | None = None) -> str:
    """Run `ycp …` as a user would, logged in as `as_user` (default: the admin); assert it
    succeeded (or, with `ok=False`, that it failed)."""
    from unittest.mock import patch

    from click.testing import CliRunner

    from ycpipelines.cli import main

    with patch("ycpipelines.cli.os_account", lambda *_: as_user or ADMIN):
        result = CliRunner().invoke(main, list(args))
    assert (result.exit_code == 0) == ok, result.output or repr(result.exception)
    return result.output


def ingest_demo_days(sources: dict, since: date | None = None, until: date | None = None) -> None:
    """Collect, govern and de-identify every partition of the demo sources (from `since` to
    `until`, by default their first and last days), two at a time."""
    from ycpipelines.catalog import load_catalog
    from ycpipelines.demo.run import ingest

    first, last = (date.fromisoformat(sources[k]) for k in ("first", "end"))
    _, failed = ingest(load_catalog(), since or first, until or last, 2)
    assert failed == []


def grant(consumer: str, scenario: str, first: date | None = None, last: date | None = None) -> int:
    """`ycp auth grant` of `scenario` to `consumer`, from the pilot's today for 30 days unless
    told; returns the authorization's id."""
    from ycpipelines.foundation.clock import pilot_today

    first = first or pilot_today()
    last = last or pilot_today() + timedelta(days=30)
    out = ycp(
        "auth",
        "grant",
        "--consumer",
        consumer,
        "--scenario",
        scenario,
        "--from",
        str(first),
        "--to",
        str(last),
        "--plan",
        f"预案-{consumer}: 停止交付并通知召回",
    )
    return int(out.split()[1].rstrip(":"))


def build_and_review(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    registry: "Registry",
    operator: str,
    scenario: str,
) -> dict[str, "ApprovalRequest"]:
    """Build the products as `operator`, then one review sensor tick: the newest request of
    each authorized consumer of `scenario`."""
    from ycpipelines.demo.run import launched, review_tick

    built = launched(defs, instance, registry, "build_products", operator)
    assert built.success
    review_tick(defs, instance)
    return {r.consumer: r for r in registry.requests() if r.scenario == scenario}


def resident_identifiers(sources: Path) -> set[str]:
    """Every ID number, name and phone of the demo population register's raw rows."""
    import sqlite3

    with sqlite3.connect(sources / "population.sqlite") as con:
        rows = con.execute("SELECT id_number, name, phone FROM residents").fetchall()
    return {v for row in rows for v in row if v}


def publish_run(
    defs: dg.Definitions, instance: dg.DagsterInstance, scenario: str, request: object = None
) -> dg.ExecuteInProcessResult:
    """A publish run of `scenario` as the sensor launches it, tagged with `request` (none when
    None: the tag an attacker leaves out) in the partition of the request's consumer (none when
    the registry knows no such request)."""
    from ycpipelines.demo.run import QUIET
    from ycpipelines.egress.consumers import open_deliveries
    from ycpipelines.egress.publish import APPROVAL_TAG
    from ycpipelines.registry import Registry, RegistryError

    tags = {} if request is None else {APPROVAL_TAG: str(request)}
    consumer = None
    if str(request).isdigit():
        try:
            consumer = Registry().request(int(str(request))).consumer
        except RegistryError:
            consumer = None
    if consumer is not None:
        open_deliveries(instance, scenario, [consumer])
    return defs.resolve_job_def(f"publish_{scenario}").execute_in_process(
        instance=instance,
        run_config=QUIET,
        raise_on_error=False,
        tags=tags,
        partition_key=consumer,
    )


def deliver_file(
    registry: "Registry", consumer: str, zone: Path, source: Path, reviewer: str
) -> "Delivery":
    """`source` delivered to `consumer` through the one delivery path (`egress.delivery`), as a
    product's approved file is: a grant by the admin, the request the sensor files (built by an
    operator), `reviewer`'s approval in the audit chain, then `deliver`. No Dagster run: the
    order names no build whose privacy checks it re-reads."""
    from datetime import timedelta

    from upath import UPath

    from ycpipelines.egress.delivery import deliver
    from ycpipelines.egress.records import Order, Scope
    from ycpipelines.foundation.clock import pilot_today
    from ycpipelines.foundation.lake import file_digest

    scenario, today = "underwriting_features", pilot_today()
    grant = registry.grant(
        consumer=consumer, scenario=scenario, fields=["score"], plan=f"预案-{consumer}",
        valid_from=today - timedelta(days=1), valid_to=today + timedelta(days=30), actor=ADMIN,
    )  # fmt: skip
    request, _ = registry.file_request(
        "egress-sensor", scenario=scenario, consumer=consumer, authorization_id=grant.id,
        content_hash=file_digest(UPath(source)), row_count=1, product_path=str(source),
        product_run_id="run-1", launched_by="赵运营", evidence={},
    )  # fmt: skip
    registry.decide(request.id, approve=True, reviewer=reviewer, comment="同意")

    def write(snapshot: UPath, staging: Path) -> Path:
        shutil.copyfile(snapshot, staging / source.name)
        return staging / source.name

    order = Order(
        request_id=request.id, consumer=consumer, scenario=scenario,
        scope=Scope(scenario, ("score",)), source=UPath(source), folder=scenario, write=write,
        fingerprint="test", actor="egress-publisher",
    )  # fmt: skip
    deliver(registry, order, zone)
    [delivery] = [d for d in registry.deliveries(consumer=consumer) if d.request_id == request.id]
    return delivery


SHOTS = Path(os.environ.get("SHOTS_DIR") or Path(__file__).parent / "artifacts")


@contextmanager
def opened(path: Path, width: int = 1400, height: int = 900) -> Iterator["Page"]:
    """A static page for auditors, from its file:// URL, in Debian's headless Chromium; its
    scripts run and nothing is fetched from the network."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": height}, locale="zh-CN")
        fetched: list[str] = []
        page.on("request", lambda r: fetched.append(r.url))
        page.goto(path.resolve().as_uri(), wait_until="load")
        yield page
        browser.close()
    assert all(url.startswith("file://") for url in fetched), fetched


def screenshot(page: "Page", folder: Path, name: str, full_page: bool = True) -> Path:
    """A PNG of the page under `folder` (a test's tmp dir), copied where people look at it:
    the folder `SHOTS_DIR` names, or tests/artifacts."""
    shot = folder / f"{name}.png"
    page.screenshot(path=str(shot), full_page=full_page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SHOTS / shot.name)
    return shot


SERVERS = {
    "postgresql": "postgresql+psycopg2://postgres@127.0.0.1:5432",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306",
}


@contextmanager
def server_database(server: str) -> Iterator[str]:
    """A fresh database on the machine's PostgreSQL or MariaDB server, dropped afterwards."""
    name = f"ycp_test_{uuid.uuid4().hex[:8]}"
    admin_db = "postgres" if server == "postgresql" else "test"
    admin = create_engine(f"{SERVERS[server]}/{admin_db}", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield f"{SERVERS[server]}/{name}"
    finally:
        drop = f"DROP DATABASE {name}" + (" WITH (FORCE)" if server == "postgresql" else "")
        with admin.connect() as conn:
            conn.execute(text(drop))
        admin.dispose()


def sensor_tick(
    defs: dg.Definitions, instance: dg.DagsterInstance, name: str, cursor: str | None = None
) -> tuple[list[dg.RunRequest], str | None]:
    """One evaluation of the sensor `name`, as the daemon's: its run requests, the cursor after."""
    repository = defs.get_repository_def()
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, repository_def=repository
    ) as context:
        data = repository.get_sensor_def(name).evaluate_tick(context)
    return list(data.run_requests or []), data.cursor


NOBODY = 65534  # another local account: the attacks on private files run as it (root only)


def as_nobody(*command: str) -> subprocess.CompletedProcess:
    """`command` as uid/gid 65534 with no supplementary group (root's group is dropped)."""
    return subprocess.run(
        command, user=NOBODY, group=NOBODY, extra_groups=[], capture_output=True, text=True
    )
