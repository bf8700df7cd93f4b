"""Passwords (口令): the complexity policy of GB/T 22239-2019 level 3, argon2id hashing, and a
verification run against a hash of no account so a missing account takes as long as a wrong
password."""

import secrets
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ycpipelines.registry.errors import RegistryError

MIN_LENGTH = 12
MIN_CLASSES = 3
MAX_AGE = timedelta(days=90)  # a password older than this must be changed at sign-in
HASHER = PasswordHasher()  # argon2id, RFC 9106 parameters; a hash under others is redone
CLASSES = {
    "lower-case letters": str.islower,
    "upper-case letters": str.isupper,
    "digits": str.isdigit,
    "symbols": lambda c: not c.isalnum(),
}


def policy_violations(name: str, password: str) -> list[str]:
    """The rules a new password breaks (empty when it is acceptable); never the password."""
    broken = []
    if len(password) < MIN_LENGTH:
        broken.append(f"at least {MIN_LENGTH} characters")
    held = [kind for kind, test in CLASSES.items() if any(test(c) for c in password)]
    if len(held) < MIN_CLASSES:
        broken.append(f"at least {MIN_CLASSES} of {', '.join(CLASSES)}")
    if name.strip() and name.strip().casefold() in password.casefold():
        broken.append("not containing the account name")
    return broken


def check_policy(name: str, password: str) -> None:
    """Refuse a password that breaks the policy, listing every rule it breaks."""
    broken = policy_violations(name, password)
    if broken:
        raise RegistryError(f"the password is refused: it needs {'; '.join(broken)}")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def password_matches(stored: str, password: str) -> bool:
    """Whether `password` is the one `stored` hashes (a malformed hash matches nothing)."""
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a hash was made under other parameters than today's (it is redone at sign-in)."""
    return HASHER.check_needs_rehash(stored)


@cache
def _nobody() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def verify_nothing() -> None:
    """Spend the time a verification takes, for an account that does not exist or is refused
    before its password is checked."""
    password_matches(_nobody(), secrets.token_urlsafe(12))


def masked(name: str) -> str:
    """A typed account name as the audit chain may hold it: its first character only."""
    return f"{name[:1]}***"
