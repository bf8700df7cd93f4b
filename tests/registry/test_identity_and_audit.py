"""Attacks on the registry's rules, on the real PostgreSQL: typed names, invented roles, roles
written into the table, another bureau's tickets, demo accounts in production, a build whose
launcher is unknown or forged, and an audit chain that is edited, cut, recomputed or bypassed."""

import hashlib
import multiprocessing
import os
import pwd
import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from ycpipelines.foundation.clock import pilot_today
from ycpipelines.registry import Registry, RegistryError
from ycpipelines.registry.anchor import create_private
from ycpipelines.registry.audit import canonical
from ycpipelines.registry.models import AuditEntry
from ycpipelines.registry.verify import GENESIS

from helpers import ADMIN, accounts, upgraded, ycp

REVIEWER, OPERATOR, BUREAU = "王审核", "赵运营", "卫健委甲"


@pytest.fixture
def registry(yc_home: Path, pg_url: str) -> Iterator[Registry]:
    """A fresh registry on PostgreSQL with an admin, a reviewer, an operator and a bureau."""
    os.environ["YC_REGISTRY_URL"] = upgraded(pg_url)
    store = Registry(pg_url)
    accounts(store, {REVIEWER: ["reviewer"], OPERATOR: ["operator"], BUREAU: ["bureau:health"]})
    yield store
    store.engine.dispose()
    del os.environ["YC_REGISTRY_URL"]


def file(
    store: Registry, content: str, launched_by: str | None = None, grantor: str = ADMIN
) -> int:
    """A pending request for `content`, for a consumer of its own (requests supersede none)."""
    consumer = f"insurer_{content[-3:]}"
    grant = store.grant(
        consumer=consumer,
        scenario="underwriting_features",
        fields=["person_pid"],
        valid_from=date(2025, 1, 1),
        valid_to=date(2099, 1, 1),
        plan="预案",
        actor=grantor,
    )
    request, _ = store.file_request(
        "egress-sensor",
        scenario="underwriting_features",
        consumer=consumer,
        authorization_id=grant.id,
        content_hash=content,
        row_count=3,
        product_path="/lake/p.parquet",
        product_run_id="run-1",
        launched_by=launched_by,
        evidence={},
    )
    return request.id


def refusals(store: Registry) -> list[str]:
    return [e.detail["reason"] for e in store.audit_log() if e.action == "access.refused"]


def test_roles_are_a_fixed_set_granted_by_an_admin_only(registry: Registry) -> None:
    with pytest.raises(RegistryError, match="unknown role 'superuser'"):
        registry.add_user("X", ["superuser"], ADMIN)
    with pytest.raises(RegistryError, match="needs the admin role"):
        registry.add_user(REVIEWER, ["admin"], REVIEWER)  # a reviewer grants itself admin
    assert "admin" not in registry.user(REVIEWER).roles
    assert any("may not grant roles" in r for r in refusals(registry))
    out = ycp("users", "add", "X", "--role", "reviewer", as_user=REVIEWER, ok=False)
    assert "needs the admin role" in out
    out = ycp("users", "add", "X", "--role", "reviewer", as_user="intruder", ok=False)
    assert "not mapped to a registry account" in out
    assert "bureau:health" in ycp("users", "add", "Y", "--role", "bureau:health")
    with pytest.raises(RegistryError, match="an admin was granted already"):
        registry.bootstrap_admin("second-admin", "someone")
    with pytest.raises(RegistryError, match="acts as 王审核 already"):
        registry.add_user("Z", ["reviewer"], ADMIN, os_account=REVIEWER)  # take over a login
    registry.remove_roles("Y", ["bureau:health"], ADMIN)
    assert registry.verified_roles("Y") == set()


def test_roles_written_into_the_table_grant_nothing(registry: Registry) -> None:
    request = file(registry, "sha256:aaa")
    with registry.engine.begin() as conn:
        conn.execute(
            text("""UPDATE users SET roles = '["reviewer"]' WHERE name = :n"""), {"n": BUREAU}
        )
    with pytest.raises(RegistryError, match="not an account with the reviewer role"):
        registry.decide(request, approve=True, reviewer=BUREAU, comment="自批")
    verdict = registry.verify_audit()
    assert [p.check for p in verdict.problems] == ["state"]
    assert BUREAU in verdict.problems[0].message


