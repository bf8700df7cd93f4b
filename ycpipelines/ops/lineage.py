"""Column-level lineage for auditors (字段级血缘), read from what runs recorded: each asset's
newest `dagster/column_lineage` and `dagster/column_schema` metadata, written as JSON, as
OpenLineage run events (schema and columnLineage dataset facets), or as an HTML page.

Assets come in layer order (raw → std → safe → product → published); a `published/*` asset lists
the columns each consumer receives (its product's, pseudonyms re-keyed per recipient) and the
consumers its deliveries went to."""

import html
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import dagster as dg

from ycpipelines.egress.consumers import delivered_to
from ycpipelines.foundation.keys import AssetRef

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph

PRODUCER = "urn:ycpipelines:lineage-export"  # OpenLineage wants a URI naming the producer
OPENLINEAGE_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACETS = "https://openlineage.io/spec/facets/1-1-0"
NAMESPACE = "ycpipelines"
LAYERS = {
    "raw": "归集 collected",
    "std": "治理 standardized",
    "safe": "脱敏 de-identified",
    "product": "产品 products",
    "published": "出域 published",
}


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
    consumers: list[str] = field(default_factory=list)  # published/*: who received it


def key_name(key: dg.AssetKey) -> str:
    return "/".join(key.path)


def unwrapped(value: object) -> Any:
    """Definitions hold metadata as given, recorded events as `MetadataValue`s."""
    return value.value if isinstance(value, dg.MetadataValue) else value


def layer_order(graph: "AssetGraph") -> list[dg.AssetKey]:
    """Every asset key by layer (raw → std → safe → product → published), upstream first
    within a layer, then by name."""
    level = {
        key: depth
        for depth, keys in enumerate(graph.toposorted_asset_keys_by_level)
        for key in keys
    }
    layers = list(LAYERS)

    def rank(key: dg.AssetKey) -> tuple[int, int, str]:
        layer = key.path[0]
        return (layers.index(layer) if layer in layers else len(layers), level[key], key_name(key))

    return sorted(graph.get_all_asset_keys(), key=rank)


def collect(defs: dg.Definitions, instance: dg.DagsterInstance) -> list[AssetLineage]:
    """Every asset of the definitions, in layer order, with the lineage its newest
    materialization reported."""
    graph = defs.resolve_asset_graph()
    found = []
    for key in layer_order(graph):
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
    by_name = {a.asset: a for a in found}
    for item in found:
        if item.group == "published":
            received(item, by_name, instance)
    return found


def received(
    item: AssetLineage, by_name: dict[str, AssetLineage], instance: dg.DagsterInstance
) -> None:
    """A published asset's columns are what its consumers receive: its product's columns, each
    from that column; its consumers are those its recorded deliveries went to."""
    for dep in item.deps:
        product = by_name[dep]
        if not item.columns:
            item.columns = dict(product.columns)
        if not item.sources:
            item.sources = {c: [ColumnSource(dep, c)] for c in product.columns}
    item.consumers = delivered_to(instance, AssetRef.parse(item.asset).name)


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


STYLE = (
    'body{font-family:"Noto Sans CJK SC","Source Han Sans SC",sans-serif;margin:2em;color:#222}'
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}h2{border-bottom:2px solid #3366cc;margin-top:2em}"
    "h3 small,h2 small{color:#666;font-weight:normal}nav li{margin:.1em 0}"
    ":target{background:#fff3c4}.consumers{font-weight:bold}"
)


def column_rows(a: AssetLineage) -> str:
    """One row per column: name, description and the linked columns it came from."""
    esc = html.escape
    return "".join(
        f"<tr><td id='{esc(a.asset)}.{esc(c)}'>{esc(c)}</td><td>{esc(d)}</td><td>"
        + ", ".join(
            f"<a href='#{esc(s.asset)}.{esc(s.column)}'>{esc(s.asset)}.{esc(s.column)}</a>"
            for s in a.sources.get(c, [])
        )
        + "</td></tr>"
        for c, d in a.columns.items()
    )


def asset_section(a: AssetLineage) -> str:
    esc = html.escape
    reads = ", ".join(f"<a href='#{esc(d)}'>{esc(d)}</a>" for d in a.deps) or "—"
    receivers = ""
    if a.group == "published":
        names = ", ".join(esc(c) for c in a.consumers) or "尚未交付 not delivered yet"
        receivers = f"<p>交付给 delivered to: <span class='consumers'>{names}</span></p>"
    return (
        f"<section id='{esc(a.asset)}' data-layer='{esc(a.group)}'>"
        f"<h3>{esc(a.asset)} <small>{len(a.columns)} columns</small></h3>"
        f"<p>{esc(a.description)}</p><p>读取 reads: {reads}</p>{receivers}"
        "<table><tr><th>字段 column</th><th>说明 description</th><th>来源 from</th></tr>"
        f"{column_rows(a)}</table></section>"
    )


def as_html(assets: list[AssetLineage]) -> str:
    """One page, layer by layer (raw → published): each asset's columns and the columns each
    came from, linked, with a table of contents."""
    return (
        "<!doctype html><html lang='zh'><meta charset='utf-8'><title>字段级血缘 lineage</title>"
        f"<style>{STYLE}</style><h1>字段级血缘 Column lineage</h1>{html_body(assets)}</html>"
    )


def html_body(assets: list[AssetLineage]) -> str:
    """The page's table of contents and its layers' sections (the console shows them too)."""
    esc = html.escape
    toc, body = [], []
    layers = LAYERS | {a.group: a.group for a in assets if a.group not in LAYERS}
    for layer, title in layers.items():
        mine = [a for a in assets if a.group == layer]
        if not mine:
            continue
        links = "".join(f"<li><a href='#{esc(a.asset)}'>{esc(a.asset)}</a></li>" for a in mine)
        toc.append(f"<li><a href='#layer-{layer}'>{esc(title)}</a><ul>{links}</ul></li>")
        body.append(
            f"<h2 id='layer-{layer}'>{esc(title)} <small>{layer}/</small></h2>"
            + "".join(asset_section(a) for a in mine)
        )
    return f"<nav><ol>{''.join(toc)}</ol></nav>{''.join(body)}"


FORMATS = {"json": as_json, "openlineage": as_openlineage, "html": as_html}
