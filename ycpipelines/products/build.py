"""产品构建 Building a product: its SQL over safe/ inputs, staged, measured, committed or not."""

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
from upath import UPath

from ycpipelines.catalog import Catalog, Policy, Product
from ycpipelines.deid.anonymity import Anonymity, anonymity
from ycpipelines.deid.privacy import residual_check, residual_identifiers
from ycpipelines.deid.pseudonym import key_versions
from ycpipelines.foundation.keys import AssetRef, Layer
from ycpipelines.foundation.lake import (
    Lake,
    commit_or_reject,
    copy_to_parquet,
    duck,
    file_digest,
    quoted,
)
from ycpipelines.products.checks import anonymity_checks, small_cells_check
from ycpipelines.products.records import Built, ProductBuild

# The builder a manifest names: the product's SQL over its inputs' relations, keyed
# "safe/<dataset>" (or "product/<scenario>") as the manifest lists them.
Builder = Callable[[Mapping[str, str], Product], str]
# The population's quasi-identifiers, as a relation, for journalist risk.
Population = Callable[[Mapping[str, str]], str]


def function_of(reference: str) -> Callable:
    """The function a manifest names as "module:function"."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Recipe:
    """A product's manifest with its functions resolved, once, when the definitions load."""

    product: Product
    build: Builder
    population: Population | None
    pseudonymous: tuple[str, ...]  # columns carrying keyed pseudonyms
    scanned: tuple[str, ...]  # columns scanned for residual identifiers


def recipe(catalog: Catalog, product: Product) -> Recipe:
    pseudonymous = pseudonym_columns(catalog, product)
    return Recipe(
        product=product,
        build=function_of(product.builder),
        population=function_of(product.population) if product.population else None,
        pseudonymous=tuple(pseudonymous),
        scanned=tuple(f.name for f in product.fields if f.name not in pseudonymous),
    )


def input_relation(lake: Lake, ref: AssetRef) -> str:
    """A product input as a DuckDB relation: a safe/ dataset's files, or another product's."""
    path = (
        lake.product_file(ref.name)
        if ref.layer == Layer.PRODUCT
        else lake.glob(ref.layer, ref.name)
    )
    return f"read_parquet('{path}')"


def pseudonym_columns(catalog: Catalog, product: Product) -> list[str]:
    """The product's columns that carry keyed pseudonyms (copied from pseudonymized fields)."""
    pseudonyms = {
        AssetRef(Layer.SAFE, d.id).column(f.safe_column)
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
        for ref in product.inputs:
            if ref.layer != Layer.SAFE:
                continue
            for bureau, n in con.execute(
                f"SELECT _bureau, count(*) FROM read_parquet('{lake.glob(ref.layer, ref.name)}') "
                "GROUP BY 1"
            ).fetchall():
                rows[bureau] = rows.get(bureau, 0) + n * product.revenue_weights.get(bureau, 1.0)
    return dict(sorted(rows.items()))


def one_key_version(
    con: duckdb.DuckDBPyConnection, product: Product, relations: list[str]
) -> list[str]:
    """The inputs' pseudonym key version; pseudonyms of two versions do not join."""
    versions = key_versions(con, relations)
    if len(versions) > 1:
        raise dg.Failure(
            f"product {product.scenario}: its inputs hold pseudonyms of key versions "
            f"{versions}, which do not join; de-identify them again under one version"
        )
    return versions


def described(
    con: duckdb.DuckDBPyConnection, product: Product, path: UPath
) -> list[tuple[str, str]]:
    """(name, type) of the built file's columns, which must be the manifest's field list."""
    found = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
    columns = [(str(r[0]), str(r[1])) for r in found]
    fields = [f.name for f in product.fields]
    if [name for name, _ in columns] != fields:
        raise dg.Failure(
            f"product {product.scenario} produced columns {[n for n, _ in columns]}; "
            f"its manifest lists {fields}"
        )
    return columns


@dataclass(frozen=True)
class Protection:
    """What the protection checks measured and judged on a staged build."""

    checks: list[dg.AssetCheckResult]
    smallest_group: int | None = None
    reidentification: Mapping[str, object] | None = None
    small_cells: int | None = None


def product_anonymity(
    con: duckdb.DuckDBPyConnection,
    product: Product,
    path: Path | UPath,
    population: str | None = None,
) -> Anonymity:
    """k-anonymity, ℓ-diversity and re-identification figures of a row-level product's file, by
    its manifest (quasi-identifiers, k, subject, sensitive attribute)."""
    return anonymity(
        con,
        f"read_parquet('{path}')",
        product.quasi_identifiers,
        product.required.k,
        subject=product.subject,
        sensitive=product.sensitive,
        l_diversity=product.l_diversity,
        population=population,
    )


def protect(
    con: duckdb.DuckDBPyConnection, made: Recipe, path: UPath, inputs: Mapping[str, str]
) -> Protection:
    """k-anonymity (and ℓ-diversity) of a row-level product; small cells of an aggregate one."""
    product = made.product
    if not product.quasi_identifiers:
        counts = [f.name for f in product.fields if f.transform == "aggregate"]
        small = " OR ".join(f"{quoted(c)} < {product.suppress_below}" for c in counts)
        found = con.execute(f"SELECT count(*) FILTER ({small}) FROM read_parquet('{path}')")
        cells = int(found.fetchone()[0])
        return Protection([small_cells_check(product, cells)], small_cells=cells)
    population = made.population(inputs) if made.population else None
    figures = product_anonymity(con, product, path, population)
    return Protection(
        anonymity_checks(product, figures),
        smallest_group=figures.smallest_class,
        reidentification=figures.metadata(),
    )


def build_product(lake: Lake, made: Recipe, run_id: str) -> Built:
    """Build the product in staging, measure it, and commit it only when every blocking privacy
    check passed (otherwise its file is set aside)."""
    product = made.product
    inputs = {str(ref): input_relation(lake, ref) for ref in product.inputs}
    with duck() as con, lake.staging(run_id) as stage:
        path = stage.path(lake.product_file(product.scenario))
        con.execute("SET preserve_insertion_order = true")  # same input, same bytes
        versions = one_key_version(con, product, list(inputs.values()))
        rows = copy_to_parquet(con, made.build(inputs, product), path)
        columns = described(con, product, path)
        protection = protect(con, made, path, inputs)
        leaks = {c: n for c, n in residual_identifiers(con, path, list(made.scanned)).items() if n}
        checks = [*protection.checks, residual_check(list(made.scanned), leaks)]
        digest = file_digest(path)
        outcome = commit_or_reject(stage, all(c.passed for c in checks))
    rejected = outcome.get("rejected_to")
    build = ProductBuild(
        scenario=product.scenario,
        run_id=run_id,
        path=str(lake.product_file(product.scenario)),
        content_hash=digest,
        rows=rows,
        committed=bool(outcome["committed"]),
        contributions=contributions(lake, product),
        key_versions=tuple(versions),
        residual_identifiers=sum(leaks.values()),
        smallest_group=protection.smallest_group,
        reidentification=protection.reidentification,
        small_cells=protection.small_cells,
        suppress_below=None if product.quasi_identifiers else product.suppress_below,
        rejected_to=None if rejected is None else str(rejected),
    )
    return Built(build, tuple(columns), tuple(checks))
