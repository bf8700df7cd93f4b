"""The resource map (资源图谱): bureaus → datasets → fields (with level) → products →
consumers, drawn as an SVG graph in one HTML page for auditors and the data bureau.

Each column is as wide as its longest label (measured: CJK characters one em wide), up to a
limit past which a label is shortened with "…" and shown whole in its tooltip. Hovering or
focusing a node lights its whole path, upstream and downstream, with a small inline script."""

import html
import math
import unicodedata
from dataclasses import dataclass
from statistics import fmean

from ycpipelines.catalog import Catalog
from ycpipelines.foundation.keys import AssetRef, Layer
from ycpipelines.foundation.levels import Level

COLUMNS = ("bureau", "dataset", "field", "product", "consumer")
HEADERS = (
    "部门 bureau",
    "数据集 dataset",
    "字段 · 级别 field · level",
    "产品 product",
    "使用方 consumer",
)
FONT_PX, PAD, BOX_H, GAP, COLUMN_GAP, TOP, LEFT = 12, 8, 24, 6, 90, 50, 20
MIN_BOX_W, MAX_BOX_W = 90, 320
LEVEL_COLOURS = {
    Level.L1: "#d9f2d9",
    Level.L2: "#e6f0ff",
    Level.L3: "#fff2cc",
    Level.L4: "#ffd9d9",
    Level.PROHIBITED: "#999999",
}
NARROW, WIDE_LATIN = set("ijl.,:;'|!()[]· "), set("mwMW@%")
MAP_STYLE = (  # the graph's own rules (the console serves them as a stylesheet)
    'svg text{font:12px "Noto Sans CJK SC","Source Han Sans SC",sans-serif}'
    "svg .header{font-weight:bold;font-size:14px}"
    ".edge{fill:none;stroke:#7a8fa6;stroke-width:1;opacity:.6}"
    ".node{cursor:pointer}.node rect{stroke:#555}.node:focus{outline:none}"
    ".tracing .edge{opacity:.07}.tracing .node{opacity:.3}"
    ".tracing .edge.lit{opacity:1;stroke:#d9480f;stroke-width:2.5}"
    ".tracing .node.lit{opacity:1}.node.lit rect{stroke:#d9480f;stroke-width:2}"
)
STYLE = (
    'body{font-family:"Noto Sans CJK SC","Source Han Sans SC",sans-serif;margin:1em}' + MAP_STYLE
)
SCRIPT = """
(() => {
  const svg = document.getElementById('map');
  const edges = [...svg.querySelectorAll('.edge')];
  const up = {}, down = {};
  for (const e of edges) {
    (down[e.dataset.source] ||= []).push(e);
    (up[e.dataset.target] ||= []).push(e);
  }
  function walk(start, index, end, lit) {
    const todo = [start];
    while (todo.length) {
      for (const e of index[todo.pop()] || []) {
        if (!lit.has(e)) { lit.add(e); todo.push(e.dataset[end]); }
      }
    }
  }
  function light(node) {
    const lit = new Set();
    walk(node.id, up, 'source', lit);
    walk(node.id, down, 'target', lit);
    const nodes = new Set([node.id]);
    for (const e of lit) {
      nodes.add(e.dataset.source); nodes.add(e.dataset.target);
      e.classList.add('lit'); e.parentNode.appendChild(e);
    }
    nodes.forEach(id => document.getElementById(id).classList.add('lit'));
    svg.classList.add('tracing');
  }
  function clear() {
    svg.classList.remove('tracing');
    svg.querySelectorAll('.lit').forEach(e => e.classList.remove('lit'));
  }
  for (const node of svg.querySelectorAll('.node')) {
    node.addEventListener('mouseenter', () => { clear(); light(node); });
    node.addEventListener('mouseleave', clear);
    node.addEventListener('focus', () => { clear(); light(node); });
    node.addEventListener('blur', clear);
  }
})();
"""


@dataclass(frozen=True)
class Node:
    kind: str  # one of COLUMNS
    id: str
    label: str
    fill: str = "#f4f4f4"

    @property
    def element(self) -> str:
        return f"{self.kind}-{self.id}"


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
            safe_columns[AssetRef(Layer.SAFE, d.id).column(f.safe_column)] = field
    for p in catalog.products:
        product = add(Node("product", p.scenario, f"{p.label} {p.scenario}"))
        for f in p.fields:
            for source in f.derived_from:
                if source in safe_columns:
                    edges.add((safe_columns[source], product))
        for consumer in {p.consumer} | consumers.get(p.scenario, set()):
            edges.add((product, add(Node("consumer", consumer, consumer))))
    return list(nodes.values()), edges


def text_width(text: str, size: int = FONT_PX) -> float:
    """A generous estimate of the drawn width: wide (CJK) characters one em, Latin by shape."""
    ems = 0.0
    for ch in text:
        if unicodedata.east_asian_width(ch) in "WF":
            ems += 1.0
        elif ch in NARROW:
            ems += 0.4
        elif ch in WIDE_LATIN:
            ems += 1.0
        else:
            ems += 0.7 if ch.isupper() else 0.6
    return ems * size