def test_only_the_owning_bureau_acts_on_its_tickets_and_never_closes_them(
    registry: Registry,
) -> None:
    accounts(registry, {"公安甲": ["bureau:population"]})
    from ycpipelines.foundation.feedback import Finding

    for bureau in ("health", "population"):
        registry.sync_tickets(
            dataset="d", bureau=bureau, day="2025-06-30", stage="govern", run_id="r",
            found={"rule": Finding("reason", 1, ["k***"])}, clean=False,
        )  # fmt: skip
    health, population = (t.id for t in registry.tickets())
    with pytest.raises(RegistryError, match="needs the bureau:population role"):
        registry.act_on_ticket(population, "ack", actor=BUREAU, note="")
    with pytest.raises(RegistryError, match="needs the bureau:health role"):
        registry.act_on_ticket(health, "dispute", actor="随便谁", note="无误")
    assert ycp("tickets", "ack", str(health), as_user=BUREAU).startswith(f"ticket {health}")
    out = ycp("tickets", "close", str(health), "--comment", "自结", as_user=BUREAU, ok=False)
    assert "needs the admin or operator role" in out
    registry.add_user(OPERATOR, ["bureau:health"], ADMIN)  # an operator who is also the bureau
    with pytest.raises(RegistryError, match="a bureau does not close its ticket"):
        registry.act_on_ticket(health, "close", actor=OPERATOR, note="自结")
    assert (
        registry.act_on_ticket(health, "close", actor=ADMIN, note="规则已修订").status == "closed"
    )
    assert registry.ticket(population).status == "open"


