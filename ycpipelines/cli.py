"""`ycp`: the human interface besides the Dagster UI."""

import json
import os
import pwd
import secrets
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ycpipelines.foundation.environment import EnvironmentRefused, refuse_in_prod
from ycpipelines.foundation.files import FILE_MODE, private_opener, private_platform, private_umask
from ycpipelines.foundation.settings import Settings
from ycpipelines.ops.environments import dagster_home, settle

if TYPE_CHECKING:
    from ycpipelines.registry import Registry

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
    dagster_home(EMBEDDED_INSTANCE)


def prepare_environment() -> None:
    """Settle the environment (YC_ENV): `.env` and the embedded instance in dev, the
    PostgreSQL instance of deploy/dagster.yaml in prod."""
    try:
        settle(Path.cwd(), EMBEDDED_INSTANCE)
    except EnvironmentRefused as refusal:
        raise click.ClickException(str(refusal)) from refusal


def ensure_demo_key() -> None:
    """The demo needs a pseudonymization key; make one in `.env` if none is set."""
    if Settings().pseudonym_key:
        return
    key = secrets.token_hex(32)
    with open(".env", "a", encoding="utf-8", opener=private_opener) as env:
        os.fchmod(env.fileno(), FILE_MODE)  # an existing `.env` too
        env.write(f"YC_PSEUDONYM_KEY={key}\n")
    Settings.export_default("YC_PSEUDONYM_KEY", key)
    click.echo("wrote a new demo pseudonymization key to .env (never commit it)")


def os_account() -> str:
    """The operating-system login running this command: under `sudo -u <platform account>`,
    the person sudo names (who holds neither the registry's credentials nor the audit keys);
    otherwise the effective user."""
    sudo_uid = Settings().sudo_uid
    if sudo_uid is not None and sudo_uid != os.geteuid():
        return pwd.getpwuid(sudo_uid).pw_name
    return pwd.getpwuid(os.geteuid()).pw_name


def acting_user(registry: "Registry") -> str:
    """The registry account this login acts as (谁使用谁负责): never a name typed on the line."""
    account = os_account()
    user = registry.user_for_account(account)
    if user is None:
        raise click.ClickException(
            f"the login {account!r} is not mapped to a registry account; an admin maps it "
            f"(ycp users add NAME --role … --os-account {account})"
        )
    return user.name


def upgrade_embedded_registry() -> None:
    """Migrate the embedded development registry (SQLite, YC_ENV not prod) at start, so a fresh
    checkout runs; any other registry is migrated by `ycp registry upgrade` or service start."""
    from ycpipelines.registry.schema import upgrade, upgrades_implicitly

    url = Settings().registry
    if upgrades_implicitly(url):
        upgrade(url)


@click.group()
@click.pass_context
def main(context: click.Context) -> None:
    """ycpipelines: collect, govern, de-identify, productize and publish public data."""
    private_umask()
    prepare_environment()
    if changed := private_platform(Path.cwd(), Settings()):
        click.echo(f"made {changed} files and folders private (0600/0700)", err=True)
    if context.invoked_subcommand != "registry":  # which reports and migrates it itself
        upgrade_embedded_registry()


@main.group("registry")
def registry_group() -> None:
    """The registry database's schema (运营登记库): its revision and its migrations."""


