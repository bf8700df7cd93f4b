"""Migrations run when asked (`ycp registry upgrade`, service start), never when a `Registry` is
constructed: a database behind the code is refused, saying what to run."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from ycpipelines.foundation.settings import PROJECT_ROOT
from ycpipelines.registry import Registry, RegistryError
from ycpipelines.registry.schema import head_revision, revisions

from helpers import server_database, ycp


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine runs within."""
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def ycp_process(url: str, cwd: Path, *args: str) -> subprocess.Popen:
    """`ycp …` in a process of its own, on the registry at `url`."""
    path = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, YC_REGISTRY_URL=url, PYTHONPATH=path)
    code = "from ycpipelines.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    return output


def test_a_fresh_database_is_refused_until_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with pytest.raises(RegistryError, match=r"run `ycp registry upgrade`") as refused:
        Registry(url)
    assert f"code needs {head_revision()}" in str(refused.value)
    assert revisions(url) == (None, head_revision())

    assert Registry.upgrade(url) == head_revision()
    registry = Registry(url)
    registry.audit("tester", "test.event", "n/1", {})
    assert registry.verify_audit().ok
    registry.engine.dispose()


def test_constructing_a_registry_runs_no_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    finished(ycp_process(url, tmp_path, "registry", "upgrade"))  # another process migrated it
    with statements() as seen:
        first, second = Registry(url), Registry(url)
    checks = [s for s in seen if "FROM alembic_version" in s]
    assert len(checks) == 1, "the revision is read once per database per process"
    assert not [s for s in seen if s.lstrip().upper().startswith(("CREATE", "ALTER", "DROP"))]
    for registry in (first, second):
        registry.engine.dispose()


def test_ycp_registry_upgrade_on_postgresql_is_idempotent_and_concurrent(tmp_path: Path) -> None:
    with server_database("postgresql") as url:
        status = ycp_process(url, tmp_path, "registry", "status")
        status.communicate(timeout=120)
        assert status.returncode != 0, "an empty registry is behind the code"

        together = [ycp_process(url, tmp_path, "registry", "upgrade") for _ in range(2)]
        outputs = [finished(process) for process in together]
        assert all(head_revision() in output for output in outputs)
        assert revisions(url) == (head_revision(), head_revision())

        again = finished(ycp_process(url, tmp_path, "registry", "upgrade"))
        assert f"registry schema is at {head_revision()}, the newest" in again
        assert f"current: {head_revision()}" in finished(
            ycp_process(url, tmp_path, "registry", "status")
        )
        registry = Registry(url)
        assert registry.audit_log() == []
        registry.engine.dispose()


def test_ycp_upgrades_the_embedded_registry_in_development(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YC_HOME", str(tmp_path))
    monkeypatch.delenv("YC_REGISTRY_URL", raising=False)
    monkeypatch.delenv("YC_ENV", raising=False)
    ycp("tickets", "list")
    assert revisions(f"sqlite:///{tmp_path / 'registry.db'}")[0] == head_revision()


def test_ordinary_commands_never_migrate_a_server_registry(tmp_path: Path) -> None:
    with server_database("postgresql") as url:
        listing = ycp_process(url, tmp_path, "egress", "list")
        output, _ = listing.communicate(timeout=120)
        assert listing.returncode == 1 and "Traceback" not in output, output
        assert "run `ycp registry upgrade`" in output
        loading = subprocess.run(
            [sys.executable, "-c", "import ycpipelines.definitions"],
            cwd=tmp_path,
            env=dict(os.environ, YC_REGISTRY_URL=url, PYTHONPATH=str(PROJECT_ROOT)),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert loading.returncode == 0, loading.stderr
        assert revisions(url) == (None, head_revision()), "only `ycp registry upgrade` migrates"


def test_an_unreachable_registry_is_a_clean_error(tmp_path: Path) -> None:
    url = "postgresql+psycopg2://postgres@127.0.0.1:1/nowhere"
    for args in (("egress", "list"), ("registry", "upgrade"), ("registry", "status")):
        process = ycp_process(url, tmp_path, *args)
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 1, output
        assert "Traceback" not in output and "cannot be used" in output, output