def test_production_refuses_the_demo_accounts_inside_the_registry(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.add_user("demo-reviewer", ["reviewer"], ADMIN, demo=True)
    request = file(registry, "sha256:bbb")
    monkeypatch.setenv("YC_ENV", "prod")
    with pytest.raises(RegistryError, match="not an account with the reviewer role"):
        registry.decide(request, approve=True, reviewer="demo-reviewer", comment="demo")
    with pytest.raises(RegistryError, match="demo accounts are for development only"):
        registry.add_user("demo-2", ["reviewer"], ADMIN, demo=True)
    assert registry.request(request).status == "pending"


def test_four_eyes_when_the_launcher_is_unknown_or_granted_the_authorization(
    registry: Registry,
) -> None:
    accounts(registry, {"钱审核运营": ["reviewer", "operator"], "孙审核": ["reviewer"]})
    unknown = file(registry, "sha256:ccc")
    with pytest.raises(RegistryError, match="could have launched it; four eyes"):
        registry.decide(unknown, approve=True, reviewer="钱审核运营", comment="ok")
    launched = file(registry, "sha256:ddd", launched_by="孙审核")
    with pytest.raises(RegistryError, match="launched the product run"):
        registry.decide(launched, approve=True, reviewer="孙审核", comment="ok")
    with pytest.raises(RegistryError, match="separation of duties"):
        registry.add_user("周管理", ["admin", "reviewer"], ADMIN)
    with pytest.raises(RegistryError, match="their own roles"):
        registry.add_user(ADMIN, ["reviewer"], ADMIN)  # no admin makes themselves a reviewer
    accounts(registry, {"前管理员": ["admin"]})
    granted = file(registry, "sha256:eee", launched_by="孙审核", grantor="前管理员")
    registry.remove_roles("前管理员", ["admin"], ADMIN)  # a former admin, now a reviewer
    registry.add_user("前管理员", ["reviewer"], ADMIN)
    with pytest.raises(RegistryError, match="its grantor may not approve"):
        registry.decide(granted, approve=True, reviewer="前管理员", comment="ok")
    assert registry.decide(unknown, approve=True, reviewer=REVIEWER, comment="ok").reviewer


def test_a_launcher_is_what_the_platform_recorded_before_the_run_never_a_tag(
    registry: Registry, instance: dg.DagsterInstance
) -> None:
    @dg.op
    def build() -> None: ...

    job = dg.GraphDefinition(name="build", node_defs=[build]).to_job()

    def run(tags: dict, record_as: str | None = None, record_after: bool = False) -> str | None:
        run_id = str(uuid.uuid4())
        if record_as and not record_after:
            registry.record_launch(record_as, run_id, "build")
        job.execute_in_process(instance=instance, run_id=run_id, tags=tags)
        if record_as and record_after:
            registry.record_launch(record_as, run_id, "build")
        created = instance.get_run_record_by_id(run_id).create_timestamp
        return registry.launcher_of(run_id, created)

    assert run({"ycp/launched_by": OPERATOR}, record_as=OPERATOR) == OPERATOR
    assert run({"ycp/launched_by": REVIEWER}) is None, "a tag naming someone is not a record"
    assert run({}, record_as=OPERATOR, record_after=True) is None, "claimed after the run"
    with pytest.raises(RegistryError, match="needs the operator role"):
        registry.record_launch(REVIEWER, str(uuid.uuid4()), "build")


def problems(store: Registry) -> list[tuple[str, str]]:
    return [(p.check, p.message) for p in store.verify_audit().problems]


def approve_one(store: Registry) -> int:
    request = file(store, "sha256:eee", launched_by=OPERATOR)
    store.decide(request, approve=True, reviewer=REVIEWER, comment="ok")
    return request


def test_an_edited_entry_and_a_chain_recomputed_without_the_key_are_detected(
    registry: Registry,
) -> None:
    approve_one(registry)
    assert registry.verify_audit().ok
    with registry.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone-else' WHERE id = 3"))
    assert (
        problems(registry)[0][0] == "chain"
        and "entry 3 does not verify" in problems(registry)[0][1]
    )
    recompute(registry, lambda e: hashlib.sha256(canonical(e).encode()).hexdigest())
    found = problems(registry)
    assert found and found[0][0] == "chain", "plain SHA-256 no longer passes"
    out = ycp("audit", "verify", ok=False)
    assert "FAILED chain (since 20" in out


def test_a_cut_tail_and_a_chain_recomputed_with_the_key_fail_the_signed_checkpoint(
    registry: Registry,
) -> None:
    request = approve_one(registry)
    last = registry.audit_log()[-1].id
    with registry.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": last})
    assert any(f"names entry {last}: its tail was cut" in m for _, m in problems(registry))
    # An insider with the chain key, not the signing key, rewrites entry 2 and every later hash.
    with registry.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'x' WHERE id = 2"))
    recompute(registry, lambda e: registry.anchor.seal(canonical(e)))
    found = problems(registry)
    assert [c for c, _ in found if c == "chain"] == []
    assert any("differs from the checkpoint" in m or "tail was cut" in m for _, m in found)
    with pytest.raises(RegistryError, match="does not verify"):
        registry.verified_decision(request)


def test_a_status_flipped_in_the_table_is_no_decision(registry: Registry) -> None:
    request = file(registry, "sha256:fff", launched_by=OPERATOR)
    with registry.engine.begin() as conn:
        conn.execute(
            text("UPDATE approval_requests SET status = 'approved', reviewer = :r WHERE id = :i"),
            {"r": REVIEWER, "i": request},
        )
    assert any(f"request {request} is approved in its table" in m for _, m in problems(registry))
    with pytest.raises(RegistryError):
        registry.verified_decision(request)


def test_a_forged_checkpoint_line_is_reported(registry: Registry) -> None:
    approve_one(registry)
    with (registry.anchor.folder / "checkpoints.jsonl").open("a") as f:
        f.write('{"entry": 999, "hash": "00", "at": "2026-01-01", "signature": "AAAA"}\n')
    assert ("checkpoint", "checkpoint line") in [(c, m[:15]) for c, m in problems(registry)]


def recompute(store: Registry, seal) -> None:
    """Rewrite every entry's links and hashes in order, as an intruder with `seal` would."""
    prev = GENESIS
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET prev_hash = 'tmp' || id, hash = 'h' || id"))
    for entry in store.audit_log():
        entry.prev_hash = prev
        digest = seal(entry)
        with store.engine.begin() as conn:
            conn.execute(
                text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :i"),
                {"p": prev, "h": digest, "i": entry.id},
            )
        prev = digest


def test_validity_is_counted_in_the_pilot_s_days(registry: Registry) -> None:
    """At 17:00 UTC on 30 June it is already 1 July in Yinchuan: a grant ending 30 June is over."""
    evening = datetime(2025, 6, 30, 17, 0, tzinfo=UTC)
    assert pilot_today(evening) == date(2025, 7, 1)
    assert pilot_today(evening - timedelta(hours=2)) == date(2025, 6, 30)
    registry.grant(
        consumer="insurer_b",
        scenario="claims_verification",
        fields=["x"],
        valid_from=date(2025, 1, 1),
        valid_to=date(2025, 6, 30),
        plan="预案",
        actor=ADMIN,
    )
    assert registry.active_authorizations("claims_verification", pilot_today(evening)) == []
    on_the_day = pilot_today(evening - timedelta(hours=2))
    assert len(registry.active_authorizations("claims_verification", on_the_day)) == 1


def forge(store: Registry, actor: str, action: str, subject: str, detail: dict) -> int:
    """Append an entry as an intruder holding the chain key (not the signing key) would: a
    valid link and keyed hash, dated two minutes ago, and no signed checkpoint."""
    last = store.audit_log()[-1]
    entry = AuditEntry(
        at=datetime.now(UTC) - timedelta(minutes=2),
        actor=actor,
        action=action,
        subject=subject,
        detail=detail,
        prev_hash=last.hash,
    )
    entry.hash = store.anchor.seal(canonical(entry))
    with Session(store.engine) as session:
        session.add(entry)
        session.commit()
        return entry.id


def test_entries_appended_with_the_chain_key_alone_count_for_nothing(registry: Registry) -> None:
    roles = {"roles": ["admin"], "os_account": "mallory", "demo": False}
    with registry.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (name, roles, added_at, os_account, demo) "
                "VALUES ('mallory', :roles, now(), 'mallory', false)"
            ),
            {"roles": '["admin"]'},
        )
    forged = forge(registry, ADMIN, "user.roles", "user/mallory", roles)
    assert registry.verified_roles("mallory") == set()
    assert any(f"entry {forged} is in no signed checkpoint" in m for _, m in problems(registry))
    request = file(registry, "sha256:ggg", launched_by=OPERATOR)  # a signed, later transaction
    assert registry.verified_roles("mallory") == set(), "a later checkpoint does not cover it"
    with registry.engine.begin() as conn:
        conn.execute(
            text("UPDATE approval_requests SET status = 'approved', reviewer = :r WHERE id = :i"),
            {"r": REVIEWER, "i": request},
        )
    forge(registry, REVIEWER, "egress.approved", f"request/{request}", {})
    with pytest.raises(RegistryError):
        registry.verified_decision(request)


