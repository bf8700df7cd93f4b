"""Jobs that span stages: one partitioned job per dataset (collect → govern → de-identify), one
per bureau doing the same for all its datasets (the daily collection's), and the products job.
A blocking check only stops the steps after it inside the same run."""

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.catalog.models import Bureau
from ycpipelines.deid.population import JOURNALIST_RISK, register_columns
from ycpipelines.foundation.keys import product_key, raw_key, safe_key, std_key
from ycpipelines.foundation.partitions import (
    PARTITION_RUN_TAGS,
    bureau_partitions,
    dataset_partitions,
)
from ycpipelines.govern.conflicts import authorities
from ycpipelines.govern.master import master_key
from ycpipelines.govern.one_source import ONE_SOURCE


def dataset_job_name(dataset: Dataset) -> str:
    return f"ingest_{dataset.id}"


def bureau_job_name(bureau: Bureau) -> str:
    return f"collect_{bureau.id}"


def check_job_name(dataset: Dataset) -> str:
    return f"check_{dataset.id}"


def cross_checks(catalog: Catalog, dataset: Dataset) -> list[dg.AssetCheckKey]:
    """The checks of a dataset's partition that read another dataset (一数一源, journalist risk):
    declared on raw/ and safe/ with that dataset as a dependency, run after both."""
    keys = []
    if authorities(catalog, dataset):
        keys.append(dg.AssetCheckKey(raw_key(dataset), ONE_SOURCE))
    if register_columns(catalog, dataset):
        keys.append(dg.AssetCheckKey(safe_key(dataset), JOURNALIST_RISK))
    return keys


def cross_check_inputs(catalog: Catalog, dataset: Dataset) -> list[tuple[dg.AssetKey, Dataset]]:
    """The other datasets' assets the cross checks of `dataset` read: std/ of each authority
    (一数一源) and safe/ of the population register (journalist risk)."""
    inputs = [(std_key(a), a) for a in authorities(catalog, dataset)]
    population = catalog.population
    if population is not None and register_columns(catalog, dataset):
        inputs.append((safe_key(population), population))
    return inputs


def collected_bureaus(catalog: Catalog) -> list[Bureau]:
    """The bureaus delivering at least one dataset."""
    return [b for b in catalog.bureaus if catalog.datasets_of(b.id)]


def stages(catalog: Catalog, datasets: list[Dataset]) -> dg.AssetSelection:
    """raw/, std/ and safe/ of `datasets` with their checks, minus those reading another dataset."""
    keys = [k for d in datasets for k in (raw_key(d), std_key(d), safe_key(d))]
    crossing = [c for d in datasets for c in cross_checks(catalog, d)]
    return dg.AssetSelection.assets(*keys) - dg.AssetSelection.checks(*crossing)


def bureau_job(catalog: Catalog, bureau: Bureau) -> UnresolvedAssetJobDefinition:
    """One run collects, governs and de-identifies every dataset of `bureau` for a day."""
    datasets = catalog.datasets_of(bureau.id)
    return dg.define_asset_job(
        bureau_job_name(bureau),
        selection=stages(catalog, datasets),
        partitions_def=bureau_partitions(catalog, bureau.id),
        description=f"自动归集 {bureau.label}: 归集→治理→脱敏 "
        f"{', '.join(d.label for d in datasets)}, one day per run",
        tags=PARTITION_RUN_TAGS,
    )


def jobs(catalog: Catalog) -> list[UnresolvedAssetJobDefinition]:
    ingest = [
        dg.define_asset_job(
            dataset_job_name(d),
            selection=stages(catalog, [d]),
            partitions_def=dataset_partitions(catalog, d),
            description=f"归集→治理→脱敏 {d.label}, one bureau × day partition per run",
            tags=PARTITION_RUN_TAGS,
        )
        for d in catalog.datasets
    ]
    checks = [
        dg.define_asset_job(
            check_job_name(d),
            selection=dg.AssetSelection.checks(*cross_checks(catalog, d)),
            partitions_def=dataset_partitions(catalog, d),
            description=f"{d.label}: checks against other datasets (一数一源, journalist risk), "
            "run after both are ingested",
        )
        for d in catalog.datasets
        if cross_checks(catalog, d)
    ]
    products = dg.define_asset_job(
        "build_products",
        selection=dg.AssetSelection.assets(*[product_key(p.scenario) for p in catalog.products]),
        description="产品: rebuild every scenario product from safe/ data",
    )
    master = dg.define_asset_job(
        "build_person_master",
        selection=dg.AssetSelection.assets(master_key()),
        description="主数据: rebuild the person master from every standardized source",
    )
    collect = [bureau_job(catalog, b) for b in collected_bureaus(catalog)]
    return [*ingest, *collect, *checks, master, products]
