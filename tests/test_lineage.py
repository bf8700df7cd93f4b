"""End to end, on the embedded defaults: sources → raw → std → safe → product → review → zone.

The demo runs once for the module (全链路); a test that damages what it built puts it back, and
the demo's audit log is read as it stood when the demo ended, not after other tests."""

import csv
import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
from dagster._serdes import serialize_value
from sqlalchemy import create_engine, text

from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.people import legacy_id
from ycpipelines.demo.run import (
    DEMO_ADMIN,
    DEMO_OPERATOR,
    DEMO_REVIEWER,
    QUIET,
    review_tick,
    run_demo,
)
from ycpipelines.foundation.lake import duck, file_digest
from ycpipelines.ops.lineage import LAYERS, ColumnSource, as_html, collect
from ycpipelines.registry import Registry
from ycpipelines.registry.models import ApprovalRequest

from helpers import failures, materializations, opened, publish_run, screenshot, totals, ycp

# The direct identifiers of each source, named here independently of the catalog.
PII_COLUMNS = {
    "outpatient_visits": {
        "patient_name": "name",
        "id_number": "id",
        "phone": "phone",
        "address": "address",
    },
    "settlements": {"name": "name", "id_number": "id"},
    "residents": {
        "name": "name",
        "id_number": "id",
        "phone": "phone",
        "household_address": "address",
    },
    "enterprises": {
        "legal_rep": "name",
        "legal_rep_id": "id",
        "phone": "phone",
        "address": "address",
    },
}


@pytest.fixture(scope="module")
def demo_run(yc_home: Path, sources: dict, instance: dg.DagsterInstance) -> dict:
    """The whole demo, once; with the audit log's actions as the demo left them, read before
    any test acts (a fixture asked for later would read what earlier tests added)."""
    catalog = load_catalog()
    defs = build_definitions(catalog)
    registry = Registry()
    result = run_demo(
        defs,
        catalog,
        instance,
        registry,
        date.fromisoformat(sources["first"]),
        date.fromisoformat(sources["end"]),
    )
    actions = [e.action for e in registry.audit_log()]
    return {"demo": (defs, catalog, registry, result), "audit": actions}


@pytest.fixture(scope="module")
def demo(demo_run: dict):
    return demo_run["demo"]


@pytest.fixture(scope="module")
def demo_audit(demo_run: dict) -> list[str]:
    return demo_run["audit"]


def source_rows(sources: dict, dataset: str) -> list[dict]:
    """Every row of a demo source system, read back from its database or its GBK inbox."""
    location = Path(sources["datasets"][dataset]["location"])
    if location.is_dir():
        rows: list[dict] = []
        for path in location.glob("*.csv"):
            with path.open(encoding="gbk", newline="") as f:
                rows.extend(csv.DictReader(f))
        return rows
    with create_engine(f"sqlite:///{location}").connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {dataset}"))]


def identifiers(sources: dict) -> dict[str, set[str]]:
    """The sources' direct identifiers, in the forms they could reappear in."""
    found: dict[str, set[str]] = {"name": set(), "id": set(), "phone": set(), "address": set()}
    for dataset, columns in PII_COLUMNS.items():
        for row in source_rows(sources, dataset):
            for column, kind in columns.items():
                value = str(row.get(column) or "").strip()
                if len(value) < 2:
                    continue
                if kind == "id":
                    found[kind] |= {value.upper(), value.lower()}
                    if len(value) == 18:
                        found[kind].add(legacy_id(value))
                elif kind == "phone":
                    found[kind].add(re.sub(r"\D", "", value)[-11:])
                elif kind == "address":
                    found[kind] |= {value, re.sub(r"^.*?(区|县|市)(?!.*(区|县))", "", value)}
                else:
                    found[kind].add(value)
    return found


def cells(path: Path) -> list[str]:
    """Every cell of a Parquet file as text, plus its digits alone (so spacing cannot hide one)."""
    out = []
    for column in pq.read_table(path).columns:
        for value in column.to_pylist():
            if value is not None:
                out += [str(value), re.sub(r"\D", "", str(value))]
    return out


def leaks(files: list[Path], found: dict[str, set[str]], min_name: int = 2) -> list[str]:
    problems = []
    for path in files:
        texts = cells(path) if path.suffix == ".parquet" else []
        raw = path.read_bytes()
        texts += [raw.decode("utf-8", "ignore"), raw.decode("gbk", "ignore")]
        blob = "\n".join(texts)
        for kind, values in found.items():
            for value in values:
                if kind == "name" and len(value) < min_name:
                    continue
                if value in blob:
                    problems.append(f"{path.name}: {kind} {value[:2]}…")
    return problems


