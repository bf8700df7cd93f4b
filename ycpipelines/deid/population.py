"""Journalist risk (记者攻击风险) of a `safe/<dataset>` partition against the population register.

The register is every committed partition of `safe/<population>` (latest record per person),
so the measure reads another dataset: it is a check of `safe/<dataset>` declaring that
dependency, run after both are de-identified (`check_<dataset>` job), never a side read inside
the de-identification step. The register itself has no such check (it would read its own
other partitions); products measure it under their generalization.
"""

import warnings
from collections.abc import Iterator

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset, Role, Thresholds
from ycpipelines.deid.anonymity import anonymity
from ycpipelines.deid.policies import safe_outputs
from ycpipelines.foundation.keys import Layer, safe_key
from ycpipelines.foundation.lake import Lake, Partition, duck, quoted
from ycpipelines.foundation.partitions import dataset_partitions
from ycpipelines.foundation.ranges import Event, check_each
from ycpipelines.foundation.resources import LakeResource

JOURNALIST_RISK = "journalist_risk"


def register_columns(catalog: Catalog, dataset: Dataset) -> list[str] | None:
    """The quasi-identifiers `dataset` shares with the population register, when the register
    is another dataset with a person subject and carries all of them; None otherwise."""
    population, quasi = catalog.population, dataset.safe_columns_with(Role.QUASI)
    if population is None or population.id == dataset.id or population.subject is None:
        return None
    columns = {name for _, name, _, _ in safe_outputs(population)}
    return quasi if quasi and set(quasi) <= columns else None


def population_relation(population: Dataset, lake: Lake, quasi: list[str]) -> str:
    """The register's people under `quasi`: its latest record per person, every partition; an
    aggregation per person (memory grows with people, not with the partitions kept)."""
    columns = {name for _, name, _, _ in safe_outputs(population)}
    order = getattr(population.source, "partition_column", None)
    record = f"struct_pack({', '.join(f'{quoted(q)} := {quoted(q)}' for q in quasi)})"
    latest = f"arg_max_null({record}, {quoted(order)})" if order in columns else f"first({record})"
    return (
        f"SELECT unnest({latest}) FROM read_parquet('{lake.glob('safe', population.id)}') "
        f"GROUP BY {quoted(population.subject or '')}"
    )


def journalist_risk(
    dataset: Dataset, population: Dataset, quasi: list[str], partition: Partition, lake: Lake
) -> dg.AssetCheckResult:
    """Journalist risk of one `safe/<dataset>` partition against the register."""
    required = Thresholds(k=dataset.k, max_risk=1 / dataset.k, average_risk=1.0)
    safe = lake.file(Layer.SAFE, dataset.id, partition)
    if not safe.exists() or not lake.any_committed(Layer.SAFE, population.id):
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"compared": False, "reason": "no committed partition to compare"},
        )
    with duck() as con:
        figures = anonymity(
            con,
            f"read_parquet('{safe}')",
            quasi,
            dataset.k,
            subject=dataset.subject,
            population=population_relation(population, lake, quasi),
        )
    return dg.AssetCheckResult(
        passed=(figures.journalist_max_risk or 0.0) <= required.max_risk or not dataset.enforce_k,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"compared": True, "enforced": dataset.enforce_k, **figures.metadata()},
    )


def journalist_check(
    catalog: Catalog, dataset: Dataset, quasi: list[str]
) -> dg.AssetChecksDefinition:
    population = catalog.population
    assert population is not None

    @dg.asset_check(
        asset=safe_key(dataset),
        name=JOURNALIST_RISK,
        partitions_def=dataset_partitions(catalog, dataset),
        additional_deps=[safe_key(population)],
        description=f"journalist risk over {quasi} against the population register "
        f"(safe/{population.id}, latest record per person); measured, blocks nothing",
    )
    def journalist(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> Iterator[Event]:
        yield from check_each(
            context,
            dg.AssetCheckKey(safe_key(dataset), JOURNALIST_RISK),
            lambda p: journalist_risk(dataset, population, quasi, p, lake.lake),
            after_ingest=True,
        )

    return journalist


def journalist_checks(catalog: Catalog) -> list[dg.AssetChecksDefinition]:
    """One check per dataset sharing quasi-identifiers with the register (checks kept per
    partition: a preview feature, used knowingly)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return [
            journalist_check(catalog, d, quasi)
            for d in catalog.datasets
            if (quasi := register_columns(catalog, d))
        ]
