"""Egress with the registry on the real PostgreSQL: authorizations, four-eyes review, delivery
into versioned zones, re-verification at write time, revocation, leak tracing, settlement."""

import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import QUIET, launch, review_tick
from ycpipelines.egress.publish import APPROVAL_TAG
from ycpipelines.egress.sensors import LAUNCHED_BY
from ycpipelines.lake import duck, file_digest
from ycpipelines.registry import Registry
from ycpipelines.registry.deliveries import split_cents

from helpers import failures, ingest_demo_days, ycp

SCENARIO = "underwriting_features"
INSURERS = ["insurer_a", "insurer_b", "insurer_c"]
OPERATOR, REVIEWER = "赵运营", "王审核"
TODAY = datetime.now(UTC).date()


def grant(consumer: str, first: date = TODAY, last: date = TODAY + timedelta(days=30)) -> int:
    out = ycp(
        "auth",
        "grant",
        "--consumer",
        consumer,
        "--scenario",
        SCENARIO,
        "--from",
        str(first),
        "--to",
        str(last),
        "--plan",
        f"预案-{consumer}: 停止交付并通知召回",
        "--by",
        "数据局",
    )
    return int(out.split()[1].rstrip(":"))


@pytest.fixture(scope="module")
def world(yc_home: Path, sources: dict, instance: dg.DagsterInstance, databases) -> Iterator[dict]:
    """Governed demo data, three authorized insurers, and the product built by an operator."""
    os.environ["YC_REGISTRY_URL"] = databases("postgresql")
    catalog = load_catalog()
    defs = build_definitions(catalog)
    ingest_demo_days(sources)
    grants = {c: grant(c) for c in INSURERS}
    ycp("users", "add", REVIEWER, "--role", "reviewer", "--by", "数据局")
    ycp("users", "add", OPERATOR, "--role", "reviewer", "--by", "数据局")
    built = defs.resolve_job_def("build_products").execute_in_process(
        instance=instance, run_config=QUIET, tags={LAUNCHED_BY: OPERATOR}
    )
    assert built.success
    review_tick(defs, instance)
    registry = Registry()
    requests = {r.consumer: r for r in registry.requests() if r.scenario == SCENARIO}
    yield {"defs": defs, "grants": grants, "requests": requests, "registry": registry}
    del os.environ["YC_REGISTRY_URL"]


def publish(
    world: dict, instance: dg.DagsterInstance, request_id: int
) -> dg.ExecuteInProcessResult:
    return (
        world["defs"]
        .resolve_job_def(f"publish_{SCENARIO}")
        .execute_in_process(
            instance=instance,
            run_config=QUIET,
            raise_on_error=False,
            tags={APPROVAL_TAG: str(request_id)},
        )
    )


def test_one_request_per_authorized_consumer_with_the_evidence(world: dict) -> None:
    requests = world["requests"]
    assert sorted(requests) == INSURERS
    for consumer, request in requests.items():
        assert request.status == "pending" and request.launched_by == OPERATOR
        assert request.authorization_id == world["grants"][consumer]
        evidence = request.evidence
        assert evidence["privacy"]["residual_identifiers"] == 0
        assert evidence["privacy"]["smallest_group"] >= evidence["privacy"]["k"] == 5
        assert evidence["deid_policies"]["outpatient_visits"]["id_number"] == "pseudonymize"
        assert set(evidence["quality"]) == {"residents", "outpatient_visits", "settlements"}
        assert evidence["fields"]["person_pid"]["from"] == ["safe/residents.person_pid"]
        assert sum(evidence["contributions"].values()) > 0


def test_the_operator_who_built_it_cannot_approve_it(world: dict) -> None:
    request = world["requests"]["insurer_a"]
    refused = ycp(
        "egress",
        "approve",
        str(request.id),
        "--reviewer",
        OPERATOR,
        "--comment",
        "自审",
        ok=False,
    )
    assert "four eyes" in refused
    registry = world["registry"]
    assert registry.request(request.id).status == "pending"
    assert registry.history(f"request/{request.id}")[-1].action == "egress.decision_refused"


def test_approved_requests_are_delivered_into_versioned_zones_and_rejected_ones_are_not(
    world: dict, instance: dg.DagsterInstance, yc_home: Path
) -> None:
    requests = world["requests"]
    for consumer in ("insurer_a", "insurer_b"):
        ycp(
            "egress",
            "approve",
            str(requests[consumer].id),
            "--reviewer",
            REVIEWER,
            "--comment",
            "字段清单与授权一致",
        )
    ycp(
        "egress",
        "reject",
        str(requests["insurer_c"].id),
        "--reviewer",
        REVIEWER,
        "--comment",
        "用途说明不充分",
    )
    runs = review_tick(world["defs"], instance)
    assert sorted(r.tags[APPROVAL_TAG] for r in runs) == sorted(
        str(requests[c].id) for c in ("insurer_a", "insurer_b")
    )
    for run in runs:
        assert launch(world["defs"], instance, run).success
    for consumer in ("insurer_a", "insurer_b"):
        folder = yc_home / "zone" / consumer / SCENARIO / "v1"
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["sha256"] == file_digest(folder / "data.parquet")
        assert manifest["approval_request"] == requests[consumer].id
        assert manifest["reviewer"] == REVIEWER
    assert not (yc_home / "zone" / "insurer_c").exists()
    assert world["registry"].request(requests["insurer_c"].id).status == "rejected"


