"""A run whose process dies is failed, not left STARTED, and run again once (embedded instance,
the real daemon): the code server that launched it notices its child is gone."""

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
from dagster._core.events import DagsterEventType
from dagster._core.storage.tags import PARENT_RUN_ID_TAG
from dagster_graphql.client.query import LAUNCH_PIPELINE_EXECUTION_MUTATION
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

from ycpipelines.foundation.settings import PROJECT_ROOT

BUREAU, DAY = "population", "2025-06-30"
PATIENCE = 400  # seconds: a busy two-core machine


def launch(instance: dg.DagsterInstance) -> str:
    """One ingest run of a bureau × day, queued as the UI would queue it."""
    tags = {"dagster/partition": f"{BUREAU}|{DAY}"}
    tags |= {"dagster/partition/bureau": BUREAU, "dagster/partition/date": DAY}
    params = {
        "selector": {
            "repositoryLocationName": "ycpipelines",
            "repositoryName": "__repository__",
            "jobName": "ingest_residents",
        },
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
    }
    workspace = str(PROJECT_ROOT / "workspace.yaml")
    with define_out_of_process_context(workspace, None, instance) as context:
        result = execute_dagster_graphql(
            context, LAUNCH_PIPELINE_EXECUTION_MUTATION, {"executionParams": params}
        )
    launched = result.data["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def wait(
    what: str, found: Callable[[], object], daemon: subprocess.Popen, step: float = 0.5
) -> object:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        assert daemon.poll() is None, "the daemon stopped"
        if value := found():
            return value
        time.sleep(step)
    raise AssertionError(f"waited {PATIENCE}s for {what}")


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The run worker's pid, from its engine event, once the run is STARTED."""
    if instance.get_run_by_id(run_id).status != dg.DagsterRunStatus.STARTED:
        return None
    events = instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)
    started = [re.search(r"Started process for run \(pid: (\d+)\)", e.message) for e in events]
    return next((int(m[1]) for m in started if m), None)


def descendants(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        children += [int(c) for c in task.read_text().split()]
    return [grand for child in children for grand in (child, *descendants(child))]


def kill_tree(pid: int) -> None:
    """SIGKILL a stopped process and everything it started (its step processes), no clean-up."""
    for process in [*descendants(pid), pid]:
        with contextlib.suppress(ProcessLookupError):  # ended by itself meanwhile
            os.kill(process, signal.SIGKILL)


def test_a_run_whose_process_died_fails_and_is_retried_once(
    instance: dg.DagsterInstance, daemon: subprocess.Popen
) -> None:
    run_id = launch(instance)
    pid = wait("the run to start", lambda: worker_pid(instance, run_id), daemon, step=0.05)
    os.kill(pid, signal.SIGSTOP)  # frozen: nothing more is started while its tree is read
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED, "killed mid-run"
    kill_tree(pid)

    def retries() -> list[dg.DagsterRun]:
        return instance.get_runs(filters=dg.RunsFilter(tags={PARENT_RUN_ID_TAG: run_id}))

    wait("the dead run to fail", lambda: instance.get_run_by_id(run_id).is_finished, daemon)
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
    (retry,) = wait("its retry", retries, daemon)
    assert retry.tags["dagster/partition/bureau"] == BUREAU  # the per-bureau limit holds
    assert retry.tags["dagster/max_runtime"] == str(6 * 3600)  # the ingest job's own
    wait("the retry to finish", lambda: instance.get_run_by_id(retry.run_id).is_finished, daemon)
    assert instance.get_run_by_id(retry.run_id).status == dg.DagsterRunStatus.SUCCESS
    assert len(retries()) == 1
    partition = dg.RunsFilter(tags={"dagster/partition": f"{BUREAU}|{DAY}"})
    assert instance.get_runs_count(partition) == 2
