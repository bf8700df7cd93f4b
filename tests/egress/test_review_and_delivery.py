"""Egress with the registry on the real PostgreSQL: authorizations, four-eyes review, delivery
into versioned zones, re-verification at write time, revocation, leak tracing, settlement.

Each test decides its own consumer's request: one grant per consumer is made once for the module
(授权), and no test relies on a decision or a delivery another test made."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import launch, review_tick
from ycpipelines.egress.publish import APPROVAL_TAG
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.keys import published_key
from ycpipelines.foundation.lake import duck, file_digest
from ycpipelines.registry import Registry
from ycpipelines.registry.deliveries import split_cents

from helpers import (
    accounts,
    build_and_review,
    failures,
    grant,
    ingest_demo_days,
    publish_run,
    ycp,
)

SCENARIO = "underwriting_features"
APPROVED, REJECTED = ("insurer_a", "insurer_b"), "insurer_c"  # decided once, by `decided`
SELF_REVIEWED, EXPIRING, REVOKED, AUDITED = "insurer_s", "insurer_d", "insurer_r", "insurer_x"
CONSUMERS = sorted([*APPROVED, REJECTED, SELF_REVIEWED, EXPIRING, REVOKED, AUDITED])
OPERATOR, REVIEWER, LATE_REVIEWER = "赵运营", "王审核", "孙审核"
TODAY = pilot_today()


@pytest.fixture(scope="module")
def world(egress_registry: Registry, sources: dict, instance: dg.DagsterInstance) -> dict:
    """Governed demo data, every consumer of the module authorized, the reviewers, and the
    product built by an operator: one pending request per consumer."""
    catalog = load_catalog()
    defs = build_definitions(catalog)
    ingest_demo_days(sources)
    registry = egress_registry
    roles = {
        REVIEWER: ["reviewer"],
        OPERATOR: ["operator", "reviewer"],
        LATE_REVIEWER: ["reviewer"],
    }
    accounts(registry, roles)
    grants = {c: grant(c, SCENARIO) for c in CONSUMERS if c != EXPIRING}
    grants[EXPIRING] = grant(EXPIRING, SCENARIO, last=TODAY + timedelta(days=1))
    requests = build_and_review(defs, instance, registry, OPERATOR, SCENARIO)
    return {"defs": defs, "grants": grants, "requests": requests, "registry": registry}


def approve(request_id: int, comment: str = "字段清单与授权一致") -> None:
    ycp("egress", "approve", str(request_id), "--comment", comment, as_user=REVIEWER)


def launch_for(
    world: dict, instance: dg.DagsterInstance, runs: list[dg.RunRequest], consumer: str
) -> dg.ExecuteInProcessResult:
    """Launch the one publish run the sensor asked for this consumer's request."""
    wanted = str(world["requests"][consumer].id)
    [run] = [r for r in runs if r.tags[APPROVAL_TAG] == wanted]
    return launch(world["defs"], instance, run)


@pytest.fixture(scope="module")
def decided(world: dict, instance: dg.DagsterInstance) -> dict:
    """Two requests approved and delivered, one rejected; the sensor's runs and what the registry
    listed as approved when the sensor ran."""
    requests = world["requests"]
    for consumer in APPROVED:
        approve(requests[consumer].id)
    ycp(
        "egress",
        "reject",
        str(requests[REJECTED].id),
        "--comment",
        "用途说明不充分",
        as_user=REVIEWER,
    )
    approved = {str(r.id) for r in world["registry"].requests(status="approved")}
    runs = review_tick(world["defs"], instance)
    results = {c: launch_for(world, instance, runs, c) for c in APPROVED}
    return {"runs": runs, "approved": approved, "results": results}


@pytest.fixture(scope="module")
def settled(world: dict, decided: dict) -> dict:
    """The month settled once, over every delivery the registry held at that moment."""
    deliveries = world["registry"].deliveries()
    period = f"{TODAY:%Y-%m}"
    assert "has not ended" in ycp("ledger", "settle", "--period", period, ok=False)
    with pytest.MonkeyPatch.context() as later:  # the month has ended
        later.setattr("ycpipelines.registry.deliveries.period_ended", lambda end: True)
        output = ycp("ledger", "settle", "--period", period, "--json")
    return {"deliveries": deliveries, "period": period, "output": output}


