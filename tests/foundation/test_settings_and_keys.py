"""The foundation: one settings object reads the environment; typed references replace strings."""

import ast
from pathlib import Path

import dagster as dg
import pytest

from ycpipelines.foundation.environment import EnvironmentRefused, current
from ycpipelines.foundation.keys import AssetRef, ColumnRef, Layer, raw_key, safe_key
from ycpipelines.foundation.settings import PROD_HOME, PROJECT_ROOT, Settings, SettingsError

PACKAGE = PROJECT_ROOT / "ycpipelines"
SETTINGS = PACKAGE / "foundation" / "settings.py"


def environment_reads(path: Path) -> list[int]:
    """Lines of `path` that touch `os.environ` or `os.getenv`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            found.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [node.lineno for a in node.names if a.name in ("environ", "getenv")]
    return found


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = {
        str(path.relative_to(PROJECT_ROOT)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != SETTINGS and (lines := environment_reads(path))
    }
    assert readers == {}
    assert environment_reads(SETTINGS), "the settings module is where the environment is read"


def test_paths_default_under_the_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("YC_LAKE", "YC_ZONE", "YC_SOURCES", "YC_REGISTRY_URL", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("YC_HOME", str(tmp_path))
    settings = Settings()
    assert settings.home == tmp_path
    assert settings.lake_root == str(tmp_path / "lake")
    assert settings.zone_root == str(tmp_path / "zone")
    assert settings.registry == f"sqlite:///{tmp_path / 'registry.db'}"
    assert settings.dagster_home == tmp_path / "dagster"
    monkeypatch.setenv("YC_LAKE", "s3://bucket/lake")
    assert Settings().lake_root == "s3://bucket/lake"


def test_production_defaults_to_the_system_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YC_HOME", raising=False)
    monkeypatch.setenv("YC_ENV", "prod")
    assert Settings().home == PROD_HOME


def test_an_unknown_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YC_ENV", "staging")
    with pytest.raises(EnvironmentRefused, match="staging"):
        current()


def test_secrets_do_not_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YC_PSEUDONYM_KEY", "a-secret-that-must-not-show-0123456789")
    settings = Settings()
    assert "a-secret" not in repr(settings) and "a-secret" not in str(settings.model_dump())


def test_references_parse_into_typed_values() -> None:
    ref = AssetRef.parse("safe/residents")
    assert ref == AssetRef(Layer.SAFE, "residents") and str(ref) == "safe/residents"
    assert ref.key == dg.AssetKey(["safe", "residents"])
    column = ColumnRef.parse("product/claims_verification.visit_month")
    assert column.asset.layer is Layer.PRODUCT and column.name == "visit_month"
    assert str(column) == "product/claims_verification.visit_month"


@pytest.mark.parametrize("text", ["safe", "bogus/residents", "safe/a/b", "/residents", "safe/"])
def test_malformed_references_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="reference"):
        AssetRef.parse(text)


def test_keys_follow_the_layers() -> None:
    class Dataset:
        id, bureau = "residents", "population"

    assert raw_key(Dataset()) == dg.AssetKey(["raw", "population", "residents"])
    assert safe_key(Dataset()) == dg.AssetKey(["safe", "residents"])


def test_an_empty_variable_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("YC_INBOX", "YC_AUDIT_SIGNING_KEY", "YC_PSEUDONYM_KEY", "SUDO_UID"):
        monkeypatch.setenv(name, "")
    settings = Settings()
    assert (settings.inbox, settings.audit_signing_key) == (None, None)
    assert (settings.pseudonym_key, settings.sudo_uid) == (None, None)


def test_a_bad_variable_is_named_without_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YC_CODE_SERVER_PORT", "not-a-port-7f3a")
    with pytest.raises(SettingsError, match="code_server_port") as refused:
        Settings.read()
    assert "7f3a" not in str(refused.value)
