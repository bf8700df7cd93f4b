"""`make demo`'s console accounts (演示账户): one per role, labelled demo, fresh credentials in a
private file, a code command instead of an authenticator app; production refuses them all."""

import json
import stat
from pathlib import Path

import pytest
from fastapi import FastAPI

from ycpipelines.catalog import load_catalog
from ycpipelines.demo.accounts import console_accounts, demo_roles, write_accounts
from ycpipelines.demo.run import DEMO_ADMIN, demo_accounts
from ycpipelines.registry import Registry, RegistryError

from people import client, form_token


def test_one_demo_account_per_role_signs_in_with_its_code_and_never_in_prod(
    app: FastAPI, registry: Registry, yc_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = load_catalog()
    demo_accounts(registry, None)
    made = console_accounts(registry, catalog)
    kinds = {a.role.split(":")[0] for a in made}
    assert kinds == {"admin", "reviewer", "operator", "supervisor", "lab", "bureau", "consumer"}
    assert all(registry.user(a.name).demo for a in made), "every one labelled demo"
    assert [a.name for a in made] == list(demo_roles(catalog))
    saved = write_accounts(yc_home, made)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert {a["name"] for a in json.loads(saved.read_text())} == {a.name for a in made}

    reviewer = next(a for a in made if a.role == "reviewer")
    browser = client(app)
    sent = {"name": reviewer.name, "password": reviewer.password}
    answer = browser.post("/login", data=sent | {"csrf": form_token(browser, "/login")})
    assert answer.headers["location"] == "/login/totp"
    code = registry.demo_code(reviewer.name)
    answer = browser.post(
        "/login/totp", data={"code": code, "csrf": form_token(browser, "/login/totp")}
    )
    assert answer.headers["location"] == "/"
    assert "出域审核" in browser.get("/").text

    registry.add_user("真实审核员", ["reviewer"], DEMO_ADMIN)
    with pytest.raises(RegistryError, match="not a demo account"):
        registry.demo_code("真实审核员")

    monkeypatch.setenv("YC_ENV", "prod")
    with pytest.raises(RegistryError, match="YC_ENV=prod"):
        registry.demo_code(reviewer.name)
    with pytest.raises(RegistryError, match="YC_ENV=prod"):
        console_accounts(registry, catalog)
    assert browser.get("/").headers["location"] == "/login", "a demo session dies in prod"
