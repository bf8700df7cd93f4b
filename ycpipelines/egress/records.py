"""What the one delivery path takes and returns (交付单, 交付记录): typed records shared by
publish, the sandbox's release and the review sensor."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from upath import UPath

from ycpipelines.registry.requests import Decision

# Writes the consumer's file from the snapshot into a staging folder; returns the file written.
Writer = Callable[[UPath, Path], Path]
# Verifies that the committed build with this content passed its privacy checks; returns what
# each bureau contributed to it (收益分配).
BuildCheck = Callable[[str], dict[str, float]]


@dataclass(frozen=True)
class Scope:
    """What the authorization must cover: its scenario and every field delivered."""

    scenario: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Order:
    """One delivery to make (交付单): which approval, which file, where, and how it is written."""

    request_id: int
    consumer: str
    scenario: str  # what the approval request names
    scope: Scope
    source: UPath  # the approved file, in the lake
    folder: str  # under the consumer's zone
    write: Writer
    fingerprint: str
    actor: str
    version: str | None = None  # None: the consumer's next version of `scenario`
    price_cents: int = 0
    build: BuildCheck | None = None  # products only
    manifest: Mapping[str, object] = field(default_factory=dict)  # extra manifest entries
    trail: Mapping[str, object] = field(default_factory=dict)  # extra audit detail (run id)


@dataclass(frozen=True)
class Approval:
    """What re-verification established: the snapshot's hash, the decision in the audit chain,
    the authorization, and what each bureau contributed to the build."""

    digest: str
    decision: Decision
    authorization_id: int
    contributions: dict[str, float]


@dataclass(frozen=True)
class Delivered:
    """A recorded delivery: its zone folder and file, computed from the bytes delivered."""

    folder: Path
    data: Path
    sha256: str
    product_sha256: str
    rows: int
    decision: Decision


@dataclass(frozen=True)
class Review:
    """One pass of the review sensor (出域审核): the requests it filed, the scenarios built but
    authorized to nobody, and the consumers authorized per scenario (each a delivery partition)."""

    filed: list[int]
    unauthorized: list[str]
    consumers: dict[str, set[str]]
