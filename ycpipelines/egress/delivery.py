"""出域 The one delivery path: every file that leaves the lake for a consumer's zone comes here.

Publishing a product and releasing a sandbox result both call `deliver`. It snapshots the
approved file once (a private copy inside the lake), hashes the snapshot, compares it with the
approved hash, re-verifies the decision in the audit chain, the authorization (active, valid on
the pilot's day, covering every field) and, for a product, its build's privacy checks; then it
writes the zone version from that same snapshot, sealed for the consumer (publisher-owned, no
links), and records the delivery with its audit entry, re-checking the authorization under a
lock. Anything else is a refusal: audited, and nothing is written.
"""

import json
import os
import shutil
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NoReturn

import dagster as dg
from upath import UPath

from ycpipelines.egress.trace import relation
from ycpipelines.egress.zones import DIR_MODE, FILE_MODE, ZoneRefused, consumer_zone, seal
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.lake import duck, file_digest
from ycpipelines.registry import Registry, RegistryError
from ycpipelines.registry.models import ApprovalRequest, Authorization
from ycpipelines.registry.requests import Decision

REFUSED = "egress.refused"

# Writes the consumer's file from the snapshot into a staging folder; returns the file written.
Writer = Callable[[UPath, Path], Path]
# Verifies that the committed build with this content passed its privacy checks; returns what
# each bureau contributed to it (收益分配).
BuildCheck = Callable[[str], dict[str, float]]


class EgressRefused(dg.Failure):
    """A delivery was refused; nothing was written outside the lake."""


@dataclass(frozen=True)
class Scope:
    """What the authorization must cover: its scenario and every field delivered."""

    scenario: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Order:
    """One delivery to make (交付单): which approval, which file, where, and how it is written."""

    request_id: int
    consumer: str
    scenario: str  # what the approval request names
    scope: Scope
    source: UPath  # the approved file, in the lake
    folder: str  # under the consumer's zone
    write: Writer
    fingerprint: str
    actor: str
    version: str | None = None  # None: the consumer's next version of `scenario`
    price_cents: int = 0
    build: BuildCheck | None = None  # products only
    manifest: Mapping[str, object] = field(default_factory=dict)  # extra manifest entries
    trail: Mapping[str, object] = field(default_factory=dict)  # extra audit detail (run id)


@dataclass(frozen=True)
class Approval:
    """What re-verification established: the snapshot's hash, the decision in the audit chain,
    the authorization, and what each bureau contributed to the build."""

    digest: str
    decision: Decision
    authorization_id: int
    contributions: dict[str, float]


@dataclass(frozen=True)
class Delivered:
    """A recorded delivery: its zone folder and file, computed from the bytes delivered."""

    folder: Path
    data: Path
    sha256: str
    product_sha256: str
    rows: int
    decision: Decision


def refuse(
    store: Registry, actor: str, subject: str, reason: str, detail: Mapping[str, object]
) -> NoReturn:
    """Audit a refusal, then raise it."""
    store.audit(actor, REFUSED, subject, {"reason": reason, **detail})
    raise EgressRefused(reason)


def requested(
    store: Registry, tag: str | None, actor: str, subject: str, detail: Mapping[str, object]
) -> ApprovalRequest:
    """The approval request a run tag names; a missing, malformed or unknown one is refused."""
    if not tag:
        reason = (
            "publish runs only for an approved request; the egress_review sensor "
            "launches them (ycp egress list / ycp egress approve)"
        )
        refuse(store, actor, subject, reason, {**detail, "request": tag})
    if not tag.isdigit():
        refuse(store, actor, subject, "the approval request tag is not a request id", detail)
    try:
        return store.request(int(tag))
    except RegistryError as error:
        refuse(store, actor, subject, str(error), {**detail, "request": tag})


def take_snapshot(source: UPath) -> UPath:
    """A private copy of the approved file beside it in the lake (0600): the only bytes read
    from here on, so a file replaced in the meantime cannot be what is delivered."""
    if not source.exists():
        raise EgressRefused(f"nothing to deliver at {source}")
    snapshot = source.with_name(f".snapshot.{uuid.uuid4().hex}{source.suffix}")
    with source.open("rb") as original, snapshot.open("wb") as copy:
        if isinstance(snapshot, Path):
            os.chmod(snapshot, FILE_MODE)
        shutil.copyfileobj(original, copy, 1 << 20)
    return snapshot


def verify_authorization(grant: Authorization, consumer: str, scope: Scope, today: date) -> None:
    """一授权一预案: the consumer's, active, within its validity, covering every field."""
    where = f"authorization {grant.id} ({grant.consumer}, {grant.scenario})"
    if grant.status != "active":
        raise EgressRefused(f"{where} is {grant.status}")
    if not grant.valid_from <= today <= grant.valid_to:
        raise EgressRefused(f"{where} is valid {grant.valid_from}..{grant.valid_to}, not {today}")
    if grant.consumer != consumer:
        raise EgressRefused(f"{where} is not {consumer}'s")
    missing = [f for f in scope.fields if f not in grant.fields]
    if grant.scenario != scope.scenario or missing:
        raise EgressRefused(f"{where} does not cover {missing or scope.scenario}")


