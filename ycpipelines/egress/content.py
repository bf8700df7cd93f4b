"""The bytes a reviewer's evidence is computed from (审核样本文件): a private copy of a file, hashed
while it is copied, so what is sampled and measured is exactly what was hashed."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from upath import UPath

from ycpipelines.foundation.files import copy_hashed, open_regular
from ycpipelines.foundation.lake import lake_path


@dataclass(frozen=True)
class Content:
    """A private copy of a file (None when it could not be read) and the `sha256:` of its bytes."""

    path: Path | None
    digest: str | None


@contextmanager
def private_copy(location: str | UPath) -> Iterator[Content]:
    """A copy of `location` in a private temporary folder (0700), hashed as it is copied; removed
    on exit. A missing or unreadable file gives `Content(None, None)`."""
    source = lake_path(location) if isinstance(location, str) else location
    with tempfile.TemporaryDirectory(prefix="ycp-desk-") as folder:
        os.chmod(folder, 0o700)
        target = Path(folder) / f"content{source.suffix}"
        try:
            with reading(source) as original, target.open("wb") as copy:
                digest = copy_hashed(original, copy)
        except OSError:
            yield Content(None, None)
            return
        yield Content(target, digest)


def reading(source: UPath) -> BinaryIO:
    """A local file only if it is a regular one (no link, no FIFO); object storage as it is."""
    if source.protocol in ("", "file", "local"):
        return open_regular(Path(source.path))
    return source.open("rb")
