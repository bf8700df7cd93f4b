"""The demo's console accounts (演示账户): one per role, labelled as demo accounts, with a fresh
password and TOTP secret each run; the registry refuses them with `YC_ENV=prod`."""

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

import pyotp

from ycpipelines.catalog import Catalog
from ycpipelines.demo.run import DEMO_ADMIN, DEMO_OPERATOR, DEMO_REVIEWER
from ycpipelines.foundation.files import private_opener
from ycpipelines.registry import Registry

DEMO_SUPERVISOR = "demo-supervisor"
DEMO_LAB = "demo-lab"
ACCOUNTS_FILE = "demo-accounts.json"


@dataclass(frozen=True)
class DemoAccount:
    """A demo account's sign-in: name, role, password and TOTP secret (None: no second factor)."""

    name: str
    role: str
    password: str
    totp_secret: str | None


def demo_roles(catalog: Catalog) -> dict[str, str]:
    """One account per role: the demo's admin, reviewer, operator, a supervisor, the joint
    lab's scenario review, the first bureau and each product's consumer."""
    roles = {DEMO_ADMIN: "admin", DEMO_REVIEWER: "reviewer", DEMO_OPERATOR: "operator"}
    roles[DEMO_SUPERVISOR] = "supervisor"
    roles[DEMO_LAB] = "lab"
    first = catalog.bureaus[0].id
    roles[f"demo-bureau-{first}"] = f"bureau:{first}"
    for consumer in sorted({p.consumer for p in catalog.products}):
        roles[f"demo-consumer-{consumer}"] = f"consumer:{consumer}"
    return roles


def demo_password() -> str:
    """A random password that meets the policy (upper, lower, digit, symbol; 20 characters)."""
    return f"Demo-{secrets.token_urlsafe(12)}-9a"


def console_accounts(registry: Registry, catalog: Catalog) -> list[DemoAccount]:
    """Give each demo role an account with fresh credentials, granted by the demo's admin."""
    made = []
    for name, role in demo_roles(catalog).items():
        if name != DEMO_ADMIN:
            registry.add_user(name, [role], DEMO_ADMIN, demo=True)
        secret = pyotp.random_base32() if registry.needs_totp(name) else None
        password = demo_password()
        registry.set_demo_credentials(name, password, secret, DEMO_ADMIN)
        made.append(DemoAccount(name, role, password, secret))
    return made


def write_accounts(home: Path, made: list[DemoAccount]) -> Path:
    """The demo accounts in `$YC_HOME/demo-accounts.json` (0600), for whoever runs the demo."""
    path = home / ACCOUNTS_FILE
    path.unlink(missing_ok=True)
    with open(path, "w", opener=private_opener, encoding="utf-8") as out:
        json.dump([asdict(a) for a in made], out, ensure_ascii=False, indent=2)
    return path
