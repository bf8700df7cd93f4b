"""产品 Products: one `product/<scenario>` asset per manifest, built only from safe/ data."""

import importlib
from collections.abc import Callable, Mapping

import dagster as dg
import duckdb
from upath import UPath

from ycpipelines.catalog import Catalog, Policy, Product
from ycpipelines.deid.anonymity import (
    K_ANONYMITY,
    L_DIVERSITY,
    anonymity,
    k_anonymity_check,
    l_diversity_check,
)
from ycpipelines.deid.privacy import RESIDUAL_IDENTIFIERS, residual_check, residual_identifiers
from ycpipelines.deid.pseudonym import key_versions
from ycpipelines.foundation.keys import product_key
from ycpipelines.foundation.lake import (
    Lake,
    commit_or_reject,
    copy_to_parquet,
    duck,
    file_digest,
    quoted,
)
from ycpipelines.foundation.metadata import lineage, schema
from ycpipelines.foundation.resources import LakeResource

SMALL_CELLS = "small_cells"
Builder = Callable[[Mapping[str, str], Product], str]


def function_of(reference: str) -> Callable:
    """The function a manifest names as "module:function"."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def input_relation(lake: Lake, key: str) -> str:
    layer, name = key.split("/")
    path = lake.product_file(name) if layer == "product" else lake.glob(layer, name)
    return f"read_parquet('{path}')"


def pseudonym_columns(catalog: Catalog, product: Product) -> list[str]:
    """The product's columns that carry keyed pseudonyms (copied from pseudonymized fields)."""
    pseudonyms = {
        f"safe/{d.id}.{f.safe_column}"
        for d in catalog.datasets
        for f in d.fields
        if f.policy == Policy.PSEUDONYMIZE
    }
    return [
        f.name
        for f in product.fields
        if f.transform == "copy" and set(f.derived_from) <= pseudonyms
    ]


def contributions(lake: Lake, product: Product) -> dict[str, float]:
    """Rows each bureau contributed through the product's safe/ inputs (provenance `_bureau`),
    times the manifest's revenue weight: what revenue is split by (收益分配)."""
    rows: dict[str, float] = {}
    with duck() as con:
        for key in product.inputs:
            layer, name = key.split("/")
            if layer != "safe":
                continue
            for bureau, n in con.execute(
                f"SELECT _bureau, count(*) FROM read_parquet('{lake.glob(layer, name)}') GROUP BY 1"
            ).fetchall():
                rows[bureau] = rows.get(bureau, 0) + n * product.revenue_weights.get(bureau, 1.0)
    return dict(sorted(rows.items()))


def small_cells_check(
    con: duckdb.DuckDBPyConnection, product: Product, path: UPath
) -> dg.AssetCheckResult:
    """For an aggregate product: no released count under the manifest's `suppress_below`."""
    counts = [f.name for f in product.fields if f.transform == "aggregate"]
    small = " OR ".join(f"{quoted(c)} < {product.suppress_below}" for c in counts)
    found = con.execute(f"SELECT count(*) FILTER ({small}) FROM read_parquet('{path}')").fetchone()
    return dg.AssetCheckResult(
        check_name=SMALL_CELLS,
        passed=found[0] == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"small_cells": found[0], "suppress_below": product.suppress_below},
    )


