"""A consumer's deliveries page (我的交付) attacked: another consumer's delivery asked for by id,
downloads compared byte for byte with what was delivered, a revoked version flagged and its
destruction confirmed (empty note refused, twice refused), other roles kept out."""

import asyncio
import hashlib
import html
import itertools
import tempfile
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ycpipelines.console.deliveries import PrivateCopy
from ycpipelines.registry import Registry
from ycpipelines.registry.models import Delivery

from helpers import ADMIN, accounts, deliver_file, screenshot
from people import Person, client, form_token, person, sign_in
from screens import browsing

REVIEWER = "钱审核"
FILES = itertools.count(1)
ALICE, BOB = "甲保险", "乙保险"  # accounts of the consumers insurer_a and insurer_b


@pytest.fixture(scope="module")
def alice(registry: Registry) -> Person:
    accounts(registry, {REVIEWER: ["reviewer"]})
    return person(registry, ALICE, ["consumer:insurer_a"])


@pytest.fixture(scope="module")
def alice_browser(app: FastAPI, alice: Person) -> TestClient:
    return sign_in(app, alice)


@pytest.fixture(scope="module")
def bob_browser(app: FastAPI, registry: Registry) -> TestClient:
    return sign_in(app, person(registry, BOB, ["consumer:insurer_b"]))


