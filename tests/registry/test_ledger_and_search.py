"""Attacks on the settlement correction (结算更正) and the audit search (审计检索), on SQLite and
PostgreSQL: a reopening by a non-admin or without a reason is refused, a reopened period keeps
its history and settles again, the chain still verifies; a search filters in the database."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from ycpipelines.foundation.clock import PILOT_ZONE
from ycpipelines.registry import Registry, RegistryError
from ycpipelines.registry.models import Delivery

from helpers import ADMIN, accounts, server_database, upgraded, ycp

SUPERVISOR, BUREAU = "孙监管", "卫健委乙"
PERIOD = "2025-06"


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request: pytest.FixtureRequest, yc_home: Path, tmp_path: Path) -> Iterator[Registry]:
    """A fresh registry with an admin, a supervisor and a bureau account."""
    if request.param == "sqlite":
        context = None
        url = f"sqlite:///{tmp_path / 'registry.db'}"
    else:
        context = server_database("postgresql")
        url = context.__enter__()
    store = Registry(upgraded(url))
    accounts(store, {SUPERVISOR: ["supervisor"], BUREAU: ["bureau:health"]})
    try:
        yield store
    finally:
        store.engine.dispose()
        if context is not None:
            context.__exit__(None, None, None)


def delivered(store: Registry, cents: int, contributions: dict[str, float], n: int) -> None:
    """A priced delivery in June 2025 (written directly: the settlement is under test)."""
    with Session(store.engine) as session, session.begin():
        session.add(
            Delivery(
                request_id=n,
                authorization_id=n,
                consumer="insurer",
                scenario="underwriting_features",
                version=f"v{n}",
                path="/zone/p.parquet",
                sha256="sha256:x",
                product_sha256="sha256:y",
                rows=10,
                fingerprint="k",
                price_cents=cents,
                contributions=contributions,
                status="delivered",
                delivered_at=datetime(2025, 6, 10, tzinfo=UTC),
            )
        )


def test_reopen_needs_the_admin_and_a_reason_and_keeps_history(registry: Registry) -> None:
    delivered(registry, 1000, {"health": 3, "civil": 1}, 1)
    first = {s.bureau: s.cents for s in registry.settle(PERIOD, ADMIN)}
    assert first == {"health": 750, "civil": 250}
    with pytest.raises(RegistryError, match="already settled"):
        registry.settle(PERIOD, ADMIN)
    for actor in (SUPERVISOR, BUREAU):
        with pytest.raises(RegistryError, match="needs the admin role"):
            registry.reopen_settlement(PERIOD, actor, "wrong prices")
    for reason in ("", "   "):
        with pytest.raises(RegistryError, match="needs a reason"):
            registry.reopen_settlement(PERIOD, ADMIN, reason)
    with pytest.raises(RegistryError, match="YYYY-MM"):
        registry.reopen_settlement("2025-13", ADMIN, "typo")
    with pytest.raises(RegistryError, match="no current settlement"):
        registry.reopen_settlement("2025-07", ADMIN, "never settled")
    assert all(s.superseded_at is None for s in registry.settlements(period=PERIOD))

    correction = registry.reopen_settlement(PERIOD, ADMIN, "a delivery was priced twice")
    assert correction.round == 1 and correction.cents == first
    assert registry.settlements(period=PERIOD, current=True) == []
    delivered(registry, 400, {"health": 1}, 2)
    again = {s.bureau: s.cents for s in registry.settle(PERIOD, ADMIN)}
    assert again == {"health": 1150, "civil": 250}

    rows = registry.settlements(period=PERIOD)
    assert len(rows) == 4, "the reopened round's rows are kept, marked superseded"
    current = registry.settlements(period=PERIOD, current=True)
    assert {(s.bureau, s.cents, s.round) for s in current} == {
        ("health", 1150, 2),
        ("civil", 250, 2),
    }
    reopened = [e for e in registry.audit_log() if e.action == "ledger.reopened"]
    assert len(reopened) == 1 and reopened[0].actor == ADMIN
    assert reopened[0].detail["reason"] == "a delivery was priced twice"
    assert reopened[0].detail["superseded"] == first
    refused = [e for e in registry.audit_log() if e.action == "access.refused"]
    assert {e.actor for e in refused} >= {SUPERVISOR, BUREAU}
    assert registry.verify_audit().ok, registry.verify_audit().problems


def test_search_filters_and_pages_in_the_database(registry: Registry) -> None:
    for n in range(7):
        registry.audit(SUPERVISOR, f"probe.{n % 2}", f"thing/{n}", {"n": n})
    registry.audit(BUREAU, "probe.0", "thing/%", {"n": 99})
    mine = registry.search_audit(actor=SUPERVISOR)
    assert len(mine) == 7 and {e.actor for e in mine} == {SUPERVISOR}
    assert [e.id for e in mine] == sorted((e.id for e in mine), reverse=True), "newest first"
    assert {e.detail["n"] for e in registry.search_audit(action="probe.1")} == {1, 3, 5}
    assert [e.detail["n"] for e in registry.search_audit(subject="thing/%")] == [99], (
        "a prefix is literal: % and _ match themselves"
    )
    assert registry.search_audit(subject="thing/", actor=BUREAU)[0].detail["n"] == 99
    pages = [registry.search_audit(actor=SUPERVISOR, limit=3, offset=o) for o in (0, 3, 6, 9)]
    assert [len(p) for p in pages] == [3, 3, 1, 0]
    assert registry.search_audit(actor=SUPERVISOR, offset=10**12) == []
    now = datetime.now(UTC)
    assert len(registry.search_audit(actor=SUPERVISOR, since=now - timedelta(minutes=5))) == 7
    assert registry.search_audit(actor=SUPERVISOR, until=now - timedelta(minutes=5)) == []
    east = now.astimezone(PILOT_ZONE)  # the same instant in +08:00 is compared in UTC
    assert len(registry.search_audit(actor=SUPERVISOR, since=east - timedelta(minutes=1))) == 7
    assert registry.search_audit(actor=SUPERVISOR, since=east + timedelta(minutes=1)) == []


def test_a_search_reads_one_page_not_the_log(registry: Registry) -> None:
    for n in range(30):
        registry.audit(SUPERVISOR, "probe", f"thing/{n}", {})
    fetched: list[int] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "audit_log" in statement:
            fetched.append(1)

    event.listen(registry.engine, "after_cursor_execute", count)
    try:
        found = registry.search_audit(action="probe", limit=5)
    finally:
        event.remove(registry.engine, "after_cursor_execute", count)
    assert len(found) == 5 and len(fetched) == 1


def test_the_cli_reopens_as_the_signed_in_admin_only(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YC_REGISTRY_URL", registry.url)
    delivered(registry, 500, {"health": 1}, 1)
    ycp("ledger", "settle", "--period", PERIOD)
    assert "needs a reason" in ycp(
        "ledger", "reopen", "--period", PERIOD, "--reason", " ", ok=False
    )
    out = ycp("ledger", "reopen", "--period", PERIOD, "--reason", "x", ok=False, as_user=SUPERVISOR)
    assert "needs the admin role" in out
    out = ycp("ledger", "reopen", "--period", PERIOD, "--reason", "双重计价")
    assert f"reopened {PERIOD} (round 1, 5.00 yuan superseded)" in out
    assert registry.settlements(current=True) == []
    ycp("ledger", "settle", "--period", PERIOD)
    assert [s.round for s in registry.settlements(current=True)] == [2]
