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
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from upath import UPath

from ycpipelines.egress.checks import EgressRefused, verify
from ycpipelines.egress.records import Approval, Delivered, Order
from ycpipelines.egress.trace import relation
from ycpipelines.egress.zones import DIR_MODE, FILE_MODE, ZoneRefused, consumer_zone, seal
from ycpipelines.foundation.lake import duck, file_digest
from ycpipelines.registry import Registry, RegistryError
from ycpipelines.registry.models import ApprovalRequest

REFUSED = "egress.refused"


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
