"""Attacks on admission and demand (准入与供需对接) and notifications (通知), on the real
registry: a bad USCC, a non-admin admitting, a decision without a reason, an entity id that
would open another party's deliveries, a 禁止开放 field posted, a consumer not admitted filing,
an edited demand row, the lab's approval (authorization, proposal 0600), notices only for the
right roles, and the webhook posted once per notice."""

import itertools
import json
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import dagster as dg
import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import delete, event, update
from sqlalchemy.orm import Session
from stdnum.cn import uscc

from ycpipelines.catalog import Catalog, load_catalog
from ycpipelines.catalog.models import SourceField
from ycpipelines.cli import main
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.feedback import Finding
from ycpipelines.foundation.settings import Settings
from ycpipelines.ops.notifications import platform_notices, post_notices
from ycpipelines.registry import NotFound, Registry, RegistryError
from ycpipelines.registry.admission_models import Demand
from ycpipelines.registry.admissions import Application
from ycpipelines.registry.demands import Demanded
from ycpipelines.registry.models import ApprovalRequest, Delivery
from ycpipelines.registry.proposals import propose
from ycpipelines.registry.resource import RegistryResource

from helpers import ADMIN, accounts

TODAY = pilot_today()
CATALOG = load_catalog(Settings().catalog)
COUNTER = itertools.count(1)
LAB, REVIEWER, SUPERVISOR = "吴评审", "钱审核", "孙监管"


def valid_uscc(n: int) -> str:
    body = f"91640100MA{n:07d}"
    return body + uscc.calc_check_digit(body)


def application(entity: str, n: int, **changed: object) -> Application:
    fields = {
        "entity_id": entity,
        "entity_name": f"宁夏测试保险公司{n}",
        "uscc": valid_uscc(n),
        "qualifications": "保险业务经营许可证；数据安全管理制度",
        "contact": "张经理 0951-0000000",
        "commitments": True,
    }
    return Application(**(fields | changed))


@pytest.fixture(scope="module")
def registry(yc_home: Path) -> Registry:
    store = Registry(settings=Settings())
    accounts(store, {LAB: ["lab"], REVIEWER: ["reviewer"], SUPERVISOR: ["supervisor"]})
    return store


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """The catalog with one field graded 禁止开放 added to the residents dataset."""
    found = load_catalog(Settings().catalog)
    forbidden = SourceField(name="religion", label="宗教信仰", category="人口", level="prohibited")
    datasets = [
        d.model_copy(update={"fields": [*d.fields, forbidden]}) if d.id == "residents" else d
        for d in found.datasets
    ]
    return found.model_copy(update={"datasets": datasets})


def applicant(registry: Registry) -> tuple[str, str, int]:
    """A new account with no roles (an admin created it), its entity id, and a number."""
    n = next(COUNTER) + 1000 * (id(registry) % 1000)
    name, entity = f"申请人{n}", f"entity_{n}"
    registry.add_user(name, [], ADMIN, os_account=name)
    return name, entity, n


def admitted(registry: Registry) -> tuple[str, str]:
    name, entity, n = applicant(registry)
    made = registry.apply_for_admission(name, application(entity, n), CATALOG)
    registry.decide_admission(made.id, ADMIN, True, "资质齐全", CATALOG)
    return name, entity


def demand(entity: str, scenario: str, fields: list[str]) -> Demanded:
    return Demanded(
        entity, scenario, "理赔核验", "授权运营协议", fields, TODAY, TODAY + timedelta(days=90)
    )


def whole(catalog: Catalog, scenario: str = "claims_verification") -> list[str]:
    """Every field of a scenario's product: what a demand for it must name."""
    product = next(p for p in catalog.products if p.scenario == scenario)
    return [f.name for f in product.fields]


def refusals(registry: Registry, actor: str) -> list[str]:
    return [
        e.detail["reason"]
        for e in registry.audit_log()
        if e.action == "access.refused" and e.actor == actor
    ]


