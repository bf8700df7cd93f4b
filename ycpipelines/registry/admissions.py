"""Admission (准入) in the registry; every rule is checked here, so the CLI and the console
cannot skip it, and every change is audited in its transaction.

A processing entity (加工使用主体) applies through an account an admin created with no roles
yet; the admin admits (granting `consumer:<entity id>` to that account) or refuses, with a
reason. An application whose row no longer matches its `admission.applied` entry is refused."""

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from stdnum.cn import uscc as uscc_code
from stdnum.exceptions import ValidationError

from ycpipelines.foundation.masking import ends
from ycpipelines.registry.admission_models import Admission
from ycpipelines.registry.errors import NotFound, RegistryError
from ycpipelines.registry.identity import ADMIN, SLUG
from ycpipelines.registry.models import AuditEntry, Authorization, User


@dataclass(frozen=True)
class Application:
    """What a processing entity states when it applies for admission (准入申请)."""

    entity_id: str  # becomes the consumer id: lower-case letters, digits, _
    entity_name: str
    uscc: str  # unified social credit code (统一社会信用代码), checked with python-stdnum
    qualifications: str
    contact: str
    commitments: bool  # the security commitments (安全承诺) accepted

    def checked(self) -> "Application":
        """The application with its code compacted, or a refusal saying what is missing."""
        if not SLUG.fullmatch(self.entity_id):
            raise RegistryError("the entity id is lower-case letters, digits and _ (≤ 63)")
        for what, text, most in (
            ("entity name", self.entity_name, 200),
            ("qualifications", self.qualifications, 4000),
            ("contact", self.contact, 200),
        ):
            if not text.strip() or len(text) > most:
                raise RegistryError(f"an application needs its {what} (at most {most} characters)")
        if not self.commitments:
            raise RegistryError("an application needs the security commitments accepted (安全承诺)")
        try:
            code = uscc_code.validate(self.uscc)
        except ValidationError:
            raise RegistryError("统一社会信用代码校验未通过 (the USCC is not valid)") from None
        return Application(**(asdict(self) | {"uscc": code}))

    def digest(self) -> str:
        """A hash binding the row to its `admission.applied` entry (an edit shows)."""
        return hashlib.sha256(json.dumps(asdict(self), ensure_ascii=False).encode()).hexdigest()


def application_of(row: Admission) -> Application:
    keys = ("entity_id", "entity_name", "uscc", "qualifications", "contact", "commitments")
    return Application(**{k: getattr(row, k) for k in keys})


class AdmissionsMixin:
    """Registry operations on admissions (mixed into `Registry`)."""

    def apply_for_admission(self, actor: str, application: Application) -> Admission:
        """File an application, as an account with no roles yet (an admin created it)."""
        with Session(self.engine) as session:
            user = session.get(User, actor)
        if user is None or user.roles or self.verified_roles(actor):
            self.refuse(actor, f"{actor} may not apply: applicants are accounts with no roles yet")
        application = application.checked()

        def work(session: Session) -> Admission:
            self._entity_free(session, application.entity_id, application.uscc)
            pending = select(Admission).where(
                Admission.applicant == actor, Admission.status == "pending"
            )
            if session.scalar(pending) is not None:
                raise RegistryError(f"{actor} has an application pending already")
            row = Admission(
                applicant=actor,
                status="pending",
                applied_at=datetime.now(UTC),
                **asdict(application),
            )
            session.add(row)
            session.flush()
            detail = {
                "applicant": actor,
                "entity_id": application.entity_id,
                "entity_name": application.entity_name,
                "uscc": ends(application.uscc, 4, 2, 18),
                "digest": application.digest(),
            }
            self._audit(session, actor, "admission.applied", f"admission/{row.id}", detail)
            return row

        return self._transact(work)

    def _entity_free(
        self, session: Session, entity_id: str, code: str, but_for: int | None = None
    ) -> None:
        """Refuse an entity id some account, authorization or application holds already (it
        would open another party's deliveries), and an entity applying twice."""
        role = f"consumer:{entity_id}"
        held = any(role in u.roles for u in session.scalars(select(User)))
        granted = session.scalar(select(Authorization).where(Authorization.consumer == entity_id))
        open_ = session.scalar(
            select(Admission).where(
                Admission.status.in_(("pending", "admitted")),
                Admission.id != (but_for or 0),
                or_(Admission.entity_id == entity_id, Admission.uscc == code),
            )
        )
        if held or granted is not None or open_ is not None:
            raise RegistryError("this entity id or entity is taken or has an application already")

    def admissions(self, status: str | None = None) -> list[Admission]:
        query = select(Admission).order_by(Admission.id)
        if status:
            query = query.where(Admission.status == status)
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def admissions_of(self, actor: str) -> list[Admission]:
        """The applications an account filed, oldest first."""
        query = select(Admission).where(Admission.applicant == actor).order_by(Admission.id)
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def decide_admission(
        self, admission_id: int, actor: str, admit: bool, reason: str
    ) -> Admission:
        """Admit (granting `consumer:<entity id>` to the applicant) or refuse, as an admin,
        with a reason; an application whose row is not what its entry recorded is refused."""
        self.require(actor, ADMIN, f"decide admission {admission_id}")
        if not reason.strip():
            raise RegistryError("admitting or refusing needs a reason")
        row = self._as_applied(actor, admission_id)

        def work(session: Session) -> Admission:
            found = session.get(Admission, row.id, with_for_update=True)
            if found is None or found.status != "pending":
                raise RegistryError(f"admission {admission_id} is not pending")
            if admit:
                self._entity_free(session, found.entity_id, found.uscc, but_for=found.id)
                user = session.get(User, found.applicant)
                role = [f"consumer:{found.entity_id}"]
                self._put_user(
                    session, actor, found.applicant, role, None, bool(user and user.demo)
                )
            found.status = "admitted" if admit else "refused"
            found.decided_by, found.reason, found.decided_at = actor, reason, datetime.now(UTC)
            detail = {"applicant": found.applicant, "entity_id": found.entity_id, "reason": reason}
            self._audit(
                session, actor, f"admission.{found.status}", f"admission/{found.id}", detail
            )
            return found

        return self._transact(work)

    def _as_applied(self, actor: str, admission_id: int) -> Admission:
        """The application, if its row is what its `admission.applied` entry recorded."""
        with Session(self.engine) as session:
            row = session.get(Admission, admission_id)
        if row is None:
            raise NotFound(f"no admission {admission_id}")
        entry = self._filed_entry(f"admission/{row.id}", "admission.applied")
        recorded = entry.detail if entry else {}
        expected = {"applicant": row.applicant, "digest": application_of(row).digest()}
        if any(recorded.get(k) != v for k, v in expected.items()):
            self.refuse(actor, f"admission {row.id} is not what its application entry recorded")
        return row

    def _filed_entry(self, subject: str, action: str) -> AuditEntry | None:
        with Session(self.engine) as session:
            return session.scalar(
                select(AuditEntry)
                .where(AuditEntry.subject == subject, AuditEntry.action == action)
                .order_by(AuditEntry.id.desc())
                .limit(1)
            )

    def admitted(self, consumer: str) -> bool:
        """Whether an application for this entity id was admitted (and is as recorded)."""
        found = [a for a in self.admissions("admitted") if a.entity_id == consumer]
        return any(
            (e := self._filed_entry(f"admission/{a.id}", "admission.applied")) is not None
            and e.detail.get("digest") == application_of(a).digest()
            for a in found
        )
