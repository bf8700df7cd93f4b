"""Product manifest proposals (产品清单提案): when the scenario review approves a demand for a
scenario with no product yet, the platform writes the draft of its manifest, in the catalog's
format, under `$YC_HOME/proposals/` (0600). A data engineer completes it (quasi-identifiers or
small-cell suppression, the builder's SQL, price) and commits it under `assets/products/`; the
platform itself never writes code."""

import hashlib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from ycpipelines.foundation.files import DIR_MODE, private_opener
from ycpipelines.registry.admission_models import Demand
from ycpipelines.registry.offer import Offered

HEADER = """\
# 产品清单提案 (product manifest proposal) for demand {demand}, approved by {by} on {on}.
# Written by the platform, not code: a data engineer completes quasi_identifiers (or
# suppress_below), the builder module, price and revenue weights, then reviews and commits it as
# assets/products/{scenario}.yaml. The authorization already names these field names.
"""


@dataclass(frozen=True)
class Proposal:
    """A proposal's file name, the product field names it defines, its text and hash."""

    name: str
    fields: list[str]
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def product_names(chosen: list[Offered]) -> list[str]:
    """A product field name per `dataset.column` chosen: the column, or `dataset_column` when
    two datasets give the same column."""
    columns = [f.name.split(".", 1)[1] for f in chosen]
    return [
        column if columns.count(column) == 1 else f.name.replace(".", "_")
        for column, f in zip(columns, chosen, strict=True)
    ]


def propose(demand: Demand, chosen: list[Offered], entity: str, by: str, on: date) -> Proposal:
    """The manifest proposal of a demand (its scenario, consumer, purpose, legal basis and
    fields, each derived from its safe/ column at its level after de-identification)."""
    names = product_names(chosen)
    scenario = demand.scenario
    manifest = {
        "scenario": scenario,
        "label": scenario,
        "description": demand.purpose,
        "consumer": demand.consumer,
        "consumer_label": entity,
        "purpose": demand.purpose,
        "legal_basis": demand.legal_basis,
        "inputs": sorted({f"safe/{f.dataset}" for f in chosen}),
        "fields": [
            {
                "name": name,
                "label": f.label.split(" · ")[-1],
                "level": str(f.after),
                "derived_from": [f"safe/{f.name}"],
            }
            for name, f in zip(names, chosen, strict=True)
        ],
        "quasi_identifiers": [],
        "k": 5,
        "retention_days": 180,
        "format": "parquet",
        "price": "0.00",
        "revenue_weights": {},
        "builder": f"ycpipelines.products.{scenario}:build",
    }
    header = HEADER.format(demand=demand.id, by=by, on=on, scenario=scenario)
    body = yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False)
    return Proposal(f"{scenario}-demand-{demand.id}.yaml", names, header + body)


def write_proposal(folder: Path, proposal: Proposal) -> Path:
    """Write the proposal privately (folder 0700, file 0600); its path."""
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    path = folder / proposal.name
    with open(path, "w", encoding="utf-8", opener=private_opener) as out:
        out.write(proposal.text)
    os.chmod(path, 0o600)
    return path
