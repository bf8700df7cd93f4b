"""The review in a real browser (Playwright over Debian's chromium) on a real lineage: a reviewer
signs in with password and TOTP, opens the oldest pending 出域 request, reads the evidence and
approves; the publish run follows; the consumer signs in and downloads exactly the bytes whose
hash the printed 出域审核单 shows. Screenshots are kept (tests/artifacts or SHOTS_DIR)."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
from fastapi import FastAPI

from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import launch, review_tick
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.registry import Registry

from helpers import ADMIN, accounts, build_and_review, ingest_demo_days, screenshot
from people import Person, chromium, live, person, signed_in_page
from review_steps import approve_oldest, printed_form

SCENARIO = "underwriting_features"
OPERATOR = "运维李"


@dataclass
class World:
    defs: dg.Definitions
    instance: dg.DagsterInstance
    reviewer: Person
    consumer: Person


@pytest.fixture(scope="module")
def world(yc_home: Path, sources: dict, instance: dg.DagsterInstance, registry: Registry) -> World:
    """Ingested demo days, a grant to the product's consumer, a build launched by an operator
    and the review sensor's tick: one pending request."""
    ingest_demo_days(sources)
    catalog = load_catalog()
    product = next(p for p in catalog.products if p.scenario == SCENARIO)
    reviewer = person(registry, "审核员周", ["reviewer"])
    consumer = person(registry, "保险甲经办", [f"consumer:{product.consumer}"])
    accounts(registry, {OPERATOR: ["operator"]})
    registry.grant(
        consumer=product.consumer, scenario=SCENARIO, fields=[f.name for f in product.fields],
        valid_from=pilot_today() - timedelta(days=1), valid_to=pilot_today() + timedelta(days=30),
        plan="预案: 停止交付, 通知召回", actor=ADMIN,
    )  # fmt: skip
    defs = build_definitions(catalog)
    build_and_review(defs, instance, registry, OPERATOR, SCENARIO)
    return World(defs, instance, reviewer, consumer)


def test_a_reviewer_approves_in_the_browser_and_the_consumer_downloads_the_bytes_of_the_form(
    world: World, app: FastAPI, registry: Registry, tmp_path: Path
) -> None:
    with live(app) as url, chromium() as browser:
        page = signed_in_page(browser, url, world.reviewer)
        request_id = approve_oldest(page, url, registry, tmp_path)
        decided = registry.request(request_id)
        assert (decided.status, decided.reviewer) == ("approved", world.reviewer.name)

        for run in review_tick(world.defs, world.instance):  # the publish run follows
            assert launch(world.defs, world.instance, run).success
        assert registry.request(request_id).status == "published"
        form = printed_form(page, url, request_id)
        assert "出域审核单" in form and world.reviewer.name in form

        shop = signed_in_page(browser, url, world.consumer)
        shop.click("header nav >> text=我的交付")
        screenshot(shop, tmp_path, "console-deliveries")
        with shop.expect_download() as download:
            shop.locator("a[href$='/download']").first.click()
        data = Path(download.value.path()).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert digest in form.replace("\n", "").replace(" ", ""), "the form names the bytes received"
    actions = [e.action for e in registry.history(f"request/{request_id}")]
    assert actions.index("egress.approved") < actions.index("egress.published")
    assert actions[-1] == "egress.form_printed", "printing the form is audited too"
    downloads = [e for e in registry.audit_log() if e.action == "delivery.downloaded"]
    assert downloads and downloads[-1].actor == world.consumer.name
