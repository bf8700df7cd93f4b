"""The resource map (资源图谱): bureaus → datasets → fields (with level) → products →
consumers, drawn as an SVG graph in one HTML page for auditors and the data bureau."""

import html
from dataclasses import dataclass

from ycpipelines.catalog import Catalog
from ycpipelines.foundation.levels import Level

COLUMNS = ("bureau", "dataset", "field", "product", "consumer")
COLUMN_X = (20, 230, 460, 760, 1010)
BOX_W, BOX_H, GAP = 200, 24, 6
LEVEL_COLOURS = {
    Level.L1: "#d9f2d9",
    Level.L2: "#e6f0ff",
    Level.L3: "#fff2cc",
    Level.L4: "#ffd9d9",
    Level.PROHIBITED: "#999999",
}


@dataclass(frozen=True)
class Node:
    kind: str  # one of COLUMNS
    id: str
    label: str
    fill: str = "#f4f4f4"


def graph(catalog: Catalog, consumers: dict[str, set[str]]) -> tuple[list[Node], set[tuple]]:
    """Nodes and edges; `consumers` adds the authorized consumers of each scenario to those
    the manifests name."""
    nodes: dict[tuple[str, str], Node] = {}
    edges: set[tuple] = set()

    def add(node: Node) -> tuple[str, str]:
        nodes.setdefault((node.kind, node.id), node)
        return node.kind, node.id

    safe_columns = {}
    for b in catalog.bureaus:
        add(Node("bureau", b.id, f"{b.label} {b.id}"))
    for d in catalog.datasets:
        dataset = add(Node("dataset", d.id, f"{d.label} {d.id}"))
        edges.add((("bureau", d.bureau), dataset))
        for f in d.fields:
            label = f"{f.label} {f.name} · {f.level.value}"
            field = add(Node("field", f"{d.id}.{f.name}", label, LEVEL_COLOURS[f.level]))
            edges.add((dataset, field))
            safe_columns[f"safe/{d.id}.{f.safe_column}"] = field
    for p in catalog.products:
        product = add(Node("product", p.scenario, f"{p.label} {p.scenario}"))
        for f in p.fields:
            for source in map(str, f.derived_from):
                if source in safe_columns:
                    edges.add((safe_columns[source], product))
        for consumer in {p.consumer} | consumers.get(p.scenario, set()):
            edges.add((product, add(Node("consumer", consumer, consumer))))
    return list(nodes.values()), edges


def render(catalog: Catalog, consumers: dict[str, set[str]]) -> str:
    """The HTML page with the graph drawn as SVG (boxes by column, curves for edges)."""
    nodes, edges = graph(catalog, consumers)
    place: dict[tuple[str, str], tuple[int, int]] = {}
    height = 0
    for column, x in zip(COLUMNS, COLUMN_X, strict=True):
        in_column = [n for n in nodes if n.kind == column]
        for i, n in enumerate(in_column):
            place[(n.kind, n.id)] = (x, 50 + i * (BOX_H + GAP))
        height = max(height, 60 + len(in_column) * (BOX_H + GAP))
    esc = html.escape
    curves = []
    for start, end in sorted(edges):
        (x1, y1), (x2, y2) = place[start], place[end]
        x1, y1, y2 = x1 + BOX_W, y1 + BOX_H // 2, y2 + BOX_H // 2
        middle = (x1 + x2) // 2
        curves.append(
            f"<path class='edge' d='M{x1},{y1} C{middle},{y1} {middle},{y2} {x2},{y2}' "
            f"data-from='{esc(start[1])}' data-to='{esc(end[1])}'/>"
        )
    boxes = [
        f"<g class='node {n.kind}' id='{n.kind}-{esc(n.id)}'>"
        f"<rect x='{x}' y='{y}' width='{BOX_W}' height='{BOX_H}' rx='4' fill='{n.fill}'/>"
        f"<text x='{x + 6}' y='{y + 16}'>{esc(n.label)}</text></g>"
        for n in nodes
        for x, y in [place[(n.kind, n.id)]]
    ]
    headers = "".join(
        f"<text class='header' x='{x}' y='24'>{c}</text>"
        for c, x in zip(COLUMNS, COLUMN_X, strict=True)
    )
    legend = " ".join(
        f"<span style='background:{colour};padding:0 6px'>{level.value} {level.label}</span>"
        for level, colour in LEVEL_COLOURS.items()
    )
    return (
        "<!doctype html><html lang='zh'><meta charset='utf-8'><title>资源图谱 resource map</title>"
        "<style>body{font-family:sans-serif;margin:1em}text{font-size:12px}"
        ".header{font-weight:bold;font-size:14px}"
        ".edge{fill:none;stroke:#7a8fa6;stroke-width:1;opacity:.6}"
        "rect{stroke:#555}</style>"
        f"<h1>资源图谱 Resource map</h1><p>levels: {legend}</p>"
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{COLUMN_X[-1] + BOX_W + 20}' "
        f"height='{height}'>{headers}{''.join(curves)}{''.join(boxes)}</svg></html>"
    )
