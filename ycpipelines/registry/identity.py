"""Accounts, roles and launches (身份与角色) in the registry; every rule is checked here, so no
caller (CLI, sensor, console) can skip it.

Roles are a fixed set: `admin` (数据主管部门), `reviewer` (出域审核), `lab` (应用场景评审),
`supervisor` (监管, read-only), `operator` (运维: launches runs), `bureau:<id>` (数源部门) and
`consumer:<id>` (加工使用主体). Only an admin grants roles. An account's roles must agree with the
newest `user.roles` entry of the audit chain: roles written into the table by hand grant nothing.
"""

import re
from datetime import UTC, datetime
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from ycpipelines.environment import is_prod
from ycpipelines.registry.errors import RegistryError
from ycpipelines.registry.models import AuditEntry, Launch, User

ADMIN, REVIEWER, LAB, SUPERVISOR, OPERATOR = "admin", "reviewer", "lab", "supervisor", "operator"
PLAIN_ROLES = (ADMIN, REVIEWER, LAB, SUPERVISOR, OPERATOR)
SCOPED_ROLES = ("bureau", "consumer")
SLUG = re.compile(r"[a-z][a-z0-9_]{0,62}")
BOOTSTRAP = "bootstrap"


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
            if any(ADMIN in u.roles for u in session.scalars(select(User))):
                raise RegistryError("an admin exists already; admins grant roles")
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
        """Grant roles to an account (creating it), as an admin; audited."""
        roles = [check_role(r) for r in roles]
        if demo and is_prod():
            raise RegistryError("YC_ENV=prod: demo accounts are for development only")
        self.require(actor, ADMIN, f"grant roles to {name}")
        return self._transact(
            lambda s: self._put_user(s, actor, name, roles, os_account, demo=demo)
        )

    def _put_user(
        self,
        session: Session,
        actor: str,
        name: str,
        roles: list[str],
        os_account: str | None,
        demo: bool,
    ) -> User:
        if not name.strip():
            raise RegistryError("an account needs a name")
        user = session.get(User, name) or User(
            name=name, roles=[], added_at=datetime.now(UTC), demo=demo
        )
        user.roles = sorted(set(user.roles) | set(roles))
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
        """The roles of an account as the audit chain last recorded them; empty for an unknown
        account, a demo account in production, or roles edited in the table."""
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
        recorded = (entry.detail.get("roles"), entry.detail.get("os_account"))
        return set(user.roles) if recorded == (user.roles, user.os_account) else set()

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

    def launcher_of(self, run_id: str, created_at: datetime | None) -> str | None:
        """Who launched a run, if the platform recorded it before the run was created."""
        with Session(self.engine) as session:
            launch = session.get(Launch, run_id)
        if launch is None or created_at is None:
            return None
        recorded, created = (
            t if t.tzinfo else t.replace(tzinfo=UTC) for t in (launch.recorded_at, created_at)
        )
        return launch.launcher if recorded <= created else None
