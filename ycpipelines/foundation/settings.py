"""Settings (运行配置): the one object that reads the process environment.

Every `YC_*` variable (and `DAGSTER_HOME`, `SUDO_UID`) is a field here; nothing else in the
package reads `os.environ`. The edges (the CLI, the code location, the services) build one
`Settings` and pass it on; library objects take it as an argument and fall back to a fresh
read (`Settings()`) only when called without one, as scripts and tests do.
"""

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROD_HOME = Path("/var/lib/ycpipelines")


class SettingsError(ValueError):
    """An environment variable the settings cannot read; names the variable, not its value."""


class Settings(BaseSettings):
    """What the environment says; paths default under `home` (`YC_HOME`, `./.yc` in dev)."""

    model_config = SettingsConfigDict(
        env_prefix="YC_", extra="ignore", frozen=True, env_ignore_empty=True
    )

    env: str = "dev"  # dev | prod, checked by `environment.current`
    home_dir: Path | None = Field(None, validation_alias="YC_HOME")
    lake: str | None = None
    sources: str | None = None
    zone: str | None = None
    inbox: Path | None = None
    catalog: Path = PROJECT_ROOT / "assets"
    expectations: Path = PROJECT_ROOT / "expectations"
    registry_url: str | None = None
    audit_key: SecretStr | None = None
    audit_signing_key: Path | None = None
    audit_dir: Path | None = None
    pseudonym_key: SecretStr | None = None
    pseudonym_key_version: str = "v1"
    alert_webhook: str | None = None
    # the console (运营平台控制台): where it listens, its sessions, lockout and TOTP key
    console_host: str = "127.0.0.1"
    console_port: int = 8080
    console_idle_minutes: int = Field(15, gt=0)
    console_session_hours: int = Field(8, gt=0)
    console_lockout_failures: int = Field(5, gt=0)
    console_lockout_minutes: int = Field(15, gt=0)
    console_key: SecretStr | None = None  # encrypts TOTP secrets; dev: $YC_HOME/keys/console.key
    console_secure_cookies: bool = False  # true behind TLS
    # the Dagster webservers the console proxies (on loopback, with their path prefix); None:
    # the console answers 503 under /dagster/ (resp. /dagster-audit/)
    dagster_url: str | None = None  # read-write, for operators: http://127.0.0.1:3000/dagster
    dagster_audit_url: str | None = None  # read-only, for supervisors (auditors)
    code_server_host: str = "127.0.0.1"
    code_server_port: int | None = None
    dagster_home_dir: Path | None = Field(
        None, validation_alias=AliasChoices("DAGSTER_HOME", "YC_DAGSTER_HOME")
    )
    sudo_uid: int | None = Field(None, validation_alias="SUDO_UID")
    # how a run executes its steps: all in the run's process (one machine; the code location
    # is loaded once per run), or one Kubernetes pod per step (dagster-k8s k8s_job_executor)
    # configured by `executor_config`
    executor: Literal["default", "k8s"] = "default"
    executor_config: Path = PROJECT_ROOT / "deploy" / "k8s_executor.yaml"
    # what one step's DuckDB may hold in memory before it spills to `duckdb_spill` (a
    # partition of millions of rows stays within a run pod's memory)
    duckdb_memory_limit: str = "1GB"

    @property
    def home(self) -> Path:
        """Root of the platform's own files: `YC_HOME`, else `./.yc` (dev) or a system path."""
        if self.home_dir is not None:
            return self.home_dir.absolute()
        return PROD_HOME if self.env == "prod" else Path(".yc").absolute()

    @property
    def lake_root(self) -> str:
        return self.lake or str(self.home / "lake")

    @property
    def sources_root(self) -> str:
        return self.sources or str(self.home / "sources")

    @property
    def zone_root(self) -> str:
        return self.zone or str(self.home / "zone")

    @property
    def registry(self) -> str:
        return self.registry_url or f"sqlite:///{self.home / 'registry.db'}"

    @property
    def audit_folder(self) -> Path:
        return (self.audit_dir or self.home / "audit").absolute()

    @property
    def duckdb_spill(self) -> Path:
        """Where DuckDB spills what exceeds its memory limit: inside the domain, private."""
        return self.home / "tmp" / "duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.dagster_home_dir or self.home / "dagster"

    @classmethod
    def read(cls) -> "Settings":
        """The settings, or a `SettingsError` naming each bad variable (never its value)."""
        try:
            return cls()
        except ValidationError as error:
            bad = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]
            raise SettingsError("invalid settings: " + "; ".join(bad)) from None

    @staticmethod
    def export(name: str, value: str) -> None:
        """Set a variable for this process and those it starts."""
        os.environ[name] = value

    @staticmethod
    def export_default(name: str, value: str) -> None:
        """Set a variable for this process and those it starts, unless it is set already
        (Dagster reads `DAGSTER_HOME`, Great Expectations `GX_ANALYTICS_ENABLED`)."""
        os.environ.setdefault(name, value)

    def child_environment(self, **overrides: str) -> dict[str, str]:
        """The whole process environment, for a process the platform starts, with overrides."""
        return {**os.environ, **overrides}

    @staticmethod
    def secret(name: str) -> str | None:
        """A variable the catalog names (a bureau's connection URL, `connection_env`)."""
        return os.environ.get(name) or None
