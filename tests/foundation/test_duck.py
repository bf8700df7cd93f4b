"""A step's DuckDB connection is capped in memory and spills into a private folder of its own
under YC_HOME (never the working directory), removed when the connection closes."""

import stat
from pathlib import Path

import pytest

from ycpipelines.foundation.lake import duck
from ycpipelines.foundation.settings import Settings


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
