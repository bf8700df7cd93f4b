"""The console's JSON API (控制台接口) over real registry data: each account sees what the
registry's scopes give it, another party's object is a 404 worded as a missing one, a wrong role
is a 403, a registry refusal a 409, and no answer carries a file path or a sample row."""

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ycpipelines.console.sessions import COOKIE
from ycpipelines.registry import Registry

from helpers import ADMIN
from holdings import ALICE, BOB, HEALTH, REVIEWER, SUPERVISOR, Holdings, holdings, pending_request
from people import client, person, sign_in

MISSING = 987_654


@pytest.fixture(scope="module")
def held(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Holdings:
    return holdings(registry, tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def browsers(app: FastAPI, held: Holdings) -> dict[str, TestClient]:
    """One signed-in client per person."""
    return {name: sign_in(app, who) for name, who in held.people.items()}


def csrf(registry: Registry, browser: TestClient) -> dict[str, str]:
    """The header an unsafe request carries: the session's CSRF token."""
    found = registry.console_session(browser.cookies[COOKIE])
    assert found is not None
    return {"X-CSRF-Token": found.csrf}


def ids(answer) -> list[int]:
    assert answer.status_code == 200, answer.text
    return [row["id"] for row in answer.json()]


def test_without_a_session_every_endpoint_answers_401(app: FastAPI, held: Holdings) -> None:
    anonymous = client(app)
    paths = [
        "/api/me",
        "/api/requests",
        f"/api/requests/{held.pending}",
        "/api/deliveries",
        f"/api/deliveries/{held.delivery}",
        "/api/authorizations",
        f"/api/tickets/{held.ticket}",
    ]
    for path in paths:
        answer = anonymous.get(path)
        assert (answer.status_code, answer.json()) == (401, {"detail": "未登录 (sign in first)"})
    decision = {"approve": True, "comment": "同意"}
    answer = anonymous.post(f"/api/requests/{held.pending}/decision", json=decision)
    assert answer.status_code == 401


def test_the_schema_documents_the_api_only(app: FastAPI) -> None:
    schema = client(app).get("/api/openapi.json").json()
    assert schema["paths"] and all(p.startswith("/api/") for p in schema["paths"])
    assert schema["components"]["securitySchemes"]["session"]["name"] == COOKIE


def test_me_names_the_account_and_its_verified_roles(browsers: dict[str, TestClient]) -> None:
    assert browsers[ALICE].get("/api/me").json() == {
        "name": ALICE,
        "roles": ["consumer:insurer_a"],
        "consumers": ["insurer_a"],
        "bureaus": [],
    }


def test_requests_are_scoped_by_the_registry(
    browsers: dict[str, TestClient], held: Holdings
) -> None:
    everyone = ids(browsers[REVIEWER].get("/api/requests"))
    assert {held.delivered_request, held.pending} <= set(everyone) and everyone == sorted(everyone)
    assert ids(browsers[SUPERVISOR].get("/api/requests")) == everyone
    pending = browsers[REVIEWER].get("/api/requests?status=pending").json()
    assert held.pending in [r["id"] for r in pending]
    assert {r["status"] for r in pending} == {"pending"}
    assert ids(browsers[ALICE].get("/api/requests")) == [held.delivered_request]
    assert ids(browsers[BOB].get("/api/requests")) == [held.pending]
    assert browsers[HEALTH].get("/api/requests").status_code == 403
    assert browsers[REVIEWER].get("/api/requests?status=nonsense").status_code == 422


def test_another_consumer_s_request_is_a_missing_one(
    browsers: dict[str, TestClient], held: Holdings
) -> None:
    theirs = browsers[ALICE].get(f"/api/requests/{held.pending}")
    missing = browsers[ALICE].get(f"/api/requests/{MISSING}")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


def test_a_request_s_evidence_gives_figures_not_rows(
    browsers: dict[str, TestClient], held: Holdings
) -> None:
    answer = browsers[REVIEWER].get(f"/api/requests/{held.pending}")
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["request"]["status"] == "pending" and found["request"]["consumer"] == "insurer_b"
    evidence = found["evidence"]
    assert evidence["content_verified"] is True
    assert evidence["sample_columns"] == ["score"] and evidence["sample_rows"] == 2
    assert "sample" not in evidence and "rows" not in evidence
    assert "product_path" not in found["request"] and "scores_b.csv" not in answer.text
    authorized = [f["name"] for f in evidence["fields"] if f["authorized"]]
    assert authorized == ["score"]


def test_a_decision_needs_a_reviewer_its_csrf_token_and_a_comment(
    app: FastAPI, registry: Registry, browsers: dict[str, TestClient], tmp_path: Path
) -> None:
    product = tmp_path / "scores_c.csv"
    product.write_text("score\n0.1\n0.3\n", encoding="utf-8")
    request = pending_request(registry, "insurer_c", product)
    path = f"/api/requests/{request}/decision"
    reviewer, body = browsers[REVIEWER], {"approve": True, "comment": "同意出域"}
    assert reviewer.post(path, json=body).status_code == 403  # no CSRF header
    refused = reviewer.post(path, json=body, headers={"X-CSRF-Token": "forged"})
    assert refused.status_code == 403
    supervisor = browsers[SUPERVISOR]
    assert supervisor.post(path, json=body, headers=csrf(registry, supervisor)).status_code == 403
    blank = {"approve": True, "comment": "   "}
    assert reviewer.post(path, json=blank, headers=csrf(registry, reviewer)).status_code == 422
    assert registry.request(request).status == "pending"
    answer = reviewer.post(path, json=body, headers=csrf(registry, reviewer))
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "approved" and answer.json()["reviewer"] == REVIEWER
    [entry] = [e for e in registry.history(f"request/{request}") if e.action == "egress.approved"]
    assert entry.actor == REVIEWER and entry.detail["comment"] == "同意出域"
    again = reviewer.post(path, json=body, headers=csrf(registry, reviewer))
    assert again.status_code == 409 and "not pending" in again.json()["detail"]


def test_the_registry_s_four_eyes_refusal_is_a_409(
    app: FastAPI, registry: Registry, held: Holdings, tmp_path: Path
) -> None:
    """The operator who launched the build holds the reviewer role too: the registry refuses
    and audits; the API says why."""
    launcher = person(registry, "赵运营", ["reviewer"])
    product = tmp_path / "scores_d.csv"
    product.write_text("score\n0.5\n", encoding="utf-8")
    request = pending_request(registry, "insurer_d", product)
    browser = sign_in(app, launcher)
    answer = browser.post(
        f"/api/requests/{request}/decision",
        json={"approve": True, "comment": "同意"},
        headers=csrf(registry, browser),
    )
    assert answer.status_code == 409 and "four eyes" in answer.json()["detail"]
    assert registry.request(request).status == "pending"


def test_deliveries_are_the_consumer_s_own_or_all_for_oversight(
    browsers: dict[str, TestClient], held: Holdings
) -> None:
    [mine] = browsers[ALICE].get("/api/deliveries").json()
    assert mine["id"] == held.delivery and mine["standing"] == "delivered"
    assert mine["sha256"].startswith("sha256:") and "path" not in mine
    assert "fingerprint" not in mine
    assert browsers[ALICE].get(f"/api/deliveries/{held.delivery}").json() == mine
    assert ids(browsers[BOB].get("/api/deliveries")) == []
    theirs = browsers[BOB].get(f"/api/deliveries/{held.delivery}")
    missing = browsers[BOB].get(f"/api/deliveries/{MISSING}")
    assert theirs.status_code == missing.status_code == 404 and theirs.json() == missing.json()
    assert ids(browsers[SUPERVISOR].get("/api/deliveries")) == [held.delivery]
    assert browsers[ADMIN].get(f"/api/deliveries/{held.delivery}").json() == mine
    assert browsers[ADMIN].get(f"/api/deliveries/{MISSING}").status_code == 404
    assert browsers[REVIEWER].get("/api/deliveries").status_code == 403


def test_authorizations_are_scoped_like_deliveries(browsers: dict[str, TestClient]) -> None:
    mine = browsers[ALICE].get("/api/authorizations").json()
    assert {a["consumer"] for a in mine} == {"insurer_a"} and mine[0]["plan"]
    everyone = browsers[SUPERVISOR].get("/api/authorizations").json()
    assert {"insurer_a", "insurer_b"} <= {a["consumer"] for a in everyone}
    assert browsers[HEALTH].get("/api/authorizations").status_code == 403


def test_a_ticket_is_its_bureau_s_or_the_governance_team_s(
    browsers: dict[str, TestClient], held: Holdings
) -> None:
    own = browsers[HEALTH].get(f"/api/tickets/{held.ticket}")
    assert own.status_code == 200 and own.json()["row_keys"] == ["k***"]
    assert browsers[REVIEWER].get(f"/api/tickets/{held.ticket}").json() == own.json()
    assert browsers[ALICE].get(f"/api/tickets/{held.ticket}").status_code == 403
    assert browsers[HEALTH].get(f"/api/tickets/{MISSING}").status_code == 404
