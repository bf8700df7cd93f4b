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
from pathlib import Path

import dagster as dg
import jsonschema
import pytest
import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config
from dagster._core.workspace.config_schema import ensure_workspace_config
from dagster_k8s import K8sRunLauncher
from yamllint import linter
from yamllint.config import YamlLintConfig

from ycpipelines.foundation.settings import PROD_HOME, PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
SHIPPED_YAML = [
    PROJECT_ROOT / "workspace.yaml",
    DEPLOY / "dagster.yaml",
    DEPLOY / "workspace.yaml",
    DEPLOY / "helm" / "values.yaml",
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
    [helm_limit] = queued["tagConcurrencyLimits"]
    [local_limit] = instance["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert (helm_limit["key"], helm_limit["value"]) == (local_limit["key"], local_limit["value"])
    retries = values["dagsterDaemon"]["runRetries"]
    assert (
        retries["retryOnAssetOrOpFailure"]
        is instance["run_retries"]["retry_on_asset_or_op_failure"]
    )
    [deployment] = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    module = importlib.import_module(args[args.index("--module-name") + 1])
    assert isinstance(getattr(module, args[args.index("--attribute") + 1]), dg.Definitions)


def test_the_run_launcher_config_passes_dagster_k8s() -> None:
    launcher = helm_values()["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    given = launcher["config"]["k8sRunLauncher"]
    # The chart renders these values into the launcher's config, in snake case, plus the
    # fields it fills in itself (instance config map, DAGSTER_HOME, password secret).
    config = {
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
    }
    processed = process_config(K8sRunLauncher.config_type(), config)
    assert processed.success, processed.errors
    [zone] = given["volumeMounts"]
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
