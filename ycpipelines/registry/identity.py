"""Accounts, roles and launches (身份与角色) in the registry; every rule is checked here, so no
caller (CLI, sensor, console) can skip it.

Roles are a fixed set: `admin` (数据主管部门), `reviewer` (出域审核), `lab` (应用场景评审),
`supervisor` (监管, read-only), `operator` (运维: launches runs), `bureau:<id>` (数源部门) and
`consumer:<id>` (加工使用主体). Only an admin grants roles. An account's roles must agree with the
newest `user.roles` entry of the audit chain: roles written into the table by hand grant nothing.
"""

import re
import unicodedata
from datetime import UTC, datetime
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from ycpipelines.foundation.clock import as_utc
from ycpipelines.foundation.environment import is_prod
from ycpipelines.registry.admission_models import Admission
from ycpipelines.registry.errors import RegistryError
from ycpipelines.registry.models import AuditEntry, Launch, User
from ycpipelines.registry.verify import as_recorded

ADMIN, REVIEWER, LAB, SUPERVISOR, OPERATOR = "admin", "reviewer", "lab", "supervisor", "operator"
PLAIN_ROLES = (ADMIN, REVIEWER, LAB, SUPERVISOR, OPERATOR)
SCOPED_ROLES = ("bureau", "consumer")
SLUG = re.compile(r"[a-z][a-z0-9_]{0,62}")
BOOTSTRAP = "bootstrap"
LAUNCH_TOKEN = "launch-"  # a launch recorded before the webserver names its run (bind_launch)


def printable(text: str) -> bool:
    """Whether `text` holds no control, format or line-separating characters (Unicode C*, Zl,
    Zp): an account name is written into audit details, pages and proposal files."""
    return not any(unicodedata.category(c)[0] == "C" or c in "\u2028\u2029" for c in text)


def check_role(role: str) -> str:
    """The role if it is one of the fixed set, else a refusal listing the valid ones."""
    kind, _, scope = role.partition(":")
    if role in PLAIN_ROLES or (kind in SCOPED_ROLES and SLUG.fullmatch(scope)):
        return role
    valid = ", ".join([*PLAIN_ROLES, *(f"{k}:<id>" for k in SCOPED_ROLES)])
    raise RegistryError(f"unknown role {role!r}; roles are {valid}")


