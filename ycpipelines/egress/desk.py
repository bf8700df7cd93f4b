"""审核台 The review desk's evidence: one typed sheet per approval request, built from the request
row and its evidence, its authorization, the catalog's product and datasets, the product file
(hashed before anything is read from it) and the consumer's previous delivery.

No raw source value appears: products are de-identified, and the sample is masked on top."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NamedTuple

from ycpipelines.catalog import Catalog, Dataset, Product, SourceField
from ycpipelines.egress.changes import SMALLEST, ChangeView, compare
from ycpipelines.egress.content import private_copy
from ycpipelines.egress.privacy_rows import PrivacyRow, privacy_rows
from ycpipelines.egress.sample import SampleView, masked_sample
from ycpipelines.foundation.clock import stamp
from ycpipelines.foundation.keys import ColumnRef, Layer
from ycpipelines.foundation.levels import Level
from ycpipelines.products.build import pseudonym_columns
from ycpipelines.registry import Registry, RegistryError
from ycpipelines.registry.models import ApprovalRequest, Authorization, Delivery

REQUEST_COLUMNS = (
    "id",
    "status",
    "scenario",
    "consumer",
    "content_hash",
    "row_count",
    "product_path",
    "product_run_id",
    "authorization_id",
    "launched_by",
    "reviewer",
    "comment",
    "requested_at",
    "decided_at",
    "published_path",
    "published_at",
)
GRANT_COLUMNS = (
    "id",
    "consumer",
    "scenario",
    "fields",
    "valid_from",
    "valid_to",
    "plan",
    "status",
    "epsilon",
    "granted_by",
    "granted_at",
)


@dataclass(frozen=True)
class FieldRow:
    """A field requested and/or authorized: its level, its lineage back to the bureaus' fields
    (字段血缘) and the de-identification policies applied to them (脱敏策略)."""

    name: str
    level: str
    requested: bool
    authorized: bool
    lineage: list[str]
    policy: str
    label: str = ""


@dataclass(frozen=True)
class QualityRow:
    """An input dataset's governed partitions and how many passed their quality gate."""

    dataset: str
    partitions: int
    passed: int


class Contribution(NamedTuple):
    """What a bureau contributed to the product (收益分配): weighted rows and their share."""

    bureau: str
    rows: float
    share: float


@dataclass(frozen=True)
class DeliveredFile:
    """A file delivered under the request (交付文件): the SHA-256 of its bytes, which a consumer
    checks the downloaded file against, beside the approved content hash."""

    delivery_id: int
    version: str
    sha256: str
    rows: int
    status: str
    delivered_at: str


@dataclass(frozen=True)
class ReviewSheet:
    """Everything a reviewer reads for one request (出域审核证据)."""

    request: dict[str, Any]
    authorization: dict[str, Any] | None
    fields: list[FieldRow]
    quality: list[QualityRow]
    residual_identifiers: int | None
    privacy: list[PrivacyRow]
    sample: SampleView | None
    sample_note: str
    changes: ChangeView | None
    changes_note: str
    contributions: list[Contribution]
    price: str
    purpose: str
    legal_basis: str
    retention_days: int | None
    content_verified: bool  # the product file's hash is the request's content_hash
    delivered: list[DeliveredFile] = field(default_factory=list)  # once published


def as_dict(row: object, columns: tuple[str, ...]) -> dict[str, Any]:
    """A registry row as plain values: instants in the pilot's zone, days as ISO text."""
    found = {}
    for name in columns:
        value = getattr(row, name)
        if isinstance(value, datetime):
            value = stamp(value)
        elif isinstance(value, date):
            value = value.isoformat()
        found[name] = value
    return found


def product_of(catalog: Catalog, scenario: str) -> Product | None:
    return next((p for p in catalog.products if p.scenario == scenario), None)


