"""A step's DuckDB connection is capped in memory and spills into a private folder of its own
under YC_HOME (never the working directory), removed when the connection closes; another local
account reads nothing spilled there."""

import os
import stat
import tempfile
from pathlib import Path

import pytest

from ycpipelines.foundation.lake import duck
from ycpipelines.foundation.settings import Settings

from helpers import as_nobody


def test_a_sort_larger_than_the_cap_spills_privately_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(YC_HOME=tmp_path / "home", duckdb_memory_limit="256MB")
    with duck(settings) as con:
        limit, folder = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchone()
        spill = Path(folder)
        assert spill.parent == settings.duckdb_spill and limit.endswith("MiB")
        assert stat.S_IMODE(spill.stat().st_mode) == 0o700
        out = tmp_path / "home" / "sorted.parquet"
        con.execute(  # ~800 MB of strings sorted under a 256 MB cap, as a step writes them
            "COPY (SELECT md5(i::VARCHAR) || repeat('x', 60) AS v FROM range(8000000) r(i) "
            f"ORDER BY v) TO '{out}' (FORMAT parquet)"
        )
        assert con.execute(f"SELECT count(*) FROM '{out}'").fetchone() == (8_000_000,)
    assert not spill.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "home"], "nothing in the working directory"


def test_another_account_reads_nothing_a_connection_spilled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows offloaded under a loose umask, in a home whose parent anyone may traverse: the
    connection's folder (0700) refuses uid 65534 whatever the files' own modes."""
    if os.geteuid() != 0:
        pytest.skip("reading as another account needs root to switch to it")
    with tempfile.TemporaryDirectory(prefix="ycp-spill-") as world:
        Path(world).chmod(0o755)
        old = os.umask(0o022)
        try:
            settings = Settings(YC_HOME=Path(world) / "home", duckdb_memory_limit="64MB")
            with duck(settings) as con:
                con.execute(  # ~300 MB of rows kept while the connection lives, over its cap
                    "CREATE TEMP TABLE kept AS SELECT md5(i::VARCHAR) || repeat('x', 60) AS v "
                    "FROM range(3000000) r(i)"
                )
                spill = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
                spilled = [p for p in spill.iterdir() if p.stat().st_size > 1_000_000]
                assert spilled, "the rows over the cap went to the spill folder"
                for path in [spill, *spilled]:
                    attempt = as_nobody("ls" if path.is_dir() else "cat", str(path))
                    assert attempt.returncode != 0 and "Permission denied" in attempt.stderr
        finally:
            os.umask(old)
