"""The audit chain's anchor outside the database (审计锚点): a secret key that chains the entries,
and signed checkpoints of the chain's head.

Each entry's hash is an HMAC-SHA256 under `YC_AUDIT_KEY`, which the database never holds: whoever
edits an entry cannot recompute the chain after it. After every transaction that wrote entries,
the head (entry id and hash) is signed with an Ed25519 key (`YC_AUDIT_SIGNING_KEY`, a PEM file)
and appended to `<YC_AUDIT_DIR>/<registry>/checkpoints.jsonl`, outside the registry: a cut
tail or a chain recomputed with the key no longer matches the newest checkpoint. In development
both keys are made once under `$YC_HOME/keys` (0600); production must provide them.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ycpipelines.lake import home

CHECKPOINTS = "checkpoints.jsonl"
PUBLIC_KEY = "checkpoint-signing.pub"


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the chain's head was `entry` with `hash` at `at`."""

    entry: int
    hash: str
    at: str
    signature: str

    def message(self) -> bytes:
        return f"{self.entry}:{self.hash}:{self.at}".encode()


def create_private(path: Path, content: bytes) -> bytes:
    """Write `content` to a new file readable only by its owner; if another process made the
    file first, return what it wrote."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    return content


def new_signing_key() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class Anchor:
    """The chain key, the checkpoint signing key and the folder of checkpoints."""

    chain_key: bytes
    signing_key: Ed25519PrivateKey
    folder: Path

    @classmethod
    def load(cls, registry: str) -> "Anchor":
        """The anchor of one registry (its URL, password hidden, names its checkpoint folder)."""
        keys = home() / "keys"
        secret = (
            os.environ.get("YC_AUDIT_KEY")
            or create_private(keys / "audit-chain.key", secrets.token_hex(32).encode()).decode()
        )
        pem_path = os.environ.get("YC_AUDIT_SIGNING_KEY")
        pem = (
            Path(pem_path).read_bytes()
            if pem_path
            else create_private(keys / "audit-signing.pem", new_signing_key())
        )
        signing = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(signing, Ed25519PrivateKey):
            raise ValueError("YC_AUDIT_SIGNING_KEY must be an Ed25519 private key")
        name = hashlib.sha256(registry.encode()).hexdigest()[:16]
        folder = Path(os.environ.get("YC_AUDIT_DIR") or home() / "audit") / name
        anchor = cls(secret.strip().encode(), signing, folder)
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

    def checkpoint(self, entry: int, head: str) -> Checkpoint:
        """Sign the head and append it to the checkpoint file (one line, one write)."""
        at = datetime.now(UTC).isoformat()
        unsigned = Checkpoint(entry, head, at, "")
        signature = base64.b64encode(self.signing_key.sign(unsigned.message())).decode()
        point = Checkpoint(entry, head, at, signature)
        line = json.dumps(point.__dict__, separators=(",", ":")) + "\n"
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.folder / CHECKPOINTS, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        return point

    def checkpoints(self) -> tuple[list[Checkpoint], list[int]]:
        """The checkpoints whose signature verifies, and the line numbers of those that do not."""
        path = self.folder / CHECKPOINTS
        lines = path.read_text().splitlines() if path.exists() else []
        good, bad = [], []
        for number, line in enumerate(lines, 1):
            try:
                point = Checkpoint(**json.loads(line))
                self.public_key().verify(base64.b64decode(point.signature), point.message())
            except (ValueError, TypeError, InvalidSignature):
                bad.append(number)
                continue
            good.append(point)
        return good, bad
