"""The registry database (运营登记库): the engine, the transaction every change runs in, and the
`Registry` composed of one module per record type (requests and decisions, authorizations,
deliveries and their downloads, tickets, collection state, the sandbox, alerts, identity,
admission and demand, notifications, console credentials and sessions, the audit chain) and the
reads scoped to one account."""

import random
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from functools import cache
from typing import TypeVar

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ycpipelines.foundation.settings import Settings
from ycpipelines.registry.admissions import AdmissionsMixin
from ycpipelines.registry.alerts import AlertsMixin
from ycpipelines.registry.anchor import Anchor
from ycpipelines.registry.audit import FIRST, HEAD, AuditMixin
from ycpipelines.registry.authorizations import AuthorizationsMixin
from ycpipelines.registry.backfills import BackfillsMixin
from ycpipelines.registry.collection import CollectionMixin
from ycpipelines.registry.credentials import CredentialsMixin
from ycpipelines.registry.deliveries import DeliveriesMixin
from ycpipelines.registry.demands import DemandsMixin
from ycpipelines.registry.downloads import DownloadsMixin
from ycpipelines.registry.errors import RegistryError
from ycpipelines.registry.identity import IdentityMixin
from ycpipelines.registry.ledger import LedgerMixin
from ycpipelines.registry.models import RegistryMeta
from ycpipelines.registry.notifications import NotificationsMixin
from ycpipelines.registry.requests import RequestsMixin
from ycpipelines.registry.sandbox import SandboxMixin
from ycpipelines.registry.schema import require_current, upgrade
from ycpipelines.registry.scopes import ScopesMixin
from ycpipelines.registry.tickets import TicketsMixin

T = TypeVar("T")


def default_registry_url() -> str:
    return Settings().registry


@cache
def open_registry(url: str) -> "Registry":
    """One registry (and connection pool) per database per process."""
    return Registry(url)


class Registry(
    AuditMixin,
    IdentityMixin,
    CredentialsMixin,
    RequestsMixin,
    AuthorizationsMixin,
    DeliveriesMixin,
    DownloadsMixin,
    ScopesMixin,
    TicketsMixin,
    CollectionMixin,
    SandboxMixin,
    AlertsMixin,
    AdmissionsMixin,
    DemandsMixin,
    NotificationsMixin,
    BackfillsMixin,
    LedgerMixin,
):
    """Operations on the registry; every change is audited in the same transaction, and the
    range of entries each transaction wrote is signed outside the database.

    Constructing one runs no migration: it refuses a database whose schema is not the code's
    revision (`Registry.upgrade(url)`, `ycp registry upgrade`)."""

    upgrade = staticmethod(upgrade)

    def __init__(self, url: str | None = None, settings: Settings | None = None) -> None:
        self.settings = settings = settings or Settings()
        self.url = url or settings.registry
        sqlite = self.url.startswith("sqlite")
        # SQLite has one writer at a time: this process's writers queue here, and another
        # process's writer is waited for (30 s) instead of failing at once.
        self.engine: Engine = create_engine(
            self.url, connect_args={"timeout": 30} if sqlite else {}
        )
        self._writers = threading.RLock() if sqlite else nullcontext()
        try:
            require_current(self.url, self.engine)
        except RegistryError:
            self.engine.dispose()
            raise
        with Session(self.engine) as session:
            meta = session.get(RegistryMeta, "registry_id")
        if meta is None:
            raise RegistryError("the registry has no id (registry_meta): it was tampered with")
        self.anchor = Anchor.load(meta.value, settings)

    def _transact(self, work: Callable[[Session], T], attempts: int = 8) -> T:
        """Run `work` in one transaction, then sign the range of audit entries it appended; when
        a concurrent writer won a race on a unique key (the chain's head on SQLite, a watermark,
        a column baseline), wait a little and run it again: each `work` reads the state it
        changes, so a retry sees the winner's row."""
        for attempt in range(attempts):
            with self._writers, Session(self.engine, expire_on_commit=False) as session:
                try:
                    result = work(session)
                    session.commit()
                    if HEAD in session.info:
                        self.anchor.checkpoint(session.info[FIRST], *session.info[HEAD])
                    return result
                except IntegrityError:
                    session.rollback()
                    if attempt == attempts - 1:
                        raise
            time.sleep(random.uniform(0, 0.02 * 2**attempt))
        raise AssertionError("unreachable")