def test_one_request_per_authorized_consumer_with_the_evidence(world: dict) -> None:
    requests = world["requests"]
    assert sorted(requests) == CONSUMERS
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
    request = world["requests"][SELF_REVIEWED]
    refused = ycp(
        "egress", "approve", str(request.id), "--comment", "自审", as_user=OPERATOR, ok=False
    )
    assert "four eyes" in refused
    registry = world["registry"]
    assert registry.request(request.id).status == "pending"
    assert registry.history(f"request/{request.id}")[-1].action == "egress.decision_refused"


def test_approved_requests_are_delivered_into_versioned_zones_and_rejected_ones_are_not(
    world: dict, decided: dict, yc_home: Path
) -> None:
    requests = world["requests"]
    launched = {r.tags[APPROVAL_TAG] for r in decided["runs"]}
    assert launched == decided["approved"], "the sensor launches exactly the approved requests"
    assert {str(requests[c].id) for c in APPROVED} <= launched
    assert str(requests[REJECTED].id) not in launched
    for consumer in APPROVED:
        assert decided["results"][consumer].success
        folder = yc_home / "zone" / consumer / SCENARIO / "v1"
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["sha256"] == file_digest(folder / "data.parquet")
        assert manifest["approval_request"] == requests[consumer].id
        assert manifest["reviewer"] == REVIEWER
    assert not (yc_home / "zone" / REJECTED).exists()
    assert world["registry"].request(requests[REJECTED].id).status == "rejected"


def test_each_consumers_deliveries_are_a_partition_with_a_history_of_its_own(
    world: dict, decided: dict, instance: dg.DagsterInstance
) -> None:
    """Every authorized consumer is a partition of `published/<scenario>`; the sensor launches
    each approved request in its consumer's partition, so deliveries are listed per consumer."""
    registry, key = world["registry"], published_key(SCENARIO)
    assert set(CONSUMERS) <= set(instance.get_dynamic_partitions(f"consumers_{SCENARIO}"))
    for run in decided["runs"]:
        assert run.partition_key == registry.request(int(run.tags[APPROVAL_TAG])).consumer
    history = {}
    for consumer in APPROVED:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[consumer]), limit=100
        ).records
        assert decided["results"][consumer].run_id in {r.run_id for r in records}
        assert {r.asset_materialization.metadata["consumer"].value for r in records} == {consumer}
        history[consumer] = {r.run_id for r in records}
    first, second = APPROVED
    assert history[first].isdisjoint(history[second])
    delivered = instance.get_materialized_partitions(key)
    assert set(APPROVED) <= delivered and REJECTED not in delivered


def test_a_leaked_sample_names_its_consumer(decided: dict, yc_home: Path, tmp_path: Path) -> None:
    zone = yc_home / "zone"
    a, b = (zone / c / SCENARIO / "v1" / "data.parquet" for c in APPROVED)
    with duck() as con:
        shared = con.execute(
            f"SELECT count(*) FROM '{a}' JOIN '{b}' USING (person_pid)"
        ).fetchone()[0]
        assert shared == 0, "each recipient's pseudonyms are its own"
        leak = tmp_path / "leak.csv"
        con.execute(
            f"COPY (SELECT age_band, person_pid FROM '{b}' ORDER BY random() LIMIT 200) "
            f"TO '{leak}' (HEADER)"
        )
    found = json.loads(ycp("trace", str(leak), "--json"))
    assert [(m["consumer"], m["column"]) for m in found] == [("insurer_b", "person_pid")]
    unrelated = tmp_path / "unrelated.csv"
    unrelated.write_text("person_pid\n" + "\n".join(f"{i:032x}" for i in range(200)))
    assert "no delivery carries" in ycp("trace", str(unrelated), ok=False)