class IdentityMixin:
    """Registry operations on accounts, roles and run launches (mixed into `Registry`)."""

    def bootstrap_admin(self, name: str, os_account: str, demo: bool = False) -> User:
        """The first admin, mapped to the operating-system login that creates it; refused once
        any admin exists."""
        if demo and is_prod():
            raise RegistryError("YC_ENV=prod: demo accounts are for development only")

        def work(session: Session) -> User:
            granted = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.roles"))
            if any(ADMIN in e.detail.get("roles", []) for e in granted):
                raise RegistryError("an admin was granted already; admins grant roles")
            return self._put_user(session, BOOTSTRAP, name, [ADMIN], os_account, demo=demo)

        return self._transact(work)

    def add_user(
        self,
        name: str,
        roles: list[str],
        actor: str,
        *,
        os_account: str | None = None,
        demo: bool = False,
    ) -> User:
        """Grant roles to an account (creating it), as an admin; audited. A `consumer:<id>`
        whose entity another account applied for or was admitted as is refused: it would open
        that party's deliveries."""
        roles = [check_role(r) for r in roles]
        if demo and is_prod():
            raise RegistryError("YC_ENV=prod: demo accounts are for development only")
        self.require(actor, ADMIN, f"grant roles to {name}")

        def work(session: Session) -> User:
            parts = [r.partition(":") for r in roles]
            entities = [scope for kind, _, scope in parts if kind == "consumer"]
            claimed = select(Admission.id).where(
                Admission.entity_id.in_(entities),
                Admission.status.in_(("pending", "admitted")),
                Admission.applicant != name,
            )
            if entities and session.scalar(claimed.limit(1)) is not None:
                raise RegistryError(
                    "a consumer role of an entity another account applied for or was admitted "
                    "as is not granted by hand"
                )
            return self._put_user(session, actor, name, roles, os_account, demo=demo)

        return self._transact(work)

    def remove_roles(self, name: str, roles: list[str], actor: str) -> User:
        """Take roles from an account, as an admin; audited."""
        self.require(actor, ADMIN, f"take roles from {name}")

        def work(session: Session) -> User:
            user = session.get(User, name)
            if user is None:
                raise RegistryError(f"no account {name}")
            kept = [r for r in user.roles if r not in roles]
            return self._put_user(session, actor, name, kept, None, user.demo, replace=True)

        return self._transact(work)

    def _put_user(
        self,
        session: Session,
        actor: str,
        name: str,
        roles: list[str],
        os_account: str | None,
        demo: bool,
        replace: bool = False,
    ) -> User:
        if not name.strip() or (os_account is not None and not os_account.strip()):
            raise RegistryError("an account and its login need a name")
        if session.get(User, name) is None and not printable(name):
            raise RegistryError(
                "an account name is printable text: no control characters or line breaks"
            )
        if actor == name:
            raise RegistryError("an admin may not change their own roles; another admin does")
        taken = os_account and session.scalar(select(User).where(User.os_account == os_account))
        if taken and taken.name != name:
            raise RegistryError(f"the login {os_account!r} acts as {taken.name} already")
        user = session.get(User, name) or User(
            name=name, roles=[], added_at=datetime.now(UTC), demo=demo
        )
        user.roles = sorted(set(roles) if replace else set(user.roles) | set(roles))
        if {ADMIN, REVIEWER} <= set(user.roles):
            raise RegistryError(
                f"{name}: one account may not both grant (admin) and approve deliveries "
                "(reviewer); separation of duties"
            )
        user.os_account = os_account or user.os_account
        session.add(user)
        detail = {"roles": user.roles, "os_account": user.os_account, "demo": user.demo}
        self._audit(session, actor, "user.roles", f"user/{name}", detail)
        return user

    def user(self, name: str) -> User | None:
        with Session(self.engine) as session:
            return session.get(User, name)

    def users(self) -> list[User]:
        with Session(self.engine) as session:
            return list(session.scalars(select(User).order_by(User.name)))

    def user_for_account(self, os_account: str) -> User | None:
        """The account an operating-system login acts as, if an admin mapped one."""
        with Session(self.engine) as session:
            return session.scalar(select(User).where(User.os_account == os_account))

    def verified_roles(self, name: str) -> set[str]:
        """The roles of an account as the platform last recorded them: empty for an unknown
        account, a demo account in production, an account edited in its table, or roles whose
        entry no signed checkpoint covers."""
        with Session(self.engine) as session:
            user = session.get(User, name)
            entry = session.scalar(
                select(AuditEntry)
                .where(AuditEntry.subject == f"user/{name}", AuditEntry.action == "user.roles")
                .order_by(AuditEntry.id.desc())
                .limit(1)
            )
        if user is None or entry is None or (user.demo and is_prod()):
            return set()
        if not as_recorded(user, entry) or not self.anchor.covered(entry.id):
            return set()
        return set(user.roles)

    def require(self, actor: str, role: str | tuple[str, ...], what: str) -> set[str]:
        """Refuse, and audit the refusal, unless `actor` holds `role` (or one of them)."""
        wanted = (role,) if isinstance(role, str) else role
        held = self.verified_roles(actor)
        if not held & set(wanted):
            self.refuse(
                actor, f"{actor or '(nobody)'} may not {what}: needs the {' or '.join(wanted)} role"
            )
        return held

    def refuse(self, actor: str, reason: str) -> NoReturn:
        """Audit a refused action (`access.refused`), then raise it."""
        self.audit(actor or "(nobody)", "access.refused", f"user/{actor}", {"reason": reason})
        raise RegistryError(reason)

    def record_launch(self, actor: str, run_id: str, job: str) -> Launch:
        """Record, before the run is created, that `actor` (an operator) launches `run_id`."""
        self.require(actor, OPERATOR, f"launch {job}")

        def work(session: Session) -> Launch:
            if session.get(Launch, run_id) is not None:
                raise RegistryError(f"run {run_id} has a recorded launcher already")
            launch = Launch(run_id=run_id, launcher=actor, job=job, recorded_at=datetime.now(UTC))
            session.add(launch)
            self._audit(session, actor, "run.launched", f"run/{run_id}", {"job": job})
            return launch

        return self._transact(work)

    def bind_launch(self, token: str, run_id: str, created_at: datetime) -> Launch:
        """The run a launch recorded under `token` became (绑定运行): where the webserver picks
        the run id (launches through the console's Dagster UI), the launch is recorded under a
        `launch-…` token before the run exists, the run tagged with it, and bound here once the
        run exists; the record keeps its time, so `launcher_of` still sees it came first. A run
        created (`created_at`) before the launch was recorded is not the launch's."""
        if not token.startswith(LAUNCH_TOKEN):
            raise RegistryError("only a launch token can be bound to a run")

        def work(session: Session) -> Launch:
            pending = session.get(Launch, token)
            if pending is None:
                raise RegistryError("no launch is pending under this token")
            if session.get(Launch, run_id) is not None:
                raise RegistryError(f"run {run_id} has a recorded launcher already")
            if as_utc(created_at) < as_utc(pending.recorded_at):
                raise RegistryError(f"run {run_id} was created before the launch was recorded")
            bound = Launch(
                run_id=run_id,
                launcher=pending.launcher,
                job=pending.job,
                recorded_at=pending.recorded_at,
            )
            session.delete(pending)
            session.add(bound)
            detail = {"launch": token, "job": pending.job}
            self._audit(session, pending.launcher, "run.bound", f"run/{run_id}", detail)
            return bound

        return self._transact(work)

    def launcher_of(self, run_id: str, created_at: datetime | None) -> str | None:
        """Who launched a run, if the platform recorded it before the run was created."""
        with Session(self.engine) as session:
            launch = session.get(Launch, run_id)
        if launch is None or created_at is None:
            return None
        return launch.launcher if as_utc(launch.recorded_at) <= as_utc(created_at) else None