def registry_location() -> str:
    """The registry's URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(Settings().registry).render_as_string(hide_password=True)


@registry_group.command("upgrade")
def registry_upgrade() -> None:
    """Migrate the registry (YC_REGISTRY_URL) to the code's newest schema revision. Idempotent;
    processes upgrading together on PostgreSQL migrate one after the other."""
    from ycpipelines.registry import Registry
    from ycpipelines.registry.schema import revisions

    url = Settings().registry
    before, _ = revisions(url)
    after = Registry.upgrade(url)
    if before == after:
        click.echo(f"registry schema is at {after}, the newest ({registry_location()})")
    else:
        click.echo(f"registry schema upgraded from {before or 'empty'} to {after}")


@registry_group.command("status")
def registry_status() -> None:
    """Print the registry's schema revision and the code's newest; fail when they differ."""
    from ycpipelines.registry.schema import revisions

    current, head = revisions(Settings().registry)
    click.echo(f"registry: {registry_location()}\ncurrent: {current or 'empty'}\nhead: {head}")
    if current != head:
        raise click.ClickException("the registry is behind the code: run `ycp registry upgrade`")


@main.group()
def demo() -> None:
    """Demo source systems and the end-to-end demo (development only)."""
    try:
        refuse_in_prod("ycp demo")
    except EnvironmentRefused as refusal:
        raise click.ClickException(str(refusal)) from refusal


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

    out = out or Path(Settings().sources_root)
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

    Registry.upgrade(Settings().registry)
    started = time.perf_counter()
    manifest = write_sources(rows, seed, Path(Settings().sources_root), days)
    click.echo(f"demo sources: {rows} visits over {days} days in {Settings().sources_root}")
    catalog = load_catalog()
    result = run_demo(
        build_definitions(catalog),
        catalog,
        dg.DagsterInstance.get(),
        Registry(),
        date.fromisoformat(manifest["first"]),
        date.fromisoformat(manifest["end"]),
        workers,
        os_account=os_account(),
    )
    click.echo(f"{result.runs} runs in {time.perf_counter() - started:.1f}s")
    if result.failed:
        raise click.ClickException(f"failed runs: {result.failed}")
    click.echo(
        f"approval requests {result.request_ids} approved by the demo reviewer "
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


def _decide(request_id: int, approve: bool, comment: str) -> None:
    from ycpipelines.registry import Registry, RegistryError

    registry = Registry()
    reviewer = acting_user(registry)
    try:
        request = registry.decide(request_id, approve=approve, reviewer=reviewer, comment=comment)
    except RegistryError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"request {request.id} {request.status} by {reviewer}: {request.content_hash}")


@egress.command("approve")
@click.argument("request_id", type=int)
@click.option("--comment", required=True)
def egress_approve(request_id: int, comment: str) -> None:
    """Approve exactly the content a request names, as the account this login maps to."""
    _decide(request_id, True, comment)


@egress.command("reject")
@click.argument("request_id", type=int)
@click.option("--comment", required=True)
def egress_reject(request_id: int, comment: str) -> None:
    """Reject a request, as the account this login maps to."""
    _decide(request_id, False, comment)


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
    from ycpipelines.foundation.lake import duck

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
    from ycpipelines.foundation.lake import Lake, duck

    entry = next((d for d in load_catalog().datasets if d.id == dataset), None)
    if entry is None:
        raise click.ClickException(f"unknown dataset {dataset!r}")
    files = dataset_files(Lake(Settings().lake_root), entry)
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
@click.option(
    "--against",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="a copy of the checkpoints exported earlier (ycp audit anchor): they must still hold",
)
def audit_verify(against: Path | None) -> None:
    """Check the keyed chain, its signed checkpoints and the state tables; fail saying which
    check failed and since when."""
    from ycpipelines.registry import Registry
    from ycpipelines.registry.anchor import exported_checkpoints

    registry = Registry()
    exported = exported_checkpoints(against, registry.anchor) if against else None
    verdict = registry.verify_audit(exported)
    for problem in verdict.problems:
        click.echo(f"FAILED {problem.check} (since {problem.since}): {problem.message}", err=True)
    if not verdict.ok:
        raise click.ClickException(f"audit chain does not verify: {len(verdict.problems)} problems")
    point = verdict.checkpoint
    click.echo(
        f"audit chain verified: {verdict.entries} entries, head {verdict.head}; "
        + (f"newest signed checkpoint: entry {point.entry} at {point.at}" if point else "")
    )


@audit.command("anchor")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
def audit_anchor(out: Path) -> None:
    """Export the signed checkpoints and the public key, for the supervisor (监管) to keep."""
    import shutil

    from ycpipelines.registry import Registry
    from ycpipelines.registry.anchor import CHECKPOINTS, PUBLIC_KEY

    anchor = Registry().anchor
    out.mkdir(parents=True, exist_ok=True)
    for name in (CHECKPOINTS, PUBLIC_KEY):
        if (anchor.folder / name).exists():
            shutil.copyfile(anchor.folder / name, out / name)
    click.echo(f"exported {CHECKPOINTS} and {PUBLIC_KEY} to {out}")


@main.group()
def tickets() -> None:
    """问题数据反馈: feedback tickets to bureaus about quarantined and conflicting rows."""


@tickets.command("list")
@click.option("--status", default=None, help="open, acknowledged, disputed, fixed, closed")
@click.option("--bureau", default=None)
@click.option("--dataset", default=None)
def tickets_list(status: str | None, bureau: str | None, dataset: str | None) -> None:
    from ycpipelines.registry import Registry

    for t in Registry().tickets(status=status, bureau=bureau, dataset=dataset):
        click.echo(
            f"{t.id}\t{t.status}\t{t.bureau}\t{t.dataset}\t{t.day}\t{t.rule}\t{t.count} rows"
        )


@tickets.command("show")
@click.argument("ticket_id", type=int)
def tickets_show(ticket_id: int) -> None:
    """A ticket with the rows it names (masked key and source line) and its history."""
    from ycpipelines.registry import Registry, RegistryError

    registry = Registry()
    try:
        t = registry.ticket(ticket_id)
    except RegistryError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"ticket {t.id} [{t.status}] {t.bureau} / {t.dataset} / {t.day} ({t.stage})")
    click.echo(f"rule: {t.rule}\nreason: {t.reason}\nrows: {t.count}")
    if t.note:
        click.echo(f"note: {t.note}")
    for key in t.row_keys:
        click.echo(f"  {key}")
    for entry in registry.history(f"ticket/{t.id}"):
        click.echo(f"{entry.at:%Y-%m-%d %H:%M:%S}\t{entry.actor}\t{entry.action}")


def _act(ticket_id: int, action: str, note: str) -> None:
    from ycpipelines.registry import Registry, RegistryError

    registry = Registry()
    actor = acting_user(registry)
    try:
        t = registry.act_on_ticket(ticket_id, action, actor=actor, note=note)
    except RegistryError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"ticket {t.id} {t.status} by {actor}")


@tickets.command("ack")
@click.argument("ticket_id", type=int)
@click.option("--comment", default="")
def tickets_ack(ticket_id: int, comment: str) -> None:
    """The bureau has seen the ticket and will re-deliver (its bureau:<id> accounts only)."""
    _act(ticket_id, "ack", comment)


@tickets.command("dispute")
@click.argument("ticket_id", type=int)
@click.option("--reason", required=True, help="the objection (异议): why the data is right")
def tickets_dispute(ticket_id: int, reason: str) -> None:
    """The bureau objects: its data is right (its bureau:<id> accounts only)."""
    _act(ticket_id, "dispute", reason)


@tickets.command("close")
@click.argument("ticket_id", type=int)
@click.option("--comment", required=True, help="the resolution")
def tickets_close(ticket_id: int, comment: str) -> None:
    """The governance team (admin or operator) closes a ticket; never the bureau itself."""
    _act(ticket_id, "close", comment)


@main.group()
def quality() -> None:
    """数据质量: the quality report of the govern stage."""


@quality.command("report")
@click.option("--out", default=None, help="folder for the HTML pages [YC_HOME/reports/quality]")
def quality_report(out: str | None) -> None:
    """Write a static HTML report: pass/fail per dataset and partition, trends, tickets."""
    import dagster as dg

    from ycpipelines.catalog import load_catalog
    from ycpipelines.govern.report import write_report
    from ycpipelines.registry import Registry

    folder = Path(out) if out else Settings().home / "reports" / "quality"
    with dg.DagsterInstance.get() as instance:
        pages = write_report(instance, load_catalog(), Registry(), folder)
    click.echo(f"wrote {len(pages)} pages; open {pages[0]}")


@main.group()
def users() -> None:
    """Registry users and their roles (e.g. reviewer 审核员)."""


@users.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="e.g. reviewer, bureau:health")
@click.option("--os-account", default=None, help="the login this account acts as in `ycp`")
def users_add(name: str, roles: tuple[str, ...], os_account: str | None) -> None:
    """Grant roles to an account (an admin only)."""
    from ycpipelines.registry import Registry, RegistryError

    registry = Registry()
    try:
        user = registry.add_user(name, list(roles), acting_user(registry), os_account=os_account)
    except RegistryError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{user.name}: {', '.join(user.roles)}")


@users.command("bootstrap-admin")
@click.argument("name")
def users_bootstrap(name: str) -> None:
    """The first admin (数据主管部门), acting as this login; refused once an admin exists."""
    from ycpipelines.registry import Registry, RegistryError

    try:
        user = Registry().bootstrap_admin(name, os_account())
    except RegistryError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{user.name}: admin, acting as the login {user.os_account}")


@users.command("list")
def users_list() -> None:
    """Accounts, their roles and the login each acts as."""
    from ycpipelines.registry import Registry

    registry = Registry()
    for u in registry.users():
        verified = "" if registry.verified_roles(u.name) else "\tUNVERIFIED roles"
        demo = "\tdemo" if u.demo else ""
        click.echo(f"{u.name}\t{','.join(u.roles)}\t{u.os_account or '-'}{demo}{verified}")


@main.group()
def auth() -> None:
    """授权: authorizations of consumers for scenarios, each with its contingency plan."""


@auth.command("grant")
@click.option("--consumer", required=True)
@click.option("--scenario", required=True, help="a product, or safe/<dataset> for sandbox queries")
@click.option("--field", "fields", multiple=True, help="granted fields [every field]")
@click.option("--from", "first", required=True, help="valid from, YYYY-MM-DD")
@click.option("--to", "last", required=True, help="valid to, YYYY-MM-DD")
@click.option("--plan", required=True, help="the contingency plan (预案) or its reference")
@click.option("--epsilon", type=float, default=None, help="privacy budget of sandbox queries")
def auth_grant(
    consumer: str,
    scenario: str,
    fields: tuple[str, ...],
    first: str,
    last: str,
    plan: str,
    epsilon: float | None,
) -> None:
    """Authorize a consumer for a scenario (an admin only)."""
    from ycpipelines.catalog import Policy, load_catalog
    from ycpipelines.registry import Registry, RegistryError

    catalog = load_catalog()
    grantable = {p.scenario: [f.name for f in p.fields] for p in catalog.products} | {
        f"safe/{d.id}": [f.safe_column for f in d.fields if f.policy != Policy.DROP]
        for d in catalog.datasets
    }
    if scenario not in grantable:
        raise click.ClickException(f"no product or safe dataset {scenario!r}")
    if scenario.startswith("safe/") and epsilon is None:
        raise click.ClickException("sandbox access needs a privacy budget (--epsilon)")
    unknown = sorted(set(fields) - set(grantable[scenario]))
    if unknown:
        raise click.ClickException(f"fields {unknown} are not in {scenario}")
    registry = Registry()
    try:
        grant = registry.grant(
            consumer=consumer,
            scenario=scenario,
            fields=list(fields) or grantable[scenario],
            valid_from=date.fromisoformat(first),
            valid_to=date.fromisoformat(last),
            plan=plan,
            actor=acting_user(registry),
            epsilon=epsilon,
        )
    except RegistryError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"authorization {grant.id}: {consumer} may receive {scenario} until {last}")


@auth.command("list")
@click.option("--consumer", default=None)
def auth_list(consumer: str | None) -> None:
    from ycpipelines.registry import Registry

    for a in Registry().authorizations(consumer=consumer):
        click.echo(
            f"{a.id}\t{a.status}\t{a.consumer}\t{a.scenario}\t{a.valid_from}..{a.valid_to}\t"
            f"{len(a.fields)} fields\t{a.plan}"
        )


def _change(grant_id: int, status: str, reason: str) -> None:
    from ycpipelines.registry import Registry, RegistryError

    registry = Registry()
    try:
        grant, voided, revoked = registry.change_authorization(
            grant_id, status, actor=acting_user(registry), reason=reason
        )
    except RegistryError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"authorization {grant.id} {grant.status}")
    if status == "revoked":
        click.echo(f"voided {voided} open requests; {revoked} delivered versions marked revoked")
        click.echo(f"contingency plan (预案): {grant.plan}")


@auth.command("suspend")
@click.argument("grant_id", type=int)
@click.option("--reason", required=True)
def auth_suspend(grant_id: int, reason: str) -> None:
    """Stop deliveries until resumed."""
    _change(grant_id, "suspended", reason)


@auth.command("resume")
@click.argument("grant_id", type=int)
@click.option("--reason", required=True)
def auth_resume(grant_id: int, reason: str) -> None:
    _change(grant_id, "active", reason)


@auth.command("revoke")
@click.argument("grant_id", type=int)
@click.option("--reason", required=True)
def auth_revoke(grant_id: int, reason: str) -> None:
    """Stop deliveries for good, void open requests, mark deliveries revoked, print the plan."""
    _change(grant_id, "revoked", reason)


@main.command("trace")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def trace_file(file: Path) -> None:
    """溯源: name the consumer and delivery a leaked copy (Parquet or CSV) came from."""
    from ycpipelines.catalog import load_catalog
    from ycpipelines.egress.trace import trace
    from ycpipelines.registry import Registry

    matches = trace(file, load_catalog(), Registry())
    if not matches:
        raise click.ClickException("no delivery carries these pseudonyms")
    for m in matches:
        d = m.delivery
        click.echo(
            f"consumer {d.consumer}\tdelivery {d.id}\t{d.scenario} {d.version}\t"
            f"{d.delivered_at:%Y-%m-%d %H:%M}\tcolumn {m.column}\tmatched {m.share:.1%}"
        )


@audit.command("export")
@click.option("--from", "first", required=True, help="first day, YYYY-MM-DD")
@click.option("--to", "last", required=True, help="last day, YYYY-MM-DD")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def audit_export(first: str, last: str, fmt: str, out: Path) -> None:
    """Write the audit entries of a period for auditors, with each entry's payload hash."""
    import csv
    import hashlib

    from ycpipelines.registry import Registry

    start, end = date.fromisoformat(first), date.fromisoformat(last)
    rows = [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "subject": e.subject,
            "payload": json.dumps(e.detail, ensure_ascii=False, sort_keys=True),
            "payload_hash": hashlib.sha256(
                json.dumps(e.detail, ensure_ascii=False, sort_keys=True).encode()
            ).hexdigest(),
            "prev_hash": e.prev_hash,
            "hash": e.hash,
        }
        for e in Registry().audit_log()
        if start <= e.at.date() <= end
    ]
    with out.open("w", encoding="utf-8", newline="") as f:
        if fmt == "json":
            json.dump(rows, f, ensure_ascii=False, indent=1)
        else:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["id"])
            writer.writeheader()
            writer.writerows(rows)
    click.echo(f"wrote {len(rows)} audit entries to {out}")


