"""Sandbox queries and their privacy budget (ε ledger) in the registry; each change is audited."""

from datetime import UTC, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ycpipelines.registry.errors import RegistryError
from ycpipelines.registry.models import Authorization, SandboxQuery

SANDBOX_ACTOR = "sandbox"


def charged(grant_id: int) -> Select:
    """The ε charged against an authorization: every query not refused."""
    return select(func.coalesce(func.sum(SandboxQuery.epsilon), 0.0)).where(
        SandboxQuery.authorization_id == grant_id, SandboxQuery.status != "refused"
    )


class SandboxMixin:
    """Registry operations of the sandbox (mixed into `Registry`)."""

    def spent(self, grant_id: int) -> float:
        """ε charged so far against an authorization's budget (refused queries cost nothing)."""
        with Session(self.engine) as session:
            return float(session.scalar(charged(grant_id)))

    def refuse_query(self, consumer: str, grant_id: int, spec: dict, reason: str) -> SandboxQuery:
        """Record a refused query and why; nothing is charged."""

        def work(session: Session) -> SandboxQuery:
            query = SandboxQuery(
                consumer=consumer,
                authorization_id=grant_id,
                spec=spec,
                epsilon=0.0,
                status="refused",
                reason=reason,
                submitted_at=datetime.now(UTC),
            )
            session.add(query)
            session.flush()
            self._audit(
                session, consumer, "sandbox.refused", f"query/{query.id}", {"reason": reason}
            )
            return query

        return self._transact(work)

    def charge_query(
        self, consumer: str, grant_id: int, spec: dict, epsilon: float
    ) -> SandboxQuery:
        """Charge ε before the query runs; over budget, the query is refused (and audited)."""

        def work(session: Session) -> SandboxQuery | None:
            grant = session.scalar(
                select(Authorization).where(Authorization.id == grant_id).with_for_update()
            )
            if grant is None or grant.epsilon is None:
                raise RegistryError(f"authorization {grant_id} has no privacy budget")
            spent = session.scalar(charged(grant_id))
            if spent + epsilon > grant.epsilon + 1e-12:
                return None  # refused outside this transaction, so the refusal is recorded
            query = SandboxQuery(
                consumer=consumer,
                authorization_id=grant_id,
                spec=spec,
                epsilon=epsilon,
                status="running",
                submitted_at=datetime.now(UTC),
            )
            session.add(query)
            session.flush()
            self._audit(
                session,
                consumer,
                "sandbox.charged",
                f"query/{query.id}",
                {"epsilon": epsilon, "spent": spent + epsilon, "budget": grant.epsilon},
            )
            return query

        query = self._transact(work)
        if query is None:
            left = self.authorization(grant_id).epsilon - self.spent(grant_id)
            reason = f"privacy budget exhausted: ε {epsilon} asked, {max(left, 0):.4g} left"
            self.refuse_query(consumer, grant_id, spec, reason)
            raise RegistryError(reason)
        return query

    def finish_query(self, query_id: int, *, path: str, request_id: int) -> SandboxQuery:
        def work(session: Session) -> SandboxQuery:
            query = session.get(SandboxQuery, query_id)
            assert query is not None
            query.status, query.result_path, query.request_id = "review", path, request_id
            self._audit(
                session,
                SANDBOX_ACTOR,
                "sandbox.released",
                f"query/{query_id}",
                {"request": request_id},
            )
            return query

        return self._transact(work)

    def sandbox_query(self, query_id: int) -> SandboxQuery:
        with Session(self.engine) as session:
            found = session.get(SandboxQuery, query_id)
        if found is None:
            raise RegistryError(f"no sandbox query {query_id}")
        return found
