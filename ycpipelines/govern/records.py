"""What a governing run (治理) reports: how the rows were routed and what the gate found."""

from dataclasses import dataclass

from ycpipelines.govern.gate import GateResult


@dataclass(frozen=True)
class Routed:
    """How one partition's rows were routed; collected = standardized + quarantined."""

    collected: int
    standardized: int
    quarantined: int
    by_rule: dict[str, int]


@dataclass(frozen=True)
class Governed:
    """One governing run over one bureau × day partition, committed or kept aside."""

    routed: Routed
    gate: GateResult  # the suite's outcome, with the shrink guard added
    outcome: dict[str, object]  # committed, or where the rejected files were kept
    tickets: dict[str, int]  # feedback tickets synced to the owning bureau
