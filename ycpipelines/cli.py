"""`ycp`: the human interface besides the Dagster UI."""

import json
import os
import secrets
import time
from datetime import date
from pathlib import Path

import click
from dotenv import load_dotenv

from ycpipelines.lake import home

EMBEDDED_INSTANCE = """\
# Embedded Dagster instance (SQLite); production uses deploy/dagster.yaml.
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 2
    tag_concurrency_limits:
      - key: dagster/partition/bureau
        value:
          applyLimitPerUniqueValue: true
        limit: 2
telemetry:
  enabled: false
"""


def embedded_dagster_home() -> None:
    """Point Dagster at the embedded instance under YC_HOME unless DAGSTER_HOME is set."""
    os.environ.setdefault("DAGSTER_HOME", str(home() / "dagster"))
    config = Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml"
    if not config.exists():
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(EMBEDDED_INSTANCE)


def prepare_environment() -> None:
    """Read `.env`, then settle the Dagster instance."""
    load_dotenv(Path.cwd() / ".env")
    embedded_dagster_home()


def ensure_demo_key() -> None:
    """The demo needs a pseudonymization key; make one in `.env` if none is set."""
    if os.environ.get("YC_PSEUDONYM_KEY"):
        return
    key = secrets.token_hex(32)
    with open(".env", "a", encoding="utf-8") as env:
        env.write(f"YC_PSEUDONYM_KEY={key}\n")
    os.environ["YC_PSEUDONYM_KEY"] = key
    click.echo("wrote a new demo pseudonymization key to .env (never commit it)")


@click.group()
def main() -> None:
    """ycpipelines: collect, govern, de-identify, productize and publish public data."""
    prepare_environment()


@main.group()
def demo() -> None:
    """Demo source systems and the end-to-end demo."""


@demo.command("sources")
@click.option("--rows", default=20_000, show_default=True, help="outpatient visits")
@click.option("--seed", default=7, show_default=True)
@click.option("--days", default=7, show_default=True, help="days of deliveries")
@click.option("--end", default="2025-06-30", show_default=True, help="last day delivered")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="folder of the source systems [default: $YC_HOME/sources]",
)
@click.option("--into", default=None, help="also copy the bureau databases to this server URL")
def demo_sources(
    rows: int, seed: int, days: int, end: str, out: Path | None, into: str | None
) -> None:
    """Generate the bureaus' source systems (SQLite databases and a GBK CSV inbox)."""
    from ycpipelines.demo.sources import write_sources
    from ycpipelines.resources import default_sources_root

    out = out or Path(default_sources_root())
    manifest = write_sources(rows, seed, out, days, date.fromisoformat(end))
    if into:
        from ycpipelines.catalog import load_catalog
        from ycpipelines.demo.servers import load_into

        manifest["copied_to_server"] = load_into(into, out, load_catalog())
    click.echo(json.dumps(manifest, ensure_ascii=False, indent=2))


@demo.command("run")
@click.option("--rows", default=20_000, show_default=True, help="outpatient visits")
@click.option("--seed", default=7, show_default=True)
@click.option("--days", default=7, show_default=True, help="days of deliveries")
@click.option("--workers", default=2, show_default=True, help="partitions run side by side")
def demo_run(rows: int, seed: int, days: int, workers: int) -> None:
    """Generate sources, run the whole lineage, approve as the demo reviewer, publish."""
    ensure_demo_key()
    import dagster as dg

    from ycpipelines.catalog import load_catalog
    from ycpipelines.definitions import build_definitions
    from ycpipelines.demo.run import run_demo
    from ycpipelines.demo.sources import write_sources
    from ycpipelines.registry import Registry
    from ycpipelines.resources import default_sources_root

    started = time.perf_counter()
    manifest = write_sources(rows, seed, Path(default_sources_root()), days)
    click.echo(f"demo sources: {rows} visits over {days} days in {default_sources_root()}")
    catalog = load_catalog()
    result = run_demo(
        build_definitions(catalog),
        catalog,
        dg.DagsterInstance.get(),
        Registry(),
        date.fromisoformat(manifest["first"]),
        date.fromisoformat(manifest["end"]),
        workers,
    )
    click.echo(f"{result.runs} runs in {time.perf_counter() - started:.1f}s")
    if result.failed:
        raise click.ClickException(f"failed runs: {result.failed}")
    click.echo(
        f"approval request {result.request_id} approved by the demo reviewer "
        "(演示审核员, not a real person)"
    )
    for path in result.published:
        click.echo(f"published: {path}")
    click.echo(
        "browse the lineage: .venv/bin/dagster dev -w workspace.yaml "
        "(then open http://127.0.0.1:3000)"
    )