def origins(catalog: Catalog, ref: ColumnRef) -> list[tuple[Dataset, SourceField]]:
    """The bureaus' source fields a safe/ or product/ column comes from."""
    if ref.asset.layer == Layer.SAFE:
        found = [d for d in catalog.datasets if d.id == ref.asset.name]
        return [
            (d, f)
            for d in found
            for f in d.fields
            if ref.name == f.safe_column or ref.name in f.derived_columns
        ]
    product = product_of(catalog, ref.asset.name)
    field = next((f for f in product.fields if f.name == ref.name), None) if product else None
    return [o for src in (field.derived_from if field else []) for o in origins(catalog, src)]


def sources_of(name: str, product: Product | None, requested: dict[str, Any]) -> list[ColumnRef]:
    """The columns a field is derived from: the catalog's, else what the evidence recorded."""
    declared = next((f for f in product.fields if f.name == name), None) if product else None
    if declared is not None:
        return list(declared.derived_from)
    refs = []
    for text in (requested.get(name) or {}).get("from", []):
        try:
            refs.append(ColumnRef.parse(text))
        except ValueError:
            continue
    return refs


def field_row(
    catalog: Catalog, name: str, product: Product | None, requested: dict, authorized: set[str]
) -> FieldRow:
    declared = next((f for f in product.fields if f.name == name), None) if product else None
    found = [
        (src, d, f)
        for src in sources_of(name, product, requested)
        for d, f in origins(catalog, src)
    ]
    lineage = [f"{src} ← {d.bureau}/{d.id}.{f.name}" for src, d, f in found]
    policies = dict.fromkeys(f"{d.id}.{f.name}: {f.policy.value}" for _, d, f in found)
    level = (requested.get(name) or {}).get("level") or (declared.level if declared else "")
    return FieldRow(
        name=name,
        level=str(level),
        requested=name in requested,
        authorized=name in authorized,
        lineage=lineage,
        policy="; ".join(policies),
        label=declared.label if declared else "",
    )


def field_rows(
    catalog: Catalog, product: Product | None, evidence: dict, grant: Authorization | None
) -> list[FieldRow]:
    """Requested fields first (the request's field list), then those only authorized."""
    requested = evidence.get("fields") or (
        {f.name: {"level": f.level} for f in product.fields} if product else {}
    )
    authorized = set(grant.fields) if grant else set()
    names = [*requested, *sorted(authorized - set(requested))]
    return [field_row(catalog, n, product, requested, authorized) for n in names]


def levels_of(product: Product | None, rows: list[FieldRow]) -> dict[str, Level]:
    """The level each column is masked by: the product's, else the one the evidence recorded."""
    if product is not None:
        return {f.name: f.level for f in product.fields}
    return {r.name: Level(r.level) for r in rows if r.level in set(Level)}


def previous_delivery(registry: Registry, request: ApprovalRequest) -> Delivery | None:
    """The consumer's delivery of the same scenario made before this request's own, if any."""
    mine = [
        d for d in registry.deliveries(consumer=request.consumer) if d.scenario == request.scenario
    ]
    own = next((d.id for d in mine if d.request_id == request.id), None)
    earlier = [d for d in mine if d.request_id != request.id and (own is None or d.id < own)]
    return earlier[-1] if earlier else None


def delivered_files(registry: Registry, request: ApprovalRequest) -> list[DeliveredFile]:
    """The deliveries made under the request, oldest first (none until it is published)."""
    return [
        DeliveredFile(d.id, d.version, d.sha256, d.rows, d.status, stamp(d.delivered_at))
        for d in registry.deliveries(consumer=request.consumer)
        if d.request_id == request.id
    ]


