"""产品 Products: one `product/<scenario>` asset per manifest, built only from safe/ data."""

import hashlib
import importlib
from collections.abc import Callable, Mapping
from pathlib import Path

import dagster as dg

from ycpipelines.catalog import Catalog, Product
from ycpipelines.deid.privacy import residual_identifiers
from ycpipelines.lake import Lake, copy_to_parquet, duck
from ycpipelines.metadata import lineage, schema
from ycpipelines.resources import LakeResource

K_ANONYMITY = "k_anonymity"
Builder = Callable[[Mapping[str, str]], str]


def product_key(scenario: str) -> dg.AssetKey:
    return dg.AssetKey(["product", scenario])


def file_digest(path: Path) -> str:
    """`sha256:<hex>` of a file's exact bytes: what a review approves and publish re-checks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def builder_of(product: Product) -> Builder:
    module, _, name = product.builder.partition(":")
    return getattr(importlib.import_module(module), name)


def input_relation(lake: Lake, key: str) -> str:
    layer, name = key.split("/")
    path = lake.product_file(name) if layer == "product" else lake.glob(layer, name)
    return f"read_parquet('{path}')"


def product_asset(catalog: Catalog, product: Product) -> dg.AssetsDefinition:
    key = product_key(product.scenario)
    build = builder_of(product)
    fields = [f.name for f in product.fields]

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
                K_ANONYMITY,
                asset=key,
                blocking=True,
                description=f"every combination of {product.quasi_identifiers} "
                f"covers at least k={product.k} rows",
            ),
        ],
    )
    def build_product(
        context: dg.AssetExecutionContext, lake: LakeResource
    ) -> dg.MaterializeResult:
        path = lake.lake.product_file(product.scenario)
        inputs = {i: input_relation(lake.lake, i) for i in product.inputs}
        with duck() as con:
            con.execute("SET preserve_insertion_order = true")  # same input, same bytes
            rows = copy_to_parquet(con, build(inputs), path)
            described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
            columns = [r[0] for r in described]
            if columns != fields:
                path.unlink()
                raise dg.Failure(
                    f"product {product.scenario} produced columns {columns}; "
                    f"its manifest lists {fields}"
                )
            qis = ", ".join(product.quasi_identifiers)
            smallest = con.execute(
                f"SELECT coalesce(min(n), 0) FROM (SELECT count(*) AS n FROM read_parquet('{path}')"
                f" GROUP BY {qis})"
            ).fetchone()[0]
            residual = residual_identifiers(con, path, [c for c in fields if c != "person_pid"])
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "dagster/column_schema": schema(
                    [
                        (name, kind, f"{f.label} · {f.level} {f.level.label}")
                        for (name, kind, *_), f in zip(described, product.fields, strict=True)
                    ]
                ),
                "content_hash": file_digest(path),
                "path": str(path),
                "residual_identifiers": sum(residual.values()),
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
                    check_name=K_ANONYMITY,
                    passed=rows == 0 or smallest >= product.k,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={"smallest_group": smallest, "k": product.k},
                )
            ],
        )

    return build_product


def product_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions(assets=[product_asset(catalog, p) for p in catalog.products])