@main.command("backfill")
@click.option("--bureau", required=True, help="bureau id, e.g. health")
@click.option("--from", "first", required=True, help="first day, YYYY-MM-DD")
@click.option("--to", "last", required=True, help="last day, YYYY-MM-DD")
@click.option("--dataset", "datasets", multiple=True, help="only these datasets of the bureau")
def backfill(first: str, last: str, bureau: str, datasets: tuple[str, ...]) -> None:
    """补采: submit a backfill of a bureau's days; the Dagster daemon runs it."""
    import dagster as dg

    from ycpipelines.catalog import load_catalog
    from ycpipelines.collect.backfill import submit_backfill
    from ycpipelines.definitions import build_definitions

    catalog = load_catalog()
    with dg.DagsterInstance.get() as instance:
        try:
            backfill_id = submit_backfill(
                instance,
                build_definitions(catalog),
                catalog,
                bureau,
                date.fromisoformat(first),
                date.fromisoformat(last),
                list(datasets),
            )
        except ValueError as error:
            raise click.ClickException(str(error)) from error
    click.echo(
        f"backfill {backfill_id} submitted: {bureau} {first}..{last}; "
        "the daemon runs it (dagster-daemon, or make dev)"
    )


@main.group()
def egress() -> None:
    """出域审核: review approval requests for product deliveries."""


@egress.command("list")
@click.option("--status", default=None, help="pending, approved, rejected, published, superseded")
def egress_list(status: str | None) -> None:
    from ycpipelines.registry import Registry

    for r in Registry().requests(status):
        click.echo(
            f"{r.id}\t{r.status}\t{r.scenario}\t{r.consumer}\t{r.row_count} rows\t"
            f"{r.content_hash}\t{r.reviewer or ''}"
        )


def _decide(request_id: int, approve: bool, reviewer: str, comment: str) -> None:
    from ycpipelines.registry import Registry, RegistryError

    try:
        request = Registry().decide(request_id, approve=approve, reviewer=reviewer, comment=comment)
    except RegistryError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"request {request.id} {request.status} by {reviewer}: {request.content_hash}")


@egress.command("approve")
@click.argument("request_id", type=int)
@click.option("--reviewer", required=True)
@click.option("--comment", required=True)
def egress_approve(request_id: int, reviewer: str, comment: str) -> None:
    """Approve exactly the content a request names."""
    _decide(request_id, True, reviewer, comment)


@egress.command("reject")
@click.argument("request_id", type=int)
@click.option("--reviewer", required=True)
@click.option("--comment", required=True)
def egress_reject(request_id: int, reviewer: str, comment: str) -> None:
    _decide(request_id, False, reviewer, comment)


@main.group()
def pii() -> None:
    """敏感信息扫描: find personal information with the Chinese recognizers."""


@pii.command("scan")
@click.option(
    "--table",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="scan a CSV or Parquet table per column instead of JSON lines on stdin",
)
@click.option("--sample", default=10_000, show_default=True, help="rows of the table sampled")
def pii_scan(table: Path | None, sample: int) -> None:
    """Read JSON lines {"text": …} on stdin, write one line {"findings": […]} for each, in
    order; with --table, write one line per column: the entity types and the share of values
    carrying each."""
    from ycpipelines.deid.scan import findings, scan_columns, table_relation
    from ycpipelines.lake import duck

    if table is not None:
        try:
            relation = table_relation(table)
        except ValueError as error:
            raise click.ClickException(str(error)) from error
        with duck() as con:
            for column in scan_columns(con, relation, sample):
                click.echo(json.dumps(column.to_json(), ensure_ascii=False))
        return
    stdin = click.get_text_stream("stdin", encoding="utf-8")
    for number, line in enumerate(stdin, start=1):
        try:
            text = json.loads(line)["text"] if line.strip() else ""
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise click.ClickException(f'line {number}: expected {{"text": …}}') from error
        if not isinstance(text, str):
            raise click.ClickException(f'line {number}: "text" is not a string')
        click.echo(json.dumps({"findings": findings(text)}, ensure_ascii=False))


@main.group()
def catalog() -> None:
    """资源目录: the declarative catalog under assets/."""


@catalog.command("classify")
@click.argument("dataset")
@click.option("--sample", default=10_000, show_default=True, help="rows sampled")
def catalog_classify(dataset: str, sample: int) -> None:
    """分类分级: propose category and level per column from a sample of the dataset's newest
    std/ partitions (raw/ before any is governed) and print where the catalog differs."""
    from ycpipelines.catalog import load_catalog
    from ycpipelines.deid.classify import classify, dataset_files, differences
    from ycpipelines.lake import Lake, default_lake_root, duck

    entry = next((d for d in load_catalog().datasets if d.id == dataset), None)
    if entry is None:
        raise click.ClickException(f"unknown dataset {dataset!r}")
    files = dataset_files(Lake(Path(default_lake_root())), entry)
    if not files:
        raise click.ClickException(f"no std/ or raw/ data of {dataset!r} in the lake yet")
    with duck() as con:
        proposals = classify(con, files, sample)
    found = differences(entry, proposals)
    for difference in found:
        click.echo(str(difference))
    below = sum(d.below_minimum for d in found)
    click.echo(
        f"{dataset}: {len(proposals)} columns sampled from {len(files)} partitions; "
        f"{len(found)} differences, {below} below the minimum level"
    )


@main.group()
def audit() -> None:
    """全流程审计: the hash-chained audit log."""


@audit.command("verify")
def audit_verify() -> None:
    """Recompute the chain; fail naming the first entry that does not verify."""
    from ycpipelines.registry import Registry

    registry = Registry()
    broken = registry.verify_audit_chain()
    if broken is not None:
        raise click.ClickException(f"audit chain broken at entry {broken}")
    click.echo(f"audit chain verified: {len(registry.audit_log())} entries")
