"""What every command shares (命令上下文): the settings read once, the login and the registry."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from ycpipelines.foundation.settings import Settings

if TYPE_CHECKING:
    from ycpipelines.catalog import Catalog
    from ycpipelines.registry import Registry


@dataclass
class Cli:
    """The click context object `main` builds once: settings and the login running `ycp`."""

    settings: Settings
    login: Callable[[], str]
    _registry: "Registry | None" = field(default=None, repr=False)
    _catalog: "Catalog | None" = field(default=None, repr=False)

    def registry(self) -> "Registry":
        """The registry this invocation works on, opened once."""
        if self._registry is None:
            from ycpipelines.registry import Registry

            with registry_refusals():
                self.upgrade_embedded()
                self._registry = Registry(settings=self.settings)
        return self._registry

    def upgrade_embedded(self) -> None:
        """Migrate the embedded development registry (SQLite, not prod) where a command first
        needs it, so a fresh checkout runs; any other registry is migrated only by `ycp registry
        upgrade` or a service's start."""
        from ycpipelines.registry.schema import upgrade, upgrades_implicitly

        if upgrades_implicitly(self.settings.registry):
            upgrade(self.settings.registry)

    def catalog(self) -> "Catalog":
        """The catalog under `YC_CATALOG`, loaded once."""
        if self._catalog is None:
            from ycpipelines.catalog import load_catalog

            self._catalog = load_catalog(self.settings.catalog)
        return self._catalog

    def acting_user(self) -> str:
        """The registry account this login acts as (谁使用谁负责), never a name typed."""
        account = self.login()
        user = self.registry().user_for_account(account)
        if user is None:
            raise click.ClickException(
                f"the login {account!r} is not mapped to a registry account; an admin maps it "
                f"(ycp users add NAME --role … --os-account {account})"
            )
        return user.name


pass_cli = click.make_pass_decorator(Cli)


@contextmanager
def refused(*errors: type[Exception], prefix: str = "") -> Iterator[None]:
    """Turn the named errors (a registry refusal, a bad value) into a clean CLI error."""
    try:
        yield
    except errors as error:
        raise click.ClickException(f"{prefix}{error}") from error


@contextmanager
def registry_refusals() -> Iterator[None]:
    """The registry's own refusals (RegistryError) as clean CLI errors; a database that cannot
    be used is named by its driver's first line, never by the statement or its values."""
    from sqlalchemy.exc import DatabaseError

    from ycpipelines.registry import RegistryError

    try:
        yield
    except RegistryError as error:
        raise click.ClickException(str(error)) from error
    except DatabaseError as error:
        first = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        raise click.ClickException(f"the registry's database cannot be used: {first}") from error
