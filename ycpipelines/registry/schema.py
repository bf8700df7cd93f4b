"""The registry's schema revision (库表版本): Alembic migrations run only when asked.

`ycp registry upgrade`, `ycp serve` and `ycp demo run` bring a database to the newest revision
(the embedded development registry also migrates where the code location loads or a command
first opens it); a `Registry` only checks the revision, once per
database per process, and refuses a database that is behind.
"""

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from ycpipelines.foundation.environment import is_prod
from ycpipelines.registry.errors import RegistryError

MIGRATION_LOCK = 7_265_512  # PostgreSQL advisory lock key of registry migrations
AT_HEAD: set[str] = set()  # databases this process found (or brought) at the newest revision


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return config


@cache
def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the registry has no migrations"
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's revision (one query of `alembic_version`); None when never migrated. A
    database that cannot be reached raises, never reads as empty."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def require_current(url: str, engine: Engine) -> None:
    """Refuse a database whose schema is not the code's revision; checked once per process."""
    if url in AT_HEAD:
        return
    found, needed = current_revision(engine), head_revision()
    if found != needed:
        raise RegistryError(
            f"registry schema is at {found or 'no revision (empty database)'}, code needs "
            f"{needed}: run `ycp registry upgrade`"
        )
    AT_HEAD.add(url)


def upgrade(url: str) -> str:
    """Bring the registry schema to the newest revision; returns it. Idempotent, and safe for
    processes starting together: on PostgreSQL they migrate one after the other."""
    database = make_url(url).database
    if make_url(url).get_backend_name() == "sqlite" and database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    try:
        if current_revision(engine) != head_revision():
            config = alembic_config()
            with engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
    finally:
        engine.dispose()
    AT_HEAD.add(url)
    return head_revision()


def revisions(url: str) -> tuple[str | None, str]:
    """The database's revision and the code's."""
    engine = create_engine(url)
    try:
        return current_revision(engine), head_revision()
    finally:
        engine.dispose()


def upgrades_implicitly(url: str) -> bool:
    """The embedded development registry (SQLite, YC_ENV not prod) is upgraded by any `ycp`
    command, so a fresh checkout runs; elsewhere only `ycp registry upgrade` and service start
    migrate."""
    return make_url(url).get_backend_name() == "sqlite" and not is_prod()
