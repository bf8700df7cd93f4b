"""Layers and asset keys (数据分层): typed references instead of strings split by hand.

A catalog reference such as `safe/residents` or `safe/residents.gender` is parsed once into an
`AssetRef` or `ColumnRef`; every stage builds its Dagster keys from these functions.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, Self

import dagster as dg


class Layer(StrEnum):
    """The lifecycle's layers, in order: each reads only the ones before it."""

    RAW = "raw"
    STD = "std"
    QUARANTINE = "quarantine"
    SAFE = "safe"
    PRODUCT = "product"
    PUBLISHED = "published"


class DatasetLike(Protocol):
    """What a key needs of a catalog dataset."""

    @property
    def id(self) -> str: ...

    @property
    def bureau(self) -> str: ...


@dataclass(frozen=True, order=True)
class AssetRef:
    """One asset of a layer: `safe/residents`, `product/claims_verification`."""

    layer: Layer
    name: str

    @classmethod
    def parse(cls, text: str) -> Self:
        layer, sep, name = text.partition("/")
        if not sep or not name or "/" in name or layer not in Layer.__members__.values():
            raise ValueError(f"not a layer/name reference: {text!r}")
        return cls(Layer(layer), name)

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey([self.layer.value, self.name])

    def column(self, name: str) -> "ColumnRef":
        return ColumnRef(self, name)

    def __str__(self) -> str:
        return f"{self.layer.value}/{self.name}"


@dataclass(frozen=True, order=True)
class ColumnRef:
    """One column of an asset: `safe/residents.gender`."""

    asset: AssetRef
    name: str

    @classmethod
    def parse(cls, text: str) -> Self:
        asset, sep, column = text.partition(".")
        if not sep or not column:
            raise ValueError(f"not an asset.column reference: {text!r}")
        return cls(AssetRef.parse(asset), column)

    def __str__(self) -> str:
        return f"{self.asset}.{self.name}"


def raw_key(dataset: DatasetLike) -> dg.AssetKey:
    """`raw/<bureau>/<dataset>`: collected as delivered (归集)."""
    return dg.AssetKey([Layer.RAW.value, dataset.bureau, dataset.id])


def std_key(dataset: DatasetLike) -> dg.AssetKey:
    return AssetRef(Layer.STD, dataset.id).key


def safe_key(dataset: DatasetLike) -> dg.AssetKey:
    return AssetRef(Layer.SAFE, dataset.id).key


def product_key(scenario: str) -> dg.AssetKey:
    return AssetRef(Layer.PRODUCT, scenario).key


def published_key(scenario: str) -> dg.AssetKey:
    return AssetRef(Layer.PUBLISHED, scenario).key
