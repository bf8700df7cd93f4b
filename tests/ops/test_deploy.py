"""The path past one machine, checked as far as this machine allows: the YAML shipped in deploy/
lints clean, the instance and workspace files pass Dagster's own schemas, the Helm values pass
their schema and agree with the instance's run policy, the run launcher config passes
dagster-k8s's config type, and the Dockerfile copies what exists and runs what loads."""

import copy
import importlib
import json
import re
import shlex
import tomllib
import uuid
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import jsonschema
import kubernetes
import pytest
import yaml
from dagster._config import process_config
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.executor.init import InitExecutorContext
from dagster._core.instance.config import dagster_instance_config
from dagster._core.workspace.config_schema import ensure_workspace_config
from dagster_k8s import K8sRunLauncher
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import construct_dagster_k8s_job
from yamllint import linter
from yamllint.config import YamlLintConfig

from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import QUIET
from ycpipelines.foundation.partitions import BUREAU_TAG
from ycpipelines.foundation.settings import PROD_HOME, PROJECT_ROOT, Settings
from ycpipelines.jobs import dataset_job_name
from ycpipelines.ops.executor import (
    K8S_STEPS,
    ExecutorConfigError,
    checked_k8s_config,
    k8s_executor,
    step_executor,
)

DEPLOY = PROJECT_ROOT / "deploy"
SHIPPED_YAML = [
    PROJECT_ROOT / "workspace.yaml",
    DEPLOY / "dagster.yaml",
    DEPLOY / "workspace.yaml",
    DEPLOY / "helm" / "values.yaml",
    DEPLOY / "k8s_executor.yaml",
]
LINT = YamlLintConfig(
    "extends: default\nrules:\n  line-length: {max: 100}\n  document-start: disable\n"
    "  comments: {min-spaces-from-content: 2}\n"
)


def helm_values() -> dict:
    return yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())


def test_the_shipped_yaml_lints_clean() -> None:
    problems = [
        f"{path.name}:{p.line}: {p.message}"
        for path in SHIPPED_YAML
        for p in linter.run(path.read_text(), LINT)
    ]
    assert problems == []


def test_instance_and_workspace_pass_dagsters_schemas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "HOST": "db",
        "PORT": "5432",
        "USER": "u",
        "PASSWORD": "",
        "DB": "d",
    }.items():
        monkeypatch.setenv(f"DAGSTER_PG_{name}", value)
    monkeypatch.setenv("YC_CODE_SERVER_HOST", "ycpipelines")
    monkeypatch.setenv("YC_CODE_SERVER_PORT", "4000")
    (tmp_path / "dagster.yaml").write_text((DEPLOY / "dagster.yaml").read_text())
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["run_retries"] == {
        "enabled": True,
        "max_retries": 1,
        "retry_on_asset_or_op_failure": False,
    }
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    ensure_workspace_config(workspace, str(DEPLOY / "workspace.yaml"))
    [location] = workspace["load_from"]
    assert location["grpc_server"]["location_name"] == "ycpipelines"


