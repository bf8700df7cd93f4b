"""The privacy results a reviewer compares (隐私核验结果): each figure the build measured beside
the threshold it had to meet, and whether it did."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ycpipelines.catalog import Product, Thresholds
from ycpipelines.foundation.lake import duck
from ycpipelines.products.build import product_anonymity

# What each row measures, as the review sheet and the printed form name it.
PRIVACY_LABELS = {
    "residual_identifiers": "残留直接标识符 residual identifiers",
    "k_anonymity": "k-匿名 最小等价类 smallest group",
    "max_risk": "最大重识别风险 max prosecutor risk",
    "average_risk": "平均重识别风险 average prosecutor risk",
    "journalist_max_risk": "最大记者风险 max journalist risk",
    "journalist_average_risk": "平均记者风险 average journalist risk",
    "l_diversity": "ℓ-多样性 smallest ℓ",
    "small_cells": "小单元格 counts under suppress_below",
    "epsilon": "隐私预算 ε spent",
}


@dataclass(frozen=True)
class PrivacyRow:
    """One privacy figure: measured (None when it could not be), its threshold, and whether
    `measured op threshold` holds."""

    name: str
    measured: float | int | None
    threshold: float | int | None
    passed: bool
    op: str = "≤"
    note: str = ""

    @property
    def label(self) -> str:
        return PRIVACY_LABELS.get(self.name, self.name)


def judged(name: str, measured: Any, threshold: Any, op: str = "≤", note: str = "") -> PrivacyRow:
    """A row, passed when both figures are known and `measured op threshold` holds."""
    if measured is None or threshold is None:
        return PrivacyRow(name, measured, threshold, False, op, note or "not measured")
    holds = measured >= threshold if op == "≥" else measured <= threshold
    return PrivacyRow(name, measured, threshold, bool(holds), op, note)


def risk_rows(figures: dict[str, Any], required: Thresholds | None) -> list[PrivacyRow]:
    """Re-identification risks the build recorded, against the release form's thresholds."""
    limits = {
        "max_risk": required.max_risk if required else None,
        "average_risk": required.average_risk if required else None,
        "journalist_max_risk": required.max_risk if required else None,
        "journalist_average_risk": required.average_risk if required else None,
    }
    return [judged(name, figures[name], limit) for name, limit in limits.items() if name in figures]


def smallest_l(product: Product, path: Path) -> int | None:
    """ℓ-diversity of the product file, measured with DuckDB when the build did not record it."""
    with duck() as con:
        return product_anonymity(con, product, path).smallest_l


def diversity_row(product: Product, figures: dict[str, Any], path: Path | None) -> PrivacyRow:
    measured = figures.get("smallest_l")
    note = f"sensitive attribute {product.sensitive}"
    if measured is None and path is not None:
        measured, note = smallest_l(product, path), f"{note}; measured on the product file"
    return judged("l_diversity", measured, product.l_diversity, "≥", note)


def privacy_rows(evidence: dict[str, Any], product: Product | None, path: Path | None) -> list:
    """Every privacy figure of a request's evidence beside its threshold; `path` is the
    verified product file (None when its hash is not the request's)."""
    figures = evidence.get("privacy") or {}
    required = product.required if product else None
    rows = []
    if (found := figures.get("residual_identifiers")) is not None:
        rows.append(judged("residual_identifiers", found, 0))
    if (smallest := figures.get("smallest_group")) is not None:
        k = required.k if required else figures.get("k")
        rows.append(judged("k_anonymity", smallest, k, "≥"))
    reidentification = figures.get("reidentification") or {}
    rows += risk_rows(reidentification, required)
    if product is not None and product.sensitive:
        rows.append(diversity_row(product, reidentification, path))
    if (cells := figures.get("small_cells")) is not None:
        note = f"suppress_below={figures.get('suppress_below')}"
        rows.append(judged("small_cells", cells, 0, note=note))
    if "spent" in evidence and "budget" in evidence:
        rows.append(judged("epsilon", evidence["spent"], evidence["budget"]))
    return rows
