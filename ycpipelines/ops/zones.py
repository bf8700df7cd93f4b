"""Zones isolated per consumer (租户隔离): each consumer's deliveries live under its own zone
root, readable by nobody else. The zone root can be traversed but not listed (0711), so one
consumer cannot even learn another's name; a consumer's tree is 0700 for folders and 0600 for
files. When the publisher runs as root and the platform provisioned an account `yc-<consumer>`
(e.g. its SFTP login), the consumer's tree belongs to that account; otherwise to the publisher,
and the transfer service hands it out."""

import os
import pwd
from pathlib import Path

ZONE_ROOT_MODE = 0o711
DIR_MODE = 0o700
FILE_MODE = 0o600
ACCOUNT_PREFIX = "yc-"


def consumer_account(consumer: str) -> tuple[int, int] | None:
    """The uid and gid of the consumer's own account, when running as root and it exists."""
    if os.geteuid() != 0:
        return None
    try:
        account = pwd.getpwnam(f"{ACCOUNT_PREFIX}{consumer}")
    except KeyError:
        return None
    return account.pw_uid, account.pw_gid


def consumer_zone(zone: Path, consumer: str) -> Path:
    """The consumer's own zone root, made private to it."""
    zone.mkdir(parents=True, exist_ok=True)
    os.chmod(zone, ZONE_ROOT_MODE)
    own = zone / consumer
    own.mkdir(mode=DIR_MODE, exist_ok=True)
    seal(own, consumer, recursive=False)
    return own


def seal(path: Path, consumer: str, recursive: bool = True) -> None:
    """Give `path` (and, recursively, everything under it) the consumer's modes and owner."""
    owner = consumer_account(consumer)
    paths = [path, *path.rglob("*")] if recursive else [path]
    for item in paths:
        os.chmod(item, DIR_MODE if item.is_dir() else FILE_MODE)
        if owner:
            os.chown(item, *owner)
