"""What a demand may choose (可选字段): for a scenario with a product, the product's fields; for a
new scenario, the de-identified (safe/) columns of the catalog's datasets. Each carries its level
(分类分级); fields graded 禁止开放, and fields de-identification drops, are never openable.

The registry does not import the catalog (the layers keep them apart): it reads the catalog it is
handed through the protocols below, so the rule is the registry's whoever calls it."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ycpipelines.foundation.levels import Level


class ProductFieldLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def level(self) -> Level: ...


class ProductLike(Protocol):
    @property
    def scenario(self) -> str: ...
    @property
    def fields(self) -> Sequence[ProductFieldLike]: ...


class SourceFieldLike(ProductFieldLike, Protocol):
    @property
    def policy(self) -> str: ...
    @property
    def safe_column(self) -> str: ...
    @property
    def safe_level(self) -> Level: ...


class DatasetLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def fields(self) -> Sequence[SourceFieldLike]: ...


class CatalogLike(Protocol):
    """What the registry reads of the catalog (资源目录)."""

    @property
    def products(self) -> Sequence[ProductLike]: ...
    @property
    def datasets(self) -> Sequence[DatasetLike]: ...


@dataclass(frozen=True)
class Offered:
    """A field a demand may name: `name` (a product field, or `dataset.column` of safe/), its
    label, its grade, the grade of what leaves after de-identification, and whether it may be
    opened at all."""

    name: str
    label: str
    level: Level
    after: Level
    openable: bool
    dataset: str = ""  # the source dataset, for a new scenario's fields


def offer(catalog: CatalogLike, scenario: str) -> tuple[bool, list[Offered]]:
    """Whether `scenario` is new (no product yet), and every field of the catalog it could
    name, openable or not."""
    product = next((p for p in catalog.products if p.scenario == scenario), None)
    if product is not None:
        return False, [
            Offered(f.name, f.label, f.level, f.level, f.level != Level.PROHIBITED)
            for f in product.fields
        ]
    return True, [
        Offered(
            f"{d.id}.{f.safe_column}",
            f"{d.label} · {f.label}",
            f.level,
            f.safe_level,
            f.level != Level.PROHIBITED and str(f.policy) != "drop",
            d.id,
        )
        for d in catalog.datasets
        for f in d.fields
    ]


def openable(catalog: CatalogLike, scenario: str) -> list[Offered]:
    """The fields a demand form offers: 禁止开放 and dropped fields are left out."""
    return [f for f in offer(catalog, scenario)[1] if f.openable]
