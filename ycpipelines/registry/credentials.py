"""Console sign-in (身份鉴别, GB/T 22239-2019 level 3): passwords, the TOTP second factor,
lockout after consecutive failures, and sessions, all checked inside the registry.

A sign-in moves through stages: the password (`authenticate`), then the TOTP code when the
account has one (`verify_totp`), or a forced password change (`change_password`) or TOTP
enrolment (`begin_totp`, `confirm_totp`); only then is a session FULL. Every refusal says the
same thing whatever was wrong, counts toward the lockout and is audited (the name typed for an
unknown account masked); no password, hash, code or secret is ever in an entry. Counters and
used codes are written with conditional UPDATEs (`credential_rows`), and a credential row whose
seal does not verify signs nobody in. Sessions keep the cookie's sha256 only, expire when idle
and absolutely, rotate at every stage, and die when the account's password, lock or factor
says they should (`_revoked`).
"""

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from ycpipelines.foundation.clock import as_utc
from ycpipelines.foundation.environment import is_prod
from ycpipelines.registry.console_key import ConsoleKey
from ycpipelines.registry.credential_rows import (
    bind_secret,
    bound_secret,
    claim_enrolment,
    claim_step,
    count_failure,
    lock,
    reseal,
    sealed,
)
from ycpipelines.registry.errors import RegistryError
from ycpipelines.registry.identity import ADMIN
from ycpipelines.registry.models import ConsoleSession, Credential, User
from ycpipelines.registry.passwords import (
    MAX_AGE,
    check_policy,
    hash_password,
    masked,
    needs_rehash,
    password_matches,
    verify_nothing,
)
from ycpipelines.registry.totp import current_code, matched_step, new_secret

TOTP_ROLES = frozenset({"admin", "reviewer", "supervisor"})
REFUSED = "sign-in refused: the account, password or code is wrong, or the account is locked"
UNKNOWN = "(unknown)"


class Stage(StrEnum):
    """How far a sign-in got: PASSWORD (the TOTP code is needed next), ENROL (a TOTP role with
    no second factor yet), CHANGE (the password must be changed), FULL (signed in)."""

    PASSWORD = "password"
    ENROL = "enrol"
    CHANGE = "change"
    FULL = "full"


class LoginRefused(RegistryError):
    """A sign-in step was refused; the message never says which part was wrong."""


@dataclass(frozen=True)
class SignInState:
    """What an admin sees of an account's credentials (登录状态), never a hash or secret."""

    has_password: bool
    must_change: bool  # set by an admin, or the password is older than MAX_AGE
    second_factor: bool  # a confirmed TOTP secret
    locked_until: datetime | None  # set while the account is locked, else None


@dataclass(frozen=True)
class ConsoleSessionView:
    user: str
    stage: Stage
    csrf: str
    expires_at: datetime


def now() -> datetime:
    """The time every credential rule reads (one function, so tests can move it)."""
    return datetime.now(UTC)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def locked_until(credential: Credential, at: datetime) -> datetime | None:
    """When the account's lock ends, while it is locked at `at` (else None)."""
    locked = as_utc(credential.locked_until)
    return locked if locked is not None and at < locked else None


def must_change(credential: Credential, at: datetime) -> bool:
    """Set by an admin's password, or the password is older than `MAX_AGE` (口令定期更换)."""
    return credential.must_change or at - as_utc(credential.changed_at) > MAX_AGE


