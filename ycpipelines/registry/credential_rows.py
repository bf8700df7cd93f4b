"""A credential row bound to its account (凭据行完整性): a keyed seal over the values that decide a
sign-in, the TOTP secret encrypted together with the account's name, and the counters written
with conditional UPDATEs, so that concurrent sign-ins cannot lose a failure or reuse a code on
SQLite (which ignores SELECT … FOR UPDATE) any more than on PostgreSQL."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ycpipelines.foundation.clock import as_utc
from ycpipelines.registry.console_key import ConsoleKey
from ycpipelines.registry.models import Credential


def row_seal(key: ConsoleKey, c: Credential, confirmed: bool | None = None) -> str:
    """The keyed seal of the row's sign-in values (`confirmed` overrides `totp_confirmed`)."""
    confirmed = c.totp_confirmed if confirmed is None else confirmed
    flags = f"{int(bool(confirmed))}{int(bool(c.must_change))}"
    changed = as_utc(c.changed_at).isoformat()
    return key.seal("credential", c.user, c.password_hash, c.totp_secret or "", flags, changed)


def reseal(key: ConsoleKey, credential: Credential) -> Credential:
    """Seal the row as it is now; every write of a sealed value ends with this."""
    credential.seal = row_seal(key, credential)
    return credential


def sealed(key: ConsoleKey, credential: Credential) -> bool:
    """Whether the row is as the registry wrote it (not edited, copied or inserted by hand)."""
    return bool(credential.seal) and key.verify_seal(credential.seal, row_seal(key, credential))


def bind_secret(key: ConsoleKey, name: str, secret: str) -> str:
    """The TOTP secret encrypted with the account's name, so a copy on another row is void."""
    return key.encrypt(f"{name}\n{secret}")


def bound_secret(key: ConsoleKey, credential: Credential) -> str | None:
    """The row's TOTP secret; None when it is missing, edited or names another account."""
    text = key.decrypt(credential.totp_secret or "")
    owner, _, secret = (text or "").partition("\n")
    return secret if secret and owner == credential.user else None


def count_failure(session: Session, name: str) -> int:
    """One more consecutive failure, counted atomically; the count after it."""
    session.execute(
        update(Credential)
        .where(Credential.user == name)
        .values(failures=Credential.failures + 1)
        .execution_options(synchronize_session=False)
    )
    return session.scalar(select(Credential.failures).where(Credential.user == name)) or 0


def lock(session: Session, name: str, limit: int, until: datetime, at: datetime) -> bool:
    """Lock the account when the count reached `limit` and no lock holds; True only for the one
    attempt whose UPDATE hit the row (it audits the lock)."""
    result = session.execute(
        update(Credential)
        .where(
            Credential.user == name,
            Credential.failures >= limit,
            (Credential.locked_until.is_(None)) | (Credential.locked_until < at),
        )
        .values(locked_until=until, failures=0)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def claim_step(session: Session, name: str, step: int) -> bool:
    """Use a TOTP time step: True only if no later or equal step was used before (a code raced
    from two requests passes once)."""
    result = session.execute(
        update(Credential)
        .where(
            Credential.user == name,
            Credential.totp_last_step.is_(None) | (Credential.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def claim_enrolment(key: ConsoleKey, session: Session, credential: Credential, step: int) -> bool:
    """Confirm the pending secret read in `credential`: True only if it is still pending and
    unchanged (a second confirmation, or one of a replaced secret, does not hit the row)."""
    result = session.execute(
        update(Credential)
        .where(
            Credential.user == credential.user,
            Credential.totp_confirmed.is_(False),
            Credential.totp_secret == credential.totp_secret,
        )
        .values(
            totp_confirmed=True,
            totp_last_step=step,
            seal=row_seal(key, credential, confirmed=True),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
