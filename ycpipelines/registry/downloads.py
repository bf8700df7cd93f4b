"""Downloads of delivered files (交付下载) by their consumer: only a delivery that stands
`delivered`, only the bytes its delivery recorded. The zone file is copied into a private
temporary file (0600) and hashed in the same read, so what is handed out is exactly what was
checked; a file changed since its delivery is refused (audited) and nothing is handed out."""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from sqlalchemy.orm import Session

from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.files import FILE_MODE, copy_hashed, open_regular
from ycpipelines.registry.deliveries import DELIVERED, standing
from ycpipelines.registry.errors import RegistryError
from ycpipelines.registry.models import Authorization, Delivery

DOWNLOADED, DOWNLOAD_REFUSED = "delivery.downloaded", "delivery.download_refused"


@dataclass(frozen=True)
class DownloadFile:
    """A private copy of a delivered file whose hash matched its delivery; the caller sends it
    as `filename`, then deletes `path`."""

    path: Path
    filename: str
    sha256: str  # `sha256:<hex>`, as Delivery.sha256
    delivery_id: int


def private_copy(source: Path) -> tuple[Path, str]:
    """Copy `source` into a new private temporary file, hashing the bytes as they are copied;
    returns the copy and `sha256:<hex>` of exactly what it holds."""
    fd, name = tempfile.mkstemp(prefix="ycp-download-", suffix=source.suffix)
    try:
        with os.fdopen(fd, "wb") as copy, open_regular(source) as original:
            os.fchmod(copy.fileno(), FILE_MODE)
            digest = copy_hashed(original, copy)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name), digest


def download_name(delivery: Delivery) -> str:
    """The name a download is offered under: scenario, version and the delivered file's name."""
    name = f"{delivery.scenario}_{delivery.version}_{Path(delivery.path).name}"
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


class DownloadsMixin:
    """A consumer's downloads of its deliveries (mixed into `Registry`)."""

    def open_download(self, actor: str, delivery_id: int) -> DownloadFile:
        """A checked private copy of a delivered file for its consumer: refused (audited
        `delivery.download_refused`) unless the delivery stands `delivered` (its authorization
        active and valid today), its row is what the chain recorded when it was delivered, and
        the zone file's bytes hash to it; audited `delivery.downloaded`. Another consumer's
        delivery is `NotFound`."""
        delivery = self.delivery_for(actor, delivery_id)
        with Session(self.engine) as session:
            grant = session.get(Authorization, delivery.authorization_id)
        state = standing(delivery, grant, pilot_today())
        if state != DELIVERED:
            self._refuse_download(actor, delivery, f"delivery {delivery_id} is {state}")
        if not self._as_published(delivery):
            reason = f"delivery {delivery_id} is not what the audit chain recorded at delivery"
            self._refuse_download(actor, delivery, reason)
        try:
            path, digest = private_copy(Path(delivery.path))
        except OSError as error:
            reason = f"the file of delivery {delivery_id} cannot be read: {error.strerror}"
            self._refuse_download(actor, delivery, reason)
        if digest != delivery.sha256:
            path.unlink(missing_ok=True)
            reason = f"the file of delivery {delivery_id} changed since it was delivered"
            self._refuse_download(actor, delivery, reason, found=digest)
        try:
            detail = {"consumer": delivery.consumer, "sha256": digest}
            self.audit(actor, DOWNLOADED, f"delivery/{delivery_id}", detail)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return DownloadFile(path, download_name(delivery), digest, delivery_id)

    def _as_published(self, delivery: Delivery) -> bool:
        """Whether the signed `egress.published` entry of the delivery records its path, hash
        and consumer: a row edited in the database is handed out to nobody."""
        for entry in self.history(f"request/{delivery.request_id}"):
            if entry.action == "egress.published" and entry.detail.get("delivery") == delivery.id:
                recorded = [entry.detail.get(k) for k in ("path", "sha256", "consumer")]
                actual = [delivery.path, delivery.sha256, delivery.consumer]
                return recorded == actual and self.anchor.covered(entry.id)
        return False

    def _refuse_download(
        self, actor: str, delivery: Delivery, reason: str, **detail: str
    ) -> NoReturn:
        """Audit a refused download, then raise it."""
        audited = {"reason": reason, "consumer": delivery.consumer, "expected": delivery.sha256}
        self.audit(actor, DOWNLOAD_REFUSED, f"delivery/{delivery.id}", {**audited, **detail})
        raise RegistryError(reason)