def fitted(label: str, width: float) -> str:
    """The label, or its longest start that fits `width` with "…" after it."""
    room = width - 2 * PAD
    if text_width(label) <= room:
        return label
    while label and text_width(label + "…") > room:
        label = label[:-1]
    return label.rstrip() + "…"


def column_widths(nodes: list[Node]) -> dict[str, float]:
    """Each column as wide as its longest label (or its header), within the limits."""
    widths = {}
    for kind, header in zip(COLUMNS, HEADERS, strict=True):
        longest = max([text_width(n.label) for n in nodes if n.kind == kind] or [0.0])
        need = max(longest, text_width(header, 14)) + 2 * PAD
        widths[kind] = min(max(need, MIN_BOX_W), MAX_BOX_W)
    return widths


def rows(nodes: list[Node], edges: set[tuple]) -> dict[tuple[str, str], float]:
    """The top of each box: fields stacked, every other node beside the fields it leads to or
    comes from (the mean of their places), pushed down where boxes would overlap."""
    step = BOX_H + GAP
    place = {
        (n.kind, n.id): TOP + i * step for i, n in enumerate(x for x in nodes if x.kind == "field")
    }
    near: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for start, end in edges:
        near.setdefault(start, []).append(end)
        near.setdefault(end, []).append(start)
    for kind in ("dataset", "bureau", "product", "consumer"):
        column = [(n.kind, n.id) for n in nodes if n.kind == kind]
        wanted = {
            k: fmean([place[o] for o in near.get(k, []) if o in place] or [math.inf])
            for k in column
        }
        bottom = TOP - step
        for k in sorted(column, key=lambda k: (wanted[k], k)):
            alone = wanted[k] == math.inf  # linked to nothing placed: after the others
            place[k] = bottom = bottom + step if alone else max(wanted[k], bottom + step)
    return place


def render(catalog: Catalog, consumers: dict[str, set[str]]) -> str:
    """The HTML page with the graph drawn as SVG (boxes by column, curves for edges)."""
    legend = " ".join(
        f"<span style='background:{colour};padding:0 6px'>{level.value} {level.label}</span>"
        for level, colour in LEVEL_COLOURS.items()
    )
    return (
        "<!doctype html><html lang='zh'><meta charset='utf-8'><title>资源图谱 resource map</title>"
        f"<style>{STYLE}</style><h1>资源图谱 Resource map</h1><p>级别 levels: {legend}</p>"
        "<p>悬停或聚焦一个节点，高亮它的上下游路径 hover or focus a node to follow its path.</p>"
        f"{svg(catalog, consumers)}<script>{SCRIPT}</script></html>"
    )


def svg(catalog: Catalog, consumers: dict[str, set[str]]) -> str:
    """The graph as one SVG element (boxes by column, curves for edges), id `map`."""
    nodes, edges = graph(catalog, consumers)
    widths = column_widths(nodes)
    xs, x = {}, LEFT
    for kind in COLUMNS:
        xs[kind], x = x, x + widths[kind] + COLUMN_GAP
    tops = rows(nodes, edges)
    esc = html.escape
    curves = []
    for start, end in sorted(edges):
        x1, x2 = xs[start[0]] + widths[start[0]], xs[end[0]]
        y1, y2 = tops[start] + BOX_H / 2, tops[end] + BOX_H / 2
        middle = (x1 + x2) / 2
        curves.append(
            f"<path class='edge' d='M{x1:.0f},{y1:.0f} C{middle:.0f},{y1:.0f} {middle:.0f},"
            f"{y2:.0f} {x2:.0f},{y2:.0f}' data-from='{esc(start[1])}' data-to='{esc(end[1])}' "
            f"data-source='{esc('-'.join(start))}' data-target='{esc('-'.join(end))}'/>"
        )
    boxes = [
        f"<g class='node {n.kind}' id='{esc(n.element)}' tabindex='0'>"
        f"<title>{esc(n.label)}</title><rect x='{xs[n.kind]}' y='{tops[(n.kind, n.id)]:.0f}' "
        f"width='{widths[n.kind]:.0f}' height='{BOX_H}' rx='4' fill='{n.fill}'/>"
        f"<text x='{xs[n.kind] + PAD}' y='{tops[(n.kind, n.id)] + BOX_H / 2:.0f}' "
        f"dominant-baseline='central'>{esc(fitted(n.label, widths[n.kind]))}</text></g>"
        for n in nodes
    ]
    headers = "".join(
        f"<text class='header' x='{xs[kind]}' y='24'>{esc(header)}</text>"
        for kind, header in zip(COLUMNS, HEADERS, strict=True)
    )
    height = max(tops.values(), default=TOP) + BOX_H + 20
    return (
        f"<svg id='map' xmlns='http://www.w3.org/2000/svg' width='{x - COLUMN_GAP + 20:.0f}' "
        f"height='{height:.0f}'>{headers}<g class='edges'>{''.join(curves)}</g>"
        f"{''.join(boxes)}</svg>"
    )
