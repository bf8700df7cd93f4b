"""What a product build leaves for egress (产品构建记录): one typed record, written to the
materialization's metadata by `build_metadata` and read back by `read_build` only."""

from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg

NO_KEY = "none"  # what `pseudonym_key_version` says when no input carried a pseudonym


@dataclass(frozen=True)
class ProductBuild:
    """One build of `product/<scenario>`: its file, its figures, and whether it was committed."""

    scenario: str
    run_id: str
    path: str  # the product's file in the lake, once committed
    content_hash: str
    rows: int
    committed: bool
    contributions: Mapping[str, float]  # rows per bureau times its revenue weight (收益分配)
    key_versions: tuple[str, ...]  # pseudonym key versions of its inputs
    residual_identifiers: int  # rows still holding a direct identifier (none may leave)
    smallest_group: int | None = None  # k-anonymity: the smallest equivalence class
    reidentification: Mapping[str, object] | None = None  # k-anonymity: the risk figures
    small_cells: int | None = None  # aggregates: released counts under `suppress_below`
    suppress_below: int | None = None
    rejected_to: str | None = None  # where the files went when a blocking check failed


@dataclass(frozen=True)
class Built:
    """What building a product returns to its asset: the record, the file's (name, type)
    columns, and the results of its blocking checks."""

    build: ProductBuild
    columns: tuple[tuple[str, str], ...]
    checks: tuple[dg.AssetCheckResult, ...]


def build_metadata(build: ProductBuild) -> dict[str, object]:
    """The materialization metadata of a build (scenario and run id are the event's own)."""
    figures: dict[str, object] = (
        {
            "smallest_group": build.smallest_group,
            "reidentification": dg.MetadataValue.json(dict(build.reidentification or {})),
        }
        if build.smallest_group is not None
        else {"small_cells": build.small_cells, "suppress_below": build.suppress_below}
    )
    return {
        "dagster/row_count": build.rows,
        "content_hash": build.content_hash,
        "path": build.path,
        **figures,
        "pseudonym_key_version": ", ".join(build.key_versions) or NO_KEY,
        "residual_identifiers": build.residual_identifiers,
        "contributions": dg.MetadataValue.json(dict(build.contributions)),
        "committed": build.committed,
        **({"rejected_to": build.rejected_to} if build.rejected_to is not None else {}),
    }


def read_build(event: dg.EventLogEntry) -> ProductBuild:
    """The build a product materialization recorded; what it left out reads as empty."""
    materialization = event.asset_materialization
    if materialization is None:
        raise ValueError(f"event of run {event.run_id} is not a materialization")
    meta = {k: v.value for k, v in materialization.metadata.items()}
    versions = str(meta.get("pseudonym_key_version", NO_KEY))
    path, content_hash = str(meta.get("path", "")), str(meta.get("content_hash", ""))
    # committed only when the build names its file and its hash: a partial record is no build
    complete = bool(path and content_hash.startswith("sha256:") and event.run_id)
    return ProductBuild(
        scenario=materialization.asset_key.path[-1],
        run_id=event.run_id,
        path=path,
        content_hash=content_hash,
        rows=int(meta.get("dagster/row_count", 0)),
        committed=meta.get("committed") is True and complete,
        contributions=dict(meta.get("contributions") or {}),
        key_versions=() if versions == NO_KEY else tuple(versions.split(", ")),
        residual_identifiers=int(meta.get("residual_identifiers", 0)),
        smallest_group=meta.get("smallest_group"),
        reidentification=meta.get("reidentification"),
        small_cells=meta.get("small_cells"),
        suppress_below=meta.get("suppress_below"),
        rejected_to=meta.get("rejected_to"),
    )