@main.group()
def ledger() -> None:
    """收益分配: revenue of deliveries, split among contributing bureaus."""


@ledger.command("settle")
@click.option("--period", required=True, help="month, YYYY-MM")
def ledger_settle(period: str) -> None:
    """Split the period's delivery prices by the rows each bureau contributed, in cents."""
    from ycpipelines.registry import Registry, RegistryError

    registry = Registry()
    try:
        shares = registry.settle(period, acting_user(registry))
    except RegistryError as error:
        raise click.ClickException(str(error)) from error
    for s in shares:
        click.echo(f"{period}\t{s.bureau}\t{s.cents / 100:.2f}\t{len(s.deliveries)} deliveries")
    click.echo(f"{period}\ttotal\t{sum(s.cents for s in shares) / 100:.2f}")


@main.group()
def sandbox() -> None:
    """数据可用不可见: aggregate queries with differential privacy, released after review."""


@sandbox.command("submit")
@click.argument("spec", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--consumer", required=True)
def sandbox_submit(spec: Path, consumer: str) -> None:
    """Run a query spec (JSON: dataset, dimensions, measures, filters, epsilon) in the domain."""
    from ycpipelines.catalog import load_catalog
    from ycpipelines.foundation.clock import pilot_today
    from ycpipelines.foundation.lake import Lake
    from ycpipelines.registry import Registry
    from ycpipelines.sandbox.query import QueryRefused
    from ycpipelines.sandbox.service import submit

    try:
        query = submit(
            json.loads(spec.read_text(encoding="utf-8")),
            consumer,
            load_catalog(),
            Registry(),
            Lake(Settings().lake_root),
            pilot_today(),
        )
    except QueryRefused as refusal:
        raise click.ClickException(f"refused: {refusal}") from refusal
    click.echo(
        f"query {query.id}: ε {query.epsilon} charged; result awaits review "
        f"(approval request {query.request_id})"
    )


@sandbox.command("status")
@click.argument("query_id", type=int)
def sandbox_status(query_id: int) -> None:
    from ycpipelines.registry import Registry, RegistryError

    registry = Registry()
    try:
        query = registry.sandbox_query(query_id)
    except RegistryError as error:
        raise click.ClickException(str(error)) from error
    review = registry.request(query.request_id).status if query.request_id else "-"
    left = registry.authorization(query.authorization_id).epsilon - registry.spent(
        query.authorization_id
    )
    click.echo(
        f"query {query.id}\t{query.consumer}\t{query.status}\treview {review}\t"
        f"ε {query.epsilon}\tbudget left {left:.4g}\t{query.reason or ''}"
    )


@sandbox.command("result")
@click.argument("query_id", type=int)
@click.option("--consumer", required=True)
def sandbox_result(query_id: int, consumer: str) -> None:
    """Deliver an approved result into the consumer's zone and print its rows."""
    import pyarrow.parquet as pq

    from ycpipelines.registry import Registry
    from ycpipelines.sandbox.query import QueryRefused
    from ycpipelines.sandbox.service import deliver_result

    try:
        path = deliver_result(query_id, consumer, Registry(), Path(Settings().zone_root))
    except QueryRefused as refusal:
        raise click.ClickException(str(refusal)) from refusal
    click.echo(f"delivered: {path}")
    for row in pq.read_table(path).to_pylist():
        click.echo(json.dumps(row, ensure_ascii=False, default=str))


@main.group("psi")
def psi_group() -> None:
    """隐私求交: private set intersection of an insurer's applicants with the platform's data."""


@psi_group.command("serve")
@click.option("--socket", "path", required=True, type=click.Path(path_type=Path))
@click.option("--sessions", type=int, default=None, help="stop after this many sessions")
def psi_serve(path: Path, sessions: int | None) -> None:
    """The platform side, on a Unix socket."""
    from ycpipelines.catalog import load_catalog
    from ycpipelines.foundation.lake import Lake
    from ycpipelines.registry import Registry
    from ycpipelines.sandbox.psi import PlatformSide, serve

    secret = Settings().pseudonym_key
    key = secret.get_secret_value() if secret else None
    if not key:
        raise click.ClickException("YC_PSEUDONYM_KEY is not set")
    side = PlatformSide(load_catalog(), Registry(), Lake(Settings().lake_root), key).load()
    click.echo(f"serving PSI for {len(side.ids)} residents on {path}")
    serve(side, path, sessions)


@psi_group.command("client")
@click.option("--socket", "path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--consumer", required=True)
@click.option("--ids", "ids_file", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def psi_client(path: Path, consumer: str, ids_file: Path, out: Path) -> None:
    """The insurer side: applicants' ID numbers in (one per line), their features out (CSV)."""
    import csv

    from ycpipelines.sandbox.psi import PsiRefused, ask

    ids = ids_file.read_text(encoding="utf-8").splitlines()
    try:
        rows, exchanged = ask(path, consumer, ids)
    except PsiRefused as refusal:
        raise click.ClickException(f"refused: {refusal}") from refusal
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["id_number"])
        writer.writeheader()
        writer.writerows(rows)
    click.echo(f"{len(rows)} of {len(ids)} applicants matched; {exchanged} bytes exchanged")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True)
