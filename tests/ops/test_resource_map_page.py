"""The resource map (资源图谱) as an auditor sees it in Chromium: labels inside their boxes and a
field's whole path lit on hover, nothing else."""

from pathlib import Path

import pytest
from playwright.sync_api import Page

from ycpipelines.catalog import load_catalog
from ycpipelines.ops.resource_map import graph, render

from helpers import opened, screenshot

FIELD = "field-outpatient_visits.visit_time"
# an authorized consumer whose name is longer than any column may be wide
LONG_NAME = "银川市某某区人民医院医疗保险结算与费用审核中心_claims_and_cost_review_department"
CONSUMERS = {"disease_stats": {"city_health_office", LONG_NAME}}

OVERFLOWING = """() => [...document.querySelectorAll('.node')].flatMap(g => {
  const rect = g.querySelector('rect').getBBox(), text = g.querySelector('text');
  const box = text.getBBox(), end = box.x + text.getComputedTextLength();
  return end > rect.x + rect.width || box.x < rect.x || box.y < rect.y
    || box.y + box.height > rect.y + rect.height ? [g.id] : [];
})"""
LIT = """() => ({
  edges: [...document.querySelectorAll('.edge.lit')].map(e => [e.dataset.source, e.dataset.target]),
  nodes: [...document.querySelectorAll('.node.lit')].map(n => n.id),
})"""


@pytest.fixture(scope="module")
def map_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("map") / "map.html"
    path.write_text(render(load_catalog(), CONSUMERS), encoding="utf-8")
    return path


def path_of(element: str) -> tuple[set[tuple[str, str]], set[str]]:
    """The edges and nodes upstream and downstream of one node, walked here from the graph."""
    _, edges = graph(load_catalog(), CONSUMERS)
    named = {("-".join(a), "-".join(b)) for a, b in edges}
    lit: set[tuple[str, str]] = set()
    for forward in (True, False):
        todo = [element]
        while todo:
            here = todo.pop()
            for edge in named - lit:
                if edge[0 if forward else 1] == here:
                    lit.add(edge)
                    todo.append(edge[1 if forward else 0])
    return lit, {element} | {n for edge in lit for n in edge}


def test_every_label_fits_its_box_and_a_shortened_one_keeps_its_whole_name(
    map_page: Path, tmp_path: Path
) -> None:
    with opened(map_page) as page:
        page.evaluate("document.fonts.ready")
        assert page.evaluate(OVERFLOWING) == []
        long = page.locator(f"[id='consumer-{LONG_NAME}']")
        assert long.locator("text").text_content().endswith("…")
        assert long.locator("title").text_content() == LONG_NAME
        headers = page.locator("text.header").all_text_contents()
        assert headers[0].startswith("部门") and len(headers) == 5
        screenshot(page, tmp_path, "resource-map")


def lit_after_hover(page: Page, element: str) -> dict:
    page.locator(f"[id='{element}']").hover()
    return page.evaluate(LIT)


def test_hovering_a_field_lights_its_whole_path_and_only_that(
    map_page: Path, tmp_path: Path
) -> None:
    edges, nodes = path_of(FIELD)
    with opened(map_page) as page:
        lit = lit_after_hover(page, FIELD)
        screenshot(page, tmp_path, "resource-map-hover-field")
        assert len(lit["edges"]) > 0
        assert {tuple(e) for e in lit["edges"]} == edges
        assert set(lit["nodes"]) == nodes
        kinds = {n.split("-")[0] for n in nodes}
        assert kinds == {"bureau", "dataset", "field", "product", "consumer"}
        total = page.locator(".edge").count()
        assert len(edges) < total
        page.mouse.move(0, 0)
        assert page.evaluate(LIT) == {"edges": [], "nodes": []}


def test_hovering_a_product_lights_its_fields_upstream_and_its_consumers(
    map_page: Path, tmp_path: Path
) -> None:
    edges, nodes = path_of("product-disease_stats")
    with opened(map_page) as page:
        lit = lit_after_hover(page, "product-disease_stats")
        screenshot(page, tmp_path, "resource-map-hover-product")
    assert {tuple(e) for e in lit["edges"]} == edges
    assert set(lit["nodes"]) == nodes
    assert f"consumer-{LONG_NAME}" in nodes and "field-residents.name" not in nodes