def product_asset(catalog: Catalog, product: Product) -> dg.AssetsDefinition:
    key = product_key(product.scenario)
    build = function_of(product.builder)
    population = function_of(product.population) if product.population else None
    required = product.required
    fields = [f.name for f in product.fields]
    pseudonymous = pseudonym_columns(catalog, product)
    scanned = [f for f in fields if f not in pseudonymous]

    @dg.asset(
        key=key,
        deps=[dg.AssetKey(i.split("/")) for i in product.inputs],
        group_name="product",
        owners=["team:products"],
        kinds={"duckdb", "parquet"},
        code_version=catalog.versions[product.scenario],
        description=f"产品 Product: {product.label} for {product.consumer_label}; "
        f"purpose: {product.purpose}. {product.description}",
        metadata={
            "consumer": product.consumer,
            "quasi_identifiers": ", ".join(product.quasi_identifiers),
            "release_form": str(product.release_form or "not a health product"),
            "retention_days": product.retention_days,
        },
        check_specs=[
            dg.AssetCheckSpec(
                K_ANONYMITY if product.quasi_identifiers else SMALL_CELLS,
                asset=key,
                blocking=True,
                description=f"every combination of {product.quasi_identifiers} "
                f"covers at least k={required.k} people; prosecutor risk at most "
                f"{required.max_risk} (max) and {required.average_risk} (average)"
                if product.quasi_identifiers
                else f"no released count under {product.suppress_below}",
            ),
            *(
                [
                    dg.AssetCheckSpec(
                        L_DIVERSITY,
                        asset=key,
                        blocking=True,
                        description=f"every class holds at least ℓ={product.l_diversity} "
                        f"distinct values of {product.sensitive}",
                    )
                ]
                if product.sensitive
                else []
            ),
            dg.AssetCheckSpec(
                RESIDUAL_IDENTIFIERS,
                asset=key,
                blocking=True,
                description="no resident ID or mobile number in any non-pseudonym column",
            ),
        ],
    )
    def build_product(
        context: dg.AssetExecutionContext, lake: LakeResource
    ) -> dg.MaterializeResult:
        inputs = {i: input_relation(lake.lake, i) for i in product.inputs}
        with duck() as con, lake.lake.staging(context.run_id) as stage:
            path = stage.path(lake.lake.product_file(product.scenario))
            con.execute("SET preserve_insertion_order = true")  # same input, same bytes
            versions = key_versions(con, list(inputs.values()))
            if len(versions) > 1:
                raise dg.Failure(
                    f"product {product.scenario}: its inputs hold pseudonyms of key versions "
                    f"{versions}, which do not join; de-identify them again under one version"
                )
            rows = copy_to_parquet(con, build(inputs, product), path)
            described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
            columns = [r[0] for r in described]
            if columns != fields:
                raise dg.Failure(
                    f"product {product.scenario} produced columns {columns}; "
                    f"its manifest lists {fields}"
                )
            leaks = {c: n for c, n in residual_identifiers(con, path, scanned).items() if n}
            if product.quasi_identifiers:
                figures = anonymity(
                    con,
                    f"read_parquet('{path}')",
                    product.quasi_identifiers,
                    required.k,
                    subject=product.subject,
                    sensitive=product.sensitive,
                    l_diversity=product.l_diversity,
                    population=population(inputs) if population else None,
                )
                protection = [
                    k_anonymity_check(figures, product.quasi_identifiers, required),
                    *(
                        [l_diversity_check(figures, product.sensitive, product.l_diversity)]
                        if product.sensitive
                        else []
                    ),
                ]
                figures_metadata = {
                    "smallest_group": figures.smallest_class,
                    "reidentification": dg.MetadataValue.json(figures.metadata()),
                }
            else:
                protection = [small_cells_check(con, product, path)]
                figures_metadata = dict(protection[0].metadata)
            privacy = [*protection, residual_check(scanned, leaks)]
            digest = file_digest(path)
            outcome = commit_or_reject(stage, all(c.passed for c in privacy))
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "dagster/column_schema": schema(
                    [
                        (
                            name,
                            kind,
                            f"{f.label} · {f.level} {f.level.label}"
                            + (
                                f" · pseudonym, key {', '.join(versions)}"
                                if versions and f.name in pseudonymous
                                else ""
                            ),
                        )
                        for (name, kind, *_), f in zip(described, product.fields, strict=True)
                    ]
                ),
                "content_hash": digest,
                "path": str(lake.lake.product_file(product.scenario)),
                **figures_metadata,
                "pseudonym_key_version": ", ".join(versions) or "none",
                "residual_identifiers": sum(leaks.values()),
                "contributions": dg.MetadataValue.json(contributions(lake.lake, product)),
                **outcome,
                "dagster/column_lineage": lineage(
                    {
                        f.name: [
                            (dg.AssetKey(s.split(".")[0].split("/")), s.split(".")[1])
                            for s in f.derived_from
                        ]
                        for f in product.fields
                    }
                ),
            },
            check_results=privacy,
        )

    return build_product


def product_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions(assets=[product_asset(catalog, p) for p in catalog.products])