def request_of(registry: Registry, scenario: str) -> ApprovalRequest:
    [request] = [r for r in registry.requests() if r.scenario == scenario]
    return request


def test_whole_lineage_publishes_once_approved(demo, demo_audit: list[str], yc_home: Path) -> None:
    _, catalog, registry, result = demo
    assert result.failed == []
    assert len(result.request_ids) == len(result.published) == len(catalog.products) == 3
    for product in catalog.products:
        request = request_of(registry, product.scenario)
        assert (request.status, request.reviewer) == ("published", DEMO_REVIEWER)
        assert request.launched_by == DEMO_OPERATOR, "the launch the demo recorded"
        folder = yc_home / "zone" / product.consumer / product.scenario / "v1"
        delivered = folder / f"data.{product.format}"
        assert delivered in result.published
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["sha256"] == file_digest(delivered)
        assert manifest["product_sha256"] == request.content_hash
        assert manifest["approval_request"] == request.id
        assert [f["name"] for f in manifest["fields"]] == [f.name for f in product.fields]
        assert manifest["rows"] == request.row_count
    assert registry.verify_audit().ok
    assert demo_audit.count("collect.committed") == 4 * 3, "every collected partition is audited"
    egress = [a for a in demo_audit if a.startswith("egress.")]
    assert sorted(egress) == sorted(["egress.requested", "egress.approved", "egress.published"] * 3)


def test_nothing_identifying_reaches_the_published_zone(demo, sources: dict, yc_home: Path) -> None:
    found = identifiers(sources)
    assert all(len(v) > 20 for v in found.values()), "the scan needs identifiers to look for"
    published = [p for p in (yc_home / "zone").rglob("*") if p.is_file()]
    assert published, "nothing was published"
    assert leaks(published, found) == []


def test_no_direct_identifier_survives_in_safe_data(demo, sources: dict, yc_home: Path) -> None:
    safe = sorted((yc_home / "lake" / "safe").rglob("*.parquet"))
    assert len(safe) == 4 * 3
    # Names of three or more characters: two-character names also occur as ordinary words.
    assert leaks(safe, identifiers(sources), min_name=3) == []


def test_row_counts_reconcile_at_each_step(
    demo, instance: dg.DagsterInstance, sources: dict
) -> None:
    _, catalog, _, _ = demo
    for dataset in catalog.datasets:
        raw = materializations(instance, dg.AssetKey(["raw", dataset.bureau, dataset.id]))
        std = materializations(instance, dg.AssetKey(["std", dataset.id]))
        safe = materializations(instance, dg.AssetKey(["safe", dataset.id]))
        assert len(raw) == len(std) == len(safe) == 3
        for partition, r in raw.items():
            assert r["read"] == r["dagster/row_count"] + r["quarantined"] == r["source_count"]
            s = std[partition]
            assert s["collected"] == r["dagster/row_count"]
            assert s["collected"] == s["dagster/row_count"] + s["quarantined"]
            assert s["reconciliation"].startswith(f"{s['collected']} = ")
            assert safe[partition]["dagster/row_count"] == s["dagster/row_count"]
        expected = sources["datasets"][dataset.id]
        assert totals(raw, "read") == expected["rows"]
        quarantined = totals(raw, "quarantined") + totals(std, "quarantined")
        assert quarantined == expected["expected_quarantined"], dataset.id


def test_the_quarantined_rows_are_exactly_the_rows_the_demo_broke(
    demo, sources: dict, yc_home: Path
) -> None:
    _, catalog, _, _ = demo
    for dataset in catalog.datasets:
        (key,) = dataset.primary_key
        with duck() as con:
            found = con.execute(
                f"SELECT json_extract_string(_record, '$.{key}') FROM read_parquet("
                f"'{yc_home}/lake/quarantine/{dataset.id}/*/*/*.parquet')"
            ).fetchall()
        expected = sources["datasets"][dataset.id]["quarantined_keys"]
        assert Counter(k for (k,) in found) == Counter(expected), dataset.id