def test_helm_values_pass_their_schema_and_match_the_instance_policy() -> None:
    schema = json.loads((DEPLOY / "helm" / "values.schema.json").read_text())
    values = helm_values()
    jsonschema.validate(values, schema)
    misspelt = copy.deepcopy(values)
    misspelt["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"][
        "tagConcurencyLimits"
    ] = []
    with pytest.raises(jsonschema.ValidationError, match="tagConcurencyLimits"):
        jsonschema.validate(misspelt, schema)

    instance = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    # the same per-bureau limits: a one-day run's partition tag, a backfill range run's bureau
    helm_limits = [(t["key"], t["value"]) for t in queued["tagConcurrencyLimits"]]
    local = instance["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert helm_limits == [(t["key"], t["value"]) for t in local]
    assert [key for key, _ in helm_limits] == ["dagster/partition/bureau", BUREAU_TAG]
    retries = values["dagsterDaemon"]["runRetries"]
    assert (
        retries["retryOnAssetOrOpFailure"]
        is instance["run_retries"]["retry_on_asset_or_op_failure"]
    )
    [deployment] = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    module = importlib.import_module(args[args.index("--module-name") + 1])
    assert isinstance(getattr(module, args[args.index("--attribute") + 1]), dg.Definitions)


def launcher_config() -> dict:
    """The run launcher's config as the chart renders it from the values: in snake case, plus
    the fields the chart fills in itself (instance config map, DAGSTER_HOME, password secret,
    service account)."""
    given = helm_values()["runLauncher"]["config"]["k8sRunLauncher"]
    return {
        "job_namespace": given["jobNamespace"],
        "env_secrets": [s["name"] for s in given["envSecrets"]],
        "env_config_maps": [c["name"] for c in given["envConfigMaps"]],
        "resources": given["resources"],
        "volumes": given["volumes"],
        "volume_mounts": given["volumeMounts"],
        "run_k8s_config": {
            "pod_spec_config": {
                "security_context": {
                    re.sub(r"([A-Z])", r"_\1", k).lower(): v
                    for k, v in given["runK8sConfig"]["podSpecConfig"]["securityContext"].items()
                }
            }
        },
        "instance_config_map": "ycp-dagster-instance",
        "dagster_home": "/opt/dagster/dagster_home",
        "postgres_password_secret": "ycp-postgresql",
        "service_account_name": "ycp-dagster",
    }


def test_the_run_launcher_config_passes_dagster_k8s() -> None:
    launcher = helm_values()["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    processed = process_config(K8sRunLauncher.config_type(), launcher_config())
    assert processed.success, processed.errors
    [zone] = launcher["config"]["k8sRunLauncher"]["volumeMounts"]
    assert zone["mountPath"] == f"{PROD_HOME}/zone", "run pods publish where prod keeps zones"


def test_the_dockerfile_copies_what_exists_and_installs_the_pinned_pair() -> None:
    lines = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    copies = [shlex.split(line)[1:-1] for line in lines if line.startswith("COPY ")]
    assert copies, "the image copies the project"
    for sources in copies:
        for source in sources:
            assert (PROJECT_ROOT / source).exists(), source
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    [installed] = re.findall(r'"\.\[([\w,]+)\]"', (DEPLOY / "Dockerfile").read_text())
    assert installed.split(",") == ["k8s", "s3"], "run pods, and the lake on object storage"
    [(minor, patch)] = [
        re.fullmatch(r"dagster==1\.(\d+)\.(\d+)", r).groups()
        for r in project["dependencies"]
        if r.startswith("dagster==")
    ]
    assert f"dagster-k8s==0.{int(minor) + 16}.{patch}" in extras["k8s"]
    assert [r for r in extras["s3"] if r.startswith("s3fs==")] == [
        r for r in extras["dev"] if r.startswith("s3fs==")
    ], "the image's s3fs is the one the object-storage lake test ran"
    [cmd] = [line for line in lines if line.startswith("CMD ")]
    command = json.loads(cmd.removeprefix("CMD "))
    module = importlib.import_module(command[command.index("-m") + 1])
    assert isinstance(getattr(module, command[command.index("-a") + 1]), dg.Definitions)


def step_config() -> dict:
    return yaml.safe_load((DEPLOY / "k8s_executor.yaml").read_text())


def test_the_step_executor_config_passes_dagster_k8s_and_shares_the_launchers_env() -> None:
    config = checked_k8s_config(step_config())
    launcher = launcher_config()
    for key in ("job_namespace", "env_secrets", "env_config_maps"):
        assert config[key] == launcher[key], key
    [deployment] = helm_values()["dagster-user-deployments"]["deployments"]
    assert config["image_pull_policy"] == deployment["image"]["pullPolicy"]


def edited(change: Callable[[dict], None]) -> dict:
    config = copy.deepcopy(step_config())
    change(config)
    return config


BAD_STEP_CONFIGS = {
    "misspelt key": (lambda c: c.update(job_namepsace="ycp-runs"), '"job_namepsace"'),
    "misspelt requests": (
        lambda c: c["resources"].update(request=c["resources"].pop("requests")),
        '"request"',
    ),
    "negative cpu": (
        lambda c: c["resources"]["requests"].update(cpu="-500m"),
        "requests.cpu must be positive",
    ),
    "zero memory limit": (
        lambda c: c["resources"]["limits"].update(memory="0"),
        "limits.memory must be positive",
    ),
    "not a quantity": (
        lambda c: c["resources"]["requests"].update(memory="lots"),
        "requests.memory is not a quantity",
    ),
    "request above its limit": (
        lambda c: c["resources"]["requests"].update(memory="8Gi"),
        "requests.memory exceeds its limit",
    ),
    "wrong type": (lambda c: c.update(max_concurrent="four"), "max_concurrent"),
}


@pytest.mark.parametrize("case", BAD_STEP_CONFIGS)
def test_a_bad_step_executor_config_is_refused(case: str) -> None:
    change, problem = BAD_STEP_CONFIGS[case]
    with pytest.raises(ExecutorConfigError, match=re.escape(problem)):
        k8s_executor(edited(change))


def test_the_code_location_refuses_to_load_with_a_bad_step_executor_config(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "k8s_executor.yaml"
    bad.write_text(yaml.safe_dump(edited(BAD_STEP_CONFIGS["negative cpu"][0])))
    with pytest.raises(ExecutorConfigError, match="must be positive"):
        build_definitions(settings=Settings(executor="k8s", executor_config=bad))
    assert step_executor(Settings(executor_config=bad)) is dg.in_process_executor, (
        "read only when selected"
    )


KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""


def step_pod(kubeconfig: Path) -> kubernetes.client.V1Job:
    """The Kubernetes job dagster-k8s would create for one step (no cluster: nothing is sent),
    from the run launcher of the Helm values and the shipped step executor config."""
    local = {"load_incluster_config": False, "kubeconfig_file": str(kubeconfig)}
    launched = process_config(K8sRunLauncher.config_type(), {**launcher_config(), **local})
    launcher = K8sRunLauncher(**launched.value)
    steps = k8s_executor(step_config())
    job = dg.GraphDefinition("step").to_job(executor_def=steps)
    config = dg.validate_run_config(job)["execution"][K8S_STEPS]
    executor = steps.executor_creation_fn(
        InitExecutorContext(
            job=InMemoryJob(job),
            executor_def=steps,
            executor_config={**config, **local},
            instance=dg.DagsterInstance.ephemeral(),
        )
    )
    run = dg.DagsterRun(job_name="ingest_outpatient_visits", run_id=str(uuid.uuid4()))
    context = K8sContainerContext.create_for_run(run, launcher, include_run_tags=False).merge(
        executor._step_handler._executor_container_context  # what each step pod starts from
    )
    assert context.namespace == "ycp-runs"
    return construct_dagster_k8s_job(
        job_config=context.get_k8s_job_config("ycpipelines:test", launcher),
        args=["dagster", "api", "execute_step"],
        job_name="dagster-step-test",
        pod_name="dagster-step-test",
        component="step_worker",
        user_defined_k8s_config=context.run_k8s_config,
    )


def test_a_step_pod_gets_the_step_size_and_the_run_launchers_environment(
    tmp_path: Path,
) -> None:
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    pod = step_pod(tmp_path / "kubeconfig").spec.template.spec
    [container] = pod.containers
    assert container.resources.to_dict() == {**step_config()["resources"], "claims": None}
    assert container.image_pull_policy == "IfNotPresent"
    assert [(e.secret_ref or e.config_map_ref).name for e in container.env_from] == [
        "ycp-config",
        "ycp-secrets",
    ]
    assert [(m.name, m.mount_path) for m in container.volume_mounts] == [
        ("zone", f"{PROD_HOME}/zone")
    ]
    assert [v.name for v in pod.volumes] == ["zone"]
    assert (pod.security_context.run_as_non_root, pod.security_context.run_as_user) == (
        True,
        10001,
    )


def test_with_k8s_selected_every_job_runs_its_steps_in_pods_sized_by_the_shipped_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each job's executor and its run config pass dagster-k8s's schema with the shipped step
    config; `tests/ops/test_object_lake.py` runs the demo lineage on these job definitions."""
    monkeypatch.setenv("YC_PSEUDONYM_KEY", "a-key-the-resources-read-at-run-time")
    catalog = load_catalog()
    jobs = build_definitions(catalog, Settings(executor="k8s")).resolve_all_job_defs()
    assert {dataset_job_name(d) for d in catalog.datasets} | {"build_products"} <= {
        job.name for job in jobs
    }
    for job in jobs:
        assert job.executor_def.name == K8S_STEPS, job.name
        execution = dg.validate_run_config(job, QUIET)["execution"][K8S_STEPS]
        for key, value in step_config().items():
            assert execution[key] == value, (job.name, key)

    default = build_definitions(catalog, Settings(executor="default"))
    assert {job.executor_def for job in default.resolve_all_job_defs()} == {
        dg.in_process_executor
    }, "one machine runs a run's steps in its own process"
