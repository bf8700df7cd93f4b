"""Keyed pseudonyms (假名化): HMAC-SHA256 in DuckDB SQL, equal to Python's `hmac`.

DuckDB has no HMAC function; it is composed from `sha256` over the padded key. The same key
gives the same pseudonym in every dataset, so safe/ data still joins on a person.
"""

import hashlib
import hmac

PSEUDONYM_HEX = 32


def pseudonym(key: str, value: str) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


def hmac_macro(key: str) -> str:
    """`CREATE MACRO yc_pseudonym(v)` for this key; the key never leaves the connection."""
    raw = key.encode()
    if len(raw) > 64:
        raw = hashlib.sha256(raw).digest()
    padded = raw.ljust(64, b"\0")
    inner = bytes(b ^ 0x36 for b in padded).hex()
    outer = bytes(b ^ 0x5C for b in padded).hex()
    return (
        "CREATE OR REPLACE TEMP MACRO yc_pseudonym(v) AS CASE WHEN v IS NULL THEN NULL ELSE "
        f"left(sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || encode(v)))), "
        f"{PSEUDONYM_HEX}) END"
    )


def recipient_key(master_key: str, consumer: str) -> str:
    """The pseudonym key of one consumer's deliveries, derived from the de-identification key."""
    return hmac.new(
        master_key.encode(), f"consumer:{consumer}".encode(), hashlib.sha256
    ).hexdigest()
