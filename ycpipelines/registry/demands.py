"""Demands (供需对接) in the registry: an admitted consumer asks for a scenario's fields, the
joint lab's scenario review (应用场景评审, `lab` or `reviewer`) decides. Approval records the
authorization under the same rules as an admin's grant (its grantor is the approver, so the
four-eyes rule keeps them off its deliveries) and, for a scenario with no product yet, writes a
product manifest proposal for a data engineer (the platform writes no code). Fields the catalog
grades 禁止开放, or that de-identification drops, are refused even if posted. A scenario with a
product takes all of its fields: publish delivers a product whole and refuses an authorization
that does not cover every field (一清单), so fewer fields are a new scenario."""

import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ycpipelines.foundation.clock import pilot_today
from ycpipelines.registry.admission_models import Admission, Demand
from ycpipelines.registry.authorizations import GrantTerms
from ycpipelines.registry.errors import NotFound, RegistryError
from ycpipelines.registry.identity import LAB, REVIEWER
from ycpipelines.registry.offer import CatalogLike, Offered, offer
from ycpipelines.registry.proposals import Proposal, propose, write_proposal

SCENARIO = re.compile(r"[a-z][a-z0-9_]{0,63}")
SCENARIO_REVIEW = (LAB, REVIEWER)  # 应用场景评审


@dataclass(frozen=True)
class Demanded:
    """What a consumer asks for (需求): scenario, purpose, legal basis, fields and validity."""

    consumer: str
    scenario: str
    purpose: str
    legal_basis: str
    fields: list[str]
    valid_from: date
    valid_to: date


def demand_detail(row: Demand) -> dict:
    """What a `demand.filed` entry records of a demand, and what its row must still hold."""
    keys = ("consumer", "filed_by", "scenario", "new_scenario", "purpose", "legal_basis")
    return {k: getattr(row, k) for k in keys} | {
        "fields": list(row.fields),
        "valid_from": row.valid_from.isoformat(),
        "valid_to": row.valid_to.isoformat(),
    }


def chosen(offered: list[Offered], fields: list[str]) -> tuple[list[Offered], list[str]]:
    """The posted fields in the catalog's order, and those that may never be opened; a field
    the catalog does not offer for the scenario is refused."""
    by_name = {f.name: f for f in offered}
    if unknown := sorted(set(fields) - set(by_name)):
        raise RegistryError(f"fields {unknown} are not in the catalog for this scenario")
    if not fields:
        raise RegistryError("a demand needs at least one field")
    closed = sorted(f for f in set(fields) if not by_name[f].openable)
    return [f for f in offered if f.name in fields], closed


def whole_product(new: bool, offered: list[Offered], fields: list[Offered]) -> None:
    """A scenario with a product is delivered whole: a demand for it names every field (an
    authorization of fewer would be refused at publish); fewer fields are a new scenario."""
    product = {f.name for f in offered if f.openable}
    if not new and {f.name for f in fields} != product:
        raise RegistryError(
            f"the product of this scenario is delivered whole: choose all {len(product)} of its "
            "fields, or file a new scenario for fewer"
        )


