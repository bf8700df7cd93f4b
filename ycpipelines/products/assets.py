"""产品 Products: one `product/<scenario>` asset per manifest, built only from safe/ data."""

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path

import dagster as dg

from ycpipelines.catalog import Catalog, Policy, Product
from ycpipelines.deid.privacy import RESIDUAL_IDENTIFIERS, residual_check, residual_identifiers
from ycpipelines.lake import Lake, commit_or_reject, copy_to_parquet, duck, file_digest
from ycpipelines.metadata import lineage, schema
from ycpipelines.resources import LakeResource

K_ANONYMITY = "k_anonymity"
SMALL_CELLS = "small_cells"
Builder = Callable[[Mapping[str, str], Product], str]


def product_key(scenario: str) -> dg.AssetKey:
    return dg.AssetKey(["product", scenario])


def builder_of(product: Product) -> Builder:
    module, _, name = product.builder.partition(":")
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


def protection_sql(product: Product, path: Path) -> str:
    """SQL of the smallest group over the quasi-identifiers (k-anonymity), or, for aggregates,
    of the number of released counts under the suppression threshold (which must be 0)."""
    if product.quasi_identifiers:
        return (
            f"SELECT coalesce(min(n), 0) FROM (SELECT count(*) AS n FROM read_parquet('{path}')"
            f" GROUP BY {', '.join(product.quasi_identifiers)})"
        )
    counts = [f.name for f in product.fields if f.transform == "aggregate"]
    small = " OR ".join(f"{c} < {product.suppress_below}" for c in counts)
    return f"SELECT count(*) FILTER ({small}) FROM read_parquet('{path}')"


def product_asset(catalog: Catalog, product: Product) -> dg.AssetsDefinition:
    key = product_key(product.scenario)
    build = builder_of(product)
    fields = [f.name for f in product.fields]
    pseudonymous = pseudonym_columns(catalog, product)
    scanned = [f for f in fields if f not in pseudonymous]
    protection = K_ANONYMITY if product.quasi_identifiers else SMALL_CELLS

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
            "retention_days": product.retention_days,
        },
        check_specs=[
            dg.AssetCheckSpec(
                protection,
                asset=key,
                blocking=True,
                description=f"every combination of {product.quasi_identifiers} "
                f"covers at least k={product.k} rows"
                if product.quasi_identifiers
                else f"no released count under {product.suppress_below}",
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
            rows = copy_to_parquet(con, build(inputs, product), path)
            described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
            columns = [r[0] for r in described]
            if columns != fields:
                raise dg.Failure(
                    f"product {product.scenario} produced columns {columns}; "
                    f"its manifest lists {fields}"
                )
            measured = con.execute(protection_sql(product, path)).fetchone()[0]
            leaks = {c: n for c, n in residual_identifiers(con, path, scanned).items() if n}
            if product.quasi_identifiers:
                k_ok = rows == 0 or measured >= product.k
                protection_metadata = {"smallest_group": measured, "k": product.k}
            else:
                k_ok = measured == 0
                protection_metadata = {
                    "small_cells": measured,
                    "suppress_below": product.suppress_below,
                }
            digest = file_digest(path)
            outcome = commit_or_reject(stage, k_ok and not leaks)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "dagster/column_schema": schema(
                    [
                        (name, kind, f"{f.label} · {f.level} {f.level.label}")
                        for (name, kind, *_), f in zip(described, product.fields, strict=True)
                    ]
                ),
                "content_hash": digest,
                "path": str(lake.lake.product_file(product.scenario)),
                **protection_metadata,
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
            check_results=[
                dg.AssetCheckResult(
                    check_name=protection,
                    passed=k_ok,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata=protection_metadata,
                ),
                residual_check(scanned, leaks),
            ],
        )

    return build_product


def product_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions(assets=[product_asset(catalog, p) for p in catalog.products])