def test_a_leaked_sample_names_its_consumer(world: dict, yc_home: Path) -> None:
    zone = yc_home / "zone"
    a, b = (zone / c / SCENARIO / "v1" / "data.parquet" for c in ("insurer_a", "insurer_b"))
    with duck() as con:
        shared = con.execute(
            f"SELECT count(*) FROM '{a}' JOIN '{b}' USING (person_pid)"
        ).fetchone()[0]
        assert shared == 0, "each recipient's pseudonyms are its own"
        leak = yc_home / "leak.csv"
        con.execute(
            f"COPY (SELECT age_band, person_pid FROM '{b}' ORDER BY random() LIMIT 200) "
            f"TO '{leak}' (HEADER)"
        )
    found = ycp("trace", str(leak))
    assert found.startswith("consumer insurer_b\t") and "column person_pid" in found
    assert "insurer_a" not in found
    unrelated = yc_home / "unrelated.csv"
    unrelated.write_text("person_pid\n" + "\n".join(f"{i:032x}" for i in range(200)))
    assert "no delivery carries" in ycp("trace", str(unrelated), ok=False)


def test_publish_reverifies_the_authorization_at_write_time(
    world: dict, instance: dg.DagsterInstance, yc_home: Path
) -> None:
    registry = world["registry"]
    late = grant("insurer_d")
    ycp("users", "add", "孙审核", "--role", "reviewer", "--by", "数据局")
    review_tick(world["defs"], instance)
    [request] = [r for r in registry.requests(status="pending") if r.consumer == "insurer_d"]
    ycp("egress", "approve", str(request.id), "--reviewer", "孙审核", "--comment", "同意")
    with registry.engine.begin() as conn:  # the validity ends before the publish run starts
        conn.execute(
            text("UPDATE authorizations SET valid_to = :d WHERE id = :id"),
            {"d": TODAY - timedelta(days=1), "id": late},
        )
    expired = publish(world, instance, request.id)
    assert not expired.success and "not " + str(TODAY) in failures(expired)
    assert not (yc_home / "zone" / "insurer_d").exists()
    assert registry.audit_log()[-1].action == "egress.refused"
    review_tick(world["defs"], instance)  # the sensor voids what an expired grant left open
    assert registry.request(request.id).status == "voided"


def test_revoking_stops_deliveries_voids_requests_and_prints_the_plan(
    world: dict, instance: dg.DagsterInstance
) -> None:
    registry = world["registry"]
    revoked = ycp(
        "auth",
        "revoke",
        str(world["grants"]["insurer_b"]),
        "--by",
        "数据局",
        "--reason",
        "违约使用",
    )
    assert "1 delivered versions marked revoked" in revoked
    assert "预案-insurer_b" in revoked
    [delivery] = [d for d in registry.deliveries(consumer="insurer_b")]
    assert delivery.status == "revoked"
    request = world["requests"]["insurer_b"]
    again = publish(world, instance, request.id)
    assert not again.success and "not approved" in failures(again)
    listed = ycp("auth", "list", "--consumer", "insurer_b")
    assert "\trevoked\tinsurer_b\t" in listed


def test_revenue_is_settled_in_cents_that_sum_exactly(world: dict) -> None:
    assert split_cents(100, {"a": 1, "b": 1, "c": 1}) == {"a": 34, "b": 33, "c": 33}
    assert sum(split_cents(300_000, {"x": 7, "y": 11, "z": 13}).values()) == 300_000
    registry = world["registry"]
    deliveries = registry.deliveries()
    assert len(deliveries) == 2
    period = f"{TODAY:%Y-%m}"
    settled = ycp("ledger", "settle", "--period", period)
    shares = {
        line.split("\t")[1]: round(float(line.split("\t")[2]) * 100)
        for line in settled.splitlines()
        if not line.endswith("total") and "\ttotal\t" not in line
    }
    assert set(shares) == {"population", "health", "medical_insurance"}
    assert sum(shares.values()) == sum(d.price_cents for d in deliveries) == 2 * 300_000
    expected: dict[str, int] = {}
    for d in deliveries:
        for bureau, cents in split_cents(d.price_cents, d.contributions).items():
            expected[bureau] = expected.get(bureau, 0) + cents
    assert shares == expected
    assert "already settled" in ycp("ledger", "settle", "--period", period, ok=False)


def test_auditors_export_the_log_and_a_deleted_entry_is_detected(
    world: dict, yc_home: Path
) -> None:
    registry = world["registry"]
    out = yc_home / "audit.json"
    ycp(
        "audit",
        "export",
        "--from",
        str(TODAY - timedelta(days=1)),
        "--to",
        str(TODAY),
        "--format",
        "json",
        "--out",
        str(out),
    )
    exported = json.loads(out.read_text(encoding="utf-8"))
    log = registry.audit_log()
    assert [e["hash"] for e in exported] == [e.hash for e in log]
    actions = {e["action"] for e in exported}
    assert {"auth.granted", "auth.revoked", "egress.published", "ledger.settled"} <= actions
    assert "audit chain verified" in ycp("audit", "verify")
    with registry.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": log[3].id})
    assert "audit chain broken at entry" in ycp("audit", "verify", ok=False)


def test_a_change_whose_audit_entry_cannot_be_written_does_not_happen(world: dict) -> None:
    registry = world["registry"]
    before = len(registry.authorizations())
    with registry.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'audit storage unavailable'; END $$ LANGUAGE plpgsql; "
                "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log "
                "FOR EACH ROW EXECUTE FUNCTION refuse();"
            )
        )
    try:
        with pytest.raises(DBAPIError, match="audit storage unavailable"):
            registry.grant(
                consumer="insurer_e",
                scenario=SCENARIO,
                fields=["person_pid"],
                valid_from=TODAY,
                valid_to=TODAY,
                plan="预案",
                actor="数据局",
            )
    finally:
        with registry.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER no_audit ON audit_log; DROP FUNCTION refuse();"))
    assert len(registry.authorizations()) == before
