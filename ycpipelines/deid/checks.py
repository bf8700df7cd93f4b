"""The de-identification stage's checks (脱敏校验): no residual identifier in free text,
k-anonymity under the quasi-identifiers, and rows de-identified = rows standardized."""

import dagster as dg

from ycpipelines.catalog import Dataset, Policy, Role, Thresholds
from ycpipelines.deid.anonymity import K_ANONYMITY, k_anonymity_check
from ycpipelines.deid.privacy import RESIDUAL_IDENTIFIERS, residual_check
from ycpipelines.deid.records import Deidentified
from ycpipelines.foundation.metadata import RECONCILED, reconciliation
from ycpipelines.foundation.partitions import partition_check

# Where an identifier could hide; values validated against a code standard (USCC, ICD-10,
# money, dates) are that code, not a person's identifier.
FREE_FORM = {None, "text", "person_name"}


def scanned_columns(dataset: Dataset) -> list[str]:
    """The safe/ columns scanned for residual identifiers: free-form ones kept as text."""
    return [
        f.safe_column
        for f in dataset.fields
        if f.policy not in (Policy.DROP, Policy.PSEUDONYMIZE) and f.standard in FREE_FORM
    ]


def required(dataset: Dataset) -> Thresholds:
    """k-anonymity and the prosecutor risk it implies, as the catalog sets k for the dataset."""
    return Thresholds(k=dataset.k, max_risk=1 / dataset.k, average_risk=1.0)


def check_specs(
    dataset: Dataset, key: dg.AssetKey, partitions: dg.PartitionsDefinition
) -> list[dg.AssetCheckSpec]:
    """The blocking checks of a `safe/` asset, kept per partition."""
    quasi = dataset.safe_columns_with(Role.QUASI)
    enforced = "blocks" if dataset.enforce_k else "measured; products enforce k"
    return [
        partition_check(
            RESIDUAL_IDENTIFIERS,
            key,
            partitions,
            "no resident ID, mobile, bank card, credit code, e-mail or passport number "
            "left in any free-form column",
        ),
        partition_check(
            K_ANONYMITY,
            key,
            partitions,
            f"classes over {quasi} hold at least k={dataset.k} people ({enforced})",
        ),
        partition_check(
            RECONCILED,
            key,
            partitions,
            "rows standardized = rows de-identified, before commit",
        ),
    ]


def residual(found: Deidentified, dataset: Dataset) -> dg.AssetCheckResult:
    return residual_check(scanned_columns(dataset), found.leaks)


def k_anonymity(found: Deidentified, dataset: Dataset) -> dg.AssetCheckResult:
    """Blocking only where the catalog enforces k on the dataset itself."""
    quasi = dataset.safe_columns_with(Role.QUASI)
    return k_anonymity_check(found.figures, quasi, required(dataset), dataset.enforce_k)


def reconciled(found: Deidentified) -> dg.AssetCheckResult:
    """Rows standardized = rows de-identified (对账), judged before the commit."""
    return reconciliation(found.std_rows, {"de-identified": found.rows})


def passed(found: Deidentified, dataset: Dataset) -> bool:
    """Whether every blocking check passed, so the partition may be committed."""
    k_passed = found.figures.meets(required(dataset)) or not dataset.enforce_k
    return not found.leaks and k_passed and reconciled(found).passed
