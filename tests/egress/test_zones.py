"""租户隔离: a delivery lands in its consumer's own zone, which no other account can list or
read; the zone root does not even list the consumers."""

import os
import stat
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from ycpipelines.catalog import load_catalog
from ycpipelines.egress.delivery import EgressRefused, deliver
from ycpipelines.egress.publish import product_order
from ycpipelines.egress.zones import ZoneRefused, consumer_zone
from ycpipelines.foundation.lake import duck, file_digest, quoted
from ycpipelines.registry import Registry, RegistryError

from helpers import ADMIN, accounts, upgraded

SCENARIO = "disease_stats"


def delivered(registry: Registry, tmp_path: Path, consumer: str) -> Path:
    """One approved delivery of a small product file into `consumer`'s zone."""
    catalog = load_catalog()
    product = next(p for p in catalog.products if p.scenario == SCENARIO)
    source = tmp_path / f"{consumer}.parquet"
    columns = ", ".join(f"'{i}' AS {quoted(f.name)}" for i, f in enumerate(product.fields))
    with duck() as con:
        con.execute(f"COPY (SELECT {columns}) TO '{source}' (FORMAT parquet)")
    accounts(registry, {"张审核": ["reviewer"]})
    grant = registry.grant(
        consumer=consumer,
        scenario=SCENARIO,
        fields=[f.name for f in product.fields],
        valid_from=date(2025, 1, 1),
        valid_to=date(2099, 12, 31),
        plan="预案: stop deliveries",
        actor=ADMIN,
    )
    request, _ = registry.file_request(
        "egress-sensor",
        scenario=SCENARIO,
        consumer=consumer,
        authorization_id=grant.id,
        content_hash=file_digest(source),
        row_count=1,
        product_path=str(source),
        product_run_id="run-1",
        evidence={},
    )
    registry.decide(request.id, approve=True, reviewer="张审核", comment="一致")
    order = product_order(catalog, product, request.id, consumer, source, None, "k" * 32, {})
    return deliver(registry, replace(order, build=None), tmp_path / "zone").folder  # no build


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_each_consumer_zone_is_private_to_it(tmp_path: Path) -> None:
    registry = Registry(upgraded(f"sqlite:///{tmp_path / 'registry.db'}"))
    mine = delivered(registry, tmp_path, "pharma_a")
    theirs = delivered(registry, tmp_path, "pharma_b")
    zone = tmp_path / "zone"
    assert mode(zone) == 0o711, "the zone root can be traversed, not listed"
    for folder in (mine, theirs):
        consumer_root = zone / folder.relative_to(zone).parts[0]
        for path in [consumer_root, *consumer_root.rglob("*")]:
            assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert sorted(p.name for p in mine.iterdir()) == ["data.csv", "manifest.json"]

    if os.geteuid() != 0:
        pytest.skip("reading as another account needs root to switch to it")
    tmp_path.chmod(0o755)
    for attempt in (["ls", str(zone)], ["cat", str(theirs / "manifest.json")]):
        other = subprocess.run(attempt, user="nobody", capture_output=True, text=True)
        assert other.returncode != 0
        assert "Permission denied" in other.stderr


def test_a_link_planted_in_a_zone_is_refused_not_followed(tmp_path: Path) -> None:
    """A consumer (or anyone able to write there) points its scenario folder at the lake: the
    publisher must not write through it, nor chmod what it points at."""
    registry = Registry(upgraded(f"sqlite:///{tmp_path / 'registry.db'}"))
    elsewhere = tmp_path / "lake"
    elsewhere.mkdir()
    elsewhere.chmod(0o755)  # whatever the umask: the mode a followed link would change
    (tmp_path / "zone" / "pharma_l").mkdir(parents=True)
    (tmp_path / "zone" / "pharma_l" / SCENARIO).symlink_to(elsewhere)
    with pytest.raises(EgressRefused, match="is a symbolic link; zones hold none"):
        delivered(registry, tmp_path, "pharma_l")
    assert list(elsewhere.iterdir()) == [] and mode(elsewhere) == 0o755
    assert registry.audit_log()[-1].action == "egress.refused"


def test_a_consumer_id_cannot_name_a_path(tmp_path: Path) -> None:
    registry = Registry(upgraded(f"sqlite:///{tmp_path / 'registry.db'}"))
    accounts(registry, {})
    with pytest.raises(RegistryError, match="is not a consumer id"):
        registry.grant(
            consumer="../lake/product",
            scenario=SCENARIO,
            fields=[],
            valid_from=date(2025, 1, 1),
            valid_to=date(2099, 12, 31),
            plan="预案",
            actor=ADMIN,
        )
    with pytest.raises(ZoneRefused, match="is not a consumer id"):
        consumer_zone(tmp_path / "zone", "../lake")
    assert not (tmp_path / "lake").exists()
