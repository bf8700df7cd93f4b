"""What a de-identification run (脱敏) reports: rows in and out, what the privacy scans found."""

from dataclasses import dataclass, field

from ycpipelines.deid.anonymity import Anonymity


@dataclass(frozen=True)
class Deidentified:
    """One de-identification run over one bureau × day partition, committed or kept aside."""

    std_rows: int  # rows of the std/ partition read
    rows: int  # rows de-identified
    key_version: str  # of the pseudonymization key that made the pseudonyms
    leaks: dict[str, int]  # rows per free-form column still holding a direct identifier
    figures: Anonymity  # re-identification figures under the quasi-identifiers
    outcome: dict[str, object] = field(default_factory=dict)  # committed, or where kept aside