@click.option(
    "--read-only",
    is_flag=True,
    help="an auditors' webserver beside a served instance: no launches, no edits, no daemon",
)
def serve_command(host: str, port: int, read_only: bool) -> None:
    """运维: code server, dagster-webserver and dagster-daemon on the PostgreSQL instance."""
    from ycpipelines.catalog import load_catalog
    from ycpipelines.ops.environments import require_production
    from ycpipelines.ops.serve import serve

    try:
        require_production(load_catalog())
    except EnvironmentRefused as refusal:
        raise click.ClickException(str(refusal)) from refusal
    logs = Settings().home / "serve" / ("logs-read-only" if read_only else "logs")
    with serve(logs, host, port, read_only) as services:
        click.echo(f"serving {services.url} (logs in {logs}); Ctrl-C stops")
        try:
            while all(p.poll() is None for p in services.processes.values()):
                time.sleep(5)
        except KeyboardInterrupt:
            return
    raise click.ClickException(f"a served process exited; see {logs}")


@main.group()
def lineage() -> None:
    """字段级血缘: column-level lineage for auditors."""


@lineage.command("export")
@click.option("--format", "fmt", type=click.Choice(["html", "json", "openlineage"]), default="html")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def lineage_export(fmt: str, out: Path) -> None:
    """Write every asset's columns and the columns each came from, as runs recorded them."""
    import dagster as dg

    from ycpipelines.definitions import build_definitions
    from ycpipelines.ops.lineage import FORMATS, collect

    with dg.DagsterInstance.get() as instance:
        assets = collect(build_definitions(), instance)
    out.write_text(FORMATS[fmt](assets), encoding="utf-8")
    traced = sum(len(a.sources) for a in assets)
    click.echo(f"wrote {len(assets)} assets, {traced} traced columns to {out}")


@main.command("map")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def resource_map(out: Path) -> None:
    """资源图谱: bureaus → datasets → fields (level) → products → consumers, as an HTML graph."""
    from ycpipelines.catalog import load_catalog
    from ycpipelines.ops.resource_map import render
    from ycpipelines.registry import Registry

    consumers: dict[str, set[str]] = {}
    for grant in Registry().authorizations():
        if grant.status == "active":
            consumers.setdefault(grant.scenario, set()).add(grant.consumer)
    out.write_text(render(load_catalog(), consumers), encoding="utf-8")
    click.echo(f"wrote the resource map to {out}")


@main.command("alerts")
def alerts_list() -> None:
    """告警: failed runs recorded by the alert sensor, and what the webhook answered."""
    from ycpipelines.registry import Registry

    for a in Registry().alerts():
        click.echo(
            f"{a.id}\t{a.raised_at:%Y-%m-%d %H:%M}\t{a.kind}\t{a.subject}\t{a.run_id or ''}\t"
            f"{a.notified or 'pending'}\t{a.message}"
        )
