"""Load and validate the declarative catalog (资源目录) under `assets/`."""

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import ValidationError

from ycpipelines.catalog.models import Catalog, Dataset, Product
from ycpipelines.catalog.standards import Standard
from ycpipelines.foundation.keys import AssetRef, ColumnRef, Layer
from ycpipelines.foundation.levels import Level, highest
from ycpipelines.foundation.settings import Settings

T = TypeVar("T", Dataset, Product, Standard)

# Categories of health data (健康医疗数据): products reading them take a release form.
HEALTH_CATEGORIES = ("医疗健康", "医疗保障")


class CatalogError(ValueError):
    """The catalog is invalid; the message names the file and the offending entry."""


def catalog_dir() -> Path:
    return Settings().catalog


def _read(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    # libyaml's safe loader: the same documents as `yaml.safe_load`, parsed ~7× faster
    return yaml.load(text, Loader=yaml.CSafeLoader), hashlib.sha256(text.encode()).hexdigest()[:12]


def _parse(model: type[T], path: Path, data: dict) -> T:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise CatalogError(f"{path}: {error}") from error


def load_catalog(root: Path | None = None) -> Catalog:
    """Read bureaus, datasets and products; fail naming the file on any violation."""
    root = root or catalog_dir()
    head, head_version = _read(root / "bureaus.yaml")
    versions = {"bureaus": head_version}
    datasets: list[Dataset] = []
    for path in sorted((root / "datasets").glob("*.yaml")):
        data, versions[path.stem] = _read(path)
        datasets.append(_parse(Dataset, path, data))
    products: list[Product] = []
    for path in sorted((root / "products").glob("*.yaml")):
        data, versions[path.stem] = _read(path)
        products.append(_parse(Product, path, data))
    standards: dict[str, Standard] = {}
    for path in sorted((root / "standards").glob("*.yaml")):
        data, versions[f"standard:{path.stem}"] = _read(path)
        standard = _parse(Standard, path, data)
        if standard.name != path.stem:
            raise CatalogError(f"{path}: standard {standard.name!r} belongs in its own file")
        standards[standard.name] = standard
    try:
        catalog = Catalog(
            start_date=head["start_date"],
            bureaus=head["bureaus"],
            datasets=datasets,
            products=products,
            standards=standards,
            versions=versions,
        )
    except ValidationError as error:
        raise CatalogError(f"{root / 'bureaus.yaml'}: {error}") from error
    check_references(catalog)
    return catalog


def check_references(catalog: Catalog) -> None:
    """Cross-document rules: bureaus exist; products read only de-identified data.

    原始数据不出域: a product whose lineage skips de-identification does not load.
    """
    bureaus = {b.id for b in catalog.bureaus}
    for dataset in catalog.datasets:
        if dataset.bureau not in bureaus:
            raise CatalogError(f"dataset {dataset.id!r}: unknown bureau {dataset.bureau!r}")
        for f in dataset.fields:
            if (f.standard or "text") not in catalog.standards:
                raise CatalogError(
                    f"dataset {dataset.id!r}, field {f.name!r}: unknown standard {f.standard!r} "
                    f"(standards are assets/standards/*.yaml)"
                )
    authorities: dict[str, list[str]] = {}
    for dataset in catalog.datasets:
        for ref in dataset.elements:
            authorities.setdefault(ref.element, [])
            if ref.authoritative:
                authorities[ref.element].append(dataset.id)
    for element, sources in authorities.items():
        if len(sources) != 1:
            raise CatalogError(
                f"element {element!r} needs exactly one authoritative source (一数一源), "
                f"found {sources or 'none'}"
            )
    safe_levels = {
        AssetRef(Layer.SAFE, d.id).column(column): (
            f.safe_level if column == f.safe_column else Level.L2
        )
        for d in catalog.datasets
        for f in d.fields
        if f.policy != "drop"
        for column in [f.safe_column, *f.derived_columns]
    }
    health = {
        AssetRef(Layer.SAFE, d.id)
        for d in catalog.datasets
        if any(f.category.startswith(HEALTH_CATEGORIES) for f in d.fields)
    }
    for product in catalog.products:
        _check_product(product, safe_levels)
        _check_privacy(product, health)
        built = AssetRef(Layer.PRODUCT, product.scenario)
        safe_levels |= {built.column(f.name): f.level for f in product.fields}


def _names(refs: Iterable[AssetRef | ColumnRef]) -> list[str]:
    """References as the catalog writes them, for messages."""
    return [str(r) for r in refs]


def _check_product(product: Product, safe_levels: dict[ColumnRef, Level]) -> None:
    where = f"product {product.scenario!r}"
    for key in product.inputs:
        if key.layer not in (Layer.SAFE, Layer.PRODUCT):
            raise CatalogError(
                f"{where} depends on '{key}': products may read only safe/ or product/ assets"
            )
    for field in product.fields:
        unknown = _names(src for src in field.derived_from if src not in safe_levels)
        if unknown:
            raise CatalogError(
                f"{where}, field {field.name!r}: unknown or dropped inputs {unknown}"
            )
        outside = _names(s for s in field.derived_from if s.asset not in product.inputs)
        if outside:
            raise CatalogError(f"{where}, field {field.name!r}: inputs {outside} not in `inputs`")
        if field.level == Level.PROHIBITED:
            raise CatalogError(f"{where}, field {field.name!r} is graded 禁止开放 and never opens")
        # Fields graded 禁止开放 are always dropped, so they are never among the inputs at all.
        inherited = highest([safe_levels[src] for src in field.derived_from])
        if field.transform == "copy" and field.level.rank < inherited.rank:
            raise CatalogError(
                f"{where}, field {field.name!r} is declared {field.level} but inherits "
                f"{inherited} from {_names(field.derived_from)}; "
                "only aggregate/generalize may lower it"
            )
    for qi in product.quasi_identifiers:
        if qi not in {f.name for f in product.fields}:
            raise CatalogError(f"{where}: quasi-identifier {qi!r} is not in its field list")


def _check_privacy(product: Product, health: set[AssetRef]) -> None:
    """Sensitive attribute and subject exist; health products name their release form
    (GB/T 39725-2020) and may only tighten its thresholds."""
    where = f"product {product.scenario!r}"
    names = {f.name for f in product.fields}
    for role, column in (("sensitive attribute", product.sensitive), ("subject", product.subject)):
        if column is not None and column not in names:
            raise CatalogError(f"{where}: {role} {column!r} is not in its field list")
    if product.sensitive in product.quasi_identifiers:
        raise CatalogError(
            f"{where}: {product.sensitive!r} cannot be quasi-identifier and sensitive"
        )
    if product.release_form is None:
        if health & set(product.inputs):
            raise CatalogError(
                f"{where} reads health data {_names(sorted(health & set(product.inputs)))}: "
                "declare its release_form (完全公开 / 受控公开 / 领地公开, GB/T 39725-2020)"
            )
        return
    form, declared = product.release_form.thresholds, product.thresholds
    if declared and (
        declared.k < form.k
        or declared.max_risk > form.max_risk
        or declared.average_risk > form.average_risk
    ):
        raise CatalogError(
            f"{where}: thresholds {declared.model_dump()} are looser than "
            f"{product.release_form}'s {form.model_dump()}"
        )