class DemandsMixin:
    """Registry operations on demands (mixed into `Registry`)."""

    def file_demand(self, actor: str, demanded: Demanded, catalog: CatalogLike) -> Demand:
        """File a demand as an admitted consumer's account; a field that may never be opened is
        refused, and the refusal audited, even if posted."""
        consumer = demanded.consumer
        if f"consumer:{consumer}" not in self.verified_roles(actor) or not self.admitted(consumer):
            self.refuse(actor, f"{actor} may not file demands for {consumer}: not admitted (准入)")
        if not SCENARIO.fullmatch(demanded.scenario):
            raise RegistryError("a scenario id is lower-case letters, digits and _ (≤ 64)")
        if not demanded.purpose.strip() or not demanded.legal_basis.strip():
            raise RegistryError("a demand needs its purpose and its legal basis")
        if demanded.valid_to < demanded.valid_from:
            raise RegistryError("the validity ends before it begins")
        new, offered = offer(catalog, demanded.scenario)
        fields, closed = chosen(offered, demanded.fields)
        if closed:
            self.refuse(actor, f"fields {closed} may never be opened (禁止开放 or dropped)")
        whole_product(new, offered, fields)

        def work(session: Session) -> Demand:
            row = Demand(
                **(asdict(demanded) | {"fields": [f.name for f in fields]}),
                filed_by=actor,
                new_scenario=new,
                status="pending",
                filed_at=datetime.now(UTC),
            )
            session.add(row)
            session.flush()
            self._audit(session, actor, "demand.filed", f"demand/{row.id}", demand_detail(row))
            return row

        return self._transact(work)

    def demands(self, status: str | None = None) -> list[Demand]:
        query = select(Demand).order_by(Demand.id)
        if status:
            query = query.where(Demand.status == status)
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def visible_demands(self, actor: str) -> list[Demand]:
        """Every demand for the scenario review, the admin and the supervisor; else the
        account's consumers' own."""
        if self.verified_roles(actor) & {LAB, REVIEWER, "admin", "supervisor"}:
            return self.demands()
        consumers = self.consumer_of(actor)
        return [d for d in self.demands() if d.consumer in consumers]

    def decide_demand(
        self,
        demand_id: int,
        actor: str,
        approve: bool,
        comment: str,
        catalog: CatalogLike,
        plan: str = "",
    ) -> Demand:
        """Approve (recording the authorization with its 预案, and a manifest proposal for a new
        scenario) or refuse, as the scenario review, with a comment."""
        held = self.require(actor, SCENARIO_REVIEW, f"decide demand {demand_id}")
        if not comment.strip():
            raise RegistryError("a decision on a demand needs a comment")
        row = self._as_filed(actor, demand_id)
        if f"consumer:{row.consumer}" in held:
            self.refuse(
                actor, f"{actor} acts for {row.consumer}; another account decides its demand"
            )
        fields, proposal = self._approval(actor, row, catalog) if approve else ([], None)

        def work(session: Session) -> Demand:
            found = session.get(Demand, row.id, with_for_update=True)
            if found is None or found.status != "pending":
                raise RegistryError(f"demand {demand_id} is not pending")
            detail: dict = {"comment": comment, "consumer": found.consumer}
            if approve:
                terms = GrantTerms(
                    found.consumer, found.scenario, fields, found.valid_from, found.valid_to, plan
                )
                found.authorization_id = self._record_grant(session, terms, actor).id
                found.proposal = proposal.name if proposal else None
                detail |= {"authorization": found.authorization_id, "proposal": found.proposal}
                detail["proposal_sha256"] = proposal.sha256 if proposal else None
            found.status = "approved" if approve else "refused"
            found.decided_by, found.comment, found.decided_at = actor, comment, datetime.now(UTC)
            self._audit(session, actor, f"demand.{found.status}", f"demand/{found.id}", detail)
            if proposal is not None:  # written before the approval commits, in its unit
                written.append(write_proposal(self.proposals_dir(), proposal))
            return found

        written: list[Path] = []
        try:
            return self._transact(work)
        except BaseException:
            for path in written:  # no approval recorded: the file this call wrote goes
                path.unlink(missing_ok=True)
            raise

    def proposals_dir(self) -> Path:
        """Where manifest proposals are written: `$YC_HOME/proposals`."""
        return self.settings.home / "proposals"

    def _approval(
        self, actor: str, row: Demand, catalog: CatalogLike
    ) -> tuple[list[str], Proposal | None]:
        """The authorization's fields and, for a new scenario, the manifest proposal; the
        fields are checked against the catalog again (it may have changed since filing)."""
        new, offered = offer(catalog, row.scenario)
        if new != row.new_scenario:
            raise RegistryError(f"the catalog changed since demand {row.id}: file it again")
        fields, closed = chosen(offered, list(row.fields))
        if closed:
            self.refuse(actor, f"fields {closed} may never be opened (禁止开放 or dropped)")
        if not new:
            whole_product(new, offered, fields)
            return [f.name for f in fields], None
        with Session(self.engine) as session:
            entity = session.scalar(
                select(Admission.entity_name).where(
                    Admission.entity_id == row.consumer, Admission.status == "admitted"
                )
            )
        proposal = propose(row, fields, entity or row.consumer, actor, pilot_today())
        return proposal.fields, proposal

    def _as_filed(self, actor: str, demand_id: int) -> Demand:
        """The demand, if its row is what its `demand.filed` entry recorded and `actor` did not
        file it."""
        with Session(self.engine) as session:
            row = session.get(Demand, demand_id)
        if row is None:
            raise NotFound(f"no demand {demand_id}")
        entry = self._filed_entry(f"demand/{row.id}", "demand.filed")
        if entry is None or entry.detail != demand_detail(row) or entry.actor != row.filed_by:
            self.refuse(actor, f"demand {row.id} is not what its filing entry recorded")
        if row.filed_by == actor:
            self.refuse(actor, f"{actor} filed demand {row.id}; another account decides it")
        return row
