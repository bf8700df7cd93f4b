"""Environments (开发与生产环境隔离): `YC_ENV=dev|prod` selects lake root, registry, Dagster home
and keys. Development runs on the embedded defaults under `./.yc` and reads `.env`; production
reads only the process environment and refuses anything made for the demo."""

from pathlib import Path

from dotenv import dotenv_values, load_dotenv

from ycpipelines.catalog import Catalog
from ycpipelines.catalog.models import FileSource, SqlSource
from ycpipelines.foundation.environment import EnvironmentRefused, is_prod
from ycpipelines.foundation.settings import PROD_HOME, PROJECT_ROOT, Settings

KNOWN_DEMO_KEYS = {"test-pseudonym-key-not-for-production"}
MIN_KEY_LENGTH = 32


def dagster_home(instance: str | Path) -> None:
    """Point Dagster at `$YC_HOME/dagster` unless DAGSTER_HOME is set, writing `instance` (the
    text, or a file of it) as its dagster.yaml when it has none."""
    home = Settings().dagster_home
    Settings.export_default("DAGSTER_HOME", str(home))
    config = home / "dagster.yaml"
    if not config.exists():
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(instance.read_text() if isinstance(instance, Path) else instance)


def settle(cwd: Path, embedded_instance: str) -> None:
    """Fix the environment's defaults before anything reads them: in dev `.env` and the
    embedded SQLite instance under YC_HOME; in prod YC_HOME defaults to a system path, `.env`
    is ignored and DAGSTER_HOME gets the PostgreSQL instance of `deploy/dagster.yaml`."""
    if is_prod():
        Settings.export_default("YC_HOME", str(PROD_HOME))
        dagster_home(PROJECT_ROOT / "deploy" / "dagster.yaml")
    else:
        load_dotenv(cwd / ".env")
        dagster_home(embedded_instance)


def demo_keys(cwd: Path) -> set[str]:
    """Keys that must never pseudonymize production data: the test key and any key that
    `make demo` wrote to a `.env` file."""
    written = dotenv_values(cwd / ".env").get("YC_PSEUDONYM_KEY")
    return KNOWN_DEMO_KEYS | ({written} if written else set())


def production_problems(catalog: Catalog, cwd: Path, settings: Settings) -> list[str]:
    """What keeps this process from running as production; empty when nothing does."""
    problems = [
        f"{name} unset: the audit chain's {what} must be kept outside the registry"
        for name, what, value in (
            ("YC_AUDIT_KEY", "key", settings.audit_key),
            ("YC_AUDIT_SIGNING_KEY", "signing key", settings.audit_signing_key),
        )
        if not value
    ]
    if not (settings.registry_url or "").startswith("postgresql"):
        problems.append("YC_REGISTRY_URL must name the PostgreSQL registry")
    key = settings.pseudonym_key.get_secret_value() if settings.pseudonym_key else ""
    if key in demo_keys(cwd):
        problems.append("YC_PSEUDONYM_KEY is a demo or test key")
    elif len(key) < MIN_KEY_LENGTH:
        problems.append(f"YC_PSEUDONYM_KEY must be a secret of at least {MIN_KEY_LENGTH} chars")
    for dataset in catalog.datasets:
        source = dataset.source
        if isinstance(source, SqlSource) and not settings.secret(source.connection_env):
            problems.append(f"{source.connection_env} unset: {dataset.id} would read demo data")
        if isinstance(source, FileSource) and not settings.inbox:
            problems.append(f"YC_INBOX unset: {dataset.id} would read the demo inbox")
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists() or "postgres" not in config.read_text():
        problems.append(f"{config} must store the Dagster instance in PostgreSQL")
    return sorted(set(problems))


def require_production(
    catalog: Catalog, cwd: Path | None = None, settings: Settings | None = None
) -> None:
    """In prod, refuse to load anything while a demo setting is in force."""
    settings = settings or Settings()
    if not is_prod(settings):
        return
    problems = production_problems(catalog, cwd or Path.cwd(), settings)
    if problems:
        raise EnvironmentRefused("YC_ENV=prod refuses to start: " + "; ".join(problems))