class CredentialsMixin:
    """Registry operations on console credentials and sessions (mixed into `Registry`)."""

    _console_key: ConsoleKey | None = None

    def console_key(self) -> ConsoleKey:
        """The console's key, read (or in development made) on first use."""
        if self._console_key is None:
            self._console_key = ConsoleKey.load(self.settings)
        return self._console_key

    # -- passwords --------------------------------------------------------------------------

    def set_password(self, name: str, password: str, actor: str) -> None:
        """Set an account's password: by an admin (to be changed at first sign-in) or by the
        account itself (the CLI's login vouches for it); audited, never with the hash."""
        self_service = actor == name
        if not self_service:
            self.require(actor, ADMIN, f"set the password of {name}")
        check_policy(name, password)
        hashed, key = hash_password(password), self.console_key()

        def work(session: Session) -> None:
            if session.get(User, name) is None:
                raise RegistryError(f"no account {name}")
            credential = session.get(Credential, name, with_for_update=True)
            credential = self._new_password(session, credential, name, hashed)
            credential.must_change = not self_service
            credential.locked_until, credential.failures = None, 0
            reseal(key, credential)
            detail = {"by": "self" if self_service else "admin", "must_change": not self_service}
            self._audit(session, actor, "user.password_set", f"user/{name}", detail)

        self._transact(work)

    def change_password(self, name: str, old: str, new: str) -> None:
        """Change one's own password, proving the old one (a wrong one counts as a failure)."""
        check_policy(name, new)
        if old == new:
            raise RegistryError("the password is refused: it needs to differ from the old one")
        self._attempt(name, lambda _, c: None if password_matches(c.password_hash, old) else "old")
        hashed, key = hash_password(new), self.console_key()

        def work(session: Session) -> None:
            credential = session.get(Credential, name, with_for_update=True)
            self._new_password(session, credential, name, hashed).must_change = False
            reseal(key, credential)
            self._audit(session, name, "user.password_changed", f"user/{name}", {})

        self._transact(work)

    def stage_after_password(self, name: str) -> Stage:
        """Where a forced password change leads: ENROL for a TOTP role with no second factor,
        else FULL (an enrolled account's code was checked before its change was asked for)."""
        with Session(self.engine) as session:
            credential = session.get(Credential, name)
        if credential is None or must_change(credential, now()):
            return Stage.CHANGE
        if self.needs_totp(name) and not credential.totp_confirmed:
            return Stage.ENROL
        return Stage.FULL

    def sign_in_state(self, name: str) -> SignInState:
        """The account's password, second factor and lockout as the sign-in rules read them
        now; an admin's password reset (`set_password`) also lifts a lock."""
        with Session(self.engine) as session:
            credential = session.get(Credential, name)
        if credential is None:
            return SignInState(False, False, False, None)
        at = now()
        return SignInState(
            has_password=True,
            must_change=must_change(credential, at),
            second_factor=credential.totp_confirmed,
            locked_until=locked_until(credential, at),
        )

    def set_demo_credentials(
        self, name: str, password: str, totp_secret: str | None, actor: str
    ) -> None:
        """A demo account's password and (already confirmed) TOTP secret, as an admin; demo
        accounts only, and never in production."""
        if is_prod():
            raise RegistryError("YC_ENV=prod: demo accounts are for development only")
        self.require(actor, ADMIN, f"set the demo credentials of {name}")
        check_policy(name, password)
        hashed, key = hash_password(password), self.console_key()

        def work(session: Session) -> None:
            user = session.get(User, name)
            if user is None or not user.demo:
                raise RegistryError(f"{name} is not a demo account")
            credential = self._new_password(session, None, name, hashed)
            credential.must_change, credential.failures, credential.locked_until = False, 0, None
            if totp_secret is not None:
                credential.totp_secret = bind_secret(key, name, totp_secret)
                credential.totp_confirmed, credential.totp_last_step = True, None
            reseal(key, credential)
            detail = {"by": "admin", "demo": True, "totp": totp_secret is not None}
            self._audit(session, actor, "user.password_set", f"user/{name}", detail)

        self._transact(work)

    def demo_code(self, name: str) -> str:
        """The current TOTP code of a demo account, for trying the demo without an
        authenticator app; never in production, never for an account that is not a demo's."""
        if is_prod():
            raise RegistryError("YC_ENV=prod: demo accounts are for development only")
        with Session(self.engine) as session:
            user, credential = session.get(User, name), session.get(Credential, name)
        key = self.console_key()
        secret = credential and credential.totp_confirmed and bound_secret(key, credential)
        if user is None or not user.demo or not secret:
            raise RegistryError(f"{name} is not a demo account with a second factor")
        return current_code(secret, now())

    def _new_password(
        self, session: Session, credential: Credential | None, name: str, hashed: str
    ) -> Credential:
        """The row with a new password hash (the caller sets `must_change`, then reseals)."""
        credential = credential or session.get(Credential, name)
        if credential is None:
            credential = Credential(user=name, failures=0, totp_confirmed=False)
            session.add(credential)
        credential.password_hash, credential.changed_at = hashed, now()
        return credential

    # -- sign-in ----------------------------------------------------------------------------

    def authenticate(self, name: str, password: str) -> Stage:
        """Check a password; the stage the sign-in goes to next. A code-protected account
        keeps its failure count until the code is right, so guessing codes behind a known
        password still locks it; its forced change waits until after the code."""

        key = self.console_key()

        def check(_: Session, credential: Credential) -> str | None:
            if not password_matches(credential.password_hash, password):
                return "password"
            if needs_rehash(credential.password_hash):
                credential.password_hash = hash_password(password)
                reseal(key, credential)
            return None

        credential = self._attempt(name, check, reset=lambda c: not c.totp_confirmed)
        if credential.totp_confirmed:
            return Stage.PASSWORD
        if must_change(credential, now()):
            return Stage.CHANGE
        return Stage.ENROL if self.needs_totp(name) else Stage.FULL

    def verify_totp(self, name: str, code: str) -> Stage:
        """Check a TOTP code of an enrolled account; a step used before is refused, also when
        one code is raced from several requests. Returns the next stage: CHANGE when the
        password must be changed, else FULL."""
        key = self.console_key()

        def check(session: Session, credential: Credential) -> str | None:
            secret = bound_secret(key, credential)
            confirmed = credential.totp_confirmed and secret
            step = matched_step(secret, code, now()) if confirmed else None
            if step is None:
                return "code"
            return None if claim_step(session, name, step) else "replayed code"

        credential = self._attempt(name, check)
        return Stage.CHANGE if must_change(credential, now()) else Stage.FULL

    def begin_totp(self, name: str) -> str:
        """A new unconfirmed TOTP secret (base32, for the enrolment page) at every call: a
        pending one is never shown again, so knowing the password does not reveal the secret
        the account's owner scans; refused for an account without a password or with a
        confirmed second factor already."""
        key = self.console_key()

        def work(session: Session) -> str:
            credential = session.get(Credential, name, with_for_update=True)
            if credential is None or credential.totp_confirmed:
                raise RegistryError(f"{name} cannot enrol a second factor now")
            secret = new_secret()
            credential.totp_secret = bind_secret(key, name, secret)
            reseal(key, credential).totp_last_step = None
            self._audit(session, name, "totp.enrolment_started", f"user/{name}", {})
            return secret

        return self._transact(work)

    def confirm_totp(self, name: str, code: str) -> None:
        """Confirm the pending secret with a code from the authenticator; a wrong code counts
        toward the lockout."""
        key = self.console_key()

        def check(session: Session, credential: Credential) -> str | None:
            secret = bound_secret(key, credential)
            pending = secret and not credential.totp_confirmed
            step = matched_step(secret, code, now()) if pending else None
            if step is None or not claim_enrolment(key, session, credential, step):
                return "enrolment code"
            return None

        self._attempt(name, check, on_success=("totp.enrolled", {}))

    def needs_totp(self, name: str) -> bool:
        """Whether the account's verified roles need a second factor (admin, reviewer,
        supervisor)."""
        return bool(self.verified_roles(name) & TOTP_ROLES)

    def _attempt(
        self,
        name: str,
        check: Callable[[Session, Credential], str | None],
        reset: Callable[[Credential], bool] = lambda c: True,
        on_success: tuple[str, dict] | None = None,
    ) -> Credential:
        """Run one sign-in check under the lockout rule in one transaction: refused for an
        unknown account, a demo account in production, a locked one or a row whose seal does
        not verify (each taking the time a password check takes); a failed check counts, and
        the limit locks the account."""

        def work(session: Session) -> tuple[str | None, Credential | None]:
            at, user = now(), session.get(User, name)
            credential = session.get(Credential, name, with_for_update=True) if user else None
            refusal = self._refusal(user, credential, at)
            if refusal is not None:
                verify_nothing()
                self._audit_failure(session, name, refusal, known=user is not None)
                return refusal, None
            reason = check(session, credential)
            if reason is not None:
                self._count_failure(session, name, reason, at)
                return reason, None
            if reset(credential):
                credential.failures, credential.locked_until = 0, None
            if on_success:
                self._audit(session, name, on_success[0], f"user/{name}", on_success[1])
            return None, credential

        reason, credential = self._transact(work)
        if reason is not None:
            raise LoginRefused(REFUSED)
        return credential

    def _count_failure(self, session: Session, name: str, reason: str, at: datetime) -> None:
        """Count a failed check atomically; the attempt whose conditional UPDATE locks the
        account audits `login.locked`, so a burst of parallel failures locks it once."""
        limit = self.settings.console_lockout_failures
        until = at + timedelta(minutes=self.settings.console_lockout_minutes)
        failures = count_failure(session, name)
        self._audit_failure(session, name, reason, failures)
        if failures >= limit and lock(session, name, limit, until, at):
            detail = {"failures": limit, "until": until.isoformat()}
            self._audit(session, "(sign-in)", "login.locked", f"user/{name}", detail)

    def _refusal(
        self, user: User | None, credential: Credential | None, at: datetime
    ) -> str | None:
        if user is None or credential is None:
            return "unknown account" if user is None else "no password"
        if user.demo and is_prod():
            return "demo account in production"
        if not sealed(self.console_key(), credential):
            return "credentials edited"
        return "locked" if locked_until(credential, at) is not None else None

    def _audit_failure(
        self,
        session: Session,
        name: str,
        reason: str,
        failures: int | None = None,
        known: bool = True,
    ) -> None:
        """A `login.failed` entry; the name typed for no account only masked."""
        detail: dict = {"reason": reason}
        if failures is not None:
            detail["failures"] = failures
        if not known:
            detail["name"] = masked(name)
        subject = f"user/{name if known else UNKNOWN}"
        self._audit(session, "(sign-in)", "login.failed", subject, detail)

    # -- sessions ---------------------------------------------------------------------------

    def open_session(self, name: str, stage: Stage) -> str:
        """A new session at `stage`; the raw token (the cookie), of which the registry keeps
        only the sha256. A FULL session is audited as the sign-in's success."""
        at = now()
        expires = at + timedelta(hours=self.settings.console_session_hours)
        return self._transact(lambda s: self._put_session(s, name, Stage(stage), at, expires))

    def console_session(self, token: str) -> ConsoleSessionView | None:
        """The session a cookie names, touched; None when unknown, idle or absolutely expired,
        edited in its table, or of an account that may not sign in."""

        def work(session: Session) -> ConsoleSessionView | None:
            row = self._live_session(session, token)
            if row is None:
                return None
            row.last_seen = now()
            row.seal = self._session_seal(row)
            return ConsoleSessionView(row.user, Stage(row.stage), row.csrf, as_utc(row.expires_at))

        return self._transact(work)

    def advance_session(self, token: str, stage: Stage) -> str:
        """Move a live session to `stage` under a new token (the old one dies); reaching FULL
        is audited as the sign-in's success."""

        def work(session: Session) -> str:
            row = self._live_session(session, token)
            if row is None:
                raise LoginRefused("the session has ended: sign in again")
            session.delete(row)
            session.flush()
            return self._put_session(session, row.user, Stage(stage), now(), as_utc(row.expires_at))

        return self._transact(work)

    def close_session(self, token: str) -> None:
        """Sign out: the session is deleted; audited."""

        def work(session: Session) -> None:
            row = session.get(ConsoleSession, token_hash(token))
            if row is not None:
                session.delete(row)
                self._audit(session, row.user, "logout", f"user/{row.user}", {})

        self._transact(work)

    def _put_session(
        self, session: Session, name: str, stage: Stage, at: datetime, expires: datetime
    ) -> str:
        user = session.get(User, name)
        credential = session.get(Credential, name)
        if self._refusal(user, credential, at) is not None:
            raise LoginRefused(REFUSED)
        if stage is Stage.FULL:
            self._check_full(name, credential, at)
        token = secrets.token_urlsafe(32)
        row = ConsoleSession(
            token_hash=token_hash(token),
            user=name,
            stage=stage.value,
            csrf=secrets.token_urlsafe(32),
            created_at=at,
            last_seen=at,
            expires_at=expires,
        )
        row.seal = self._session_seal(row)
        session.add(row)
        if stage is Stage.FULL:
            self._audit(session, name, "login.succeeded", f"user/{name}", {})
        return token

    def _check_full(self, name: str, credential: Credential, at: datetime) -> None:
        """A session is FULL only once the password is current and a TOTP role has its second
        factor: a console skipping a stage is refused here."""
        if must_change(credential, at):
            raise RegistryError(f"{name} must change the password before signing in")
        if self.needs_totp(name) and not credential.totp_confirmed:
            raise RegistryError(f"{name} must enrol a second factor before signing in")

    def _live_session(self, session: Session, token: str) -> ConsoleSession | None:
        """The session row of `token` if it is live and as the registry wrote it; an expired
        or revoked one (`_revoked`) is deleted."""
        row = session.get(ConsoleSession, token_hash(token), with_for_update=True)
        if row is None:
            return None
        forged = not secrets.compare_digest(row.seal, self._session_seal(row))
        if forged:
            return None
        at = now()
        idle = timedelta(minutes=self.settings.console_idle_minutes)
        expired = at - as_utc(row.last_seen) > idle or at >= as_utc(row.expires_at)
        if expired or self._revoked(session, row, at):
            session.delete(row)
            return None
        return row

    def _revoked(self, session: Session, row: ConsoleSession, at: datetime) -> bool:
        """Whether the account's state now ends the session (会话失效): it may not sign in (no
        account or password, a demo in production, a row edited, locked); its password was set
        or changed after the session began (a CHANGE session exists to make that change and
        can do nothing else); or a FULL session's account must now change its password, or
        has a TOTP role without a confirmed second factor."""
        user, credential = session.get(User, row.user), session.get(Credential, row.user)
        if self._refusal(user, credential, at) is not None:
            return True
        if row.stage != Stage.CHANGE and as_utc(credential.changed_at) > as_utc(row.created_at):
            return True
        if row.stage != Stage.FULL:
            return False
        unenrolled = not credential.totp_confirmed and self.needs_totp(row.user)
        return must_change(credential, at) or unenrolled

    def _session_seal(self, row: ConsoleSession) -> str:
        times = (as_utc(t).isoformat() for t in (row.created_at, row.last_seen, row.expires_at))
        return self.console_key().seal(row.token_hash, row.user, row.stage, row.csrf, *times)