def delivered(registry: Registry, consumer: str, folder: Path) -> Delivery:
    """A small file of its own (the registry files one request per content) delivered to
    `consumer` through the one delivery path."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "scores.csv"
    source.write_text(f"score\n0.{next(FILES)}\n0.2\n", encoding="utf-8")
    return deliver_file(registry, consumer, folder / "zone", source, REVIEWER)


@pytest.fixture
def mine(registry: Registry, alice: Person, tmp_path: Path) -> Delivery:
    return delivered(registry, "insurer_a", tmp_path / "a")


@pytest.fixture
def theirs(registry: Registry, alice: Person, tmp_path: Path) -> Delivery:
    return delivered(registry, "insurer_b", tmp_path / "b")


@pytest.fixture
def downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder private download copies are made in, to see what is left behind."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def revoke(registry: Registry, delivery: Delivery) -> None:
    registry.change_authorization(
        delivery.authorization_id, "revoked", actor=ADMIN, reason="使用方违规"
    )


def actions(registry: Registry, delivery: Delivery) -> list[str]:
    return [e.action for e in registry.history(f"delivery/{delivery.id}")]


def test_a_consumer_sees_its_own_authorizations_and_deliveries_only(
    alice_browser: TestClient, mine: Delivery, theirs: Delivery
) -> None:
    page = alice_browser.get("/deliveries")
    assert page.status_code == 200
    assert mine.sha256 in page.text and f"预案-{mine.consumer}" in page.text
    assert theirs.sha256 not in page.text and "预案-insurer_b" not in page.text
    assert f"/deliveries/{mine.id}/download" in page.text
    assert f"/deliveries/{theirs.id}/download" not in page.text


def test_the_download_is_the_delivered_bytes_and_is_audited(
    registry: Registry, alice_browser: TestClient, mine: Delivery, downloads: Path
) -> None:
    answer = alice_browser.get(f"/deliveries/{mine.id}/download")
    assert answer.status_code == 200
    assert f"sha256:{hashlib.sha256(answer.content).hexdigest()}" == mine.sha256
    assert answer.content == Path(mine.path).read_bytes()
    assert answer.headers["x-content-sha256"] == mine.sha256
    assert answer.headers["content-disposition"].startswith("attachment")
    assert answer.headers["cache-control"] == "no-store"
    assert list(downloads.iterdir()) == []  # the private copy is gone once sent
    [entry] = registry.history(f"delivery/{mine.id}")
    assert (entry.action, entry.actor, entry.detail["sha256"]) == (
        "delivery.downloaded",
        ALICE,
        mine.sha256,
    )


def test_a_download_copy_is_deleted_when_the_client_goes_away(tmp_path: Path) -> None:
    copy = tmp_path / "ycp-download-copy.csv"
    copy.write_text("score\n0.7\n", encoding="utf-8")

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    async def gone(message: dict) -> None:
        if message["type"] == "http.response.body":
            raise OSError("the client went away")

    # ASGI 2.4: a server raises OSError from `send` once the client is gone (no disconnect
    # message is awaited), and the response's background task never runs.
    scope = {"type": "http", "method": "GET", "headers": [], "asgi": {"spec_version": "2.4"}}
    with pytest.raises(OSError):
        asyncio.run(PrivateCopy(copy, filename="scores.csv")(scope, receive, gone))
    assert not copy.exists()


def test_another_consumer_s_delivery_is_404_on_download_and_on_destroyed(
    registry: Registry, bob_browser: TestClient, mine: Delivery, downloads: Path
) -> None:
    revoke(registry, mine)  # destroyable by alice: bob's 404 is not its standing
    fetched = bob_browser.get(f"/deliveries/{mine.id}/download")
    token = form_token(bob_browser, "/deliveries")
    confirmed = bob_browser.post(
        f"/deliveries/{mine.id}/destroyed", data={"csrf": token, "note": "已销毁"}
    )
    missing = bob_browser.get("/deliveries/987654/download")
    assert fetched.status_code == confirmed.status_code == missing.status_code == 404
    assert fetched.text.count("未找到") and mine.sha256 not in fetched.text + confirmed.text
    assert registry.delivery_for(ALICE, mine.id).status == "revoked"
    assert actions(registry, mine) == [] and list(downloads.iterdir()) == []
    assert mine.sha256 not in bob_browser.get("/deliveries").text


def test_a_revoked_version_is_flagged_and_its_destruction_confirmed_once(
    registry: Registry, alice_browser: TestClient, mine: Delivery, downloads: Path
) -> None:
    revoke(registry, mine)
    page = alice_browser.get("/deliveries")
    assert "待销毁的交付版本" in page.text and f"/deliveries/{mine.id}/destroyed" in page.text
    assert f"/deliveries/{mine.id}/download" not in page.text
    refused = alice_browser.get(f"/deliveries/{mine.id}/download")
    assert refused.status_code == 409 and "is revoked" in refused.text
    token = form_token(alice_browser, "/deliveries")
    path = f"/deliveries/{mine.id}/destroyed"
    empty = alice_browser.post(path, data={"csrf": token, "note": "  "})
    assert empty.status_code == 409 and "needs a note" in empty.text
    done = alice_browser.post(path, data={"csrf": token, "note": "本地两份副本已删除"})
    assert done.status_code == 303
    again = alice_browser.post(path, data={"csrf": token, "note": "再次确认"})
    assert again.status_code == 409 and "confirmed destroyed already" in html.unescape(again.text)
    assert actions(registry, mine) == ["delivery.download_refused", "delivery.destroyed"]
    entry = registry.history(f"delivery/{mine.id}")[-1]
    assert (
        entry.actor == ALICE
        and entry.detail["note"] == "本地两份副本已删除"
        and entry.detail["was"] == "revoked"
    )
    assert registry.delivery_for(ALICE, mine.id).status == "destroyed"
    assert "已确认销毁" in alice_browser.get("/deliveries").text


def test_a_post_without_the_form_token_or_by_another_role_is_forbidden(
    app: FastAPI, registry: Registry, alice_browser: TestClient, mine: Delivery
) -> None:
    revoke(registry, mine)
    forged = alice_browser.post(f"/deliveries/{mine.id}/destroyed", data={"note": "伪造"})
    bureau = sign_in(app, person(registry, "卫健委甲", ["bureau:health"]))
    token = form_token(bureau, "/")
    posted = bureau.post(f"/deliveries/{mine.id}/destroyed", data={"csrf": token, "note": "x"})
    assert forged.status_code == posted.status_code == 403
    assert bureau.get("/deliveries").status_code == 403
    assert bureau.get(f"/deliveries/{mine.id}/download").status_code == 403
    assert client(app).get("/deliveries").headers["location"] == "/login"
    assert registry.delivery_for(ALICE, mine.id).status == "revoked"


def test_the_deliveries_page_in_a_browser(
    app: FastAPI,
    registry: Registry,
    alice_browser: TestClient,
    mine: Delivery,
    tmp_path: Path,
) -> None:
    revoked = delivered(registry, "insurer_a", tmp_path / "r")
    revoke(registry, revoked)
    with browsing(app, alice_browser) as (page, base):
        page.goto(f"{base}/deliveries")
        assert page.locator("section.revoked form.destroy").count() >= 1
        assert page.get_by_role("link", name="下载").count() >= 1
        screenshot(page, tmp_path, "console-deliveries")
