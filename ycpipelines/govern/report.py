"""The quality report (数据质量报告): static HTML per dataset and partition, from the runs.

It reads the std/ materializations and quality checks from the Dagster instance and the tickets
from the registry, and shows counts, verdicts and masked keys only — never values.
"""

import html
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.foundation.keys import std_key
from ycpipelines.govern.checks import QUALITY_GATE, QUARANTINE_SHARE
from ycpipelines.registry import Registry
from ycpipelines.registry.models import Ticket

HISTORY = 10_000
STYLE = """
body { font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; font-size: .9rem; }
th { background: #f3f3f3; } .pass { color: #11772d; } .fail { color: #b00020; font-weight: bold; }
.trend { border: 1px solid #ddd; background: #fafafa; }
"""


@dataclass
class PartitionQuality:
    """What the newest govern run of one partition recorded."""

    partition: str
    collected: int = 0
    standardized: int = 0
    quarantined: int = 0
    checks: dict[str, bool] = field(default_factory=dict)
    failed: str = ""
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(self.checks.values())

    @property
    def share(self) -> float:
        return self.quarantined / self.collected if self.collected else 0.0


def partitions(instance: dg.DagsterInstance, dataset: Dataset) -> list[PartitionQuality]:
    """The newest recorded quality of each partition of a dataset, oldest partition first."""
    key = std_key(dataset)
    found: dict[str, PartitionQuality] = {}
    records = instance.fetch_materializations(key, limit=HISTORY, ascending=True).records
    for record in records:
        m = record.asset_materialization
        if m is None or m.partition is None:
            continue
        meta = {k: v.value for k, v in m.metadata.items()}
        found[m.partition] = PartitionQuality(
            m.partition,
            collected=int(meta.get("collected", 0)),
            standardized=int(meta.get("dagster/row_count", 0)),
            quarantined=int(meta.get("quarantined", 0)),
        )
    for check in (QUALITY_GATE, QUARANTINE_SHARE):
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(key, check), limit=HISTORY
        )
        for execution in reversed(history):  # newest last, so the newest wins
            evaluation = execution.evaluation
            if evaluation is None or execution.partition not in found:
                continue
            quality = found[execution.partition]
            quality.checks[check] = evaluation.passed
            meta = {k: v.value for k, v in evaluation.metadata.items()}
            if check == QUALITY_GATE:
                quality.failed = str(meta.get("failed", ""))
                quality.scores = {
                    k: float(v)
                    for k, v in meta.items()
                    if isinstance(v, float) and not isinstance(v, bool)
                }
    return sorted(found.values(), key=lambda q: q.partition)


def trend(points: list[float], label: str, width: int = 360, height: int = 60) -> str:
    """A small inline SVG line of values in [0, 1] over partitions."""
    if not points:
        return ""
    step = width / max(len(points) - 1, 1)
    line = " ".join(
        f"{i * step:.1f},{height - min(max(v, 0.0), 1.0) * height:.1f}"
        for i, v in enumerate(points)
    )
    return (
        f'<figure><svg class="trend" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(label)}"><polyline fill="none" stroke="#3366cc" '
        f'stroke-width="2" points="{line}"/></svg><figcaption>{html.escape(label)}'
        "</figcaption></figure>"
    )


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>'
        f"{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def ticket_links(tickets: list[Ticket]) -> str:
    return " ".join(
        f'<a href="tickets.html#ticket-{t.id}">#{t.id} {html.escape(t.status)}</a>' for t in tickets
    )


