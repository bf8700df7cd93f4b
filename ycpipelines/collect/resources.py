"""Bureau systems as a Dagster resource (数源系统)."""

from pathlib import Path

import dagster as dg

from ycpipelines.catalog.models import FileSource, SqlSource
from ycpipelines.foundation.environment import refuse_in_prod
from ycpipelines.foundation.settings import Settings


class SourcesResource(dg.ConfigurableResource):
    """Bureau systems: a SQL source's URL comes from its environment variable; the embedded
    default (the generated demo systems under `demo_root`) applies only when it is unset."""

    demo_root: str
    inbox_root: str | None = None

    def url(self, source: SqlSource, bureau: str) -> str:
        configured = Settings.secret(source.connection_env)
        if not configured:
            refuse_in_prod(f"the demo source of {bureau} ({source.connection_env} unset)")
        return configured or f"sqlite:///{Path(self.demo_root) / f'{bureau}.sqlite'}"

    def inbox(self, source: FileSource) -> Path:
        return Path(self.inbox_root or Path(self.demo_root) / "inbox") / source.inbox
