"""The checks a product build must pass before it is committed (隐私保护检查): their specs, and
the judgements of what the build measured."""

import dagster as dg

from ycpipelines.catalog import Product
from ycpipelines.deid.anonymity import (
    K_ANONYMITY,
    L_DIVERSITY,
    Anonymity,
    k_anonymity_check,
    l_diversity_check,
)
from ycpipelines.deid.privacy import RESIDUAL_IDENTIFIERS

SMALL_CELLS = "small_cells"


def protection_check(product: Product) -> str:
    """k-anonymity for row-level products, small-cell suppression for aggregates."""
    return K_ANONYMITY if product.quasi_identifiers else SMALL_CELLS


def privacy_checks(product: Product) -> list[str]:
    """The blocking checks a delivery re-verifies passed on the build it delivers."""
    return [protection_check(product), RESIDUAL_IDENTIFIERS]


def check_specs(product: Product, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """Every check of `product/<scenario>`, all blocking."""
    required = product.required
    protection = (
        f"every combination of {product.quasi_identifiers} covers at least k={required.k} "
        f"people; prosecutor risk at most {required.max_risk} (max) and "
        f"{required.average_risk} (average)"
        if product.quasi_identifiers
        else f"no released count under {product.suppress_below}"
    )
    diversity = (
        f"every class holds at least ℓ={product.l_diversity} distinct values of {product.sensitive}"
    )
    return [
        dg.AssetCheckSpec(
            protection_check(product), asset=key, blocking=True, description=protection
        ),
        *(
            [dg.AssetCheckSpec(L_DIVERSITY, asset=key, blocking=True, description=diversity)]
            if product.sensitive
            else []
        ),
        dg.AssetCheckSpec(
            RESIDUAL_IDENTIFIERS,
            asset=key,
            blocking=True,
            description="no resident ID or mobile number in any non-pseudonym column",
        ),
    ]


def anonymity_checks(product: Product, figures: Anonymity) -> list[dg.AssetCheckResult]:
    """A row-level product: k-anonymity and, when a sensitive attribute is named, ℓ-diversity."""
    checks = [k_anonymity_check(figures, product.quasi_identifiers, product.required)]
    if product.sensitive:
        checks.append(l_diversity_check(figures, product.sensitive, product.l_diversity))
    return checks


def small_cells_check(product: Product, found: int) -> dg.AssetCheckResult:
    """An aggregate product: no released count under the manifest's `suppress_below`."""
    return dg.AssetCheckResult(
        check_name=SMALL_CELLS,
        passed=found == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"small_cells": found, "suppress_below": product.suppress_below},
    )