def test_deleted_rows_show_and_the_admin_cannot_be_bootstrapped_again(registry: Registry) -> None:
    with registry.engine.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE name = :n"), {"n": ADMIN})
    assert any(f"user/{ADMIN} was deleted" in m for _, m in problems(registry))
    with pytest.raises(RegistryError, match="an admin was granted already"):
        registry.bootstrap_admin("mallory", "mallory")


def test_an_approval_binds_its_consumer_and_launcher(registry: Registry) -> None:
    request = approve_one(registry)
    with registry.engine.begin() as conn:
        conn.execute(
            text("UPDATE approval_requests SET consumer = 'insurer_evil' WHERE id = :i"),
            {"i": request},
        )
    assert any(f"request/{request} is not what" in m for _, m in problems(registry))
    with pytest.raises(RegistryError):
        registry.verified_decision(request)
    mine = file(registry, "sha256:hhh", launched_by="钱审核运营")
    accounts(registry, {"钱审核运营": ["reviewer"]})
    with registry.engine.begin() as conn:  # the launcher erases himself from his request
        conn.execute(
            text("UPDATE approval_requests SET launched_by = :o WHERE id = :i"),
            {"o": OPERATOR, "i": mine},
        )
    with pytest.raises(RegistryError, match=r"not what its egress\.requested entry recorded"):
        registry.decide(mine, approve=True, reviewer="钱审核运营", comment="ok")


