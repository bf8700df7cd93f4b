"""Private files (文件权限最小化): every file the platform writes is 0600 and every folder 0700,
readable by its own account only. The lake, the demo sources, the registry, the Dagster storage
and `.env` hold raw rows and keys; another local account must not read them.

The platform sets its umask (077) at each entry point (`ycp`, the code location, the demo source
generator, the processes `ycp serve` starts, `make dev|demo|serve`), and every process it starts
inherits it: Dagster's webserver, daemon, code server and the runs the code server launches, the
spawned workers of `demo/run.py` and `deid/analyzer.py` (a spawned child is forked, then
executes Python: the umask survives both). A umask, not a chmod after the
fact: a file chmodded after it was written is readable by anyone between the two calls, and
every writer (DuckDB, SQLite, Dagster, pyarrow) would need its own chmod.

Exceptions are the consumer zones, sealed by `egress/zones.py` (root 0711, a tree 0700/0600 per
consumer), and YC_HOME itself when the zone lies inside it: 0711, so a consumer's own account can
pass through it to its zone without listing anything.

A home made before this rule keeps its world-readable files: `ycp` tightens it once at start
(`tighten`) and says how many entries it changed; `.env` is made 0600 whenever it is looser.
"""

import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from ycpipelines.foundation.settings import Settings

COPY_BLOCK = 1 << 20

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600
TRAVERSE_MODE = 0o711  # others may pass through to a known name, not list


def private_umask() -> int:
    """Make every file created from here on private to this account; return the old umask."""
    return os.umask(PRIVATE_UMASK)


def private_opener(path: str, flags: int) -> int:
    """`open(..., opener=private_opener)`: a file created 0600 whatever the umask."""
    return os.open(path, flags, FILE_MODE)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def folder_mode(folder: Path, zone: Path) -> int:
    """A platform folder is 0700, or 0711 when consumers pass through it to their zone."""
    inside = zone != folder and zone.is_relative_to(folder)
    return TRAVERSE_MODE if inside else DIR_MODE


def private(path: Path, wanted: int = FILE_MODE) -> bool:
    """Remove the group/other bits `wanted` does not grant from a path this account owns (a
    symlink or another account's file is left alone); True when the mode changed."""
    found = path.lstat()
    if stat.S_ISLNK(found.st_mode) or found.st_uid != os.geteuid():
        return False
    current = stat.S_IMODE(found.st_mode)
    tightened = current & ~(0o077 & ~wanted)
    if tightened != current:
        os.chmod(path, tightened)
    return tightened != current


def tighten_tree(root: Path, zone: Path) -> int:
    """Make every folder and file under `root` private, the zone tree left to `egress/zones.py`;
    the number of entries changed."""
    changed = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if Path(folder, d) != zone]
        for name in dirs:
            changed += private(Path(folder, name), folder_mode(Path(folder, name), zone))
        changed += sum(private(Path(folder, name)) for name in files)
    return changed


def tighten(roots: Iterable[Path], zone: Path) -> int:
    """Tighten each existing root this account owns (YC_HOME, the Dagster home, a lake or sources
    folder outside it) whose mode is not its own yet; a root that has its mode is not walked
    again. The entries made private, roots included."""
    changed = 0
    zone = zone.absolute()
    for root in sorted({r.absolute() for r in roots}):
        if not root.is_dir() or root.is_relative_to(zone) or root.stat().st_uid != os.geteuid():
            continue
        wanted = folder_mode(root, zone)
        if mode(root) & 0o077 == wanted & 0o077:
            continue
        changed += private(root, wanted) + tighten_tree(root, zone)
        os.chmod(root, mode(root) | wanted)  # consumers pass through to their zone
    return changed


def private_env(path: Path) -> bool:
    """Make `.env` (it holds YC_PSEUDONYM_KEY) 0600 if it exists and is looser."""
    return path.is_file() and private(path)


def platform_roots(settings: Settings) -> tuple[list[Path], Path]:
    """The folders the platform writes (YC_HOME, the Dagster home, a local lake, YC_SOURCES) and
    the zone root."""
    roots = [settings.home, settings.dagster_home]
    if "://" not in settings.lake_root:
        roots.append(Path(settings.lake_root))
    if settings.sources:
        roots.append(Path(settings.sources))
    return roots, Path(settings.zone_root)


def private_platform(cwd: Path, settings: Settings) -> int:
    """At start: `.env` 0600, and the platform's folders tightened if a home made before this
    rule left them readable; the number of entries changed."""
    roots, zone = platform_roots(settings)
    return private_env(cwd / ".env") + tighten(roots, zone)


def open_regular(path: Path) -> BinaryIO:
    """A file opened for reading that is a regular file, never through a symbolic link (nor a
    FIFO, which would block the reader)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise IsADirectoryError(f"{path.name} is not a regular file")
    return os.fdopen(fd, "rb")


def copy_hashed(original: BinaryIO, copy: BinaryIO) -> str:
    """Copy `original` into `copy`, hashing the same bytes; `sha256:<hex>` of what was copied."""
    digest = hashlib.sha256()
    for block in iter(lambda: original.read(COPY_BLOCK), b""):
        digest.update(block)
        copy.write(block)
    return f"sha256:{digest.hexdigest()}"