def test_publish_reverifies_the_authorization_at_write_time(
    world: dict, instance: dg.DagsterInstance, yc_home: Path
) -> None:
    registry = world["registry"]
    expiring, request = world["grants"][EXPIRING], world["requests"][EXPIRING]
    ycp("egress", "approve", str(request.id), "--comment", "同意", as_user=LATE_REVIEWER)
    with edited_validity(registry, expiring, TODAY - timedelta(days=1)):  # by an intruder
        expired = publish_run(world["defs"], instance, SCENARIO, request.id)
    tampered = f"authorization/{expiring} is not what its audit entry auth.granted recorded"
    assert not expired.success and tampered in failures(expired)
    assert not (yc_home / "zone" / EXPIRING).exists()
    assert registry.audit_log()[-1].action == "egress.refused"
    # Two days on (a fixed clock), the grant has ended: the sensor's sweep voids what it left.
    assert registry.void_expired(TODAY + timedelta(days=2), "egress-sensor") == 1
    assert registry.request(request.id).status == "voided"


@contextmanager
def edited_validity(registry: Registry, grant_id: int, valid_to: date) -> Iterator[None]:
    """Within, a grant's validity is edited in its table; afterwards it is put back."""
    [kept] = [a.valid_to for a in registry.authorizations() if a.id == grant_id]

    def set_to(day: date) -> None:
        with registry.engine.begin() as conn:
            conn.execute(
                text("UPDATE authorizations SET valid_to = :d WHERE id = :id"),
                {"d": day, "id": grant_id},
            )

    set_to(valid_to)
    try:
        yield
    finally:
        set_to(kept)


def test_revoking_stops_deliveries_voids_requests_and_prints_the_plan(
    world: dict, instance: dg.DagsterInstance
) -> None:
    registry = world["registry"]
    request = world["requests"][REVOKED]
    approve(request.id)
    assert launch_for(world, instance, review_tick(world["defs"], instance), REVOKED).success
    revoked = ycp("auth", "revoke", str(world["grants"][REVOKED]), "--reason", "违约使用")
    assert "1 delivered versions marked revoked" in revoked
    assert f"预案-{REVOKED}" in revoked
    [delivery] = registry.deliveries(consumer=REVOKED)
    assert delivery.status == "revoked"
    again = publish_run(world["defs"], instance, SCENARIO, request.id)
    assert not again.success and "not approved" in failures(again)
    listed = json.loads(ycp("auth", "list", "--consumer", REVOKED, "--json"))
    assert [(a["status"], a["consumer"]) for a in listed] == [("revoked", REVOKED)]


def test_revenue_is_settled_in_cents_that_sum_exactly(world: dict, settled: dict) -> None:
    assert split_cents(100, {"a": 1, "b": 1, "c": 1}) == {"a": 34, "b": 33, "c": 33}
    assert sum(split_cents(300_000, {"x": 7, "y": 11, "z": 13}).values()) == 300_000
    deliveries = settled["deliveries"]
    delivered = {d.consumer for d in deliveries}
    assert set(APPROVED) <= delivered and REJECTED not in delivered
    assert {d.price_cents for d in deliveries} == {300_000}
    shares = {s["bureau"]: s["cents"] for s in json.loads(settled["output"])}
    assert set(shares) == {"population", "health", "medical_insurance"}
    assert sum(shares.values()) == sum(d.price_cents for d in deliveries)
    expected: dict[str, int] = {}
    for d in deliveries:
        for bureau, cents in split_cents(d.price_cents, d.contributions).items():
            expected[bureau] = expected.get(bureau, 0) + cents
    assert shares == expected
    assert "already settled" in ycp("ledger", "settle", "--period", settled["period"], ok=False)


def test_auditors_export_the_log_and_a_deleted_entry_is_detected(
    world: dict, settled: dict, tmp_path: Path
) -> None:
    registry = world["registry"]
    ycp("auth", "revoke", str(world["grants"][AUDITED]), "--reason", "到期收回")
    out = tmp_path / "audit.json"
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
    with deleted_audit_entry(registry, log[3].id):
        assert "FAILED chain" in ycp("audit", "verify", ok=False)
    assert "audit chain verified" in ycp("audit", "verify"), "put back, the entry verifies again"


@contextmanager
def deleted_audit_entry(registry: Registry, entry_id: int) -> Iterator[None]:
    """Within, one audit entry is deleted from the database; afterwards it is put back as it
    was, so the chain the other tests append to still verifies."""
    with registry.engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE kept_entry AS SELECT * FROM audit_log WHERE id = :id"),
            {"id": entry_id},
        )
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": entry_id})
    try:
        yield
    finally:
        with registry.engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_log SELECT * FROM kept_entry"))
            conn.execute(text("DROP TABLE kept_entry"))


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
