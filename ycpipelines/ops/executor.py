"""The step executor (步骤执行器): on one machine every step of a run in the run's own process
(a partition's collect → govern → de-identify loads the code location once, not once per
step); with `YC_EXECUTOR=k8s`, one Kubernetes pod per step (dagster-k8s `k8s_job_executor`),
configured by the file `YC_EXECUTOR_CONFIG` names (`deploy/k8s_executor.yaml`). dagster-k8s is
imported only then."""

from decimal import Decimal
from pathlib import Path

import dagster as dg
import yaml
from dagster._config import process_config

from ycpipelines.foundation.settings import Settings

K8S_STEPS = "k8s_steps"


class ExecutorConfigError(ValueError):
    """The step executor's configuration does not pass dagster-k8s's schema or names a size
    that is not positive."""


def quantity_problems(resources: dict) -> list[str]:
    """Requests and limits that are not positive Kubernetes quantities, or a request above its
    limit."""
    from kubernetes.utils import parse_quantity

    problems, parsed = [], {}
    for kind in ("requests", "limits"):
        for name, value in (resources.get(kind) or {}).items():
            try:
                parsed[kind, name] = parse_quantity(value)
            except ValueError:
                problems.append(f"resources.{kind}.{name} is not a quantity")
                continue
            if parsed[kind, name] <= Decimal(0):
                problems.append(f"resources.{kind}.{name} must be positive")
    for (kind, name), request in parsed.items():
        limit = parsed.get(("limits", name))
        if kind == "requests" and limit is not None and limit < request:
            problems.append(f"resources.requests.{name} exceeds its limit")
    return problems


def checked_k8s_config(config: dict) -> dict:
    """`config` checked against `k8s_job_executor`'s own config schema and for positive sizes."""
    from dagster_k8s import k8s_job_executor

    processed = process_config(k8s_job_executor.get_config_field().config_type, config)
    problems = [e.message for e in processed.errors or []]
    if processed.success:
        problems += quantity_problems(config.get("resources") or {})
    if problems:
        raise ExecutorConfigError("k8s step executor config: " + "; ".join(problems))
    return config


def k8s_executor(config: dict) -> dg.ExecutorDefinition:
    """`k8s_job_executor` bound to `config`, once checked."""
    from dagster_k8s import k8s_job_executor

    return k8s_job_executor.configured(checked_k8s_config(config), name=K8S_STEPS)


def step_executor(settings: Settings) -> dg.ExecutorDefinition:
    """The executor the settings select: in the run's process, or a pod per step."""
    if settings.executor != "k8s":
        return dg.in_process_executor
    return k8s_executor(load_config(settings.executor_config))


def load_config(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