def test_a_demo_flag_cleared_in_the_table_does_not_make_a_real_account(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.add_user("demo-reviewer", ["reviewer"], ADMIN, demo=True)
    with registry.engine.begin() as conn:
        conn.execute(text("UPDATE users SET demo = false WHERE name = 'demo-reviewer'"))
    monkeypatch.setenv("YC_ENV", "prod")
    assert registry.verified_roles("demo-reviewer") == set()


def test_production_needs_both_audit_keys(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YC_ENV", "prod")
    with pytest.raises(ValueError, match="YC_AUDIT_KEY and YC_AUDIT_SIGNING_KEY must be set"):
        Registry(registry.url)


def test_a_rolled_back_checkpoint_file_fails_against_the_supervisor_s_copy(
    registry: Registry, tmp_path: Path
) -> None:
    approve_one(registry)
    ycp("audit", "anchor", "--out", str(tmp_path / "exported"))
    path = registry.anchor.folder / "checkpoints.jsonl"
    kept = path.read_text().splitlines()[:-1]
    last = registry.audit_log()[-1].id
    path.write_text("\n".join(kept) + "\n")  # roll the file back one transaction
    with registry.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": last})
        conn.execute(text("UPDATE approval_requests SET status = 'pending', reviewer = NULL"))
    fresh = Registry(registry.url)  # a new process, no memory of the file
    assert fresh.verify_audit().ok, "alone, the rolled-back file and the cut log agree"
    out = ycp("audit", "verify", "--against", str(tmp_path / "exported"), ok=False)
    assert f"names entry {last}: its tail was cut" in out


def test_concurrent_writers_all_land_and_verify(registry: Registry) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        jobs = [(registry.url, os.environ["YC_HOME"], w) for w in range(4)]
        written = pool.starmap(audit_many, jobs)
    assert written == [15] * 4
    assert registry.verify_audit().ok


def audit_many(url: str, home: str, worker: int) -> int:
    os.environ["YC_HOME"] = home
    store = Registry(url)
    for n in range(15):
        store.audit(f"worker-{worker}", "test.event", f"n/{n}", {})
    return 15


def test_keys_made_by_processes_starting_together_are_one_key(tmp_path: Path) -> None:
    with multiprocessing.get_context("fork").Pool(8) as pool:
        keys = pool.map(make_key, [str(tmp_path)] * 16)
    assert len(set(keys)) == 1 and len(keys[0]) == 64


def make_key(folder: str) -> bytes:
    return create_private(Path(folder) / "audit-chain.key", secrets.token_hex(32).encode())


def test_under_sudo_the_cli_acts_as_the_person_sudo_names(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ycpipelines.cli import os_account

    monkeypatch.setenv("SUDO_UID", "65534")  # `sudo -u <platform> ycp …` run by uid 65534
    assert os_account() == pwd.getpwuid(65534).pw_name
    monkeypatch.setenv("SUDO_UID", str(os.geteuid()))  # no change of user: the login itself
    assert os_account() == pwd.getpwuid(os.geteuid()).pw_name


def test_a_suspension_during_the_write_stops_the_recording(registry: Registry) -> None:
    """Delivery checked the grant, then wrote for a while; meanwhile the admin suspended it."""
    request = approve_one(registry)
    grant = registry.request(request).authorization_id
    registry.change_authorization(grant, "suspended", actor=ADMIN, reason="核查")
    with pytest.raises(RegistryError, match="is not active"):
        registry.record_delivery(
            request,
            "egress-publisher",
            authorization_id=grant,
            consumer="insurer_eee",
            scenario="underwriting_features",
            version="v1",
            path="/zone/x",
            sha256="s",
            product_sha256="sha256:eee",
            rows=1,
            fingerprint="f",
            price_cents=0,
            contributions={},
        )
    assert registry.request(request).status == "approved" and registry.deliveries() == []


def test_deliveries_cannot_wear_a_partition_down_without_a_decision(registry: Registry) -> None:
    where = {"dataset": "enterprises", "bureau": "market_regulation", "day": "2025-06-30"}

    def commit(rows: int) -> None:
        registry.commit_collection(
            **where, run_id=f"r{rows}", columns={}, watermark=None, counts={"rows": rows}
        )

    commit(23)
    commit(12)  # just over half of 23: no decision needed
    assert registry.committed_high(**where) == 23, "the next one is judged against 23, not 12"
    registry.accept_shrink(layer="raw", run_id="r1", actor=OPERATOR, before=23, after=1, **where)
    commit(1)
    assert registry.committed_high(**where) == 1, "an accepted shrink moves the baseline"


def test_masks_show_ends_only_of_full_identifiers() -> None:
    from ycpipelines.catalog import load_catalog
    from ycpipelines.collect.reading import shown_name
    from ycpipelines.foundation.masking import mask

    fields = {f.standard: f for d in load_catalog().datasets for f in d.fields}
    assert mask("640122197203045511", fields["resident_id"]) == "6401************11"
    for standard in ("resident_id", "uscc", "phone"):
        assert mask("黄俊", fields[standard]) == "**", "a short value is no identifier"
        assert mask("12345678", fields[standard]).startswith("12******")
    assert shown_name("nickname") == "nickname"
    assert "13812345678" not in shown_name("联系人13812345678")


def test_a_reviewer_acting_for_the_consumer_does_not_decide_its_request(
    registry: Registry,
) -> None:
    request = file(registry, "sha256:fff", launched_by=OPERATOR)
    accounts(registry, {"保险审核": ["reviewer", "consumer:insurer_fff"]})
    with pytest.raises(RegistryError, match="acts for insurer_fff, the consumer of request"):
        registry.decide(request, approve=True, reviewer="保险审核", comment="自己批自己")
    assert registry.request(request).status == "pending"
    assert registry.decide(request, approve=True, reviewer=REVIEWER, comment="ok").reviewer