def test_the_person_master_takes_each_element_from_its_authority(demo, yc_home: Path) -> None:
    lake = yc_home / "lake" / "std"
    with duck() as con:
        con.execute(f"CREATE TABLE m AS SELECT * FROM '{lake}/person_master/data.parquet'")
        everyone = con.execute(
            "SELECT count(DISTINCT id) FROM ("
            f"SELECT id_number AS id FROM '{lake}/residents/*/*/data.parquet' UNION ALL "
            f"SELECT id_number FROM '{lake}/outpatient_visits/*/*/data.parquet' UNION ALL "
            f"SELECT id_number FROM '{lake}/settlements/*/*/data.parquet' UNION ALL "
            f"SELECT legal_rep_id FROM '{lake}/enterprises/*/*/data.parquet')"
        ).fetchone()[0]
        assert con.execute("SELECT count(*), count(DISTINCT resident_id) FROM m").fetchone() == (
            everyone,
            everyone,
        )
        # Registered residents: every element is the register's own newest value.
        disagreeing = con.execute(
            f"""
            SELECT count(*) FROM m JOIN (
                SELECT * FROM '{lake}/residents/*/*/data.parquet'
                QUALIFY row_number() OVER (PARTITION BY id_number ORDER BY _day DESC) = 1
            ) r ON r.id_number = m.resident_id
            WHERE m.name <> r.name OR m.gender <> r.gender OR m.birth_date <> r.birth_date
               OR m.name_source <> 'residents' OR m.gender_source <> 'residents'
            """
        ).fetchone()[0]
        assert disagreeing == 0
        # Everyone else still has the values another source gave, and says which one.
        others = con.execute(
            "SELECT DISTINCT gender_source FROM m WHERE NOT list_contains(sources, 'residents')"
        ).fetchall()
        assert others and {s for (s,) in others} <= {"outpatient_visits", "enterprises"}


def test_no_identifier_reaches_run_logs_check_metadata_tickets_or_reports(
    demo, sources: dict, yc_home: Path, instance: dg.DagsterInstance
) -> None:
    from click.testing import CliRunner

    from ycpipelines.cli import main

    assert (
        CliRunner().invoke(main, ["quality", "report", "--out", str(yc_home / "q")]).exit_code == 0
    )
    events = yc_home / "events.jsonl"
    with events.open("w", encoding="utf-8") as out:
        for run in instance.get_runs():
            for entry in instance.all_logs(run.run_id):
                out.write(json.dumps(json.loads(serialize_value(entry)), ensure_ascii=False) + "\n")
        for ticket in Registry().tickets():
            out.write(f"{ticket.reason} {ticket.row_keys} {ticket.note}\n")
    assert Registry().tickets(), "the demo's defects open tickets"
    reports = sorted((yc_home / "q").glob("*.html"))
    assert len(reports) == 6
    assert leaks([events, *reports], identifiers(sources), min_name=3) == []


def test_the_lineage_page_reads_layer_by_layer_down_to_what_consumers_receive(
    demo, sources: dict, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """字段级血缘: raw → std → safe → product → published, each published asset with the columns
    its consumers receive, each from its product's column; in Chromium, in that order."""
    defs, catalog, _, _ = demo
    assets = collect(defs, instance)
    order = [a.asset for a in assets]
    assert [a.group for a in assets] == sorted((a.group for a in assets), key=list(LAYERS).index)
    assert order.index("std/person_master") > order.index("std/residents"), "upstream first"
    by_name = {a.asset: a for a in assets}
    for product in catalog.products:
        published = by_name[f"published/{product.scenario}"]
        received = [f.name for f in product.fields]
        assert list(published.columns) == list(by_name[f"product/{product.scenario}"].columns)
        assert sorted(published.columns) == sorted(received)
        assert published.sources[received[0]] == [
            ColumnSource(f"product/{product.scenario}", received[0])
        ]
        assert product.consumer in published.consumers
    path = tmp_path / "lineage.html"
    path.write_text(as_html(assets), encoding="utf-8")
    assert leaks([path], identifiers(sources)) == []
    with opened(path) as page:
        shown = page.locator("section").evaluate_all("ss => ss.map(s => s.id)")
        assert shown == order
        layers = page.locator("h2").all_text_contents()
        assert [t.split()[0] for t in layers] == ["归集", "治理", "脱敏", "产品", "出域"]
        scenario = catalog.products[0].scenario
        section = page.locator(f"section[id='published/{scenario}']")
        names = section.locator("tr td:first-child").all_text_contents()
        assert sorted(names) == sorted(f.name for f in catalog.products[0].fields)
        assert catalog.products[0].consumer in section.locator(".consumers").text_content()
        screenshot(page, tmp_path, "lineage")
        screenshot(page, tmp_path, "lineage-top", full_page=False)
        section.scroll_into_view_if_needed()
        screenshot(page, tmp_path, "lineage-published", full_page=False)


def test_quarantine_keeps_rule_reason_and_provenance(demo, yc_home: Path) -> None:
    with duck() as con:
        rows = con.execute(
            "SELECT _rule, _reason, _record, _run_id, _row_hash, _source FROM read_parquet("
            f"'{yc_home}/lake/quarantine/outpatient_visits/*/*/govern.parquet')"
        ).fetchall()
    assert rows
    for rule, reason, record, run_id, row_hash, source in rows:
        assert rule and reason and run_id and len(row_hash) == 32  # md5 of the row as delivered
        assert source == "health/区域全民健康信息平台/outpatient_visits"
        assert json.loads(record)["visit_id"].startswith("MZ")


def test_publish_refuses_a_product_changed_since_approval(
    demo, yc_home: Path, instance: dg.DagsterInstance
) -> None:
    defs, _, registry, _ = demo
    product = yc_home / "lake" / "product" / "underwriting_features" / "data.parquet"
    before = sorted((yc_home / "zone").rglob("*"))
    refused_before = sum(e.action == "egress.refused" for e in registry.audit_log())
    with changed_product(product):
        request = request_of(registry, "underwriting_features")
        tagged = publish_run(defs, instance, "underwriting_features", request.id)
        assert not tagged.success
        assert "changed since request" in failures(tagged)

        untagged = publish_run(defs, instance, "underwriting_features")
        assert not untagged.success
        assert "publish runs only for an approved request" in failures(untagged)

    assert sorted((yc_home / "zone").rglob("*")) == before
    refusals = sum(e.action == "egress.refused" for e in registry.audit_log()) - refused_before
    assert refusals == 2
    assert registry.verify_audit().ok


@contextmanager
def changed_product(product: Path) -> Iterator[None]:
    """Within, the committed product holds only its first 10 rows; afterwards its own bytes."""
    kept = product.read_bytes()
    with duck() as con:
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{product}') LIMIT 10) "
            f"TO '{product}.new' (FORMAT parquet)"
        )
    Path(f"{product}.new").replace(product)
    try:
        yield
    finally:
        product.write_bytes(kept)