def verify(store: Registry, order: Order, request: ApprovalRequest, digest: str) -> Approval:
    """Everything a delivery re-checks at write time, on the snapshot's hash."""
    where = f"request {request.id}"
    if (request.scenario, request.consumer) != (order.scenario, order.consumer):
        raise EgressRefused(f"{where} is for {request.scenario} to {request.consumer}")
    if request.content_hash != digest:
        raise EgressRefused(
            f"{order.scenario} changed since {where} ({request.status}) was filed: "
            f"it named {request.content_hash}, the content is now {digest}"
        )
    decision = store.verified_decision(request.id)
    if decision.content_hash != digest:
        raise EgressRefused(f"the recorded approval of {where} names other content")
    if request.authorization_id is None:
        raise EgressRefused(f"{where} names no authorization")
    grant = store.authorization(request.authorization_id)
    verify_authorization(grant, order.consumer, order.scope, pilot_today())
    contributions = order.build(digest) if order.build else {}
    return Approval(digest, decision, grant.id, contributions)


def delivered_rows(data: Path) -> int:
    """Rows of the file as delivered."""
    with duck() as con:
        return int(con.execute(f"SELECT count(*) FROM {relation(data)}").fetchone()[0])


def manifest(order: Order, version: str, data: Path, approval: Approval) -> dict:
    """The manifest of a delivery; its hash and rows are those of the file delivered."""
    return {
        "scenario": order.scenario,
        "consumer": order.consumer,
        "version": version,
        **order.manifest,
        "rows": delivered_rows(data),
        "file": data.name,
        "sha256": file_digest(data),
        "product_sha256": approval.digest,
        "approval_request": order.request_id,
        "reviewer": approval.decision.reviewer,
        "decided_at": approval.decision.decided_at,
        "authorization": approval.authorization_id,
        "delivered_at": datetime.now(UTC).isoformat(),
    }


def place(
    store: Registry, order: Order, snapshot: UPath, zone: Path, approval: Approval
) -> tuple[Path, dict]:
    """Write `<zone>/<consumer>/<folder>/<version>/` from the snapshot, sealed, atomically."""
    version = order.version or store.next_version(order.consumer, order.scenario)
    parent = consumer_zone(zone, order.consumer) / order.folder
    parent.mkdir(mode=DIR_MODE, exist_ok=True)
    seal(parent, order.consumer, recursive=False)
    final = parent / version
    staging = parent / f".{version}.{uuid.uuid4().hex}.tmp"
    staging.mkdir(mode=DIR_MODE)
    try:
        data = order.write(snapshot, staging)
        written = manifest(order, version, data, approval)
        (staging / "manifest.json").write_text(
            json.dumps(written, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        seal(staging, order.consumer)
        os.replace(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final, written


def record(store: Registry, order: Order, final: Path, written: dict, approval: Approval) -> None:
    """Record the delivery (audited with it); unrecorded, it is removed again."""
    try:
        store.record_delivery(
            order.request_id,
            order.actor,
            decision_entry=approval.decision.entry_id,
            authorization_id=approval.authorization_id,
            consumer=order.consumer,
            scenario=order.scenario,
            version=written["version"],
            path=str(final / written["file"]),
            sha256=written["sha256"],
            product_sha256=written["product_sha256"],
            rows=written["rows"],
            fingerprint=order.fingerprint,
            price_cents=order.price_cents,
            contributions=approval.contributions,
        )
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise


def deliver(store: Registry, order: Order, zone: Path) -> Delivered:
    """Deliver exactly the approved bytes into the consumer's zone, or refuse (audited)."""
    subject = f"request/{order.request_id}"
    detail = {"consumer": order.consumer, "scenario": order.scenario, **order.trail}
    snapshot = None
    try:
        request = store.request(order.request_id)
        snapshot = take_snapshot(order.source)
        digest = file_digest(snapshot)
        detail["content_hash"] = digest
        approval = verify(store, order, request, digest)
        final, written = place(store, order, snapshot, zone, approval)
        record(store, order, final, written, approval)
        data = final / written["file"]
        return Delivered(final, data, written["sha256"], digest, written["rows"], approval.decision)
    except EgressRefused as refusal:
        refuse(store, order.actor, subject, refusal.description or "refused", detail)
    except (RegistryError, ZoneRefused) as error:
        refuse(store, order.actor, subject, str(error), detail)
    except OSError as error:  # e.g. another run placed the same version first
        refuse(store, order.actor, subject, f"the zone could not be written: {error}", detail)
    finally:
        if snapshot is not None:
            snapshot.unlink(missing_ok=True)
