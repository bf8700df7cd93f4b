"""开发与生产环境隔离: YC_ENV=prod refuses the demo's key, sources and reviewer, and starts only
with a PostgreSQL registry and instance; dev keeps the embedded defaults."""

import os
import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner

from ycpipelines.catalog import load_catalog
from ycpipelines.catalog.models import SqlSource
from ycpipelines.cli import main, prepare_environment
from ycpipelines.definitions import build_definitions
from ycpipelines.foundation.environment import EnvironmentRefused


@pytest.fixture
def prod(yc_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A production-shaped environment in an empty working folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YC_ENV", "prod")
    monkeypatch.setenv("YC_HOME", str(tmp_path / "prod"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return tmp_path


def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything production needs, from the process environment."""
    monkeypatch.setenv("YC_REGISTRY_URL", "postgresql+psycopg2://registry@db/ycp")
    monkeypatch.setenv("YC_PSEUDONYM_KEY", secrets.token_hex(32))
    monkeypatch.setenv("YC_INBOX", "/srv/inbox")
    monkeypatch.setenv("YC_AUDIT_KEY", secrets.token_hex(32))
    monkeypatch.setenv("YC_AUDIT_SIGNING_KEY", "/run/secrets/audit-signing.pem")
    for dataset in load_catalog().datasets:
        if isinstance(dataset.source, SqlSource):
            monkeypatch.setenv(dataset.source.connection_env, "postgresql+psycopg2://b@db/x")


def test_prod_refuses_the_demo_and_starts_on_production_settings(
    prod: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_key = "0123456789abcdef" * 4
    (prod / ".env").write_text(f"YC_PSEUDONYM_KEY={demo_key}\n")
    prepare_environment()
    with pytest.raises(EnvironmentRefused) as refused:
        build_definitions()
    message = str(refused.value)
    assert "YC_REGISTRY_URL must name the PostgreSQL registry" in message
    assert "YC_SOURCE_HEALTH unset: outpatient_visits would read demo data" in message
    assert "YC_INBOX unset" in message
    assert "YC_AUDIT_KEY unset" in message and "YC_AUDIT_SIGNING_KEY unset" in message
    assert "YC_PSEUDONYM_KEY is a demo or test key" in message  # the tests' key
    assert os.environ["YC_PSEUDONYM_KEY"] != demo_key, "prod does not read .env"

    settled(monkeypatch)
    monkeypatch.setenv("YC_PSEUDONYM_KEY", demo_key)
    with pytest.raises(EnvironmentRefused, match="YC_PSEUDONYM_KEY is a demo or test key"):
        build_definitions()
    monkeypatch.setenv("YC_PSEUDONYM_KEY", "short")
    with pytest.raises(EnvironmentRefused, match="must be a secret of at least 32 chars"):
        build_definitions()

    monkeypatch.setenv("YC_PSEUDONYM_KEY", secrets.token_hex(32))
    defs = build_definitions()
    assert (prod / "prod" / "dagster" / "dagster.yaml").read_text().count("postgres") >= 1
    resources = defs.resources
    assert resources["lake"].root == str(prod / "prod" / "lake")

    demo = CliRunner().invoke(main, ["demo", "run", "--rows", "10"])
    assert demo.exit_code == 1
    assert "YC_ENV=prod: ycp demo is for development only" in demo.output


def test_dev_keeps_the_embedded_defaults(yc_home: Path) -> None:
    assert os.environ.get("YC_ENV", "dev") == "dev"
    defs = build_definitions()
    resources = defs.resources
    assert resources["lake"].root == str(yc_home / "lake")
    assert "postgres" not in (Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml").read_text()