def test_a_bad_uscc_is_refused_and_a_valid_one_accepted(registry: Registry) -> None:
    name, entity, n = applicant(registry)
    good = valid_uscc(n)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(RegistryError, match="USCC is not valid") as refused:
        registry.apply_for_admission(name, application(entity, n, uscc=bad), CATALOG)
    assert bad not in str(refused.value)
    with pytest.raises(RegistryError, match="security commitments"):
        registry.apply_for_admission(name, application(entity, n, commitments=False), CATALOG)
    made = registry.apply_for_admission(name, application(entity, n, uscc=good.lower()), CATALOG)
    assert (made.status, made.uscc) == ("pending", good)
    entry = registry.history(f"admission/{made.id}")[-1]
    assert good not in json.dumps(entry.detail, ensure_ascii=False)  # masked in the chain


def test_only_an_admin_admits_with_a_reason(registry: Registry) -> None:
    name, entity, n = applicant(registry)
    made = registry.apply_for_admission(name, application(entity, n), CATALOG)
    for who in (LAB, SUPERVISOR, name):
        with pytest.raises(RegistryError, match="needs the admin role"):
            registry.decide_admission(made.id, who, True, "ok", CATALOG)
        assert any(f"decide admission {made.id}" in r for r in refusals(registry, who))
    with pytest.raises(RegistryError, match="needs a reason"):
        registry.decide_admission(made.id, ADMIN, True, "  ", CATALOG)
    registry.decide_admission(made.id, ADMIN, True, "资质齐全", CATALOG)
    assert f"consumer:{entity}" in registry.verified_roles(name)
    with pytest.raises(RegistryError, match="not pending"):
        registry.decide_admission(made.id, ADMIN, False, "again", CATALOG)


def test_an_account_with_roles_or_a_taken_entity_id_cannot_apply(registry: Registry) -> None:
    with pytest.raises(RegistryError, match="no roles yet"):
        registry.apply_for_admission(LAB, application("lab_entity", 999_001), CATALOG)
    name, _, n = applicant(registry)
    accounts(registry, {"丙保险": ["consumer:insurer_c"]})
    with pytest.raises(RegistryError, match="taken"):  # would open insurer_c's deliveries
        registry.apply_for_admission(name, application("insurer_c", n), CATALOG)


def test_an_edited_application_is_refused(registry: Registry) -> None:
    name, entity, n = applicant(registry)
    made = registry.apply_for_admission(name, application(entity, n), CATALOG)
    with registry.engine.begin() as db:
        db.execute(update(type(made)).where(type(made).id == made.id).values(entity_name="别家"))
    with pytest.raises(RegistryError, match="not what its application entry recorded"):
        registry.decide_admission(made.id, ADMIN, True, "资质齐全", CATALOG)
    assert registry.user(name).roles == []


def test_only_an_admitted_consumer_files_a_demand(registry: Registry, catalog: Catalog) -> None:
    name, entity, n = applicant(registry)
    refused = registry.apply_for_admission(name, application(entity, n), CATALOG)
    registry.decide_admission(refused.id, ADMIN, False, "资质不全", CATALOG)
    with pytest.raises(RegistryError, match="not admitted"):
        registry.file_demand(name, demand(entity, "claims_verification", ["gender"]), catalog)
    # a consumer role granted by hand is no admission
    accounts(registry, {"丁保险": ["consumer:insurer_d"]})
    with pytest.raises(RegistryError, match="not admitted"):
        registry.file_demand(
            "丁保险", demand("insurer_d", "claims_verification", ["gender"]), catalog
        )
    other, _ = admitted(registry)  # another consumer's account, for this entity
    with pytest.raises(RegistryError, match="not admitted"):
        registry.file_demand(other, demand(entity, "claims_verification", ["gender"]), catalog)


def test_a_forbidden_field_posted_is_refused(registry: Registry, catalog: Catalog) -> None:
    name, entity = admitted(registry)
    for field in ("residents.religion", "outpatient_visits.patient_name"):  # 禁止开放, dropped
        with pytest.raises(RegistryError, match="may never be opened"):
            registry.file_demand(
                name, demand(entity, "new_claims", ["residents.gender", field]), catalog
            )
    assert any("residents.religion" in r for r in refusals(registry, name))
    with pytest.raises(RegistryError, match="not in the catalog"):
        registry.file_demand(name, demand(entity, "claims_verification", ["resident_id"]), catalog)


