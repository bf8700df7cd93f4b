"""`ycp demo run`: the whole lineage on the embedded defaults, start to published file.

Runs go through the same Dagster jobs and sensor the daemon would use, recorded in the
instance under DAGSTER_HOME, so `dagster dev` shows them afterwards.
"""

import multiprocessing
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.collect.backfill import rows_collected
from ycpipelines.egress.review import LAUNCHED_BY
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.partitions import days_between, partition_key, partition_tags
from ycpipelines.jobs import check_job_name, cross_checks, dataset_job_name
from ycpipelines.registry import Registry

# The demo's accounts (演示账户), marked `demo`: production refuses them.
DEMO_ADMIN = "demo-admin"  # grants the roles and authorizations; maps the login running the demo
DEMO_OPERATOR = "demo-operator"  # launches the product builds; may not approve them (four eyes)
DEMO_REVIEWER = "demo-reviewer"  # approves the demo's requests; never in production
DEMO_PLAN = "演示预案 demo contingency plan: stop deliveries, notify the consumer, recall copies"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
BUILDS = ("build_person_master", "build_products")  # launched by the demo's operator
DEMO_COMMENT = "演示审核 demo review recorded by `make demo`; not a real person's decision"


@dataclass(frozen=True)
class Tally:
    """How far the demo's runs are (进度): done of total (the total grows when the publish runs
    are known), failed, and the rows collected so far."""

    done: int = 0
    total: int = 0
    failed: int = 0
    rows: int = 0

    def ran(self, ok: bool, rows: int = 0) -> "Tally":
        return replace(
            self, done=self.done + 1, failed=self.failed + (not ok), rows=self.rows + rows
        )


Report = Callable[[Tally], None]


def ignore(_: Tally) -> None:
    """The default progress report: none."""


@dataclass
class Tracker:
    """Keeps the tally of runs planned and done, and reports it after each change."""

    report: Report = ignore
    tally: Tally = field(default_factory=Tally)

    def plan(self, runs: int) -> None:
        self.tally = replace(self.tally, total=self.tally.total + runs)
        self.report(self.tally)

    def ran(self, ok: bool, rows: int = 0) -> None:
        self.tally = self.tally.ran(ok, rows)
        self.report(self.tally)


@dataclass(frozen=True)
class DemoResult:
    runs: int
    failed: list[str]
    request_ids: list[int]
    published: list[Path]


def collected_rows(result: dg.ExecuteInProcessResult) -> int:
    """Rows the run collected."""
    return rows_collected(e.materialization for e in result.get_asset_materialization_events())


def run_partition(job_name: str, bureau: str, day: str) -> tuple[bool, int]:
    """One run of a partition in a worker process, against the instance under DAGSTER_HOME:
    whether it succeeded, and the rows it collected."""
    from ycpipelines.definitions import defs

    job = defs.resolve_job_def(job_name)
    where = (
        {"partition_key": partition_key(bureau, day)}
        if job.partitions_def
        else {"tags": partition_tags(bureau, day)}
    )
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance, run_config=QUIET, raise_on_error=False, **where
        )
    return result.success, collected_rows(result)


def run_all(
    tasks: list[tuple[str, str, str]], workers: int, report: Callable[[bool, int], None]
) -> list[str]:
    """Run (job, bureau, day) partitions `workers` at a time, reporting each as it finishes;
    the ones that failed."""
    if not tasks:
        return []
    failed = []
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(run_partition, *task): task for task in tasks}
        for future in as_completed(futures):
            ok, rows = future.result()
            report(ok, rows)
            if not ok:
                job, bureau, day = futures[future]
                failed.append(f"{job} {bureau}|{day}")
    return sorted(failed)


def ingest(
    catalog: Catalog,
    first: date,
    last: date,
    workers: int,
    datasets: list[Dataset] | None = None,
    tracker: Tracker | None = None,
) -> tuple[int, list[str]]:
    """One run per dataset × bureau × day, as a backfill would launch them, `workers` at a time
    and in any order (`datasets`, default the catalog's); then the checks that read another
    dataset (一数一源, journalist risk), which depend on both and so run after both; `tracker`
    counts them."""
    days = days_between(first, last)
    chosen = datasets or catalog.datasets
    tasks = [(dataset_job_name(d), d.bureau, day) for d in chosen for day in days]
    checks = [
        (check_job_name(d), d.bureau, day)
        for d in chosen
        if cross_checks(catalog, d)
        for day in days
    ]
    tracker = tracker or Tracker()
    tracker.plan(len(tasks) + len(checks))
    failed = run_all(tasks, workers, tracker.ran)
    return len(tasks) + len(checks), failed + run_all(checks, workers, tracker.ran)