def dataset_page(dataset: Dataset, rows: list[PartitionQuality], tickets: list[Ticket]) -> str:
    by_partition: dict[str, list[Ticket]] = defaultdict(list)
    for t in tickets:
        by_partition[f"{t.bureau}|{t.day}"].append(t)
    score_names = sorted({name for q in rows for name in q.scores})
    head = "".join(
        f"<th>{html.escape(h)}</th>"
        for h in [
            "partition",
            "verdict",
            "collected",
            "standardized",
            "quarantined",
            "share",
            "failed expectations",
            *score_names,
            "tickets",
        ]
    )
    body = []
    for q in rows:
        verdict = '<span class="pass">pass</span>' if q.passed else '<span class="fail">fail</span>'
        cells = [
            html.escape(q.partition),
            verdict,
            str(q.collected),
            str(q.standardized),
            str(q.quarantined),
            f"{q.share:.2%}",
            html.escape(q.failed or "none"),
            *(f"{q.scores[n]:.4f}" if n in q.scores else "" for n in score_names),
            ticket_links(by_partition.get(q.partition, [])),
        ]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    trends = trend([1 - q.share for q in rows], "rows passing the row-level rules, by partition")
    trends += "".join(
        trend([q.scores.get(n, 0.0) for q in rows], f"{n}, by partition")
        for n in score_names
        if all(0.0 <= q.scores.get(n, 0.0) <= 1.0 for q in rows)
    )
    return page(
        f"{dataset.label} {dataset.id}",
        f'<p><a href="index.html">all datasets</a> · suite expectations/{dataset.id}.json · '
        f"quarantine threshold {dataset.quarantine_threshold:.0%}</p>{trends}"
        f"<table><tr>{head}</tr>{''.join(body)}</table>",
    )


def tickets_page(tickets: list[Ticket]) -> str:
    rows = "".join(
        f'<tr id="ticket-{t.id}"><td>#{t.id}</td><td>{html.escape(t.status)}</td>'
        f"<td>{html.escape(t.bureau)}</td><td>{html.escape(t.dataset)}</td><td>{t.day}</td>"
        f"<td>{html.escape(t.rule)}</td><td>{html.escape(t.reason)}</td><td>{t.count}</td>"
        f"<td>{html.escape(', '.join(t.row_keys[:20]))}</td><td>{html.escape(t.note or '')}</td>"
        "</tr>"
        for t in tickets
    )
    head = "".join(
        f"<th>{h}</th>"
        for h in [
            "ticket",
            "status",
            "bureau",
            "dataset",
            "day",
            "rule",
            "reason",
            "rows",
            "rows (masked key @ source line)",
            "note",
        ]
    )
    return page("问题数据反馈单 Feedback tickets", f"<table><tr>{head}</tr>{rows}</table>")


def write_report(
    instance: dg.DagsterInstance, catalog: Catalog, registry: Registry, out: Path
) -> list[Path]:
    """Write index.html, one page per dataset and tickets.html under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    tickets = registry.tickets()
    written = []
    summary = []
    for dataset in catalog.datasets:
        rows = partitions(instance, dataset)
        mine = [t for t in tickets if t.dataset == dataset.id]
        path = out / f"{dataset.id}.html"
        path.write_text(dataset_page(dataset, rows, mine), encoding="utf-8")
        written.append(path)
        failing = sum(not q.passed for q in rows)
        open_tickets = sum(t.status != "closed" for t in mine)
        summary.append(
            f'<tr><td><a href="{dataset.id}.html">{html.escape(dataset.label)}</a></td>'
            f"<td>{html.escape(dataset.bureau)}</td><td>{len(rows)}</td>"
            f'<td class="{"fail" if failing else "pass"}">{failing}</td>'
            f"<td>{open_tickets}</td></tr>"
        )
    (out / "tickets.html").write_text(tickets_page(tickets), encoding="utf-8")
    index = out / "index.html"
    index.write_text(
        page(
            "数据质量报告 Quality report",
            '<p><a href="tickets.html">feedback tickets</a></p><table><tr><th>dataset</th>'
            "<th>bureau</th><th>partitions</th><th>failing</th><th>open tickets</th></tr>"
            + "".join(summary)
            + "</table>",
        ),
        encoding="utf-8",
    )
    return [index, *written, out / "tickets.html"]
