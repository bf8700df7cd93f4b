"""Attacks on what a consumer and a bureau may see and do (交付与可见范围), on the real PostgreSQL
with deliveries made through the one delivery path: another party's delivery, request or ticket
asked for by id, a zone file replaced after its delivery, a delivery row edited by hand, a
revoked, suspended or ended authorization, a destruction confirmed twice or by someone else, and
roles written into the users table."""

import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.feedback import Finding
from ycpipelines.registry import NotFound, Registry, RegistryError
from ycpipelines.registry.models import Delivery

from helpers import ADMIN, accounts, deliver_file, upgraded, ycp

REVIEWER, SUPERVISOR = "钱审核", "孙监管"
ALICE, BOB = "甲保险", "乙保险"  # accounts of the consumers insurer_a and insurer_b
HEALTH, POLICE = "卫健委甲", "公安甲"  # accounts of the bureaus health and population


@pytest.fixture
def registry(yc_home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    """A fresh registry with a reviewer, the supervisor, two consumers and two bureaus."""
    monkeypatch.setenv("YC_REGISTRY_URL", upgraded(pg_url))
    store = Registry(pg_url)
    accounts(
        store,
        {
            REVIEWER: ["reviewer"],
            SUPERVISOR: ["supervisor"],
            ALICE: ["consumer:insurer_a"],
            BOB: ["consumer:insurer_b"],
            HEALTH: ["bureau:health"],
            POLICE: ["bureau:population"],
        },
    )
    yield store
    store.engine.dispose()


@pytest.fixture
def downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder private download copies are made in, to see what is left behind."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def delivery(registry: Registry, tmp_path: Path) -> Delivery:
    """A delivery of a small file to insurer_a (alice)."""
    source = tmp_path / "scores.csv"
    source.write_text("score\n0.7\n0.2\n", encoding="utf-8")
    return deliver_file(registry, "insurer_a", tmp_path / "zone", source, REVIEWER)


def entries(registry: Registry, action: str, subject: str | None = None) -> list[dict]:
    return [
        e.detail
        for e in registry.audit_log()
        if e.action == action and (subject is None or e.subject == subject)
    ]


def not_found(call, *args) -> str:
    with pytest.raises(NotFound) as refused:
        call(*args)
    return str(refused.value)


def test_the_consumer_downloads_exactly_its_delivered_bytes(
    registry: Registry, delivery: Delivery, downloads: Path
) -> None:
    assert [d.id for d in registry.deliveries_for(ALICE)] == [delivery.id]
    assert registry.delivery_for(ALICE, delivery.id).sha256 == delivery.sha256
    assert [a.consumer for a in registry.authorizations_for(ALICE)] == ["insurer_a"]
    got = registry.open_download(ALICE, delivery.id)
    assert got.path.parent == downloads and stat.S_IMODE(got.path.stat().st_mode) == 0o600
    assert got.path.read_bytes() == Path(delivery.path).read_bytes()
    assert got.sha256 == delivery.sha256 and got.sha256.startswith("sha256:")
    assert got.filename == f"underwriting_features_{delivery.version}_scores.csv"
    [audited] = entries(registry, "delivery.downloaded", f"delivery/{delivery.id}")
    assert audited == {"consumer": "insurer_a", "sha256": delivery.sha256}


def test_another_consumer_s_objects_are_no_such_objects(
    registry: Registry, delivery: Delivery, downloads: Path
) -> None:
    """Bob asks for alice's delivery, request and authorization by id: each answer is the one
    an id that does not exist gets, and nothing is read or handed out."""
    missing = 987_654
    for kind, call in (
        ("delivery", registry.delivery_for),
        ("delivery", registry.open_download),
        ("request", registry.request_for),
    ):
        theirs = delivery.id if kind == "delivery" else delivery.request_id
        assert not_found(call, BOB, theirs) == f"no {kind} {theirs}"
        assert not_found(call, BOB, missing) == f"no {kind} {missing}"
    assert not_found(registry.confirm_destroyed, BOB, delivery.id, "已销毁") == (
        f"no delivery {delivery.id}"
    )
    assert registry.deliveries_for(BOB) == [] and registry.authorizations_for(BOB) == []
    assert not_found(registry.request_for, HEALTH, delivery.request_id)
    assert list(downloads.iterdir()) == []
    assert not entries(registry, "delivery.downloaded") + entries(
        registry, "delivery.download_refused"
    )
    refused = entries(registry, "access.refused", f"user/{BOB}")
    assert len(refused) == 7 and {r["exists"] for r in refused} == {True, False}
    assert registry.delivery_for(ALICE, delivery.id).status == "delivered"


def test_requests_are_read_by_the_review_side_and_their_own_consumer(
    registry: Registry, delivery: Delivery
) -> None:
    for reader in (ADMIN, REVIEWER, SUPERVISOR, ALICE):
        assert registry.request_for(reader, delivery.request_id).consumer == "insurer_a"


def test_a_bureau_reads_its_own_tickets_only(registry: Registry) -> None:
    for bureau in ("health", "population"):
        registry.sync_tickets(
            dataset="d", bureau=bureau, day="2025-06-30", stage="govern", run_id="r",
            found={"rule": Finding("reason", 1, ["k***"])}, clean=False,
        )  # fmt: skip
    health, population = (t.id for t in registry.tickets())
    assert registry.ticket_for(HEALTH, health).bureau == "health"
    assert not_found(registry.ticket_for, HEALTH, population) == f"no ticket {population}"
    assert not_found(registry.ticket_for, POLICE, health) == f"no ticket {health}"
    assert not_found(registry.ticket_for, ALICE, health) == f"no ticket {health}"
    assert not_found(registry.ticket_for, HEALTH, 987_654) == "no ticket 987654"
    assert registry.ticket_for(SUPERVISOR, population).bureau == "population"


def test_a_zone_file_replaced_after_its_delivery_is_refused_and_nothing_handed_out(
    registry: Registry, delivery: Delivery, downloads: Path
) -> None:
    zone_file = Path(delivery.path)
    zone_file.write_text("score\n0.9\n", encoding="utf-8")  # the bytes changed after recording
    with pytest.raises(RegistryError, match="changed since it was delivered"):
        registry.open_download(ALICE, delivery.id)
    assert list(downloads.iterdir()) == []
    [refused] = entries(registry, "delivery.download_refused", f"delivery/{delivery.id}")
    assert refused["expected"] == delivery.sha256 and refused["found"] != delivery.sha256
    assert entries(registry, "delivery.downloaded") == []


def test_a_zone_file_swapped_for_a_link_or_during_the_copy_is_refused(
    registry: Registry, delivery: Delivery, downloads: Path, tmp_path: Path, monkeypatch
) -> None:
    from ycpipelines.registry import downloads as module

    zone_file = Path(delivery.path)
    kept = tmp_path / "kept.csv"
    os.replace(zone_file, kept)
    zone_file.symlink_to(kept)  # the same bytes, behind a link: never followed
    with pytest.raises(RegistryError, match="cannot be read"):
        registry.open_download(ALICE, delivery.id)
    zone_file.unlink()
    os.replace(kept, zone_file)
    original = module.open_regular

    def swapped_after_the_checks(path: Path) -> object:  # the race: between the checks and the read
        path.write_text("score\n0.1\n", encoding="utf-8")
        return original(path)

    monkeypatch.setattr(module, "open_regular", swapped_after_the_checks)
    with pytest.raises(RegistryError, match="changed since it was delivered"):
        registry.open_download(ALICE, delivery.id)
    assert list(downloads.iterdir()) == []
    assert len(entries(registry, "delivery.download_refused")) == 2


def test_a_delivery_row_edited_by_hand_is_handed_out_to_nobody(
    registry: Registry, delivery: Delivery, downloads: Path, tmp_path: Path
) -> None:
    """Another file, and its hash, written into the delivery's row: the chain recorded others."""
    from upath import UPath

    from ycpipelines.foundation.lake import file_digest

    other = tmp_path / "other.csv"
    other.write_text("score\n1.0\n", encoding="utf-8")
    with registry.engine.begin() as conn:
        conn.execute(
            text("UPDATE deliveries SET path = :p, sha256 = :s WHERE id = :id"),
            {"p": str(other), "s": file_digest(UPath(other)), "id": delivery.id},
        )
    with pytest.raises(RegistryError, match="not what the audit chain recorded"):
        registry.open_download(ALICE, delivery.id)
    assert list(downloads.iterdir()) == []


def test_revocation_stops_downloads_and_the_consumer_confirms_destruction_once(
    registry: Registry, delivery: Delivery, downloads: Path
) -> None:
    with pytest.raises(RegistryError, match="is delivered: only a revoked"):
        registry.confirm_destroyed(ALICE, delivery.id, "尚未撤回")
    registry.change_authorization(delivery.authorization_id, "revoked", actor=ADMIN, reason="违约")
    with registry.engine.begin() as conn:  # the row flipped back: the authorization decides
        conn.execute(
            text("UPDATE deliveries SET status = 'delivered' WHERE id = :id"), {"id": delivery.id}
        )
    with pytest.raises(RegistryError, match=f"delivery {delivery.id} is revoked"):
        registry.open_download(ALICE, delivery.id)
    assert list(downloads.iterdir()) == []
    assert not_found(registry.confirm_destroyed, BOB, delivery.id, "代为确认")
    with pytest.raises(RegistryError, match="needs a note"):
        registry.confirm_destroyed(ALICE, delivery.id, " ")
    destroyed = registry.confirm_destroyed(ALICE, delivery.id, "已删除全部副本 2025-07-01")
    assert destroyed.status == "destroyed"
    [audited] = entries(registry, "delivery.destroyed", f"delivery/{delivery.id}")
    assert audited == {
        "consumer": "insurer_a",
        "was": "revoked",
        "note": "已删除全部副本 2025-07-01",
    }
    with pytest.raises(RegistryError, match="confirmed destroyed already"):
        registry.confirm_destroyed(ALICE, delivery.id, "再次确认")
    with pytest.raises(RegistryError, match="is destroyed"):
        registry.open_download(ALICE, delivery.id)
    assert len(entries(registry, "delivery.destroyed")) == 1
    assert registry.verify_audit().ok


def test_a_suspension_pauses_downloads_and_an_ended_authorization_asks_for_destruction(
    registry: Registry, delivery: Delivery, downloads: Path, monkeypatch
) -> None:
    from datetime import timedelta

    from ycpipelines.registry import deliveries
    from ycpipelines.registry import downloads as module

    grant = delivery.authorization_id
    registry.change_authorization(grant, "suspended", actor=ADMIN, reason="核查")
    with pytest.raises(RegistryError, match="is suspended"):
        registry.open_download(ALICE, delivery.id)
    with pytest.raises(RegistryError, match="is suspended: only a revoked"):
        registry.confirm_destroyed(ALICE, delivery.id, "提前销毁")
    registry.change_authorization(grant, "active", actor=ADMIN, reason="恢复")
    registry.open_download(ALICE, delivery.id).path.unlink()
    later = pilot_today() + timedelta(days=31)  # the authorization ended yesterday
    monkeypatch.setattr(module, "pilot_today", lambda: later)
    monkeypatch.setattr(deliveries, "pilot_today", lambda: later)
    with pytest.raises(RegistryError, match="is ended"):
        registry.open_download(ALICE, delivery.id)
    assert registry.confirm_destroyed(ALICE, delivery.id, "到期销毁").status == "destroyed"
    _, _, revoked = registry.change_authorization(grant, "revoked", actor=ADMIN, reason="到期")
    assert revoked == 0, "a delivery confirmed destroyed stays destroyed"
    assert registry.delivery_for(ALICE, delivery.id).status == "destroyed"


def test_roles_written_into_the_users_table_grant_nothing(
    registry: Registry, delivery: Delivery
) -> None:
    with registry.engine.begin() as conn:
        conn.execute(
            text("""UPDATE users SET roles = '["consumer:insurer_a"]' WHERE name = :n"""),
            {"n": BOB},
        )
    assert registry.consumer_of(BOB) == set() and registry.deliveries_for(BOB) == []
    assert not_found(registry.open_download, BOB, delivery.id) == f"no delivery {delivery.id}"
    assert not_found(registry.request_for, BOB, delivery.request_id)


def test_the_command_line_acts_as_the_login_s_consumer(
    registry: Registry, delivery: Delivery, downloads: Path, tmp_path: Path
) -> None:
    listed = ycp("deliveries", "list", "--json", as_user=ALICE)
    assert f'"id": {delivery.id}' in listed and '"standing": "delivered"' in listed
    assert ycp("deliveries", "list", "--json", as_user=BOB).strip() == "[]"
    out = tmp_path / "mine.csv"
    said = ycp("deliveries", "download", str(delivery.id), "--out", str(out), as_user=ALICE)
    assert delivery.sha256 in said and out.read_bytes() == Path(delivery.path).read_bytes()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and list(downloads.iterdir()) == []
    again = ycp(
        "deliveries", "download", str(delivery.id), "--out", str(out), as_user=ALICE, ok=False
    )
    assert "exists" in again
    theirs = tmp_path / "theirs.csv"
    refused = ycp(
        "deliveries", "download", str(delivery.id), "--out", str(theirs), as_user=BOB, ok=False
    )
    assert f"no delivery {delivery.id}" in refused and not theirs.exists()
    registry.change_authorization(delivery.authorization_id, "revoked", actor=ADMIN, reason="违约")
    done = ycp("deliveries", "destroyed", str(delivery.id), "--note", "已删除", as_user=ALICE)
    assert f"delivery {delivery.id} destroyed" in done
