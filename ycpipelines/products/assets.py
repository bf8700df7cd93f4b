"""产品 Products: one `product/<scenario>` asset per manifest, built only from safe/ data."""

import dagster as dg

from ycpipelines.catalog import Catalog, Product
from ycpipelines.foundation.keys import Layer, product_key
from ycpipelines.foundation.metadata import lineage, schema
from ycpipelines.foundation.resources import LakeResource
from ycpipelines.products.build import Recipe, build_product, recipe
from ycpipelines.products.checks import check_specs
from ycpipelines.products.records import Built, build_metadata


def column_schema(made: Recipe, built: Built) -> dg.TableSchema:
    """Each column's type, label and level; pseudonyms name their key version."""
    versions = ", ".join(built.build.key_versions)
    return schema(
        [
            (
                name,
                kind,
                f"{f.label} · {f.level} {f.level.label}"
                + (
                    f" · pseudonym, key {versions}"
                    if versions and name in made.pseudonymous
                    else ""
                ),
            )
            for (name, kind), f in zip(built.columns, made.product.fields, strict=True)
        ]
    )


def column_lineage(product: Product) -> dg.TableColumnLineage:
    """Each product column from the safe/ (or product/) columns it derives from."""
    return lineage(
        {f.name: [(s.asset.key, s.name) for s in f.derived_from] for f in product.fields}
    )


def product_asset(catalog: Catalog, product: Product) -> dg.AssetsDefinition:
    key = product_key(product.scenario)
    made = recipe(catalog, product)

    @dg.asset(
        key=key,
        deps=[ref.key for ref in product.inputs],
        group_name=Layer.PRODUCT.value,
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
        check_specs=check_specs(product, key),
    )
    def build(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        built = build_product(lake.lake, made, context.run_id)
        return dg.MaterializeResult(
            metadata={
                **build_metadata(built.build),
                "dagster/column_schema": column_schema(made, built),
                "dagster/column_lineage": column_lineage(product),
            },
            check_results=list(built.checks),
        )

    return build
