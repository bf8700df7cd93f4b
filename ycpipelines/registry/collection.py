"""Collection state (归集) of committed partitions: watermarks, source column baselines and
one-source conflicts, and operators' decisions on them (each an audit entry of its own).

A re-delivery that would shrink a committed partition to a fraction of its rows is refused
unless an operator accepts it for that run; the acceptance names the run and the counts, and
the later layers (std/) read it back instead of trusting a flag of their own.
"""

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ycpipelines.foundation.keys import Layer
from ycpipelines.registry.errors import RegistryError
from ycpipelines.registry.models import AuditEntry, Conflict, SourceColumn, Watermark

SHRINK_ACCEPTED = "collect.shrink_accepted"
COMMITTED = "collect.committed"


def partition_subject(layer: str, dataset: str, bureau: str, day: str) -> str:
    """The audit subject of one partition, `raw/<bureau>/<dataset>/<day>` (as collection uses)."""
    return f"{layer}/{bureau}/{dataset}/{day}"


class CollectionMixin:
    """Registry operations on collected partitions and their state (mixed into `Registry`)."""

    def accept_shrink(
        self,
        *,
        layer: str,
        dataset: str,
        bureau: str,
        day: str,
        run_id: str,
        actor: str,
        before: int,
        after: int,
    ) -> None:
        """Record that `actor` let run `run_id` replace `before` committed rows with `after`."""
        if not actor.strip():
            raise RegistryError("accepting a shrunk partition must name who accepts it")
        detail = {"run_id": run_id, "layer": layer, "before": before, "after": after}
        subject = partition_subject(layer, dataset, bureau, day)
        self._transact(lambda s: self._audit(s, actor, SHRINK_ACCEPTED, subject, detail))

    def _collection_entries(self, dataset: str, bureau: str, day: str) -> list[AuditEntry]:
        """The commits and accepted shrinks of one raw/ partition, oldest first."""
        with Session(self.engine) as session:
            return list(
                session.scalars(
                    select(AuditEntry)
                    .where(
                        AuditEntry.subject == partition_subject(Layer.RAW, dataset, bureau, day),
                        AuditEntry.action.in_([COMMITTED, SHRINK_ACCEPTED]),
                    )
                    .order_by(AuditEntry.id)
                )
            )

    def shrink_accepted(self, *, dataset: str, bureau: str, day: str) -> AuditEntry | None:
        """The acceptance behind the raw partition as committed now: the one naming the run
        whose collection was committed last; None when that run had none."""
        entries = self._collection_entries(dataset, bureau, day)
        committed = [e for e in entries if e.action == COMMITTED]
        if not committed:
            return None
        run_id = committed[-1].detail.get("run_id")
        return next(
            (e for e in entries if e.action == SHRINK_ACCEPTED and e.detail["run_id"] == run_id),
            None,
        )

    def committed_high(self, *, dataset: str, bureau: str, day: str) -> int | None:
        """The most rows a committed raw/ version of a partition held since the last accepted
        shrink (from the `collect.committed` entries); None before any commit."""
        entries = self._collection_entries(dataset, bureau, day)
        high: int | None = None
        for entry in entries:
            if entry.action == SHRINK_ACCEPTED:
                high = None  # the decision's own commit starts the new baseline
            else:
                high = max(high or 0, int(entry.detail.get("rows") or 0))
        return high

    def watermark(self, dataset: str, bureau: str, day: str) -> Watermark | None:
        with Session(self.engine) as session:
            return session.get(Watermark, (dataset, bureau, day))

    def source_columns(self, dataset: str, bureau: str) -> dict[str, str]:
        """Type family of each source column at the last committed collection."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(SourceColumn).where(
                    SourceColumn.dataset == dataset, SourceColumn.bureau == bureau
                )
            )
            return {r.column: r.family for r in rows}

    def commit_collection(
        self,
        *,
        dataset: str,
        bureau: str,
        day: str,
        run_id: str,
        columns: dict[str, str],
        watermark: tuple[str, str] | None,
        counts: dict[str, int],
    ) -> None:
        """Record a committed partition: column baseline, watermark, and an audit entry.

        Called only after the partition's files were swapped in, so a watermark never runs
        ahead of the data it describes (归集可追溯).
        """

        def work(session: Session) -> None:
            for column, family in columns.items():
                session.merge(
                    SourceColumn(
                        dataset=dataset, bureau=bureau, column=column, family=family, run_id=run_id
                    )
                )
            if watermark:
                session.merge(
                    Watermark(
                        dataset=dataset,
                        bureau=bureau,
                        day=day,
                        column=watermark[0],
                        high=watermark[1],
                        run_id=run_id,
                        committed_at=datetime.now(UTC),
                    )
                )
            self._audit(
                session,
                "collector",
                "collect.committed",
                partition_subject(Layer.RAW, dataset, bureau, day),
                {"run_id": run_id, **counts, "watermark": watermark[1] if watermark else None},
            )

        self._transact(work)

    def replace_conflicts(
        self, *, dataset: str, bureau: str, day: str, run_id: str, found: list[dict]
    ) -> None:
        """The one-source conflicts of a partition, replacing those of its earlier runs."""

        def work(session: Session) -> None:
            session.execute(
                delete(Conflict).where(
                    Conflict.dataset == dataset, Conflict.bureau == bureau, Conflict.day == day
                )
            )
            session.add_all(
                Conflict(dataset=dataset, bureau=bureau, day=day, run_id=run_id, **row)
                for row in found
            )

        self._transact(work)

    def conflicts(self, dataset: str) -> list[Conflict]:
        with Session(self.engine) as session:
            return list(
                session.scalars(
                    select(Conflict).where(Conflict.dataset == dataset).order_by(Conflict.id)
                )
            )

    def commits_since(self, dataset: str, bureau: str, since: str) -> dict[str, AuditEntry]:
        """The newest `collect.committed` entry of each of a bureau's days of `dataset` from
        `since` (an ISO day) on, by day (交付日历)."""
        prefix = partition_subject(Layer.RAW, dataset, bureau, "")
        mine = AuditEntry.subject.startswith(prefix, autoescape=True)
        query = select(AuditEntry).where(AuditEntry.action == COMMITTED, mine)
        with Session(self.engine) as session:
            found = session.scalars(query.order_by(AuditEntry.id))
            by_day = {e.subject.removeprefix(prefix): e for e in found}
        return {day: e for day, e in by_day.items() if day >= since}