def changes_since(
    registry: Registry,
    catalog: Catalog,
    request: ApprovalRequest,
    product: Product | None,
    path: Path | None,
) -> tuple[ChangeView | None, str]:
    """This product against the previous delivery's zone file (hashed first); a note says why
    nothing was compared."""
    previous = previous_delivery(registry, request)
    if previous is None:
        return None, "首次交付 first delivery: no previous delivery of this scenario to compare"
    if path is None:
        return None, "not compared: the product file is not the request's content"
    with private_copy(previous.path) as before:
        if before.path is None or before.digest != previous.sha256:
            note = f"not compared: delivery {previous.version}'s file is gone or not as recorded"
            return None, note
        pseudonyms = pseudonym_columns(catalog, product) if product else []
        smallest = product.k if product and product.k else SMALLEST
        view = compare(before.path, path, pseudonyms, (previous.id, previous.version), smallest)
    return view, f"compared with delivery {previous.version} ({previous.rows} rows)"


def sample_note(request: ApprovalRequest, digest: str | None, shown: int) -> str:
    if digest is None:
        return "无样本 no sample: the product file is missing or unreadable"
    if digest != request.content_hash:
        return (
            "无样本 no sample: the product file's hash is not the request's content_hash "
            "(the file was replaced after the request)"
        )
    return f"{shown} of {request.row_count} rows, each cell masked by its field's level"


def yuan(value: object) -> str:
    """A price in yuan with two decimals, as the catalog writes it ("" when none)."""
    try:
        return f"{Decimal(str(value)):.2f}" if value is not None else ""
    except InvalidOperation:
        return str(value)


def contributions_of(evidence: dict) -> list[Contribution]:
    given = {str(b): float(n) for b, n in (evidence.get("contributions") or {}).items()}
    total = sum(given.values())
    return [Contribution(b, n, round(n / total, 4) if total else 0.0) for b, n in given.items()]


def quality_of(evidence: dict) -> list[QualityRow]:
    found = evidence.get("quality") or {}
    return [
        QualityRow(d, int(q.get("partitions", 0)), int(q.get("passed", 0)))
        for d, q in found.items()
    ]


def grant_of(registry: Registry, request: ApprovalRequest) -> Authorization | None:
    if request.authorization_id is None:
        return None
    try:
        return registry.authorization(request.authorization_id)
    except RegistryError:
        return None


def review_sheet(registry: Registry, catalog: Catalog, request_id: int) -> ReviewSheet:
    """The evidence of one request; raises `RegistryError` when there is no such request. The
    product file is copied and hashed before it is read: a file whose hash is not the request's
    content_hash gives no sample, no measurement and no comparison."""
    request = registry.request(request_id)
    grant = grant_of(registry, request)
    product = product_of(catalog, request.scenario)
    evidence = dict(request.evidence or {})
    fields = field_rows(catalog, product, evidence, grant)
    with private_copy(request.product_path) as content:
        verified = content.path is not None and content.digest == request.content_hash
        path = content.path if verified else None
        sample = masked_sample(path, levels_of(product, fields)) if path else None
        privacy = privacy_rows(evidence, product, path)
        changes, changes_note = changes_since(registry, catalog, request, product, path)
    figures = evidence.get("privacy") or {}
    retention = evidence.get("retention_days") or (product.retention_days if product else None)
    return ReviewSheet(
        request=as_dict(request, REQUEST_COLUMNS),
        authorization=as_dict(grant, GRANT_COLUMNS) if grant else None,
        fields=fields,
        quality=quality_of(evidence),
        residual_identifiers=figures.get("residual_identifiers"),
        privacy=privacy,
        sample=sample,
        sample_note=sample_note(request, content.digest, len(sample.rows) if sample else 0),
        changes=changes,
        changes_note=changes_note,
        contributions=contributions_of(evidence),
        price=yuan(evidence.get("price") or (product.price if product else None)),
        purpose=str(evidence.get("purpose") or (product.purpose if product else "")),
        legal_basis=str(evidence.get("legal_basis") or (product.legal_basis if product else "")),
        retention_days=retention,
        content_verified=verified,
        delivered=delivered_files(registry, request),
    )
