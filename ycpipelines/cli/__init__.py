"""`ycp`: the human interface besides the Dagster UI (命令行), one module per domain."""

import os
import pwd
import secrets
from pathlib import Path

import click

from ycpipelines.cli.context import Cli
from ycpipelines.foundation.environment import EnvironmentRefused
from ycpipelines.foundation.files import FILE_MODE, private_opener, private_platform, private_umask
from ycpipelines.foundation.settings import Settings, SettingsError
from ycpipelines.ops.environments import dagster_home, settle

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
# The code server that launched a run fails it as soon as its process dies; the daemon then runs
# it again once, never a run whose step failed. A run that never started fails after 180 s.
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  poll_interval_seconds: 30
run_retries:
  enabled: true
  max_retries: 1
  retry_on_asset_or_op_failure: false
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


def ensure_demo_key(settings: Settings | None = None) -> Settings:
    """The demo needs a pseudonymization key; make one in `.env` if none is set. The settings
    that hold the key."""
    settings = settings or Settings()
    if settings.pseudonym_key:
        return settings
    key = secrets.token_hex(32)
    with open(".env", "a", encoding="utf-8", opener=private_opener) as env:
        os.fchmod(env.fileno(), FILE_MODE)  # an existing `.env` too
        env.write(f"YC_PSEUDONYM_KEY={key}\n")
    Settings.export("YC_PSEUDONYM_KEY", key)
    click.echo("wrote a new demo pseudonymization key to .env (never commit it)")
    return Settings()


def os_account(settings: Settings | None = None) -> str:
    """The operating-system login running this command: under `sudo -u <platform account>`,
    the person sudo names (who holds neither the registry's credentials nor the audit keys);
    otherwise the effective user."""
    sudo_uid = (settings or Settings()).sudo_uid
    if sudo_uid is not None and sudo_uid != os.geteuid():
        return pwd.getpwuid(sudo_uid).pw_name
    return pwd.getpwuid(os.geteuid()).pw_name


def read_settings() -> Settings:
    """The settings, or a clean error naming each bad variable."""
    try:
        return Settings.read()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """ycpipelines: collect, govern, de-identify, productize and publish public data."""
    private_umask()
    read_settings()  # a bad variable is named before anything reads it
    prepare_environment()
    settings = read_settings()  # and once more with `.env`; every command receives these
    ctx.obj = Cli(settings=settings, login=lambda: os_account(settings))
    if changed := private_platform(Path.cwd(), settings):
        click.echo(f"made {changed} files and folders private (0600/0700)", err=True)


def register() -> None:
    """Attach each domain's commands to `main`."""
    from ycpipelines.cli import (
        alerts,
        audit,
        authorizations,
        backfill,
        catalog,
        console,
        deliveries,
        demo,
        dev,
        egress,
        ledger,
        lineage,
        notify,
        pii,
        psi,
        quality,
        registry,
        resource_map,
        sandbox,
        serve,
        tickets,
        trace,
        users,
    )

    domains = (demo, backfill, egress, pii, catalog, audit, tickets, quality, users)
    domains += (authorizations, trace, ledger, sandbox, psi, serve, dev, lineage, resource_map)
    domains += (alerts, registry, console, deliveries)
    domains += (notify,)
    for module in domains:
        main.add_command(module.command)


register()

__all__ = ["embedded_dagster_home", "ensure_demo_key", "main", "os_account", "prepare_environment"]
