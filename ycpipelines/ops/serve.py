"""`ycp serve`: the production shape on one machine. A code server holds the code location;
`dagster-webserver` and `dagster-daemon` load it from there, on the PostgreSQL instance of
`deploy/dagster.yaml`; the registry is its own database on the same PostgreSQL server."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from ycpipelines.foundation.environment import is_prod
from ycpipelines.foundation.files import PRIVATE_UMASK
from ycpipelines.foundation.settings import PROJECT_ROOT, Settings
from ycpipelines.registry.schema import upgrade

WORKSPACE = PROJECT_ROOT / "deploy" / "workspace.yaml"
INSTANCE = PROJECT_ROOT / "deploy" / "dagster.yaml"
REGISTRY_DB = "ycp_registry"
STOP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_server_url(env: Mapping[str, str]) -> str:
    """The PostgreSQL server of the Dagster instance, from the same variables it reads."""
    password = env.get("DAGSTER_PG_PASSWORD") or ""
    auth = env.get("DAGSTER_PG_USER", "postgres") + (f":{password}" if password else "")
    host = env.get("DAGSTER_PG_HOST", "127.0.0.1")
    return f"postgresql+psycopg2://{auth}@{host}:{env.get('DAGSTER_PG_PORT', '5432')}"


def ensure_database(url: str) -> None:
    """Create the database `url` names on its server when it does not exist yet."""
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if found.first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def prepare_instance() -> dict[str, str]:
    """The environment of the served processes: a DAGSTER_HOME holding deploy/dagster.yaml (in
    prod the one settled; in dev `$YC_HOME/serve/dagster`, beside the embedded instance), the
    instance and registry databases present and the registry migrated, on the same PostgreSQL
    server."""
    settings = Settings()
    dagster_home = settings.dagster_home if is_prod() else settings.home / "serve" / "dagster"
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        dagster_home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(INSTANCE, config)
    if "postgres" not in config.read_text():
        raise RuntimeError(f"{config} is not a PostgreSQL instance; ycp serve runs on one")
    env = settings.child_environment(DAGSTER_HOME=str(dagster_home))
    env.setdefault("DAGSTER_PG_DB", "ycp_dagster")
    for name, default in {"HOST": "127.0.0.1", "PORT": "5432", "USER": "postgres"}.items():
        env.setdefault(f"DAGSTER_PG_{name}", default)
    env.setdefault("DAGSTER_PG_PASSWORD", "")
    server = pg_server_url(env)
    env.setdefault("YC_REGISTRY_URL", f"{server}/{REGISTRY_DB}")
    if not env["YC_REGISTRY_URL"].startswith("postgresql"):
        raise RuntimeError("ycp serve keeps the registry in PostgreSQL; YC_REGISTRY_URL is not")
    ensure_database(f"{server}/{env['DAGSTER_PG_DB']}")
    ensure_database(env["YC_REGISTRY_URL"])
    upgrade(env["YC_REGISTRY_URL"])
    return env


@dataclass
class Services:
    """The served processes and where to reach them."""

    url: str
    logs: Path
    env: dict[str, str]
    console_url: str | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, command: list[str]) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # stopped as a group, apart from its parent
            umask=PRIVATE_UMASK,  # and their runs write private files, whoever started `ycp`
        )

    def stop(self, name: str, sig: signal.Signals = signal.SIGTERM) -> None:
        process = self.processes.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def command(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def code_server(port: int) -> list[str]:
    return [
        command("dagster"),
        *("code-server", "start", "-m", "ycpipelines.definitions", "-a", "defs"),
        *("-h", "127.0.0.1", "-p", str(port), "--location-name", "ycpipelines"),
    ]


def prefix(read_only: bool) -> str:
    """The path the console serves a webserver under (and the webserver's own path prefix)."""
    return "/dagster-audit" if read_only else "/dagster"


def webserver(port: int, read_only: bool, workspace: Path = WORKSPACE) -> list[str]:
    """A webserver on loopback only (the Dagster UI has no login: operators and auditors reach
    it through the console's), under the path prefix the console serves it at."""
    line = [command("dagster-webserver"), "-w", str(workspace), "-h", "127.0.0.1"]
    line += ["-p", str(port), "--path-prefix", prefix(read_only)]
    return [*line, "--read-only"] if read_only else line


def setting_of(read_only: bool) -> str:
    """The console's setting (environment variable) naming a webserver's URL."""
    return "YC_DAGSTER_AUDIT_URL" if read_only else "YC_DAGSTER_URL"


def daemon() -> list[str]:
    return [command("dagster-daemon"), "run", "-w", str(WORKSPACE)]


def graphql(url: str, query: str, **variables: object) -> dict:
    """One query to the webserver's GraphQL API; its `data`, or an error naming what failed."""
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        payload = json.loads(answer.read())
    if payload.get("errors"):
        raise RuntimeError(f"GraphQL errors: {payload['errors']}")
    return payload["data"]


LOCATION_LOADED = (
    "{ workspaceOrError { ... on Workspace { locationEntries "
    "{ locationOrLoadError { __typename } } } } }"
)


def wait_until_up(services: Services, seconds: int = 300) -> None:
    """Until the webserver answers with the code location loaded."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name, process in services.processes.items():
            if process.poll() is not None:
                tail = (services.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")
        try:
            entries = graphql(services.url, LOCATION_LOADED)["workspaceOrError"]["locationEntries"]
            if entries and entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation":
                return
        except (OSError, KeyError, TypeError, RuntimeError):
            pass
        time.sleep(2)
    raise RuntimeError(f"the webserver at {services.url} did not load the code location")


def console(host: str, port: int) -> list[str]:
    """The web console (运营平台控制台) over the served registry; the one served process that
    may listen beyond loopback."""
    return [command("ycp"), "console", "--host", host, "--port", str(port)]


@contextmanager
def serve(
    logs: Path,
    host: str = "127.0.0.1",
    port: int = 3000,
    read_only: bool = False,
    console_port: int | None = None,
) -> Iterator[Services]:
    """Start the code server, webserver (on loopback, `port`) and (unless read-only, beside a
    served instance) the daemon and the console (on `host` and `console_port`, default
    YC_CONSOLE_PORT), told the webserver's URL; stop them all on leaving."""
    env = prepare_instance()
    env.update({"YC_CODE_SERVER_HOST": "127.0.0.1", "YC_CODE_SERVER_PORT": str(free_port())})
    logs.mkdir(parents=True, exist_ok=True)
    services = Services(url=f"http://127.0.0.1:{port}{prefix(read_only)}", logs=logs, env=env)
    env[setting_of(read_only)] = services.url
    try:
        services.start("code-server", code_server(int(env["YC_CODE_SERVER_PORT"])))
        services.start("webserver", webserver(port, read_only))
        if not read_only:  # one daemon per instance: the auditors' webserver runs without
            services.start("daemon", daemon())
            console_port = console_port or Settings().console_port
            services.start("console", console(host, console_port))
            services.console_url = f"http://{host}:{console_port}"
        wait_until_up(services)
        yield services
    finally:
        for name in list(services.processes):
            services.stop(name)
