"""Private set intersection (隐私求交) for 智能核保, over a local socket.

An insurer holds its applicants' resident ID numbers; the platform holds health data. With
OpenMined's ECDH-PSI the insurer learns which applicants the platform knows and nothing about
anyone else, and the platform learns only how many applicants were asked about. The insurer then
asks for the underwriting features of the applicants it matched; they come from product content a
reviewer approved for that insurer, with pseudonyms keyed for it. Every session is audited with
counts only; a client that declares one number of applicants and sends another, or sends bytes
that are not a PSI request, is refused and the refusal audited.
"""

import json
import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import private_set_intersection.python as psi
from google.protobuf.message import DecodeError

from ycpipelines.catalog import Catalog
from ycpipelines.deid.pseudonym import pseudonym, recipient_key
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.keys import Layer
from ycpipelines.foundation.lake import Lake, duck, file_digest, sql_literal
from ycpipelines.registry import Registry

SCENARIO = "underwriting_features"
FALSE_POSITIVE_RATE = 1e-9
MAX_APPLICANTS = 200_000  # per session: a client may not probe the register wholesale
MAX_FRAME = 256 << 20
ACTOR = "psi-server"


class PsiRefused(RuntimeError):
    """The session was refused; the message says why."""


@dataclass
class Channel:
    """Length-prefixed frames over a connected socket, counting the bytes exchanged."""

    sock: socket.socket
    sent: int = 0
    received: int = 0

    def send(self, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">I", len(payload)) + payload)
        self.sent += 4 + len(payload)

    def receive(self) -> bytes:
        (size,) = struct.unpack(">I", self._exactly(4))
        if size > MAX_FRAME:
            raise PsiRefused(f"frame of {size} bytes exceeds {MAX_FRAME}")
        payload = self._exactly(size)
        self.received += 4 + size
        return payload

    def send_json(self, message: dict) -> None:
        self.send(json.dumps(message, ensure_ascii=False, default=str).encode())

    def receive_json(self) -> dict:
        try:
            message = json.loads(self.receive())
        except ValueError as error:
            raise PsiRefused("expected a JSON message") from error
        if not isinstance(message, dict):
            raise PsiRefused("expected a JSON object")
        return message

    def _exactly(self, size: int) -> bytes:
        chunks, left = [], size
        while left:
            chunk = self.sock.recv(min(left, 1 << 20))
            if not chunk:
                raise PsiRefused("the peer closed the connection")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


@dataclass
class PlatformSide:
    """What the platform serves PSI sessions from."""

    catalog: Catalog
    registry: Registry
    lake: Lake
    master_key: str
    ids: list[str] = field(default_factory=list)

    def load(self) -> "PlatformSide":
        """The resident IDs the platform can give underwriting features for."""
        residents = self.lake.glob(Layer.STD, "residents")
        with duck() as con:
            self.ids = [
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT id_number FROM read_parquet('{residents}') ORDER BY 1"
                ).fetchall()
            ]
        return self

    def approved_product(self, consumer: str) -> Path:
        """The underwriting product file, if its exact content is approved for this consumer."""
        path = self.lake.product_file(SCENARIO)
        digest = file_digest(path)
        for r in self.registry.requests():
            if (
                r.scenario == SCENARIO
                and r.consumer == consumer
                and r.content_hash == digest
                and r.status in ("approved", "published")
            ):
                return path
        raise PsiRefused(f"the current {SCENARIO} content is not approved for {consumer}")

    def features(self, consumer: str, matched: list[str]) -> list[dict]:
        """Underwriting features of matched applicants, pseudonyms keyed for the consumer."""
        known = set(self.ids)
        wanted = {pseudonym(self.master_key, i): i for i in matched if i in known}
        if not wanted:
            return []
        path = self.approved_product(consumer)
        keyed = recipient_key(self.master_key, consumer)
        listed = ", ".join(sql_literal(p) for p in wanted)
        with duck() as con:
            rows = (
                con.sql(
                    f"SELECT * FROM read_parquet('{path}') WHERE person_pid IN ({listed}) "
                    "ORDER BY person_pid"
                )
                .to_arrow_table()
                .to_pylist()
            )
        return [
            {
                "id_number": wanted[r["person_pid"]],
                **{k: v for k, v in r.items() if k != "person_pid"},
                "person_pid": pseudonym(keyed, r["person_pid"]),
            }
            for r in rows
        ]

    def session(self, channel: Channel) -> dict:
        """One PSI session; returns its counts (audited by the caller)."""
        hello = channel.receive_json()
        consumer, applicants = str(hello.get("consumer", "")), hello.get("applicants")
        if not isinstance(applicants, int) or not 0 < applicants <= MAX_APPLICANTS:
            raise PsiRefused(f"applicants must be 1..{MAX_APPLICANTS}, got {applicants!r}")
        today = pilot_today()
        grants = [
            g
            for g in self.registry.active_authorizations(SCENARIO, today)
            if g.consumer == consumer
        ]
        if not grants:
            raise PsiRefused(f"{consumer!r} has no active {SCENARIO} authorization")
        self.approved_product(consumer)
        channel.send_json({"ok": True})
        server_exchange(channel, self.ids, applicants)
        matched = channel.receive_json().get("ids", [])
        if not isinstance(matched, list) or len(matched) > applicants:
            raise PsiRefused("asked for more applicants than declared")
        rows = self.features(consumer, [str(i) for i in matched])
        channel.send_json({"rows": rows})
        return {"consumer": consumer, "applicants": applicants, "features": len(rows)}


