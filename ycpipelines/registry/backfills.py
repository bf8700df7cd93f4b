"""Backfill requests (补采申请): a bureau asks to collect its own partitions again; only an
account holding `bureau:<id>` may ask for bureau `<id>`'s days, and another bureau's are
`NotFound`, worded as for a dataset that does not exist. The collect stage's sensor submits each
request to the Dagster instance (the daemon runs it) and records its progress here."""

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ycpipelines.registry.bureau_models import BackfillRequest
from ycpipelines.registry.errors import RegistryError
from ycpipelines.registry.identity import ADMIN, OPERATOR, SUPERVISOR
from ycpipelines.registry.offer import CatalogLike
from ycpipelines.registry.scopes import scoped

SENSOR_ACTOR = "backfill-sensor"
BACKFILL_READERS = frozenset({ADMIN, OPERATOR, SUPERVISOR})
OPEN = ("requested", "submitted")  # not finished yet
MAX_DAYS = 92  # one request covers at most a quarter of days


class BackfillsMixin:
    """Registry operations on backfill requests (mixed into `Registry`)."""

    def request_backfill(
        self, actor: str, catalog: CatalogLike, *, dataset: str, first: date, last: date
    ) -> BackfillRequest:
        """Record `actor`'s request to backfill `dataset` (its bureau the catalog's owner of
        it) for first..last; audited. Another bureau's dataset, or none, is `NotFound`
        (audited `access.refused`); days an open request of the dataset covers are refused."""
        bureau = next((d.bureau for d in catalog.datasets if d.id == dataset), "")
        self.require_bureau(actor, bureau, dataset)
        if last < first:
            raise RegistryError(f"the last day {last} is before the first {first}")
        if (last - first).days >= MAX_DAYS:
            raise RegistryError(f"a backfill covers at most {MAX_DAYS} days; split it")

        def work(session: Session) -> BackfillRequest:
            overlapping = select(BackfillRequest.id).where(
                BackfillRequest.bureau == bureau,
                BackfillRequest.dataset == dataset,
                BackfillRequest.status.in_(OPEN),
                BackfillRequest.first <= last,
                BackfillRequest.last >= first,
            )
            if (open_id := session.scalar(overlapping.limit(1))) is not None:
                raise RegistryError(
                    f"backfill request {open_id} of {dataset} covers some of these days and is "
                    "not finished yet; wait for it"
                )
            now = datetime.now(UTC)
            found = BackfillRequest(
                bureau=bureau,
                dataset=dataset,
                first=first,
                last=last,
                requested_by=actor,
                requested_at=now,
                status="requested",
                runs=(last - first).days + 1,
                done=0,
                failed=0,
                rows=0,
                updated_at=now,
            )
            session.add(found)
            session.flush()
            detail = {"bureau": bureau, "dataset": dataset, "first": str(first), "last": str(last)}
            self._audit(session, actor, "backfill.requested", f"backfill/{found.id}", detail)
            return found

        return self._transact(work)

    def require_bureau(self, actor: str, bureau: str, dataset: str) -> None:
        """`NotFound` (audited) unless `actor` acts for `bureau`, the dataset's owner."""
        if not bureau or bureau not in scoped(self.verified_roles(actor), "bureau"):
            self._not_found(actor, "dataset", dataset, bool(bureau))

    def backfills_for(self, actor: str) -> list[BackfillRequest]:
        """The backfill requests the account may see, newest first: every one for the admin,
        operators and the supervisor, its bureaus' own for a bureau."""
        roles = self.verified_roles(actor)
        query = select(BackfillRequest).order_by(BackfillRequest.id.desc())
        if not roles & BACKFILL_READERS:
            query = query.where(BackfillRequest.bureau.in_(scoped(roles, "bureau")))
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def open_backfills(self) -> list[BackfillRequest]:
        """Requests not finished yet, oldest first (the sensor's work)."""
        query = select(BackfillRequest).where(BackfillRequest.status.in_(OPEN))
        with Session(self.engine) as session:
            return list(session.scalars(query.order_by(BackfillRequest.id)))

    def backfill_submitted(self, request_id: int, backfill_id: str) -> None:
        """Record, audited, the Dagster backfill that carries out a request."""
        self._backfill_step(request_id, "submitted", {"backfill_id": backfill_id})

    def backfill_progress(
        self, request_id: int, *, done: int, failed: int, rows: int, finished: bool, ok: bool
    ) -> None:
        """The backfill's days collected (`done`, of the request's days), its runs failed (a run
        does up to a month of days) and the rows collected; its end audited."""
        status = ("succeeded" if ok else "failed") if finished else "submitted"
        counts = {"done": done, "failed": failed, "rows": rows}
        self._backfill_step(request_id, status, counts, audited=finished)

    def _backfill_step(
        self, request_id: int, status: str, values: dict, audited: bool = True
    ) -> None:
        def work(session: Session) -> None:
            found = session.get(BackfillRequest, request_id)
            if found is None or found.status not in OPEN:
                raise RegistryError(f"backfill request {request_id} is not open")
            for name, value in {"status": status, **values}.items():
                setattr(found, name, value)
            found.updated_at = datetime.now(UTC)
            if audited:
                subject = f"backfill/{request_id}"
                self._audit(session, SENSOR_ACTOR, f"backfill.{status}", subject, values)

        self._transact(work)