def test_the_lab_approves_into_an_authorization_and_a_proposal(
    registry: Registry, catalog: Catalog
) -> None:
    name, entity = admitted(registry)
    fields = ["outpatient_visits.gender", "residents.gender", "outpatient_visits.icd10_code"]
    filed = registry.file_demand(name, demand(entity, f"scenario_{entity}", fields), catalog)
    assert filed.new_scenario and filed.status == "pending"
    with pytest.raises(RegistryError, match="needs the lab or reviewer role"):
        registry.decide_demand(filed.id, SUPERVISOR, True, "ok", catalog, plan="预案")
    with pytest.raises(RegistryError, match="contingency plan"):
        registry.decide_demand(filed.id, LAB, True, "场景合理", catalog, plan=" ")
    decided = registry.decide_demand(
        filed.id, LAB, True, "场景合理", catalog, plan="停止交付并销毁"
    )
    grant = registry.authorization(decided.authorization_id)
    assert (grant.consumer, grant.granted_by, grant.status) == (entity, LAB, "active")
    assert grant.fields == ["outpatient_visits_gender", "icd10_code", "residents_gender"]
    path = registry.proposals_dir() / decided.proposal
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    manifest = yaml.safe_load(path.read_text())
    assert [f["name"] for f in manifest["fields"]] == grant.fields
    assert manifest["inputs"] == ["safe/outpatient_visits", "safe/residents"]
    assert registry.verify_audit().ok


def test_an_existing_scenario_grants_its_product_fields_without_proposal(
    registry: Registry, catalog: Catalog
) -> None:
    name, entity = admitted(registry)
    with pytest.raises(RegistryError, match="delivered whole"):  # publish would refuse it
        registry.file_demand(
            name, demand(entity, "claims_verification", ["gender", "person_pid"]), catalog
        )
    fields = whole(catalog)
    filed = registry.file_demand(name, demand(entity, "claims_verification", fields[::-1]), catalog)
    decided = registry.decide_demand(filed.id, REVIEWER, True, "同意", catalog, plan="预案")
    assert decided.proposal is None
    assert registry.authorization(decided.authorization_id).fields == fields
    refused = registry.file_demand(name, demand(entity, "claims_verification", fields), catalog)
    with pytest.raises(RegistryError, match="needs a comment"):
        registry.decide_demand(refused.id, LAB, False, "", catalog)
    assert registry.decide_demand(refused.id, LAB, False, "用途不明", catalog).status == "refused"


def test_an_edited_demand_is_refused(registry: Registry, catalog: Catalog) -> None:
    name, entity = admitted(registry)
    fields = whole(catalog)
    filed = registry.file_demand(name, demand(entity, "claims_verification", fields), catalog)
    with registry.engine.begin() as db:
        db.execute(update(Demand).where(Demand.id == filed.id).values(fields=fields[:-1]))
    with pytest.raises(RegistryError, match="not what its filing entry recorded"):
        registry.decide_demand(filed.id, LAB, True, "ok", catalog, plan="预案")
    with pytest.raises(NotFound):
        registry.decide_demand(2_000_000, LAB, True, "ok", catalog, plan="预案")


def test_notices_reach_only_their_roles(registry: Registry, catalog: Catalog) -> None:
    accounts(registry, {"卫健委乙": ["bureau:health"], "公安乙": ["bureau:population"]})
    for bureau in ("health", "population"):
        registry.sync_tickets(
            dataset="d", bureau=bureau, day="2025-06-29", stage="govern", run_id=f"r-{bureau}",
            found={"rule": Finding("reason", 3, ["k***"])}, clean=False,
        )  # fmt: skip
    health = {t.id for t in registry.tickets(bureau="health", status="open")}
    name, entity, n = applicant(registry)
    pending = registry.apply_for_admission(name, application(entity, n), CATALOG)
    consumer, consumer_entity = admitted(registry)
    filed = registry.file_demand(
        consumer, demand(consumer_entity, "claims_verification", whole(catalog)), catalog
    )
    soon = registry.grant(
        consumer=consumer_entity, scenario="claims_verification", fields=["gender"],
        valid_from=TODAY, valid_to=TODAY + timedelta(days=10), plan="预案", actor=ADMIN,
    )  # fmt: skip
    seen = {who: {x.subject for x in registry.notices_for(who, TODAY)} for who in (
        "卫健委乙", "公安乙", ADMIN, LAB, REVIEWER, SUPERVISOR, consumer)}  # fmt: skip
    assert {s for s in seen["卫健委乙"]} == {f"ticket/{t}" for t in health}
    assert not seen["公安乙"] & {f"ticket/{t}" for t in health}
    assert {f"admission/{pending.id}", f"authorization/{soon.id}"} <= seen[ADMIN]
    assert f"demand/{filed.id}" in seen[LAB] & seen[REVIEWER]
    assert not seen[SUPERVISOR] and not seen[consumer]
    assert not any(s.startswith(("ticket/", "demand/")) for s in seen[ADMIN])


class Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Webhook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def test_the_webhook_gets_each_notice_once(registry: Registry, webhook: str) -> None:
    name, entity, n = applicant(registry)
    pending = registry.apply_for_admission(
        name, application(entity, n, contact="13912345678"), CATALOG
    )
    unset = CliRunner().invoke(main, ["notify", "--json"])  # no webhook yet: sent later
    assert unset.exit_code == 0 and json.loads(unset.stdout)[0]["posted"] >= 1, unset.output
    Webhook.received.clear()
    first = post_notices(registry, webhook, TODAY)
    assert first.posted == len(Webhook.received) >= 1
    assert set(first.outcomes) == {"HTTP 204"}
    subjects = [m["subject"] for m in Webhook.received]
    assert f"admission/{pending.id}" in subjects and len(subjects) == len(set(subjects))
    again = post_notices(registry, webhook, TODAY)
    assert again.posted == 0 and len(Webhook.received) == first.posted
    body = json.dumps(Webhook.received, ensure_ascii=False)
    assert "13912345678" not in body and valid_uscc(n) not in body


def test_the_notice_sensor_posts_a_new_notice_once(
    registry: Registry, webhook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon's `platform_notices` sensor does what `ycp notify` does, once per notice."""
    name, entity, n = applicant(registry)
    pending = registry.apply_for_admission(name, application(entity, n), CATALOG)
    monkeypatch.setenv("YC_ALERT_WEBHOOK", webhook)
    resource = RegistryResource(url=registry.url)
    Webhook.received.clear()
    for _ in range(2):
        with dg.build_sensor_context(resources={"registry": resource}) as context:
            platform_notices(context)
    subjects = [m["subject"] for m in Webhook.received]
    assert subjects.count(f"admission/{pending.id}") == 1


def test_a_pass_reads_the_notices_raised_before_together(registry: Registry, webhook: str) -> None:
    """Notices posted already cost no transaction each on the next pass: its statements do not
    grow with the tickets waiting."""
    for n in range(40):
        registry.sync_tickets(
            dataset="outpatient_visits",
            bureau="waiting",
            day=str(TODAY - timedelta(days=n + 1)),
            stage="collect",
            run_id=f"run-{n}",
            found={"rule": Finding("reason", 1, ["k***"])},
            clean=False,
        )
    first = post_notices(registry, webhook, TODAY)
    assert first.waiting >= 40 and set(first.outcomes) == {"HTTP 204"}
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(registry.engine, "before_cursor_execute", record)
    try:
        again = post_notices(registry, webhook, TODAY)
    finally:
        event.remove(registry.engine, "before_cursor_execute", record)
    assert again.waiting == first.waiting and again.posted == 0
    assert len(seen) < 15, "a handful of reads, not one transaction per waiting notice"


def test_an_entity_id_the_catalog_or_the_registry_names_cannot_be_claimed(
    registry: Registry,
) -> None:
    """A consumer id the products name (demo_insurer), or one with a delivery or an approval
    request, is another party's; an admin's grant of a consumer role another account applied
    for is refused too."""
    name, entity, n = applicant(registry)
    named = {p.consumer for p in CATALOG.products}
    for claimed in sorted(named):
        with pytest.raises(RegistryError, match="taken"):
            registry.apply_for_admission(name, application(claimed, n), CATALOG)
    unaudited = [delivery_row(f"delivered_{n}"), request_row(f"requested_{n}")]
    with Session(registry.engine) as session, session.begin():
        session.add_all(unaudited)
    try:
        for claimed in (f"delivered_{n}", f"requested_{n}"):
            with pytest.raises(RegistryError, match="taken"):
                registry.apply_for_admission(name, application(claimed, n), CATALOG)
    finally:  # rows written past the registry: gone, so the module's chain still verifies
        with registry.engine.begin() as db:
            db.execute(delete(Delivery).where(Delivery.consumer == f"delivered_{n}"))
            db.execute(delete(ApprovalRequest).where(ApprovalRequest.consumer == f"requested_{n}"))
    made = registry.apply_for_admission(name, application(entity, n), CATALOG)
    with pytest.raises(RegistryError, match="another account applied for"):
        registry.add_user(f"冒名{n}", [f"consumer:{entity}"], ADMIN)
    registry.decide_admission(made.id, ADMIN, True, "资质齐全", CATALOG)
    with pytest.raises(RegistryError, match="another account applied for"):
        registry.add_user(name + "副", ["lab", f"consumer:{entity}"], ADMIN)
    assert registry.user(f"冒名{n}") is None
    assert f"consumer:{entity}" in registry.verified_roles(name)


def delivery_row(consumer: str) -> Delivery:
    return Delivery(
        request_id=0, authorization_id=0, consumer=consumer, scenario="s", version="v1",
        path="/zone/p", sha256="sha256:x", product_sha256="sha256:y", rows=1, fingerprint="k",
        price_cents=0, contributions={}, status="delivered", delivered_at=datetime.now(UTC),
    )  # fmt: skip


def request_row(consumer: str) -> ApprovalRequest:
    return ApprovalRequest(
        scenario="s", consumer=consumer, content_hash="sha256:z", row_count=1,
        product_path="/p", product_run_id="r", evidence={}, requested_at=datetime.now(UTC),
    )  # fmt: skip


def test_an_account_acting_for_the_consumer_does_not_decide_its_demand(
    registry: Registry,
) -> None:
    filer, entity = admitted(registry)
    insider = f"内部人{entity}"
    accounts(registry, {insider: ["lab"]})
    with pytest.raises(RegistryError, match="another account applied for"):
        registry.add_user(insider, [f"consumer:{entity}"], ADMIN)
    # a colleague holding the role from before that rule (granted below add_user's check)
    role = [f"consumer:{entity}"]
    registry._transact(lambda s: registry._put_user(s, ADMIN, insider, role, None, False))
    filed = registry.file_demand(
        filer, demand(entity, "claims_verification", whole(CATALOG)), CATALOG
    )
    with pytest.raises(RegistryError, match=f"acts for {entity}; another account decides"):
        registry.decide_demand(filed.id, insider, True, "自己批自己", CATALOG, plan="预案")
    assert any(f"acts for {entity}" in r for r in refusals(registry, insider))
    decided = registry.decide_demand(filed.id, LAB, True, "同意", CATALOG, plan="预案")
    assert decided.status == "approved"


def test_an_account_name_is_one_printable_line(registry: Registry, tmp_path: Path) -> None:
    for bad in ("评审\nscenario: injected", "评审\u2028x", "评审\x00", "评审\u202e"):
        with pytest.raises(RegistryError, match="printable text"):
            registry.add_user(bad, ["lab"], ADMIN)
        assert registry.user(bad) is None


def test_a_proposal_header_stays_a_comment_and_is_written_before_the_approval(
    registry: Registry, catalog: Catalog, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    name, entity = admitted(registry)
    fields = ["outpatient_visits.gender"]
    filed = registry.file_demand(name, demand(entity, f"scenario_{entity}", fields), catalog)
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setattr(registry, "proposals_dir", lambda: blocked / "proposals")
    with pytest.raises(OSError):
        registry.decide_demand(filed.id, LAB, True, "场景合理", catalog, plan="预案")
    assert (
        registry.demands()
        and next(d for d in registry.demands() if d.id == filed.id).status == "pending"
    ), "no approval recorded when its proposal could not be written"
    assert not [e for e in registry.history(f"demand/{filed.id}") if e.action != "demand.filed"]
    monkeypatch.undo()
    text = propose(filed, [], entity, "评审\nscenario: injected\u2028k: 1", TODAY).text
    assert yaml.safe_load(text)["scenario"] == filed.scenario
    assert text.splitlines()[0].startswith("# 产品清单提案") and "?scenario: injected?k" in text
