"""Zones isolated per consumer (租户隔离): each consumer's deliveries live under its own zone
root, readable by nobody else. The zone root can be traversed but not listed (0711), so one
consumer cannot even learn another's name. Everything under it belongs to the publisher: a
consumer never owns a folder the publisher writes through, so it cannot plant a link there. When
the platform provisioned an account `yc-<consumer>` (e.g. its SFTP login) the consumer's tree is
readable by that account's group (0750/0640), otherwise by the publisher alone (0700/0600), and
the transfer service hands it out. A symbolic link anywhere in a zone is refused, never followed.
"""

import grp
import os
import pwd
import re
import stat
from collections.abc import Iterator
from pathlib import Path

ZONE_ROOT_MODE = 0o711
DIR_MODE = 0o700
FILE_MODE = 0o600
SHARED_DIR_MODE, SHARED_FILE_MODE = 0o750, 0o640  # readable by the consumer's own group
ACCOUNT_PREFIX = "yc-"
CONSUMER = re.compile(r"[a-z][a-z0-9_-]{0,63}")


class ZoneRefused(RuntimeError):
    """A zone path is not what the publisher may write: a link, or a name leaving the zone."""


def consumer_group(consumer: str) -> int | None:
    """The gid of the consumer's own account, when running as root and it exists."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(f"{ACCOUNT_PREFIX}{consumer}").pw_gid
    except KeyError:
        try:
            return grp.getgrnam(f"{ACCOUNT_PREFIX}{consumer}").gr_gid
        except KeyError:
            return None


def consumer_zone(zone: Path, consumer: str) -> Path:
    """The consumer's own zone root, made private to it."""
    if not CONSUMER.fullmatch(consumer):
        raise ZoneRefused(f"{consumer!r} is not a consumer id (lower-case letters, digits, _ -)")
    zone.mkdir(parents=True, exist_ok=True)
    os.chmod(zone, ZONE_ROOT_MODE)
    own = zone / consumer
    own.mkdir(mode=DIR_MODE, exist_ok=True)
    seal(own, consumer, recursive=False)
    return own


def walk(path: Path, recursive: bool) -> Iterator[Path]:
    """`path` and (recursively) what is under it, refusing any symbolic link on the way."""
    if stat.S_ISLNK(os.lstat(path).st_mode):
        raise ZoneRefused(f"{path} is a symbolic link; zones hold none")
    yield path
    if recursive and path.is_dir():
        for item in sorted(path.iterdir()):
            yield from walk(item, recursive)


def seal(path: Path, consumer: str, recursive: bool = True) -> None:
    """Give `path` (and, recursively, everything under it) the zone's modes and owners: the
    publisher's, readable by the consumer's group when it has an account."""
    group = consumer_group(consumer)
    for item in walk(path, recursive):
        folder = stat.S_ISDIR(os.lstat(item).st_mode)
        if group is None:
            os.chmod(item, DIR_MODE if folder else FILE_MODE)
        else:
            os.chown(item, os.geteuid(), group, follow_symlinks=False)
            os.chmod(item, SHARED_DIR_MODE if folder else SHARED_FILE_MODE)
