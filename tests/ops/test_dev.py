"""`make dev` (`ycp dev`) opens the UI on the instance the demo wrote, not a temporary one."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from ycpipelines.ops.serve import free_port, graphql
from ycpipelines.registry.schema import head_revision, revisions

RUNS = "{ runsOrError { ... on Runs { results { runId jobName } } } }"


@dg.asset
def a_recorded_asset() -> int:
    return 1


def runs_seen(url: str, deadline: float) -> list[str]:
    """The run ids the UI lists, once it answers."""
    while time.monotonic() < deadline:
        try:
            return [r["runId"] for r in graphql(url, RUNS)["runsOrError"]["results"]]
        except OSError:
            time.sleep(1)
    raise AssertionError(f"the UI at {url} did not answer")


def test_the_ui_shows_the_runs_of_the_platforms_instance(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["YC_HOME"] = str(tmp_path / "home")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ui = subprocess.Popen(
        [sys.executable, "-m", "ycpipelines.cli", "dev", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert runs_seen(url, time.monotonic() + 240) == []
        registry = f"sqlite:///{tmp_path / 'home' / 'registry.db'}"
        assert revisions(registry)[0] == head_revision(), "migrated before the code loads twice"
        instance_home = tmp_path / "home" / "dagster"
        with dg.DagsterInstance.from_config(str(instance_home)) as instance:
            run_id = dg.materialize([a_recorded_asset], instance=instance).run_id
        assert runs_seen(url, time.monotonic() + 60) == [run_id]
    finally:
        stop(ui)


def stop(ui: subprocess.Popen) -> None:
    """Stop `dagster dev` as Ctrl-C does, then whatever of its group outlived it."""
    os.killpg(ui.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        ui.wait(timeout=60)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(ui.pid, signal.SIGKILL)
    ui.wait(timeout=60)