def serve(side: PlatformSide, path: Path, sessions: int | None = None) -> None:
    """Accept sessions on a Unix socket, one at a time; each is audited, refusals too."""
    path.unlink(missing_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        path.chmod(0o600)
        listener.listen()
        served = 0
        while sessions is None or served < sessions:
            conn, _ = listener.accept()
            served += 1
            with conn:
                channel = Channel(conn)
                try:
                    counts = side.session(channel)
                    side.registry.audit(
                        ACTOR,
                        "psi.session",
                        f"psi/{counts['consumer']}",
                        counts | {"bytes": channel.sent + channel.received},
                    )
                except (PsiRefused, OSError) as refusal:
                    side.registry.audit(
                        ACTOR, "psi.refused", "psi/session", {"reason": str(refusal)}
                    )
                    with suppress(OSError):  # the peer may be gone already
                        channel.send_json({"error": str(refusal)})


def server_exchange(channel: Channel, ids: list[str], applicants: int) -> None:
    """The platform's half of ECDH-PSI: its blinded set out, the client's elements blinded back.
    A request that is not one, or of another size than declared, is refused."""
    server = psi.server.CreateWithNewKey(True)
    setup = server.CreateSetupMessage(FALSE_POSITIVE_RATE, applicants, ids, psi.DataStructure.GCS)
    channel.send(setup.SerializeToString())
    request = psi.Request()
    try:
        request.ParseFromString(channel.receive())
    except DecodeError as error:
        raise PsiRefused("the PSI request is malformed") from error
    if len(request.encrypted_elements) != applicants:
        raise PsiRefused(
            f"declared {applicants} applicants, sent {len(request.encrypted_elements)}"
        )
    try:
        response = server.ProcessRequest(request)
    except RuntimeError as error:
        raise PsiRefused(f"the PSI request is malformed: {error}") from error
    channel.send(response.SerializeToString())


def client_exchange(channel: Channel, ids: list[str]) -> list[str]:
    """The insurer's half: which of its `ids` the platform holds, learning nothing else."""
    client = psi.client.CreateWithNewKey(True)
    setup = psi.ServerSetup()
    setup.ParseFromString(channel.receive())
    channel.send(client.CreateRequest(ids).SerializeToString())
    response = psi.Response()
    response.ParseFromString(channel.receive())
    return [ids[i] for i in sorted(client.GetIntersection(setup, response))]


@contextmanager
def connected(path: Path) -> Iterator[Channel]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(path))
        yield Channel(sock)


def answer(channel: Channel) -> dict:
    message = channel.receive_json()
    if "error" in message:
        raise PsiRefused(message["error"])
    return message


def ask(path: Path, consumer: str, ids: list[str]) -> tuple[list[dict], int]:
    """The insurer's side: the features of the applicants the platform knows, and the bytes
    exchanged. Applicants are sent only as PSI-blinded elements."""
    ids = list(dict.fromkeys(i.strip().upper() for i in ids if i.strip()))
    with connected(path) as channel:
        channel.send_json({"consumer": consumer, "applicants": len(ids)})
        answer(channel)
        matched = client_exchange(channel, ids)
        channel.send_json({"ids": matched})
        rows = answer(channel)["rows"]
        return rows, channel.sent + channel.received
