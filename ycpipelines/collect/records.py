"""What a collection run (归集) reports: the files it wrote and the partition it committed."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Written:
    """Counts of one run's staged files; read = collected + quarantined."""

    read: int
    collected: int
    quarantined: int
    rows: int  # in the partition after this run (incremental runs keep unchanged rows)
    bytes: int
    watermark: tuple[str | None, str | None]


@dataclass(frozen=True)
class Collected:
    """One collection run over one bureau × day partition, committed or kept aside."""

    written: Written
    source_count: int | None  # as the source reported it
    outcome: dict[str, object]  # committed, or where the rejected files were kept
    incremental_after: str | None  # the watermark read after; None for a full read
    source_types: dict[str, str]  # source type family per column
    new_columns: list[str]  # source columns the catalog does not list (names shown masked)
    tickets: dict[str, int] | None  # feedback tickets synced; None when nothing was committed
