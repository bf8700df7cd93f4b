"""The audit chain's anchor outside the database (审计锚点): a secret key that chains the entries,
and signed checkpoints of what each transaction appended.

Each entry's hash is an HMAC-SHA256 under `YC_AUDIT_KEY`, which the database never holds: whoever
edits an entry cannot recompute the chain after it. After every transaction that wrote entries,
the range it wrote (first and last entry id, the last hash) is signed with an Ed25519 key
(`YC_AUDIT_SIGNING_KEY`, a PEM file), naming the registry, and appended to
`<YC_AUDIT_DIR>/<registry id>/checkpoints.jsonl`, outside the registry. An entry that no signed
range covers was not written by the platform (even by someone holding the chain key); a cut tail
or a recomputed chain no longer matches the ranges' hashes. In development both keys are made
once under `$YC_HOME/keys` (0600); production must provide them.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import uuid
from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ycpipelines.foundation.environment import is_prod
from ycpipelines.foundation.settings import Settings

CHECKPOINTS = "checkpoints.jsonl"
PUBLIC_KEY = "checkpoint-signing.pub"


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that one transaction appended entries `first`..`entry` of `registry`,
    the last with `hash`, at `at`."""

    registry: str
    first: int
    entry: int
    hash: str
    at: str
    signature: str = ""

    def message(self) -> bytes:
        return f"{self.registry}:{self.first}-{self.entry}:{self.hash}:{self.at}".encode()


def create_private(path: Path, content: bytes) -> bytes:
    """Write `content` to a new file readable only by its owner, atomically (written aside, then
    linked into place); if another process made the file first, return what it wrote."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        aside = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    return path.read_bytes()


def new_signing_key() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def configured_keys(settings: Settings) -> tuple[bytes, bytes]:
    """The chain key and the signing key's PEM: from the settings, or (development only)
    made once under `$YC_HOME/keys`."""
    secret = settings.audit_key.get_secret_value() if settings.audit_key else ""
    pem_path = settings.audit_signing_key
    if is_prod(settings) and not (secret and pem_path):
        raise ValueError("YC_ENV=prod: YC_AUDIT_KEY and YC_AUDIT_SIGNING_KEY must be set")
    keys = settings.home / "keys"
    chain = secret.encode() or create_private(
        keys / "audit-chain.key", secrets.token_hex(32).encode()
    )
    pem = (
        Path(pem_path).read_bytes()
        if pem_path
        else create_private(keys / "audit-signing.pem", new_signing_key())
    )
    if len(chain.strip()) < 32:
        raise ValueError("the audit chain key must be a secret of at least 32 characters")
    return chain.strip(), pem


@dataclass
class Anchor:
    """The chain key, the checkpoint signing key and the checkpoint folder of one registry."""

    registry: str
    chain_key: bytes
    signing_key: Ed25519PrivateKey
    folder: Path
    _read: tuple[int, list[Checkpoint], list[int]] = field(default=(0, [], []), repr=False)
    _index: tuple[int, list[int], list[Checkpoint]] = field(default=(-1, [], []), repr=False)

    @classmethod
    def load(cls, registry: str, settings: Settings | None = None) -> "Anchor":
        """The anchor of the registry whose id (stored in its database) is `registry`."""
        settings = settings or Settings()
        chain, pem = configured_keys(settings)
        signing = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(signing, Ed25519PrivateKey):
            raise ValueError("YC_AUDIT_SIGNING_KEY must be an Ed25519 private key")
        folder = settings.audit_folder / registry
        anchor = cls(registry, chain, signing, folder)
        create_private(folder / PUBLIC_KEY, anchor.public_pem())
        return anchor

    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()

    def public_pem(self) -> bytes:
        return self.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def seal(self, canonical: str) -> str:
        """The keyed hash of one entry's canonical text."""
        return hmac.new(self.chain_key, canonical.encode(), hashlib.sha256).hexdigest()

    def checkpoint(self, first: int, entry: int, head: str) -> Checkpoint:
        """Sign what one transaction appended and add it to the checkpoint file (one write)."""
        unsigned = Checkpoint(self.registry, first, entry, head, datetime.now(UTC).isoformat())
        signature = base64.b64encode(self.signing_key.sign(unsigned.message())).decode()
        point = Checkpoint(**{**asdict(unsigned), "signature": signature})
        line = json.dumps(asdict(point), separators=(",", ":")) + "\n"
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.folder / CHECKPOINTS, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        return point

    def checkpoints(self) -> tuple[list[Checkpoint], list[int]]:
        """The checkpoints whose signature verifies, and the line numbers of those that do not;
        lines already verified are not verified again (the file only grows)."""
        path = self.folder / CHECKPOINTS
        data = path.read_bytes() if path.exists() else b""
        offset, good, bad = self._read
        if len(data) < offset:  # the file was cut or replaced: start over
            offset, good, bad = 0, [], []
        good, bad = list(good), list(bad)
        number = data[:offset].count(b"\n")
        for line in data[offset:].splitlines():
            number += 1
            point = read_checkpoint(line, self.public_key(), self.registry)
            good.append(point) if point else bad.append(number)
        self._read = (len(data), good, bad)
        return good, bad

    def covered(self, entry_id: int) -> bool:
        """Whether a signed checkpoint covers an entry (the platform wrote it); the ranges of
        transactions never overlap, so the one starting last at or before it decides."""
        points = self.checkpoints()[0]
        if self._index[0] != len(points):
            ordered = sorted(points, key=lambda p: p.first)
            self._index = (len(points), [p.first for p in ordered], ordered)
        _, firsts, ordered = self._index
        at = bisect_right(firsts, entry_id)
        return at > 0 and ordered[at - 1].first <= entry_id <= ordered[at - 1].entry


def read_checkpoint(line: bytes, key: Ed25519PublicKey, registry: str) -> Checkpoint | None:
    """One checkpoint line, if it is well formed, of this registry, and its signature verifies."""
    try:
        point = Checkpoint(**json.loads(line))
        key.verify(base64.b64decode(point.signature), point.message())
    except (ValueError, TypeError, InvalidSignature):
        return None
    return point if point.registry == registry else None


def exported_checkpoints(folder: Path, anchor: Anchor) -> list[Checkpoint]:
    """Checkpoints a supervisor kept (`ycp audit anchor`), verified with the public key exported
    beside them, which must be the platform's own."""
    pem = (folder / PUBLIC_KEY).read_bytes()
    if pem != anchor.public_pem():
        raise ValueError(f"{folder / PUBLIC_KEY} is not the platform's checkpoint signing key")
    lines = (folder / CHECKPOINTS).read_bytes().splitlines()
    points = [read_checkpoint(line, anchor.public_key(), anchor.registry) for line in lines]
    return [p for p in points if p]
