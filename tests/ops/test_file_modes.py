"""文件权限: every file the platform writes is 0600 and every folder 0700, whoever started it and
whatever umask it inherited; another local account reads no raw row and no key. The attacks run
as uid 65534 against a YC_HOME whose parent anyone may traverse (as /var/lib is)."""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ycpipelines.foundation.settings import PROJECT_ROOT
from ycpipelines.ops.serve import Services

from helpers import as_nobody

LOOSE_UMASK = 0o022  # a distribution's default: files 0644, folders 0755
ROOT_ONLY = "reading as another account needs root to switch to it"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def world() -> Iterator[Path]:
    """A folder every account may traverse and list, like /var/lib or a home's parent."""
    folder = Path(tempfile.mkdtemp(prefix="ycp-modes-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def ycp_process(cwd: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    """`ycp …` as its own process, started with a loose umask, in `cwd` (where `.env` lives)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YC_", "DAGSTER_"))}
    env.update(YC_HOME=str(home), PYTHONPATH=str(PROJECT_ROOT))
    line = [sys.executable, "-c", "from ycpipelines.cli import main; main()", *args]
    done = subprocess.run(
        line, cwd=cwd, env=env, umask=LOOSE_UMASK, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def assert_refused(*paths: Path) -> None:
    for path in paths:
        attempt = as_nobody("cat", str(path)) if path.is_file() else as_nobody("ls", str(path))
        assert attempt.returncode != 0, f"another account read {path}"
        assert "Permission denied" in attempt.stderr, attempt.stderr


def loose_entries(home: Path) -> list[str]:
    """Entries under `home` granting group/other any bit, apart from the zones' own sealing
    (zone root and YC_HOME 0711, a consumer's tree 0700/0600: tests/ops/test_zones.py)."""
    zone = home / "zone"
    found = []
    for path in [home, *home.rglob("*")]:
        allowed = 0o011 if path in (home, zone) else 0
        if zone in path.parents or path.is_symlink():
            continue
        if mode(path) & 0o077 & ~allowed:
            found.append(f"{oct(mode(path))} {path.relative_to(home)}")
    return found


def test_the_demo_lineage_writes_only_private_files(world: Path) -> None:
    """`make demo`'s lineage, small, in a fresh home: sources, `.env`, registry, lake, Dagster
    storage, spawned ingest workers and the publish runs."""
    home, project = world / "yc", world / "project"
    project.mkdir(mode=0o755)
    ycp_process(project, home, "demo", "run", "--rows", "1200", "--days", "1")
    raw = sorted((home / "lake" / "raw").rglob("data.parquet"))
    assert raw, "the demo collected nothing"
    assert any(p.is_file() for p in (home / "zone").rglob("*")), "the demo published nothing"
    if os.geteuid() == 0:
        assert_refused(
            home,
            raw[0],
            home / "registry.db",
            project / ".env",
            home / "dagster" / "history" / "runs.db",
            home / "sources" / "health.sqlite",
        )
    assert loose_entries(home) == []
    assert mode(project / ".env") == 0o600
    assert mode(home) == mode(home / "zone") == 0o711, "consumers pass through to their zone"
    if os.geteuid() != 0:
        pytest.skip(ROOT_ONLY)


def made_before(home: Path, project: Path) -> list[Path]:
    """A home as the platform left it before this rule: folders 0755, files 0644."""
    files = [
        home / "lake" / "raw" / "health" / "residents" / "data.parquet",
        home / "registry.db",
        home / "dagster" / "history" / "runs.db",
        project / ".env",
    ]
    for path in files:
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        path.write_text("YC_PSEUDONYM_KEY=" + "k" * 64 + "\n")
        path.chmod(0o644)
    (home / "zone" / "pharma_a").mkdir(parents=True)
    (home / "zone").chmod(0o711)
    (home / "zone" / "pharma_a").chmod(0o700)
    for folder in (home, project, *[p for p in home.rglob("*") if p.is_dir()]):
        if "zone" not in folder.parts:
            folder.chmod(0o755)
    return files


def test_a_home_made_before_is_tightened_once_at_start(world: Path) -> None:
    home, project = world / "yc", world / "project"
    files = made_before(home, project)
    first = ycp_process(project, home, "demo", "--help")
    if os.geteuid() == 0:
        assert_refused(*files)
    assert "files and folders private" in first.stderr
    assert loose_entries(home) == []
    assert [mode(p) for p in files] == [0o600] * len(files)
    assert (mode(home / "zone"), mode(home / "zone" / "pharma_a")) == (0o711, 0o700)
    again = ycp_process(project, home, "demo", "--help")
    assert "private" not in again.stderr, "a tightened home is not walked again"
    if os.geteuid() != 0:
        pytest.skip(ROOT_ONLY)


def test_served_processes_write_private_files(tmp_path: Path) -> None:
    """`ycp serve`'s code server, webserver and daemon (and so their runs) write 0600 files,
    even when the serving process itself had a loose umask."""
    written = tmp_path / "written"
    services = Services(url="http://127.0.0.1:0", logs=tmp_path, env=dict(os.environ))
    saved = os.umask(LOOSE_UMASK)
    try:
        services.start("probe", [sys.executable, "-c", f"open({str(written)!r}, 'w')"])
        services.processes["probe"].wait(timeout=60)
    finally:
        os.umask(saved)
    assert mode(written) == 0o600


@pytest.mark.parametrize(("target", "program"), [("dev", "ycp"), ("demo", "ycp")])
def test_make_targets_run_under_a_private_umask(tmp_path: Path, target: str, program: str) -> None:
    """`make dev` and `make demo` start `ycp` (`ycp dev` execs `dagster dev`, whose webserver and
    daemon write DAGSTER_HOME without loading the code location, keeping the umask). A stand-in
    program records its umask."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    stand_in = venv / "bin" / program
    stand_in.write_text('#!/bin/sh\numask > "$UMASK_SEEN"\n')
    stand_in.chmod(0o755)
    (venv / ".installed").touch()  # newer than pyproject.toml: nothing to install
    seen = tmp_path / "umask"
    env = dict(os.environ, UMASK_SEEN=str(seen), DAGSTER_HOME=str(tmp_path / "dagster"))
    done = subprocess.run(
        ["make", "-s", "-C", str(PROJECT_ROOT), target, f"VENV={venv}"],
        env=env,
        umask=LOOSE_UMASK,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert seen.read_text().strip() == "0077"


@pytest.mark.parametrize("existing", [False, True])
def test_the_demo_key_is_written_0600_whatever_the_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bool
) -> None:
    """`.env` is created 0600, and an existing world-readable `.env` is made 0600, even when the
    caller's umask is loose (`ensure_demo_key` called without `ycp`'s start)."""
    from ycpipelines.cli import ensure_demo_key

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YC_PSEUDONYM_KEY", "")  # restored after the key ensure_demo_key sets
    monkeypatch.delenv("YC_PSEUDONYM_KEY")
    if existing:
        (tmp_path / ".env").write_text("YC_ENV=dev\n")
        (tmp_path / ".env").chmod(0o644)
    saved = os.umask(LOOSE_UMASK)
    try:
        ensure_demo_key()
    finally:
        os.umask(saved)
    assert mode(tmp_path / ".env") == 0o600
    assert "YC_PSEUDONYM_KEY=" in (tmp_path / ".env").read_text()
