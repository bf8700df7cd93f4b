"""The real Dagster daemon on the module's embedded instance, for tests of what it runs."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ycpipelines.foundation.settings import PROJECT_ROOT


@pytest.fixture
def daemon(yc_home: Path, sources: dict) -> Iterator[subprocess.Popen]:
    """`dagster-daemon run` on the project's workspace, its log in `$YC_HOME/daemon.log`;
    stopped with its process group when the test ends."""
    with (yc_home / "daemon.log").open("w") as log:
        process = subprocess.Popen(
            [Path(sys.executable).parent / "dagster-daemon", "run", "-w", "workspace.yaml"],
            cwd=PROJECT_ROOT,
            env=dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
