"""Keyed pseudonyms (假名化): HMAC-SHA256 in DuckDB SQL, equal to Python's `hmac`.

DuckDB has no HMAC function; it is composed from `sha256` over the padded key. The same key
gives the same pseudonym in every dataset, so safe/ data still joins on a person. Keys are
versioned for rotation: a pseudonym is only comparable with pseudonyms of the same version,
which every asset that writes pseudonyms records (never the key itself).
"""

import hashlib
import hmac
import re
from dataclasses import dataclass, field

import duckdb

PSEUDONYM_HEX = 32
KEY_ENV = "YC_PSEUDONYM_KEY"
DEFAULT_VERSION = "v1"
VERSION_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}"
# The provenance column of safe/ files that hold pseudonyms: the key version that made them.
VERSION_COLUMN = "_pseudonym_version"


class PseudonymKeyError(ValueError):
    """The key or its version is unusable; the message never contains the key."""


@dataclass(frozen=True)
class PseudonymKey:
    """One generation of the pseudonymization key; `repr` and `str` show only the version."""

    version: str
    secret: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.secret:
            raise PseudonymKeyError(f"pseudonym key {self.version} is empty; set {KEY_ENV}")
        if not re.fullmatch(VERSION_PATTERN, self.version):
            raise PseudonymKeyError(f"pseudonym key version must match {VERSION_PATTERN}")

    def __str__(self) -> str:
        return f"pseudonym key {self.version}"


def pseudonym(key: str, value: str) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


def _pads(key: str) -> tuple[str, str]:
    raw = key.encode()
    if len(raw) > 64:
        raw = hashlib.sha256(raw).digest()
    padded = raw.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in padded).hex(), bytes(b ^ 0x5C for b in padded).hex()


def install_pseudonym(con: duckdb.DuckDBPyConnection, key: str) -> None:
    """Define `yc_pseudonym(v)` on a connection for this key.

    The padded key lives in session variables bound as parameters, so no SQL text (and so no
    error message quoting it) ever contains the key or its pads.
    """
    inner, outer = _pads(key)
    con.execute("SET VARIABLE yc_hmac_inner = unhex($1)", [inner])
    con.execute("SET VARIABLE yc_hmac_outer = unhex($1)", [outer])
    con.execute(
        "CREATE OR REPLACE TEMP MACRO yc_pseudonym(v) AS CASE WHEN v IS NULL THEN NULL ELSE "
        "left(sha256(getvariable('yc_hmac_outer') || unhex(sha256(getvariable('yc_hmac_inner') "
        f"|| encode(v)))), {PSEUDONYM_HEX}) END"
    )


def recipient_key(master_key: str, consumer: str) -> str:
    """The pseudonym key of one consumer's deliveries, derived from the de-identification key."""
    return hmac.new(
        master_key.encode(), f"consumer:{consumer}".encode(), hashlib.sha256
    ).hexdigest()


def key_versions(con: duckdb.DuckDBPyConnection, relations: list[str]) -> list[str]:
    """The key versions whose pseudonyms the relations hold (a product must not mix them)."""
    found: set[str] = set()
    for relation in relations:
        columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
        if VERSION_COLUMN in columns:
            query = f"SELECT DISTINCT {VERSION_COLUMN} FROM {relation}"
            found |= {r[0] for r in con.execute(query).fetchall()}
    return sorted(found)
