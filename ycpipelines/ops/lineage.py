"""Column-level lineage for auditors (字段级血缘), read from what runs recorded: each asset's
newest `dagster/column_lineage` and `dagster/column_schema` metadata, written as JSON, as
OpenLineage run events (schema and columnLineage dataset facets), or as an HTML page."""

import html
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg

PRODUCER = "urn:ycpipelines:lineage-export"  # OpenLineage wants a URI naming the producer
OPENLINEAGE_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACETS = "https://openlineage.io/spec/facets/1-1-0"
NAMESPACE = "ycpipelines"


@dataclass(frozen=True)
class ColumnSource:
    asset: str
    column: str


@dataclass
class AssetLineage:
    """One asset: its stage, the assets it reads, its columns and where each came from."""

    asset: str
    group: str
    description: str
    deps: list[str]
    run_id: str | None
    columns: dict[str, str] = field(default_factory=dict)  # name -> description
    sources: dict[str, list[ColumnSource]] = field(default_factory=dict)


def key_name(key: dg.AssetKey) -> str:
    return "/".join(key.path)


def unwrapped(value: object) -> Any:
    """Definitions hold metadata as given, recorded events as `MetadataValue`s."""
    return value.value if isinstance(value, dg.MetadataValue) else value


def collect(defs: dg.Definitions, instance: dg.DagsterInstance) -> list[AssetLineage]:
    """Every asset of the definitions with the lineage its newest materialization reported."""
    graph = defs.resolve_asset_graph()
    found = []
    for key in sorted(graph.get_all_asset_keys(), key=key_name):
        node = graph.get(key)
        event = instance.get_latest_materialization_event(key)
        recorded = event.asset_materialization.metadata if event else {}  # type: ignore[union-attr]
        metadata = {**node.metadata, **recorded}
        item = AssetLineage(
            asset=key_name(key),
            group=node.group_name,
            description=node.description or "",
            deps=sorted(key_name(k) for k in node.parent_keys),
            run_id=event.run_id if event else None,
        )
        schema = unwrapped(metadata.get("dagster/column_schema"))
        if schema is not None:
            item.columns = {c.name: c.description or "" for c in schema.columns}
        column_lineage = unwrapped(metadata.get("dagster/column_lineage"))
        if column_lineage is not None:
            item.sources = {
                column: [ColumnSource(key_name(d.asset_key), d.column_name) for d in deps]
                for column, deps in column_lineage.deps_by_column.items()
            }
        found.append(item)
    return found


def as_json(assets: list[AssetLineage]) -> str:
    return json.dumps([asdict(a) for a in assets], ensure_ascii=False, indent=1)


def as_openlineage(assets: list[AssetLineage]) -> str:
    """One OpenLineage COMPLETE run event per materialized asset, as JSON lines."""
    now = datetime.now(UTC).isoformat()
    lines = []
    for a in assets:
        if a.run_id is None:
            continue
        facets = {
            "schema": {
                "_producer": PRODUCER,
                "_schemaURL": f"{FACETS}/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
                "fields": [{"name": n, "description": d} for n, d in a.columns.items()],
            },
            "columnLineage": {
                "_producer": PRODUCER,
                "_schemaURL": f"{FACETS}/ColumnLineageDatasetFacet.json"
                "#/$defs/ColumnLineageDatasetFacet",
                "fields": {
                    column: {
                        "inputFields": [
                            {"namespace": NAMESPACE, "name": s.asset, "field": s.column}
                            for s in sources
                        ]
                    }
                    for column, sources in a.sources.items()
                },
            },
        }
        lines.append(
            json.dumps(
                {
                    "eventType": "COMPLETE",
                    "eventTime": now,
                    "producer": PRODUCER,
                    "schemaURL": OPENLINEAGE_SCHEMA,
                    "run": {"runId": a.run_id},
                    "job": {"namespace": NAMESPACE, "name": a.asset},
                    "inputs": [{"namespace": NAMESPACE, "name": d} for d in a.deps],
                    "outputs": [{"namespace": NAMESPACE, "name": a.asset, "facets": facets}],
                },
                ensure_ascii=False,
            )
        )
    return "\n".join(lines) + "\n"


def as_html(assets: list[AssetLineage]) -> str:
    """A page per stage and asset: each column with the columns it came from, linked."""
    esc = html.escape
    sections = []
    for a in assets:
        rows = "".join(
            f"<tr><td id='{esc(a.asset)}.{esc(c)}'>{esc(c)}</td><td>{esc(d)}</td><td>"
            + ", ".join(
                f"<a href='#{esc(s.asset)}.{esc(s.column)}'>{esc(s.asset)}.{esc(s.column)}</a>"
                for s in a.sources.get(c, [])
            )
            + "</td></tr>"
            for c, d in a.columns.items()
        )
        reads = ", ".join(f"<a href='#{esc(d)}'>{esc(d)}</a>" for d in a.deps) or "—"
        sections.append(
            f"<section id='{esc(a.asset)}'><h2>{esc(a.asset)} <small>{esc(a.group)}</small></h2>"
            f"<p>{esc(a.description)}</p><p>reads: {reads}</p>"
            f"<table><tr><th>column</th><th>description</th><th>from</th></tr>{rows}</table>"
            "</section>"
        )
    return (
        "<!doctype html><html lang='zh'><meta charset='utf-8'><title>字段级血缘 lineage</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}</style>"
        "<h1>字段级血缘 Column lineage</h1>" + "".join(sections) + "</html>"
    )


FORMATS = {"json": as_json, "openlineage": as_openlineage, "html": as_html}