def test_rebuilding_unchanged_data_needs_no_new_review(demo, instance: dg.DagsterInstance) -> None:
    defs, _, registry, _ = demo
    assert (
        defs.resolve_job_def("build_products")
        .execute_in_process(instance=instance, run_config=QUIET)
        .success
    )
    review_tick(defs, instance)  # what the daemon would do next: nothing new is filed
    assert [r.status for r in registry.requests()] == ["published"] * 3


def test_a_product_failing_k_anonymity_is_not_committed_nor_offered_for_review(
    demo,
    yc_home: Path,
    instance: dg.DagsterInstance,
    catalog_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defs, _, registry, _ = demo
    manifest = catalog_copy / "assets" / "products" / "underwriting_features.yaml"
    manifest.write_text(manifest.read_text().replace("\nk: 5\n", "\nk: 1000000\n"))
    monkeypatch.setenv("YC_CATALOG", str(catalog_copy / "assets"))
    strict = build_definitions(load_catalog())
    product = yc_home / "lake" / "product" / "underwriting_features" / "data.parquet"
    before = product.read_bytes()

    result = strict.resolve_job_def("build_products").execute_in_process(
        instance=instance, run_config=QUIET, raise_on_error=False
    )
    assert not result.success
    assert "k_anonymity" in failures(result)
    assert product.read_bytes() == before
    assert list((yc_home / "lake" / "rejected" / "product").rglob("*.parquet"))
    review_tick(defs, instance)  # what the daemon would do next: nothing new is filed
    assert [r.status for r in registry.requests()] == ["published"] * 3


def test_reviewers_see_and_decide_requests_through_the_cli(demo) -> None:
    _, _, registry, _ = demo
    unknown = ycp("egress", "approve", "1", "--comment", "批准", as_user="张审核", ok=False)
    assert "the login '张审核' is not mapped to a registry account" in unknown
    ycp(
        "users", "add", "张审核", "--role", "reviewer", "--os-account", "张审核", as_user=DEMO_ADMIN
    )
    listed = ycp("egress", "list")
    request = request_of(registry, "underwriting_features")
    assert f"{request.id}\tpublished\tunderwriting_features\tdemo_insurer" in listed
    assert request.content_hash in listed
    again = ycp(
        "egress", "approve", str(request.id), "--comment", "再次批准", as_user="张审核", ok=False
    )
    assert "is published, not pending" in again
    missing = ycp("egress", "reject", "999", "--comment", "无", as_user="张审核", ok=False)
    assert "no approval request 999" in missing
    assert "audit chain verified" in ycp("audit", "verify")