def review_tick(defs: dg.Definitions, instance: dg.DagsterInstance) -> list[dg.RunRequest]:
    """Evaluate the egress review sensor once, as the daemon would."""
    sensor = defs.resolve_sensor_def("egress_review")
    with dg.build_sensor_context(
        instance=instance, definitions=defs, resources=defs.resources
    ) as context:
        result = sensor(context)
    return list(result.run_requests or [])


def launch(
    defs: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest
) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def(request.job_name or "")
    return job.execute_in_process(
        instance=instance,
        tags=request.tags,
        run_config=QUIET,
        raise_on_error=False,
        partition_key=request.partition_key,
    )


def demo_accounts(registry: Registry, os_account: str | None) -> None:
    """The demo's admin (acting as the login that runs the demo), operator and reviewer, once."""
    if registry.user(DEMO_ADMIN) is None:
        registry.bootstrap_admin(DEMO_ADMIN, os_account or DEMO_ADMIN, demo=True)
    for name, role in ((DEMO_OPERATOR, "operator"), (DEMO_REVIEWER, "reviewer")):
        registry.add_user(name, [role], DEMO_ADMIN, demo=True)


def launched(
    defs: dg.Definitions, instance: dg.DagsterInstance, registry: Registry, job: str, by: str
) -> dg.ExecuteInProcessResult:
    """Run a job as `by`, whose launch the registry records before the run exists."""
    run_id = str(uuid.uuid4())
    registry.record_launch(by, run_id, job)
    return defs.resolve_job_def(job).execute_in_process(
        instance=instance,
        run_config=QUIET,
        raise_on_error=False,
        run_id=run_id,
        tags={LAUNCHED_BY: by},
    )


def authorize_demo_consumers(catalog: Catalog, registry: Registry, today: date) -> None:
    """A year's authorization of each product's consumer, granted by the demo's admin, once."""
    for product in catalog.products:
        if not registry.active_authorizations(product.scenario, today):
            registry.grant(
                consumer=product.consumer,
                scenario=product.scenario,
                fields=[f.name for f in product.fields],
                valid_from=today,
                valid_to=today + timedelta(days=365),
                plan=DEMO_PLAN,
                actor=DEMO_ADMIN,
            )


def run_demo(
    defs: dg.Definitions,
    catalog: Catalog,
    instance: dg.DagsterInstance,
    registry: Registry,
    first: date,
    last: date,
    workers: int = 2,
    approve: bool = True,
    os_account: str | None = None,
    report: Report = ignore,
) -> DemoResult:
    """Ingest every partition, build the person master and products, file the reviews, approve
    as the demo reviewer, and publish through the sensor's run requests; `report` hears the
    tally of runs after each one."""
    tracker = Tracker(report)
    tracker.plan(len(BUILDS))
    runs, failed = ingest(catalog, first, last, workers, tracker=tracker)
    demo_accounts(registry, os_account)
    authorize_demo_consumers(catalog, registry, pilot_today())
    for job in BUILDS:
        result = launched(defs, instance, registry, job, DEMO_OPERATOR)
        runs += 1
        tracker.ran(result.success)
        if not result.success:
            failed.append(job)
    review_tick(defs, instance)
    pending = [r.id for r in registry.requests(status="pending")]
    published = []
    if approve and pending:
        for request_id in pending:
            registry.decide(request_id, approve=True, reviewer=DEMO_REVIEWER, comment=DEMO_COMMENT)
        requests = review_tick(defs, instance)
        tracker.plan(len(requests))
        for request in requests:
            result = launch(defs, instance, request)
            runs += 1
            tracker.ran(result.success)
            if not result.success:
                failed.append(f"publish {request.tags}")
        published = [
            Path(r.published_path)
            for r in registry.requests(status="published")
            if r.published_path
        ]
    return DemoResult(runs=runs, failed=failed, request_ids=pending, published=published)
